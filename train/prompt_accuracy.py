"""How often a generator follows prompts, judged by the evaluator: a fast PyTorch check for training runs.

`dekag bench generate` is the number of record (ONNX, 240 held-out prompts, the shipped sampler). This
module computes the same agreement on a separate validation set (seed 6000 by default, so that tuning a
checkpoint or the sampler never looks at the benchmark's prompts), batched in PyTorch, and breaks the
failures down: per attribute, per object size and count, and the shape confusion matrix.

    python3 -m train.prompt_accuracy --unet DIR/torch/cloud_gai.pt [--n 96] [--guidance 4 5 6] [--steps 20]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from .common import MODELS_DIR, load_checkpoint, setup
from .data import from_model_images, to_model_images, training_set
from .diffusion import sample_batch
from .evaluator import evaluator_config
from .gai import load_autoencoder, load_unet
from .nets import EvaluatorImageEncoder, EvaluatorTextEncoder
from .text_encoder import load_text_encoder
from .vocab import load_vocab
from .world import ATTRIBUTE_ORDER, LABEL_VALUES, held_out_scenes

VALIDATION_SEED = 6000


def load_evaluator(models_dir: Path, part: str = "image"):
    """The evaluator's image encoder (default) or its text encoder ("text"), in eval mode."""
    ckpt = load_checkpoint(models_dir / "torch" / "evaluator.pt")
    enc = EvaluatorImageEncoder(evaluator_config()) if part == "image" else EvaluatorTextEncoder(evaluator_config())
    enc.load_state_dict(ckpt[part])
    return enc.eval()


@torch.no_grad()
def evaluate_latents(ae, evaluator: EvaluatorImageEncoder, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The evaluator's (embedding, attribute logits) of the images these latents decode to, rounded to 8-bit
    pixels first as the shipped pipeline's PNG does."""
    pixels = from_model_images(ae.decode(latent).clamp(-1, 1).cpu().numpy())
    return evaluator(torch.from_numpy(to_model_images(pixels)).to(latent.device))


@torch.no_grad()
def judge(unet, models_dir: Path, scenes, steps: int, guidance: float, seed: int, batch: int = 96,
          device: torch.device = torch.device("cpu")) -> dict:
    vocab = load_vocab()
    unet = unet.to(device)
    text = load_text_encoder(models_dir / "torch" / "text_encoder.pt").eval().to(device)
    ae = load_autoencoder(models_dir / "torch" / "autoencoder.pt").to(device)
    evaluator = load_evaluator(models_dir).to(device)
    null_ctx = text(torch.tensor([vocab.null_ids()], device=device))
    gen = torch.Generator().manual_seed(seed)
    noise_all = torch.randn(len(scenes), 4, 8, 8, generator=gen).to(device)
    predicted = []
    for i in range(0, len(scenes), batch):
        chunk = scenes[i:i + batch]
        ctx = text(torch.tensor([vocab.encode(s.prompt(vocab)) for s in chunk], device=device))
        latent = sample_batch(unet, ctx, null_ctx, noise_all[i:i + len(chunk)], steps, guidance)
        logits = evaluate_latents(ae, evaluator, latent)[1].cpu()
        predicted += [[int(lg.argmax()) for lg in row.split(list(evaluator_config().head_sizes))] for row in logits]
    return summarize(scenes, predicted)


def summarize(scenes, predicted: list[list[int]]) -> dict:
    per_attr: dict[str, list[bool]] = {}
    joint: list[bool] = []
    by_group: dict[str, list[bool]] = {}
    shapes = LABEL_VALUES["shape"]
    confusion = np.zeros((len(shapes), len(shapes)), np.int64)
    for scene, pred in zip(scenes, predicted):
        ok = True
        for k, attr in enumerate(ATTRIBUTE_ORDER):
            if attr not in scene.mentioned:
                continue
            good = LABEL_VALUES[attr][pred[k]] == scene.attrs[attr]
            per_attr.setdefault(attr, []).append(good)
            ok &= good
        joint.append(ok)
        group = scene.attrs["size"] if scene.attrs["count"] == "one" else f"{scene.attrs['count']} objects"
        by_group.setdefault(group, []).append(ok)
        confusion[shapes.index(scene.attrs["shape"]), pred[ATTRIBUTE_ORDER.index("shape")]] += 1
    mean = lambda v: round(float(np.mean(v)), 4)  # noqa: E731
    return {"prompt_accuracy": mean(joint), "n": len(joint),
            "attribute_accuracy": {k: mean(v) for k, v in per_attr.items()},
            "prompt_accuracy_by_group": {k: mean(v) for k, v in sorted(by_group.items())},
            "shape_confusion": {"rows_true_cols_predicted": list(shapes), "counts": confusion.tolist()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--unet", type=Path, default=MODELS_DIR / "torch" / "cloud_gai.pt")
    p.add_argument("--models-dir", type=Path, default=MODELS_DIR,
                   help="text encoder, autoencoder and evaluator come from here")
    p.add_argument("--n", type=int, default=96)
    p.add_argument("--seed", type=int, default=VALIDATION_SEED)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--guidance", type=float, nargs="+", default=[4.0])
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    args = p.parse_args()
    device = setup(args)
    vocab = load_vocab()
    training_prompts = set(training_set("cloud").prompts) | set(training_set("edge").prompts)
    scenes = held_out_scenes(args.n, args.seed, vocab, training_prompts)
    unet = load_unet(args.unet)
    for g in args.guidance:
        result = judge(unet, args.models_dir, scenes, args.steps, g, args.seed, device=device)
        print(json.dumps({"unet": str(args.unet), "steps": args.steps, "guidance": g, **result}), flush=True)


if __name__ == "__main__":
    main()
