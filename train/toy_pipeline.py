"""A toy model pipeline of another size, for the TypeScript test that runs generation from a manifest alone.

Tiny randomly initialised graphs (seeded, untrained), exported to ONNX with a manifest describing them:
a text encoder, one noise predictor (the cloud's) and a latent decoder, with a 4x16x16 latent and 64x64
images (the shipped models: 4x8x8 and 32x32), a latent scale of 0.18215 (Stable Diffusion's; the shipped
models apply none) and tensor names of their own (Stable Diffusion's: `input_ids`, `sample`,
`encoder_hidden_states`, ...), so nothing in the runtime can lean on the shipped shapes or names. The
vocabulary is the shipped one (the word tokenizer), copied beside them.

    python3 -m train.toy_pipeline            # writes test/fixtures/toy-pipeline/ (committed; each file a few kB)

src/gsc/toy-pipeline.test.ts opens that folder with ModelStore, as the product opens models/, and runs
prompt -> latent [4, 16, 16] -> 64x64 image through the Generator and the user role's LatentDecoder.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .common import MODELS_DIR, export_onnx, update_manifest
from .diffusion import sample
from .nets import count_parameters
from .pipeline import component, sampler, schedule, write_pipeline
from .rng import SeededRng
from .vocab import REPO_ROOT, load_vocab

OUT_DIR = REPO_ROOT / "test" / "fixtures" / "toy-pipeline"
LATENT_SHAPE = [4, 16, 16]
IMAGE_SIZE = 64
CONTEXT_DIM = 32
LATENT_SCALE = 0.18215
STEPS, GUIDANCE = 5, 3.0
REFERENCE = {"prompt": "two large red stars on snow", "seed": 7}


class TextEncoder(nn.Module):
    def __init__(self, vocab_size: int, max_tokens: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, CONTEXT_DIM)
        self.pos = nn.Parameter(torch.randn(max_tokens, CONTEXT_DIM) * 0.1)
        self.proj = nn.Linear(CONTEXT_DIM, CONTEXT_DIM)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.proj(self.embed(input_ids) + self.pos))


class NoisePredictor(nn.Module):
    """eps(x_t, t, context): two convolutions, the timestep and the pooled context as channel biases."""

    def __init__(self):
        super().__init__()
        c = LATENT_SHAPE[0]
        self.inp = nn.Conv2d(c, 16, 3, padding=1)
        self.ctx = nn.Linear(CONTEXT_DIM, 16)
        self.time = nn.Linear(1, 16)
        self.out = nn.Conv2d(16, c, 3, padding=1)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        h = self.inp(sample) + self.ctx(encoder_hidden_states.mean(1))[:, :, None, None]
        h = h + self.time(timestep[:, None] / 1000.0)[:, :, None, None]
        return self.out(torch.tanh(h))


class Decoder(nn.Module):
    """[n, 4, 16, 16] -> [n, 3, 64, 64] in [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(LATENT_SHAPE[0], 8, 3, padding=1), nn.Upsample(scale_factor=IMAGE_SIZE // LATENT_SHAPE[1]),
                                 nn.Conv2d(8, 3, 3, padding=1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


@torch.no_grad()
def reference(text: nn.Module, unet: nn.Module, dec: nn.Module) -> dict:
    """PyTorch's sample for REFERENCE with the sampler defaults: the latent, and the image as 8-bit RGB (HWC)."""
    vocab = load_vocab()
    ctx = text(torch.tensor([vocab.encode(REFERENCE["prompt"]), vocab.null_ids()]))
    noise = SeededRng(REFERENCE["seed"]).normals(int(np.prod(LATENT_SHAPE))).reshape(1, *LATENT_SHAPE)

    def eps_fn(x: np.ndarray, t: float):
        out = unet(torch.from_numpy(np.concatenate([x, x])), torch.tensor([t, t], dtype=torch.float32), ctx).numpy()
        return out[:1], out[1:]

    latent = sample(eps_fn, noise, STEPS, GUIDANCE)
    image = dec(torch.from_numpy(latent) / LATENT_SCALE)[0].permute(1, 2, 0).numpy().astype(np.float64)
    rgb = np.clip(np.round((image + 1) * 127.5), 0, 255).astype(int)
    return {**REFERENCE, "steps": STEPS, "guidance": GUIDANCE, "latent": [float(v) for v in latent.ravel()],
            "image_rgb": rgb.ravel().tolist()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = p.parse_args()
    out: Path = args.out_dir
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    torch.manual_seed(0)
    shutil.copyfile(MODELS_DIR / "vocab.json", out / "vocab.json")
    vocab = json.loads((out / "vocab.json").read_text())
    n_tok, max_tokens = len(vocab["tokens"]), vocab["max_tokens"]
    text, unet, dec = TextEncoder(n_tok, max_tokens), NoisePredictor(), Decoder()
    ids = torch.zeros(2, max_tokens, dtype=torch.long)
    ctx = text(ids)
    x = torch.randn(2, *LATENT_SHAPE)
    files = {"toy_text_encoder": out / "toy_text_encoder.onnx", "toy_unet": out / "toy_unet.onnx", "toy_decoder": out / "toy_decoder.onnx"}
    export_onnx(text, (ids,), files["toy_text_encoder"], ["input_ids"], ["last_hidden_state"],
                {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    export_onnx(unet, (x, torch.full((2,), 999.0), ctx), files["toy_unet"], ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
                {"sample": {0: "batch"}, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch"}})
    export_onnx(dec, (x,), files["toy_decoder"], ["z"], ["x"], {"z": {0: "batch"}, "x": {0: "batch"}})
    for (name, path), module in zip(files.items(), (text, unet, dec)):
        update_manifest(out, name, [path], command="python3 -m train.toy_pipeline", seed=0, wall_s=0.0,
                        data="none: randomly initialised (a test fixture)", parameters=count_parameters(module))
    write_pipeline(out, {
        "tokenizer": {"kind": "word", "vocab": "vocab.json"},
        "text_encoder": component("toy_text_encoder.onnx", {"token_ids": "input_ids"}, {"context": "last_hidden_state"}),
        "noise_predictors": {"cloud": component("toy_unet.onnx", {"latent": "sample", "timestep": "timestep", "context": "encoder_hidden_states"},
                                                {"eps": "out_sample"})},
        "latent_decoder": component("toy_decoder.onnx", {"latent": "z"}, {"image": "x"}),
        "latent_shape": LATENT_SHAPE,
        "image_size": [IMAGE_SIZE, IMAGE_SIZE, 3],
        "latent_scale": LATENT_SCALE,
        "schedule": schedule(),
        "sampler": sampler(steps=STEPS, guidance=GUIDANCE),
    })
    (out / "reference.json").write_text(json.dumps(reference(text, unet, dec)) + "\n")
    for f in sorted(out.iterdir()):
        print(f"{f.relative_to(REPO_ROOT)}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
