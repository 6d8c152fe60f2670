"""The JSCC latent codec with CALA, and the paper's channel it is trained on.

- Rates: K/dim(z) for K complex channel symbols and a 4x8x8 latent (dim 256): 1/16 ... 1, i.e. K = 16 ... 256.
  One codec serves every rate: the encoder always makes K_MAX symbols ordered by importance (it is trained on
  random rates, so the first K must carry the most), the first K are sent, the decoder sees zeros (and zero
  reliability) for the rest.
- Power: the K sent symbols are normalized to unit average power, then quantized to the nearest point of a
  unit-energy square QAM (256-QAM by default, the modem's JSCC payload constellation) with a straight-through
  gradient and a commitment loss.
- Channels (what the codec is trained on, one of two per example):
  * the paper's: Rayleigh block fading, one complex gain per block of BLOCK_SYMBOLS symbols (the modem maps a
    block onto a group of subcarriers), gains correlated across blocks (first-order Gauss-Markov, correlation
    BLOCK_CORRELATION), AWGN, and pilot-based estimation with error (one unit-power pilot per block at the same
    SNR), then MMSE equalization;
  * a flat one: AWGN at the frame's SNR with a small per-frame estimation error, which is what an OFDM frame
    over a cable, the loopback radio or a flat-fading air interface looks like after the receiver's
    equalizer (under flat fading the receiver's measured SNR already includes the fade).
  The decoder gets each symbol's measured reliability |h_est|^2 / noise (the modem's receiver reports it per
  subcarrier), and the condition it is told: SNR, rate and the measured frequency selectivity (coefficient of
  variation of |h_est|^2 over the frame: about 1 under Rayleigh block fading, about 0 on a flat channel).
- Networks: a convolutional trunk over the 8x8 latent grid (residual 3x3 blocks) with a linear head that
  orders the symbols by importance, plus a linear path from the latent to the symbols (the part a
  PCA-like transform already gets right); the decoder mirrors it (a linear map from the received symbols and
  reliabilities to a feature grid, the residual trunk, and a linear path).
- CALA: every convolution and linear layer carries a bank of low-rank updates W + sum_m g_m B_m A_m; the gate g
  is a soft (softmax) function of the condition (SNR in dB, rate, selectivity) computed by a small MLP.
  `gate="hard"` is the grouped baseline instead: one adapter per SNR group, switched by the measured SNR.
  The base weights are shared by every condition.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT_SHAPE = (4, 8, 8)
LATENT_DIM = 256
K_MAX = 256
RATES = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
SNR_RANGE_DB = (-5.0, 30.0)
SNR_GRID_DB = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0)
BLOCK_SYMBOLS = 8
BLOCK_CORRELATION = 0.8
SNR_GROUPS_DB = (5.0, 15.0)  # grouped baseline: below 5, 5..15, above 15 dB
RELIABILITY_SCALE = 0.25  # decoder input log1p(|h|^2/noise) * scale, about 0..2 over the SNR range
SELECTIVITY_MAX = 2.0     # the coefficient of variation fed to the gate is clamped to 0..this


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


def selectivity_of(gain: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Coefficient of variation of the per-symbol channel gain |h|^2 over the sent symbols, clamped."""
    n = mask.sum(-1).clamp_min(1.0)
    mean = (gain * mask).sum(-1) / n
    var = ((gain - mean[:, None]).pow(2) * mask).sum(-1) / n
    return (torch.sqrt(var) / mean.clamp_min(1e-12)).clamp(0.0, SELECTIVITY_MAX)


def condition_features(snr_db: torch.Tensor, rate: torch.Tensor, selectivity: torch.Tensor) -> torch.Tensor:
    """What the gate sees: SNR scaled to about -1..1, log2(rate) to about -1..0, selectivity to 0..1."""
    return torch.stack([(snr_db - 12.5) / 17.5, torch.log2(rate) / 4.0, selectivity / SELECTIVITY_MAX], dim=-1)


@dataclass
class CodecConfig:
    channels: int = 64          # width of the convolutional trunks
    blocks: int = 3             # residual blocks per trunk
    head_channels: int = 8      # encoder: trunk -> this many channels -> linear head to the symbols
    grid_channels: int = 16     # decoder: received symbols -> linear -> this many channels on the 8x8 grid
    adapters: int = 0           # size of the LoRA bank (0: a plain codec)
    rank: int = 4
    gate: str = "soft"          # "soft" (CALA) or "hard" (grouped by SNR)
    gate_hidden: int = 32
    bits_per_symbol: int = 8    # 256-QAM

    def to_dict(self) -> dict:
        return asdict(self)


class AdaptedLinear(nn.Module):
    """y = W x + b + sum_m gate_m B_m A_m x. A is small random, B zero: adapters start as no-ops."""

    def __init__(self, fin: int, fout: int, adapters: int, rank: int, bias: bool = True):
        super().__init__()
        self.base = nn.Linear(fin, fout, bias=bias)
        self.adapters = adapters
        self.rank = rank
        if adapters:
            self.lora_a = nn.Parameter(torch.randn(adapters * rank, fin) / math.sqrt(fin))
            self.lora_b = nn.Parameter(torch.zeros(fout, adapters * rank))

    def forward(self, x: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        y = self.base(x)
        if self.adapters and gate is not None:
            t = F.linear(x, self.lora_a) * gate.repeat_interleave(self.rank, dim=1)
            y = y + F.linear(t, self.lora_b)
        return y


class AdaptedConv(nn.Module):
    """A 3x3 convolution with the same gated low-rank bank: the A's are rank-r 3x3 convolutions, the B's 1x1."""

    def __init__(self, cin: int, cout: int, adapters: int, rank: int):
        super().__init__()
        self.base = nn.Conv2d(cin, cout, 3, padding=1)
        self.adapters = adapters
        self.rank = rank
        if adapters:
            self.lora_a = nn.Parameter(torch.randn(adapters * rank, cin, 3, 3) / math.sqrt(cin * 9))
            self.lora_b = nn.Parameter(torch.zeros(cout, adapters * rank, 1, 1))

    def forward(self, x: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        y = self.base(x)
        if self.adapters and gate is not None:
            t = F.conv2d(x, self.lora_a, padding=1) * gate.repeat_interleave(self.rank, dim=1)[:, :, None, None]
            y = y + F.conv2d(t, self.lora_b)
        return y


class Gate(nn.Module):
    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.mode = cfg.gate
        self.adapters = cfg.adapters
        if cfg.gate == "soft":
            self.net = nn.Sequential(nn.Linear(3, cfg.gate_hidden), nn.GELU(), nn.Linear(cfg.gate_hidden, cfg.adapters))

    def forward(self, snr_db: torch.Tensor, rate: torch.Tensor, selectivity: torch.Tensor) -> torch.Tensor:
        if self.mode == "soft":
            return torch.softmax(self.net(condition_features(snr_db, rate, selectivity)), dim=-1)
        group = torch.zeros_like(snr_db, dtype=torch.int64)
        for edge in SNR_GROUPS_DB:
            group = group + (snr_db >= edge).to(torch.int64)
        return F.one_hot(group, self.adapters).to(snr_db.dtype)


class Trunk(nn.Module):
    """Residual 3x3 blocks over the 8x8 grid (pre-activation): x + conv(gelu(conv(gelu(x))))."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        c, m, r = cfg.channels, cfg.adapters, cfg.rank
        self.convs = nn.ModuleList(AdaptedConv(c, c, m, r) for _ in range(2 * cfg.blocks))

    def forward(self, h: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        for i in range(0, len(self.convs), 2):
            h = h + self.convs[i + 1](F.gelu(self.convs[i](F.gelu(h), gate)), gate)
        return h


class JsccEncoder(nn.Module):
    """latent [N,4,8,8], snr_db [N], rate [N], selectivity [N] -> symbols [N, K_MAX, 2], unit power over the
    sent ones, zero after."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        c, m, r = cfg.channels, cfg.adapters, cfg.rank
        cells = LATENT_SHAPE[1] * LATENT_SHAPE[2]
        self.stem = AdaptedConv(LATENT_SHAPE[0], c, m, r)
        self.trunk = Trunk(cfg)
        self.reduce = AdaptedConv(c, cfg.head_channels, m, r)
        self.head = AdaptedLinear(cfg.head_channels * cells, 2 * K_MAX, m, r)
        self.linear = AdaptedLinear(LATENT_DIM, 2 * K_MAX, m, r, bias=False)
        self.gate = Gate(cfg) if cfg.adapters else None

    def forward(self, latent: torch.Tensor, snr_db: torch.Tensor, rate: torch.Tensor,
                selectivity: torch.Tensor) -> torch.Tensor:
        gate = self.gate(snr_db, rate, selectivity) if self.gate is not None else None
        n = latent.shape[0]
        h = self.trunk(self.stem(latent, gate), gate)
        h = self.reduce(F.gelu(h), gate).reshape(n, -1)
        s = (self.head(F.gelu(h), gate) + self.linear(latent.reshape(n, -1), gate)).reshape(n, K_MAX, 2)
        mask = symbol_mask(rate)
        power = (s.pow(2).sum(-1) * mask).sum(-1) / mask.sum(-1)
        s = s * mask[:, :, None] / torch.sqrt(power + 1e-8)[:, None, None]
        return s + 0.0 * (snr_db + selectivity)[:, None, None]  # keeps the condition a graph input in every variant


class JsccDecoder(nn.Module):
    """equalized [N,K_MAX,2], reliability [N,K_MAX], snr_db [N], rate [N], selectivity [N] -> latent [N,4,8,8]."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        c, m, r = cfg.channels, cfg.adapters, cfg.rank
        cells = LATENT_SHAPE[1] * LATENT_SHAPE[2]
        self.grid = AdaptedLinear(3 * K_MAX, cfg.grid_channels * cells, m, r)
        self.stem = AdaptedConv(cfg.grid_channels, c, m, r)
        self.trunk = Trunk(cfg)
        self.out = AdaptedConv(c, LATENT_SHAPE[0], m, r)
        self.linear = AdaptedLinear(3 * K_MAX, LATENT_DIM, m, r)
        self.gate = Gate(cfg) if cfg.adapters else None

    def forward(self, symbols: torch.Tensor, reliability: torch.Tensor, snr_db: torch.Tensor,
                rate: torch.Tensor, selectivity: torch.Tensor) -> torch.Tensor:
        gate = self.gate(snr_db, rate, selectivity) if self.gate is not None else None
        n = symbols.shape[0]
        mask = symbol_mask(rate)
        # Non-finite inputs (a NaN from a broken receiver) would poison every output value: treat them as erased.
        symbols = torch.where(torch.isfinite(symbols), symbols, torch.zeros_like(symbols))
        reliability = torch.where(torch.isfinite(reliability), reliability, torch.zeros_like(reliability))
        rel = torch.log1p(torch.clamp(reliability, min=0.0)) * RELIABILITY_SCALE * mask
        x = torch.cat([(symbols * mask[:, :, None]).reshape(n, -1), rel], dim=-1)
        h = self.grid(x, gate).reshape(n, self.cfg.grid_channels, LATENT_SHAPE[1], LATENT_SHAPE[2])
        h = self.trunk(self.stem(F.gelu(h), gate), gate)
        out = self.out(F.gelu(h), gate) + self.linear(x, gate).reshape(n, *LATENT_SHAPE)
        return out + 0.0 * (snr_db + rate + selectivity)[:, None, None, None]


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
                  fading: bool | torch.Tensor = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Transmit [N,K,2] symbols at per-example SNR; returns MMSE-equalized symbols, reliabilities [N,K] and the
    estimated gains |h_est|^2 [N,K] (for the selectivity measurement). `fading` may be a [N] bool tensor: True
    for the paper's Rayleigh block fading, False for a flat channel (h = 1, estimated from one pilot per block,
    as the receiver does)."""
    n, k, _ = symbols.shape
    dev = symbols.device
    noise_var = torch.pow(10.0, -snr_db / 10.0)[:, None]  # per complex symbol, unit signal power
    std = torch.sqrt(noise_var / 2)[:, :, None]
    faded = torch.as_tensor(fading, device=dev).expand(n) if not isinstance(fading, torch.Tensor) else fading.to(dev)
    h = block_fading(n, k, generator, dev)
    flat = torch.zeros_like(h)
    flat[..., 0] = 1.0
    h = torch.where(faded[:, None, None], h, flat)
    est_err = torch.randn(n, k // BLOCK_SYMBOLS + 1, 2, generator=generator).to(dev).repeat_interleave(
        BLOCK_SYMBOLS, dim=1)[:, :k] * std
    h_est = h + est_err
    y = cmul(h, symbols) + torch.randn(n, k, 2, generator=generator).to(dev) * std
    gain = h_est.pow(2).sum(-1)
    eq = cmul(conj(h_est), y) / (gain + noise_var)[:, :, None]
    return eq, gain / noise_var, gain


def latent_psnr_db(mse: torch.Tensor, peak_to_peak: float) -> torch.Tensor:
    return 10 * torch.log10(peak_to_peak ** 2 / mse.clamp_min(1e-12))


def count(params) -> int:
    return sum(p.numel() for p in params)
