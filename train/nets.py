"""Model definitions: autoencoder, text encoder, noise predictor (with LoRA inputs), evaluator.

Everything here exports to ONNX opset 17 with PyTorch 1.13 and runs on current PyTorch and CUDA:
attention is written out with matmul/softmax, normalization is GroupNorm/LayerNorm.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

LoraDict = dict[str, tuple[torch.Tensor, torch.Tensor]]


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels // 4), channels)


class LoraConv2d(nn.Conv2d):
    """A convolution whose low-rank update (LoCon: A [r, in, k, k], B [out, r]) arrives with the call, like
    LoraLinear's. The update is merged into the kernel, W + B·A, one small matmul per call: the same function
    as a k x k convolution to r channels followed by a 1 x 1 one back (how train/makd.py trains it). Its cost
    in onnxruntime (CPU, batch 2): 1.23 ms per edge evaluation against 0.90 without these inputs, since the
    kernel is no longer a constant it can pre-pack; the two-convolution form measured 1.13 (docs/benchmarks.md)."""

    def __init__(self, cin: int, cout: int, kernel: int, name: str, stride: int = 1, padding: int = 0):
        super().__init__(cin, cout, kernel, stride=stride, padding=padding)
        self.lora_name = name

    def forward(self, x: torch.Tensor, lora: LoraDict | None = None) -> torch.Tensor:  # type: ignore[override]
        weight = self.weight
        if lora is not None and self.lora_name in lora:
            a, b = lora[self.lora_name]
            weight = weight + (b @ a.reshape(a.shape[0], -1)).reshape(weight.shape)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding)


def conv2d(cin: int, cout: int, kernel: int, name: str | None, stride: int = 1, padding: int = 0) -> nn.Conv2d:
    """A LoRA-capable convolution where the network names its sites (the noise predictor), a plain one
    elsewhere; both hold the same parameters, so checkpoints load either way."""
    if name is None:
        return nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding)
    return LoraConv2d(cin, cout, kernel, name, stride=stride, padding=padding)


def call_conv(conv: nn.Module, x: torch.Tensor, lora: LoraDict | None) -> torch.Tensor:
    return conv(x, lora) if isinstance(conv, LoraConv2d) else conv(x)


class ResBlock(nn.Module):
    """Pre-activation residual block, optionally modulated by a time embedding. With a `name`, its
    convolutions are LoRA sites (conv.<name>.conv1, .conv2, .skip)."""

    def __init__(self, cin: int, cout: int, temb_dim: int = 0, name: str | None = None):
        super().__init__()
        site = (lambda part: f"conv.{name}.{part}") if name else (lambda part: None)
        self.norm1 = group_norm(cin)
        self.conv1 = conv2d(cin, cout, 3, site("conv1"), padding=1)
        self.temb = nn.Linear(temb_dim, cout) if temb_dim else None
        self.norm2 = group_norm(cout)
        self.conv2 = conv2d(cout, cout, 3, site("conv2"), padding=1)
        self.skip = conv2d(cin, cout, 1, site("skip")) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None = None, lora: LoraDict | None = None) -> torch.Tensor:
        h = call_conv(self.conv1, F.silu(self.norm1(x)), lora)
        if self.temb is not None and temb is not None:
            h = h + self.temb(F.silu(temb))[:, :, None, None]
        h = call_conv(self.conv2, F.silu(self.norm2(h)), lora)
        return call_conv(self.skip, x, lora) + h


# ---- autoencoder --------------------------------------------------------------------------------

@dataclass
class AutoencoderConfig:
    channels: tuple[int, int, int] = (32, 64, 64)
    latent_channels: int = 4


class Encoder(nn.Module):
    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        c0, c1, c2 = cfg.channels
        self.net = nn.Sequential(
            nn.Conv2d(3, c0, 3, padding=1), ResBlock(c0, c0),
            nn.Conv2d(c0, c1, 3, stride=2, padding=1), ResBlock(c1, c1),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), ResBlock(c2, c2), ResBlock(c2, c2),
            group_norm(c2), nn.SiLU(), nn.Conv2d(c2, cfg.latent_channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        c0, c1, c2 = cfg.channels
        self.net = nn.Sequential(
            nn.Conv2d(cfg.latent_channels, c2, 3, padding=1), ResBlock(c2, c2), ResBlock(c2, c2),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c2, c1, 3, padding=1), ResBlock(c1, c1),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c1, c0, 3, padding=1), ResBlock(c0, c0),
            group_norm(c0), nn.SiLU(), nn.Conv2d(c0, 3, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Autoencoder(nn.Module):
    """Image in [-1, 1] (NCHW) <-> latent with unit variance per channel.

    The latent statistics are buffers set after training, so exported encoders emit, and decoders take,
    the normalized latent that the diffusion models and the JSCC codec work in.
    """

    def __init__(self, cfg: AutoencoderConfig | None = None):
        super().__init__()
        self.cfg = cfg or AutoencoderConfig()
        self.encoder = Encoder(self.cfg)
        self.decoder = Decoder(self.cfg)
        self.register_buffer("latent_mean", torch.zeros(1, self.cfg.latent_channels, 1, 1))
        self.register_buffer("latent_std", torch.ones(1, self.cfg.latent_channels, 1, 1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return (self.encoder(x) - self.latent_mean) / self.latent_std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z * self.latent_std + self.latent_mean)


# ---- attention with LoRA ------------------------------------------------------------------------

class LoraLinear(nn.Linear):
    """A linear layer whose low-rank update (A: [r, in], B: [out, r]) arrives with the call.

    The update is an input, not a parameter, because onnxruntime cannot override an initializer with a
    feed: the edge-GAI's ONNX graph takes LoRA matrices as inputs, fed zeros when no adapter is loaded.
    """

    def __init__(self, fin: int, fout: int, name: str, bias: bool = True):
        super().__init__(fin, fout, bias=bias)
        self.lora_name = name

    def forward(self, x: torch.Tensor, lora: LoraDict | None = None) -> torch.Tensor:  # type: ignore[override]
        y = F.linear(x, self.weight, self.bias)
        if lora is not None and self.lora_name in lora:
            a, b = lora[self.lora_name]
            y = y + F.linear(F.linear(x, a), b)
        return y


class Attention(nn.Module):
    def __init__(self, dim: int, context_dim: int, heads: int, name: str):
        super().__init__()
        self.heads = heads
        self.to_q = LoraLinear(dim, dim, f"{name}.to_q", bias=False)
        self.to_k = LoraLinear(context_dim, dim, f"{name}.to_k", bias=False)
        self.to_v = LoraLinear(context_dim, dim, f"{name}.to_v", bias=False)
        self.to_out = LoraLinear(dim, dim, f"{name}.to_out")

    def forward(self, x: torch.Tensor, context: torch.Tensor, lora: LoraDict | None = None) -> torch.Tensor:
        b, n, d = x.shape
        h = self.heads
        q = self.to_q(x, lora).reshape(b, n, h, d // h).transpose(1, 2)
        k = self.to_k(context, lora).reshape(b, context.shape[1], h, d // h).transpose(1, 2)
        v = self.to_v(context, lora).reshape(b, context.shape[1], h, d // h).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) * (1.0 / math.sqrt(d // h)), dim=-1)
        out = (w @ v).transpose(1, 2).reshape(b, n, d)
        return self.to_out(out, lora)


class SpatialTransformer(nn.Module):
    """Self-attention over the latent's positions, cross-attention on the text, feed-forward."""

    def __init__(self, dim: int, context_dim: int, heads: int, name: str):
        super().__init__()
        self.norm_in = group_norm(dim)
        self.norm1 = nn.LayerNorm(dim)
        self.self_attn = Attention(dim, dim, heads, f"{name}.self_attn")
        self.norm2 = nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, context_dim, heads, f"{name}.cross_attn")
        self.norm3 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, context: torch.Tensor, lora: LoraDict | None) -> torch.Tensor:
        b, c, hh, ww = x.shape
        t = self.norm_in(x).reshape(b, c, hh * ww).transpose(1, 2)
        n1 = self.norm1(t)
        t = t + self.self_attn(n1, n1, lora)
        t = t + self.cross_attn(self.norm2(t), context, lora)
        t = t + self.ff(self.norm3(t))
        return x + t.transpose(1, 2).reshape(b, c, hh, ww)


# ---- text encoder -------------------------------------------------------------------------------

@dataclass
class TextEncoderConfig:
    vocab_size: int = 55
    max_tokens: int = 16
    dim: int = 64
    layers: int = 2
    heads: int = 4
    metaword_first_id: int = 2
    metaword_slots: int = 8


class TransformerLayer(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, dim, heads, "text")
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.norm1(x)
        x = x + self.attn(n, n)
        return x + self.ff(self.norm2(x))


class TextEncoder(nn.Module):
    """Token ids [B, L] (+ metaword embeddings [M, D]) -> context [B, L, D].

    Ids in the reserved metaword slots take their embedding from the `metaword` input instead of the
    table, which is how MAKD's learned metaword enters the prompt without changing the model.
    """

    def __init__(self, cfg: TextEncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.position_embedding = nn.Parameter(torch.randn(1, cfg.max_tokens, cfg.dim) * 0.02)
        self.layers = nn.ModuleList([TransformerLayer(cfg.dim, cfg.heads) for _ in range(cfg.layers)])
        self.norm = nn.LayerNorm(cfg.dim)

    def embed(self, token_ids: torch.Tensor, metaword: torch.Tensor | None) -> torch.Tensor:
        emb = self.token_embedding(token_ids)
        if metaword is not None:
            first, slots = self.cfg.metaword_first_id, self.cfg.metaword_slots
            is_meta = (token_ids >= first) & (token_ids < first + slots)
            slot = torch.clamp(token_ids - first, 0, slots - 1)
            emb = torch.where(is_meta[..., None], metaword[slot], emb)
        return emb

    def forward(self, token_ids: torch.Tensor, metaword: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(token_ids, metaword) + self.position_embedding[:, : token_ids.shape[1]]
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


# ---- noise predictor ----------------------------------------------------------------------------

@dataclass
class UNetConfig:
    latent_channels: int = 4
    channels: tuple[int, int] = (64, 128)
    context_dim: int = 64
    heads: int = 4

    def to_dict(self) -> dict:
        return asdict(self)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class UNet(nn.Module):
    """eps(x_t, t, context) for 8x8 latents: two resolutions, cross-attention at both."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        c0, c1 = cfg.channels
        tdim = 4 * c0
        self.temb_dim = c0
        self.time_mlp = nn.Sequential(nn.Linear(c0, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.conv_in = conv2d(cfg.latent_channels, c0, 3, "conv.conv_in", padding=1)
        self.down0 = ResBlock(c0, c0, tdim, "down0")
        self.attn0 = SpatialTransformer(c0, cfg.context_dim, cfg.heads, "down0")
        self.downsample = conv2d(c0, c1, 3, "conv.downsample", stride=2, padding=1)
        self.down1 = ResBlock(c1, c1, tdim, "down1")
        self.attn1 = SpatialTransformer(c1, cfg.context_dim, cfg.heads, "down1")
        self.mid1 = ResBlock(c1, c1, tdim, "mid1")
        self.mid_attn = SpatialTransformer(c1, cfg.context_dim, cfg.heads, "mid")
        self.mid2 = ResBlock(c1, c1, tdim, "mid2")
        self.up1 = ResBlock(2 * c1, c1, tdim, "up1")
        self.upsample = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv2d(c1, c0, 3, "conv.upsample.1", padding=1))
        self.up0 = ResBlock(2 * c0, c0, tdim, "up0")
        self.attn_up0 = SpatialTransformer(c0, cfg.context_dim, cfg.heads, "up0")
        self.norm_out = group_norm(c0)
        self.conv_out = conv2d(c0, cfg.latent_channels, 3, "conv.conv_out", padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                lora: LoraDict | None = None) -> torch.Tensor:
        """`lora`: site -> (A, B) for any of lora_sites() (attention projections, A [r, in], B [out, r]) and
        conv_sites() (convolutions, A [r, in, k, k], B [out, r])."""
        temb = self.time_mlp(timestep_embedding(t, self.temb_dim))
        h0 = self.conv_in(x, lora)
        h0 = self.attn0(self.down0(h0, temb, lora), context, lora)
        h1 = self.attn1(self.down1(self.downsample(h0, lora), temb, lora), context, lora)
        m = self.mid2(self.mid_attn(self.mid1(h1, temb, lora), context, lora), temb, lora)
        u1 = self.up1(torch.cat([m, h1], dim=1), temb, lora)
        u0 = self.up0(torch.cat([self.upsample[1](self.upsample[0](u1), lora), h0], dim=1), temb, lora)
        u0 = self.attn_up0(u0, context, lora)
        return self.conv_out(F.silu(self.norm_out(u0)), lora)

    def lora_sites(self) -> dict[str, tuple[int, int]]:
        """Every attention projection a LoRA update can go to: name -> (in_features, out_features)."""
        return {m.lora_name: (m.in_features, m.out_features)
                for m in self.modules() if isinstance(m, LoraLinear)}

    def conv_sites(self) -> dict[str, tuple[int, int, int]]:
        """Every convolution a LoCon update can go to: conv.<module path> -> (in_channels, out_channels, kernel)."""
        return {m.lora_name: (m.in_channels, m.out_channels, m.kernel_size[0])
                for m in self.modules() if isinstance(m, LoraConv2d)}


# ---- evaluator ----------------------------------------------------------------------------------

@dataclass
class EvaluatorConfig:
    vocab_size: int = 55
    max_tokens: int = 16
    embed_dim: int = 128
    text_dim: int = 64
    channels: tuple[int, int, int] = (32, 64, 128)
    head_sizes: tuple[int, ...] = (3, 3, 7, 3, 7, 6, 4)


class EvaluatorImageEncoder(nn.Module):
    """Image in [-1, 1] -> (unit-norm embedding, attribute logits concatenated over heads)."""

    def __init__(self, cfg: EvaluatorConfig):
        super().__init__()
        c0, c1, c2 = cfg.channels
        self.features = nn.Sequential(
            nn.Conv2d(3, c0, 3, padding=1), ResBlock(c0, c0),
            nn.Conv2d(c0, c1, 3, stride=2, padding=1), ResBlock(c1, c1),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), ResBlock(c2, c2),
            nn.Conv2d(c2, c2, 3, stride=2, padding=1), group_norm(c2), nn.SiLU())
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 16, 256), nn.SiLU())
        self.embed = nn.Linear(256, cfg.embed_dim)
        self.heads = nn.Linear(256, sum(cfg.head_sizes))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.trunk(self.features(image))
        return F.normalize(self.embed(f), dim=-1), self.heads(f)


class EvaluatorTextEncoder(nn.Module):
    """Token ids -> unit-norm embedding (pooled at the <bos> position)."""

    def __init__(self, cfg: EvaluatorConfig):
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_dim)
        self.position_embedding = nn.Parameter(torch.randn(1, cfg.max_tokens, cfg.text_dim) * 0.02)
        self.layers = nn.ModuleList([TransformerLayer(cfg.text_dim, 4) for _ in range(2)])
        self.norm = nn.LayerNorm(cfg.text_dim)
        self.proj = nn.Linear(cfg.text_dim, cfg.embed_dim)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(token_ids) + self.position_embedding[:, : token_ids.shape[1]]
        for layer in self.layers:
            x = layer(x)
        return F.normalize(self.proj(self.norm(x[:, 0])), dim=-1)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
