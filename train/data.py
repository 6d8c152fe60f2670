"""Training sets of the world, rendered once and cached under data/ (never committed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import DATA_DIR
from .vocab import load_vocab
from .world import Dataset, make_dataset

TRAIN_SEED = 1000  # training scenes come from (TRAIN_SEED, i); evaluation uses other seeds
DEFAULT_TRAIN_SIZE = 60000


EVALUATOR_SEED = 2000  # the evaluator is the judge: it sees every combination, held-out ones included


def training_set(rendering: str, n: int = DEFAULT_TRAIN_SIZE, cache_dir: Path | None = DATA_DIR,
                 seed: int = TRAIN_SEED, allow_held_out: bool = False) -> Dataset:
    """The rendering's training set: scenes (seed, 0..n-1), with no held-out combinations unless asked
    (and no hearts for the edge)."""
    tag = "-all" if allow_held_out else ""
    path = cache_dir / f"world-{rendering}-{seed}-{n}{tag}.npz" if cache_dir else None
    if path and path.exists():
        z = np.load(path, allow_pickle=False)
        return Dataset(z["images"], z["token_ids"], z["labels"], z["mentioned"], list(z["prompts"]))
    ds = make_dataset(n, seed, rendering, load_vocab(), allow_held_out=allow_held_out)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, images=ds.images, token_ids=ds.token_ids, labels=ds.labels,
                 mentioned=ds.mentioned, prompts=np.array(ds.prompts))
        tmp.rename(path)
    return ds


def to_model_images(images_uint8: np.ndarray) -> np.ndarray:
    """uint8 NHWC -> float32 NCHW in [-1, 1]."""
    return (images_uint8.astype(np.float32) / 127.5 - 1.0).transpose(0, 3, 1, 2)


def from_model_images(x: np.ndarray) -> np.ndarray:
    """float NCHW in [-1, 1] -> uint8 NHWC, rounded as the TypeScript PNG writer rounds."""
    return np.clip(np.rint((x.transpose(0, 2, 3, 1) + 1.0) * 127.5), 0, 255).astype(np.uint8)
