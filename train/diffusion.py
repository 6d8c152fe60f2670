"""Noise schedule, DDIM and classifier-free guidance: the reference for src/gsc/sampler.ts."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

TRAIN_TIMESTEPS = 1000
BETA_START, BETA_END = 0.00085, 0.012  # Stable Diffusion's scaled-linear schedule


def alphas_cumprod(T: int = TRAIN_TIMESTEPS) -> np.ndarray:
    betas = np.linspace(BETA_START ** 0.5, BETA_END ** 0.5, T, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def ddim_timesteps(steps: int, T: int = TRAIN_TIMESTEPS) -> list[int]:
    """Evenly spaced from T-1 down to 0, rounded: the first step starts from pure noise."""
    if steps < 1 or steps > T:
        raise ValueError(f"steps must be in 1..{T}")
    if steps == 1:
        return [T - 1]
    return [int(round((T - 1) * (steps - 1 - i) / (steps - 1))) for i in range(steps)]


def ddim_step(x: np.ndarray, eps: np.ndarray, a_t: float, a_prev: float) -> np.ndarray:
    """Deterministic DDIM (eta = 0) from alpha-bar a_t to a_prev, in float64 like the TypeScript."""
    x0 = (x - np.sqrt(1 - a_t) * eps) / np.sqrt(a_t)
    return np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps


def guide(eps_cond: np.ndarray, eps_uncond: np.ndarray, guidance: float) -> np.ndarray:
    return eps_uncond + guidance * (eps_cond - eps_uncond)


def sample(eps_fn: Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]], noise: np.ndarray,
           steps: int, guidance: float) -> np.ndarray:
    """eps_fn(x, t) -> (eps_cond, eps_uncond). Returns the final latent (float32)."""
    ac = alphas_cumprod()
    ts = ddim_timesteps(steps)
    x = noise.astype(np.float64)
    for i, t in enumerate(ts):
        a_prev = ac[ts[i + 1]] if i + 1 < len(ts) else 1.0
        ec, eu = eps_fn(x.astype(np.float32), float(t))
        x = ddim_step(x, guide(ec.astype(np.float64), eu.astype(np.float64), guidance), ac[t], a_prev)
    return x.astype(np.float32)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, ac: torch.Tensor) -> torch.Tensor:
    a = ac[t].view(-1, 1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise
