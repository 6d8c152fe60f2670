"""Reference values for the TypeScript runtime's unit tests, computed here in Python.

    python3 -m train.reference            # sampler math (rng, schedule, DDIM, guidance) and an end-to-end sample

- fixtures/sampler_math.json: the shared RNG's normals, alpha-bar, DDIM timesteps, one DDIM step, guidance.
- fixtures/sampler_e2e.json: a whole cloud sample (text encoder + DDIM + CFG over the PyTorch cloud-GAI)
  from the shared RNG's noise, the latent and the decoded image, for the TypeScript pipeline to reproduce.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from .common import MODELS_DIR, tensor_json
from .diffusion import alphas_cumprod, ddim_step, ddim_timesteps, guide, sample
from .gai import load_autoencoder, load_unet
from .rng import SeededRng
from .text_encoder import load_text_encoder
from .vocab import load_vocab


def sampler_math() -> dict:
    rng = np.random.default_rng(3)
    x = rng.normal(size=16)
    eps = rng.normal(size=16)
    ac = alphas_cumprod()
    return {
        "rng": {str(seed): SeededRng(seed).normals(9).tolist() for seed in (0, 1, 42, 2**32 - 1)},
        "rng_u32": {"seed": 7, "values": _u32s(7, 9)},
        "alphas_cumprod": {str(i): float(ac[i]) for i in (0, 1, 10, 500, 998, 999)},
        "ddim_timesteps": {str(n): ddim_timesteps(n) for n in (1, 2, 7, 20, 50)},
        "ddim_step": {"x": x.tolist(), "eps": eps.tolist(), "a_t": float(ac[700]), "a_prev": float(ac[650]),
                      "out": ddim_step(x, eps, ac[700], ac[650]).tolist()},
        "guide": {"cond": x.tolist(), "uncond": eps.tolist(), "guidance": 3.5,
                  "out": guide(x, eps, 3.5).tolist()},
    }


def _u32s(seed: int, n: int) -> list[int]:
    r = SeededRng(seed)
    return [r.next_u32() for _ in range(n)]


@torch.no_grad()
def sampler_e2e(models_dir, prompt: str, seed: int, steps: int, guidance: float) -> dict:
    vocab = load_vocab()
    text = load_text_encoder(models_dir / "torch" / "text_encoder.pt")
    unet = load_unet(models_dir / "torch" / "cloud_gai.pt")
    ae = load_autoencoder(models_dir / "torch" / "autoencoder.pt")
    ctx = text(torch.tensor([vocab.encode(prompt), vocab.null_ids()]))
    noise = SeededRng(seed).normals(4 * 8 * 8).reshape(1, 4, 8, 8)

    def eps_fn(x: np.ndarray, t: float):
        xb = torch.from_numpy(np.concatenate([x, x]))
        out = unet(xb, torch.tensor([t, t], dtype=torch.float32), ctx).numpy()
        return out[:1], out[1:]

    latent = sample(eps_fn, noise, steps, guidance)
    image = ae.decode(torch.from_numpy(latent))
    return {"prompt": prompt, "seed": seed, "steps": steps, "guidance": guidance,
            "noise": tensor_json(noise), "latent": tensor_json(latent), "image": tensor_json(image)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models-dir", type=type(MODELS_DIR), default=MODELS_DIR)
    p.add_argument("--math-only", action="store_true")
    args = p.parse_args()
    out = args.models_dir / "fixtures"
    out.mkdir(parents=True, exist_ok=True)
    (out / "sampler_math.json").write_text(json.dumps(sampler_math()))
    if not args.math_only:
        (out / "sampler_e2e.json").write_text(json.dumps(
            sampler_e2e(args.models_dir, "a large red striped star on the left on grass", 7, 20, 4.0)))
    print(f"wrote reference fixtures to {out}")


if __name__ == "__main__":
    main()
