"""Noise schedule, DDIM and classifier-free guidance: the reference for src/gsc/sampler.ts."""
from __future__ import annotations

from typing import Callable, Optional

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


@torch.no_grad()
def sample_batch(model, ctx: torch.Tensor, null_ctx: torch.Tensor, noise: torch.Tensor, steps: int, guidance: float,
                 on_step: Optional[Callable[[torch.Tensor, int, torch.Tensor, torch.Tensor], None]] = None) -> torch.Tensor:
    """`sample` for a batch in PyTorch (on the model's device): one forward pass of 2n per step, conditional
    and unconditional together. on_step(x_t, t, eps_cond, eps_uncond) sees every step. Returns the final
    latents (float32)."""
    return sample_batch_differentiable(model, ctx, null_ctx, noise, steps, guidance, on_step)


def sample_batch_differentiable(model, ctx: torch.Tensor, null_ctx: torch.Tensor, noise: torch.Tensor, steps: int,
                                guidance: float,
                                on_step: Optional[Callable[[torch.Tensor, int, torch.Tensor, torch.Tensor], None]] = None
                                ) -> torch.Tensor:
    """`sample_batch` with gradients kept: the final latents as a function of the model's trainable inputs
    (MAKD's rollout loss backpropagates through the whole sampler)."""
    ac = alphas_cumprod()
    ts = ddim_timesteps(steps)
    n = noise.shape[0]
    x = noise.double()
    both_ctx = torch.cat([ctx, null_ctx.expand(n, -1, -1)])
    for i, t in enumerate(ts):
        a_t = float(ac[t])
        a_prev = float(ac[ts[i + 1]]) if i + 1 < len(ts) else 1.0
        xf = x.float()
        out = model(torch.cat([xf, xf]), torch.full((2 * n,), float(t), device=xf.device), both_ctx)
        ec, eu = out[:n], out[n:]
        if on_step is not None:
            on_step(xf, t, ec, eu)
        eps = eu.double() + guidance * (ec.double() - eu.double())
        x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        x = a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * eps
    return x.float()


def add_noise(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, ac: torch.Tensor) -> torch.Tensor:
    a = ac[t].view(-1, 1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise
