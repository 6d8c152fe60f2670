"""The model pipeline described by data: the `pipeline` section of models/manifest.json.

The TypeScript runtime (src/gsc/pipeline.ts) builds generation and decoding from this section alone: which
ONNX file plays which part (text encoder, the cloud's and the edge's noise predictors, the latent encoder and
decoder) with its input and output names, the latent shape [C, H, W], the image size [H, W, 3], the latent
scale, the noise schedule and the sampler's defaults. The per-model entries under "models" (sha256, shapes,
training record) are untouched: `update_manifest` rewrites only its own model's entry, so a retrained model
keeps this section, and running this module writes it again from the constants the trainers use.

    python3 -m train.pipeline [--out-dir models]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .diffusion import BETA_END, BETA_START, TRAIN_TIMESTEPS
from .makd import GUIDANCE, SAMPLER_STEPS
from .vocab import REPO_ROOT
from .world import IMAGE_SIZE

MODELS_DIR = REPO_ROOT / "models"
LATENT_SHAPE = [4, 8, 8]  # the autoencoder's latent (train/autoencoder.py; models/manifest.json autoencoder.latent_shape)


def schedule(beta_start: float = BETA_START, beta_end: float = BETA_END, train_timesteps: int = TRAIN_TIMESTEPS) -> dict[str, Any]:
    """train/diffusion.py's schedule: Stable Diffusion's scaled-linear betas, eps-prediction."""
    return {"kind": "scaled-linear", "beta_start": beta_start, "beta_end": beta_end,
            "train_timesteps": train_timesteps, "prediction": "eps"}


def sampler(steps: int = SAMPLER_STEPS, guidance: float = GUIDANCE) -> dict[str, Any]:
    """Deterministic DDIM (eta 0), timesteps evenly spaced from T-1 to 0 and rounded, classifier-free guidance."""
    return {"kind": "ddim", "eta": 0, "steps": steps, "guidance": guidance}


def component(file: str, inputs: dict[str, str], outputs: dict[str, str], **extra: Any) -> dict[str, Any]:
    """One ONNX file's part: its role's tensor names (role name -> ONNX name)."""
    return {"file": file, "inputs": inputs, "outputs": outputs, **extra}


def unet(file: str, lora_prefix: str | None = None) -> dict[str, Any]:
    extra = {"lora_prefix": lora_prefix} if lora_prefix else {}
    return component(file, {"latent": "latent", "timestep": "timestep", "context": "context"}, {"eps": "eps"}, **extra)


def shipped_pipeline() -> dict[str, Any]:
    """The shipped models' pipeline (latent 4x8x8, images 32x32, no latent scaling)."""
    return {
        "tokenizer": {"kind": "word", "vocab": "vocab.json"},
        "text_encoder": component("text_encoder.onnx", {"token_ids": "token_ids", "metaword": "metaword"}, {"context": "context"}),
        "noise_predictors": {"cloud": unet("cloud_gai.onnx"), "edge": unet("edge_gai.onnx", lora_prefix="lora.")},
        "latent_encoder": component("autoencoder_encoder.onnx", {"image": "image"}, {"latent": "latent"}),
        "latent_decoder": component("autoencoder_decoder.onnx", {"latent": "latent"}, {"image": "image"}),
        "latent_shape": LATENT_SHAPE,
        "image_size": [IMAGE_SIZE, IMAGE_SIZE, 3],
        "latent_scale": 1.0,
        "schedule": schedule(),
        "sampler": sampler(),
    }


def write_pipeline(out_dir: Path, pipeline: dict[str, Any]) -> Path:
    """Set the manifest's `pipeline` section, keeping every model entry as it is."""
    path = out_dir / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {"version": 1, "models": {}}
    manifest["pipeline"] = pipeline
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def main() -> None:
    p = argparse.ArgumentParser(description="write the pipeline section of manifest.json for the shipped models")
    p.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    args = p.parse_args()
    print(f"wrote {write_pipeline(args.out_dir, shipped_pipeline())}")


if __name__ == "__main__":
    main()
