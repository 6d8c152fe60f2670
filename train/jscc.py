"""The JSCC latent codec with CALA, and the paper's channel it is trained on.

- Rates: K/dim(z) for K complex channel symbols and a 4x8x8 latent (dim 256): 1/16, 1/8, 1/4, 1/2, i.e.
  K = 16 ... 128. One codec serves every rate: the encoder always makes K_MAX symbols ordered by
  importance, the first K are sent, the decoder sees zeros (and zero reliability) for the rest.
- Power: the K sent symbols are normalized to unit average power, then quantized to the nearest point of a
  unit-energy square QAM (256-QAM by default, the modem's JSCC payload constellation) with a straight-through
  gradient and a commitment loss.
- Channel (as in DeKA-g): Rayleigh block fading, one complex gain per block of BLOCK_SYMBOLS symbols (the
  modem maps a block onto a group of subcarriers), gains correlated across blocks (first-order Gauss-Markov,
  correlation BLOCK_CORRELATION), AWGN, and pilot-based estimation with error (one unit-power pilot per
  block at the same SNR), then MMSE equalization. The decoder also gets each symbol's measured reliability
  |h_est|^2 / noise, which the modem's receiver provides per subcarrier.
- CALA: every linear layer carries a bank of low-rank updates W + sum_m g_m B_m A_m; the gate g is a soft
  (softmax) function of the condition (SNR in dB, rate) computed by a small MLP. `gate="hard"` is the grouped
  baseline instead: one adapter per SNR group, switched by the measured SNR. The base weights are shared by
  every condition.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT_SHAPE = (4, 8, 8)
LATENT_DIM = 256
K_MAX = 128
RATES = (1 / 16, 1 / 8, 1 / 4, 1 / 2)
SNR_RANGE_DB = (-5.0, 25.0)
SNR_GRID_DB = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
BLOCK_SYMBOLS = 8
BLOCK_CORRELATION = 0.8
SNR_GROUPS_DB = (5.0, 15.0)  # grouped baseline: below 5, 5..15, above 15 dB
RELIABILITY_SCALE = 0.25  # decoder input log1p(|h|^2/noise) * scale, about 0..1.7 over the SNR range


def qam_levels(bits_per_symbol: int) -> torch.Tensor:
    """Per-axis levels of a unit-energy square QAM (Gray mapping does not matter for nearest-point)."""
    m = 1 << (bits_per_symbol // 2)
    energy = 2 * (m * m - 1) / 3
    return (2 * torch.arange(m, dtype=torch.float32) - (m - 1)) / math.sqrt(energy)


def quantize_qam(x: torch.Tensor, bits_per_symbol: int) -> torch.Tensor:
    """Nearest constellation point, per real axis (square QAM), clamped to the outermost points."""
    m = 1 << (bits_per_symbol // 2)
    energy = 2 * (m * m - 1) / 3
    scale = math.sqrt(energy)
    idx = torch.clamp(torch.round((x * scale + (m - 1)) / 2), 0, m - 1)
    return (2 * idx - (m - 1)) / scale


def symbol_mask(rate: torch.Tensor) -> torch.Tensor:
    """[N] rate -> [N, K_MAX] 1.0 for the symbols that are sent."""
    k = torch.round(rate * LATENT_DIM)
    return (torch.arange(K_MAX, device=rate.device, dtype=rate.dtype)[None, :] < k[:, None]).to(rate.dtype)


def condition_features(snr_db: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """What the gate sees: SNR scaled to about -1..1 and log2(rate) scaled to about -1..0."""
    return torch.stack([(snr_db - 10.0) / 15.0, torch.log2(rate) / 4.0], dim=-1)


@dataclass
class CodecConfig:
    hidden: int = 384
    adapters: int = 0           # size of the LoRA bank (0: a plain codec)
    rank: int = 4
    gate: str = "soft"          # "soft" (CALA) or "hard" (grouped by SNR)
    gate_hidden: int = 32
    bits_per_symbol: int = 8    # 256-QAM

    def to_dict(self) -> dict:
        return asdict(self)


class AdaptedLinear(nn.Module):
    """y = W x + b + sum_m gate_m B_m A_m x. A is small random, B zero: adapters start as no-ops."""

    def __init__(self, fin: int, fout: int, adapters: int, rank: int):
        super().__init__()
        self.base = nn.Linear(fin, fout)
        self.adapters = adapters
        if adapters:
            self.lora_a = nn.Parameter(torch.randn(adapters, rank, fin) / math.sqrt(fin))
            self.lora_b = nn.Parameter(torch.zeros(adapters, fout, rank))

    def forward(self, x: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        y = self.base(x)
        if self.adapters and gate is not None:
            t = torch.einsum("nf,mrf->nmr", x, self.lora_a) * gate[:, :, None]
            y = y + torch.einsum("nmr,mor->no", t, self.lora_b)
        return y


class Gate(nn.Module):
    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.mode = cfg.gate
        self.adapters = cfg.adapters
        if cfg.gate == "soft":
            self.net = nn.Sequential(nn.Linear(2, cfg.gate_hidden), nn.GELU(), nn.Linear(cfg.gate_hidden, cfg.adapters))

    def forward(self, snr_db: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
        if self.mode == "soft":
            return torch.softmax(self.net(condition_features(snr_db, rate)), dim=-1)
        group = torch.zeros_like(snr_db, dtype=torch.int64)
        for edge in SNR_GROUPS_DB:
            group = group + (snr_db >= edge).to(torch.int64)
        return F.one_hot(group, self.adapters).to(snr_db.dtype)


class Mlp(nn.Module):
    """Three adapted layers with a residual middle: in -> hidden -> hidden -> out."""

    def __init__(self, fin: int, fout: int, cfg: CodecConfig):
        super().__init__()
        h, m, r = cfg.hidden, cfg.adapters, cfg.rank
        self.l1 = AdaptedLinear(fin, h, m, r)
        self.l2 = AdaptedLinear(h, h, m, r)
        self.l3 = AdaptedLinear(h, h, m, r)
        self.l4 = AdaptedLinear(h, fout, m, r)

    def forward(self, x: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        h = F.gelu(self.l1(x, gate))
        h = h + F.gelu(self.l2(h, gate))
        h = h + F.gelu(self.l3(h, gate))
        return self.l4(h, gate)


class JsccEncoder(nn.Module):
    """latent [N,4,8,8], snr_db [N], rate [N] -> symbols [N, K_MAX, 2], unit power over the sent ones, zero after."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        self.mlp = Mlp(LATENT_DIM, 2 * K_MAX, cfg)
        self.gate = Gate(cfg) if cfg.adapters else None

    def forward(self, latent: torch.Tensor, snr_db: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
        gate = self.gate(snr_db, rate) if self.gate is not None else None
        s = self.mlp(latent.reshape(latent.shape[0], -1), gate).reshape(-1, K_MAX, 2)
        mask = symbol_mask(rate)
        power = (s.pow(2).sum(-1) * mask).sum(-1) / mask.sum(-1)
        s = s * mask[:, :, None] / torch.sqrt(power + 1e-8)[:, None, None]
        return s + 0.0 * snr_db[:, None, None]  # keeps the condition a graph input in every variant


class JsccDecoder(nn.Module):
    """equalized [N,K_MAX,2], reliability [N,K_MAX], snr_db [N], rate [N] -> latent [N,4,8,8]."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        self.mlp = Mlp(3 * K_MAX, LATENT_DIM, cfg)
        self.gate = Gate(cfg) if cfg.adapters else None

    def forward(self, symbols: torch.Tensor, reliability: torch.Tensor, snr_db: torch.Tensor,
                rate: torch.Tensor) -> torch.Tensor:
        gate = self.gate(snr_db, rate) if self.gate is not None else None
        mask = symbol_mask(rate)
        rel = torch.log1p(torch.clamp(reliability, min=0.0)) * RELIABILITY_SCALE * mask
        x = torch.cat([(symbols * mask[:, :, None]).reshape(symbols.shape[0], -1), rel], dim=-1)
        out = self.mlp(x, gate) + 0.0 * (snr_db + rate)[:, None]
        return out.reshape(-1, *LATENT_SHAPE)


class JsccCodec(nn.Module):
    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = JsccEncoder(cfg)
        self.decoder = JsccDecoder(cfg)

    def adapter_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if "lora_" in n or ".gate." in n]

    def base_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if "lora_" not in n and ".gate." not in n]


def block_fading(n: int, k: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """[n, k] complex gains (as [..., 2]): one CN(0,1) gain per block, Gauss-Markov across blocks."""
    blocks = (k + BLOCK_SYMBOLS - 1) // BLOCK_SYMBOLS
    w = torch.randn(n, blocks, 2, generator=generator).to(device) * math.sqrt(0.5)
    h = torch.empty_like(w)
    h[:, 0] = w[:, 0]
    c = BLOCK_CORRELATION
    for b in range(1, blocks):
        h[:, b] = c * h[:, b - 1] + math.sqrt(1 - c * c) * w[:, b]
    return h.repeat_interleave(BLOCK_SYMBOLS, dim=1)[:, :k]


def cmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.stack([a[..., 0] * b[..., 0] - a[..., 1] * b[..., 1], a[..., 0] * b[..., 1] + a[..., 1] * b[..., 0]], -1)


def conj(a: torch.Tensor) -> torch.Tensor:
    return torch.stack([a[..., 0], -a[..., 1]], -1)


def paper_channel(symbols: torch.Tensor, snr_db: torch.Tensor, generator: torch.Generator,
                  fading: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Transmit [N,K,2] symbols at per-example SNR; returns MMSE-equalized symbols and reliabilities [N,K]."""
    n, k, _ = symbols.shape
    dev = symbols.device
    noise_var = torch.pow(10.0, -snr_db / 10.0)[:, None]  # per complex symbol, unit signal power
    std = torch.sqrt(noise_var / 2)[:, :, None]
    if fading:
        h = block_fading(n, k, generator, dev)
        h_est = h + torch.randn(n, k // BLOCK_SYMBOLS + 1, 2, generator=generator).to(dev).repeat_interleave(
            BLOCK_SYMBOLS, dim=1)[:, :k] * std
    else:
        h = torch.zeros(n, k, 2, device=dev)
        h[..., 0] = 1.0
        h_est = h
    y = cmul(h, symbols) + torch.randn(n, k, 2, generator=generator).to(dev) * std
    gain = h_est.pow(2).sum(-1)
    eq = cmul(conj(h_est), y) / (gain + noise_var)[:, :, None]
    return eq, gain / noise_var


def latent_psnr_db(mse: torch.Tensor, peak_to_peak: float) -> torch.Tensor:
    return 10 * torch.log10(peak_to_peak ** 2 / mse.clamp_min(1e-12))


def count(params) -> int:
    return sum(p.numel() for p in params)
