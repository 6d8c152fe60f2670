"""Train a generator's noise predictor on its own rendering of the world.

    python3 -m train.gai --role cloud [--steps 4500] [--device cpu|cuda] [--quick]
    python3 -m train.gai --role edge  [--steps 5000] ...

The cloud-GAI is the larger model (channels 64/128) trained on the cloud's rendering; the edge-GAI is the
smaller one (32/64) trained on the edge's rendering, where stars, stripes, purple and snow look different
and hearts never occur. Both read the frozen shared text encoder; both latents come from the shared
autoencoder. The edge-GAI's ONNX graph takes a LoRA update for every attention projection as inputs
(`lora.<site>.a` [rank, in], `lora.<site>.b` [out, rank]) and a LoCon update for every convolution
(`lora.conv.<module>.a` [conv_rank, in, k, k], `lora.conv.<module>.b` [out, conv_rank]); rank-1 zeros when no
adapter is loaded, so MAKD's adapters plug in without re-export.

    python3 -m train.gai --role edge --export-only

re-exports the ONNX graph, its fixtures and its manifest entry from the trained weights
(models/torch/edge_gai.pt) without training: the network computes the same function, only its inputs change.
"""
from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from .common import (load_checkpoint, MODELS_DIR, Ema, Progress, base_parser, cosine_lr, export_onnx, module_command, setup,
                     update_manifest, write_fixture)
from .data import to_model_images, training_set
from .diffusion import TRAIN_TIMESTEPS, add_noise, alphas_cumprod
from .nets import Autoencoder, AutoencoderConfig, UNet, UNetConfig, count_parameters
from .text_encoder import load_text_encoder
from .vocab import load_vocab

ROLE_CHANNELS = {"cloud": (64, 128), "edge": (32, 64)}
PROMPT_DROPOUT = 0.1


def load_autoencoder(path) -> Autoencoder:
    ckpt = load_checkpoint(path)
    model = Autoencoder(AutoencoderConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


def load_unet(path) -> UNet:
    ckpt = load_checkpoint(path)
    cfg = ckpt["config"]
    model = UNet(UNetConfig(**{**cfg, "channels": tuple(cfg["channels"])}))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


class LoraUNet(torch.nn.Module):
    """ONNX face of the edge-GAI: flat low-rank inputs, A then B for each site: the attention projections in
    lora_sites() order, then the convolutions in conv_sites() order."""

    def __init__(self, unet: UNet):
        super().__init__()
        self.unet = unet
        self.sites = list(unet.lora_sites()) + list(unet.conv_sites())

    def forward(self, latent, timestep, context, *lora_flat):
        lora = {s: (lora_flat[2 * i], lora_flat[2 * i + 1]) for i, s in enumerate(self.sites)}
        return self.unet(latent, timestep, context, lora)


def lora_input_names(sites: list[str]) -> list[str]:
    return [n for s in sites for n in (f"lora.{s}.a", f"lora.{s}.b")]


def low_rank_pair(unet: UNet, site: str, rank: int, fill) -> list[torch.Tensor]:
    """(A, B) of the shapes the graph takes at `site`, their values from fill(shape)."""
    attention = unet.lora_sites()
    if site in attention:
        fin, fout = attention[site]
        return [fill((rank, fin)), fill((fout, rank))]
    cin, cout, k = unet.conv_sites()[site]
    return [fill((rank, cin, k, k)), fill((cout, rank))]


def dynamic_rank_axes(unet: UNet) -> dict[str, dict[int, str]]:
    """The rank axis of every low-rank input: 'rank' for the attention projections, 'conv_rank' for the
    convolutions (an adapter may use different ranks for the two)."""
    axes: dict[str, dict[int, str]] = {}
    for s in unet.lora_sites():
        axes[f"lora.{s}.a"], axes[f"lora.{s}.b"] = {0: "rank"}, {1: "rank"}
    for s in unet.conv_sites():
        axes[f"lora.{s}.a"], axes[f"lora.{s}.b"] = {0: "conv_rank"}, {1: "conv_rank"}
    return axes


@torch.no_grad()
def encode_latents(ae: Autoencoder, images: np.ndarray, device: torch.device) -> torch.Tensor:
    ae = ae.to(device)
    out = []
    for i in range(0, len(images), 1024):
        x = torch.from_numpy(to_model_images(images[i:i + 1024])).to(device)
        out.append(ae.encode(x).cpu())
    return torch.cat(out)


@torch.no_grad()
def encode_contexts(text, token_ids: torch.Tensor, device: torch.device) -> torch.Tensor:
    return torch.cat([text(token_ids[i:i + 1024].to(device)).cpu() for i in range(0, len(token_ids), 1024)])


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--role", choices=("cloud", "edge"), required=True)
    p.add_argument("--steps", type=int, default=0, help="default: 4500 cloud, 5000 edge")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=6e-4)
    p.add_argument("--models-dir", type=type(MODELS_DIR), default=MODELS_DIR,
                   help="where the trained autoencoder and text encoder are read from")
    p.add_argument("--min-snr-gamma", type=float, default=0.0,
                   help="Min-SNR loss weighting (Hang et al. 2023), weight min(SNR, gamma)/SNR; 0 = plain MSE")
    p.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop early (keeping the weights so far) once this much training wall time is spent; "
                        "0 = no limit. Guards the 60-minute budget when a machine runs slower than planned")
    p.add_argument("--export-only", action="store_true",
                   help="no training: re-export the ONNX graph, fixtures and manifest entry from "
                        "--out-dir/torch/<role>_gai.pt (its recorded command, time and steps are kept)")
    p.add_argument("--resume", action="store_true",
                   help="continue from --out-dir/torch/<role>_gai.pt with a fresh schedule (wall time and steps add up)")
    args = p.parse_args()
    if args.export_only:
        export_only(args)
        return
    device = setup(args)
    steps = 10 if args.quick else (args.steps or (4500 if args.role == "cloud" else 5000))
    vocab = load_vocab()

    ae = load_autoencoder(args.models_dir / "torch" / "autoencoder.pt")
    text = load_text_encoder(args.models_dir / "torch" / "text_encoder.pt").to(device)
    for prm in text.parameters():
        prm.requires_grad_(False)
    ds = training_set(args.role, 512) if args.quick else training_set(args.role)
    latents = encode_latents(ae, ds.images, device)
    # The text encoder is frozen, so every caption's context is computed once rather than every step.
    contexts = encode_contexts(text, torch.from_numpy(ds.token_ids), device)
    with torch.no_grad():
        null_ctx = text(torch.tensor([vocab.null_ids()], dtype=torch.int64, device=device))[0]

    model = UNet(UNetConfig(channels=ROLE_CHANNELS[args.role]))
    history = {"wall_time_s": 0.0, "steps": 0, "commands": []}
    if args.resume:
        ckpt = load_checkpoint(args.out_dir / "torch" / f"{args.role}_gai.pt")
        model.load_state_dict(ckpt["state_dict"])
        history = {k: ckpt.get(k, history[k]) for k in history}
    model = model.to(device)
    ema = Ema(model, 0.999)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    ac = torch.from_numpy(alphas_cumprod()).float().to(device)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    progress = Progress(f"{args.role}_gai", steps)
    running = None
    steps_done = 0
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, args.lr, warmup=200)
        idx = torch.from_numpy(rng.integers(0, len(latents), args.batch))
        z0 = latents[idx].to(device)
        ctx = contexts[idx].to(device)
        drop = torch.from_numpy(rng.random(args.batch) < PROMPT_DROPOUT).to(device)
        ctx[drop] = null_ctx
        t = torch.randint(0, TRAIN_TIMESTEPS, (args.batch,), generator=gen).to(device)
        noise = torch.randn(z0.shape, generator=gen).to(device)
        pred = model(add_noise(z0, noise, t, ac), t.float(), ctx)
        if args.min_snr_gamma > 0:
            snr = ac[t] / (1 - ac[t])
            weight = torch.clamp(snr, max=args.min_snr_gamma) / snr
            loss = (weight * (pred - noise).pow(2).mean(dim=(1, 2, 3))).mean()
        else:
            loss = F.mse_loss(pred, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(model)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        progress.update(step + 1, loss=running)
        steps_done = step + 1
        if args.max_minutes and progress.elapsed_s > args.max_minutes * 60 and steps_done < steps:
            print(f"stopping at step {steps_done} of {steps}: --max-minutes {args.max_minutes} spent", flush=True)
            break
    wall_s = history["wall_time_s"] + progress.elapsed_s
    total_steps = history["steps"] + steps_done
    commands = history["commands"] + [module_command("train.gai")]
    ema.copy_to(model)
    model = model.cpu().eval()
    text = text.cpu()

    out = args.out_dir
    weights = out / "torch" / f"{args.role}_gai.pt"
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": model.cfg.to_dict(), "state_dict": model.state_dict(), "wall_time_s": wall_s,
                "steps": total_steps, "commands": commands}, weights)
    data = f"world {args.role} rendering, {len(latents)} scenes (seed 1000)" + (", no hearts" if args.role == "edge" else "")
    export_and_record(args, model, text, vocab, wall_s, total_steps, commands, data,
                      {"batch": args.batch, "lr": args.lr, "min_snr_gamma": args.min_snr_gamma, "final_loss": round(running or 0, 5)})


def export_only(args) -> None:
    """Re-export a trained generator (the ONNX graph's inputs changed, not its weights), keeping what its
    manifest entry says about the training."""
    out = args.out_dir
    ckpt = load_checkpoint(out / "torch" / f"{args.role}_gai.pt")
    model = load_unet(out / "torch" / f"{args.role}_gai.pt")
    text = load_text_encoder(args.models_dir / "torch" / "text_encoder.pt").eval()
    manifest = json.loads((out / "manifest.json").read_text())
    old = manifest["models"].get(f"{args.role}_gai", {})
    kept = {k: old[k] for k in ("batch", "lr", "min_snr_gamma", "final_loss") if k in old}
    args.seed = old.get("seed", args.seed)
    commands = list(ckpt.get("commands", [])) or [old.get("command", "")]
    commands.append(module_command("train.gai"))
    export_and_record(args, model, text, load_vocab(), ckpt.get("wall_time_s", old.get("wall_time_s", 0.0)),
                      ckpt.get("steps", old.get("steps", 0)), commands, old.get("data", ""), kept,
                      trained_at=old.get("trained_at"))


def export_and_record(args, model: UNet, text, vocab, wall_s: float, total_steps: int, commands: list[str], data: str,
                      training: dict, trained_at: str | None = None) -> None:
    """The ONNX graph (the edge's with its low-rank inputs), its parity fixtures and its manifest entry."""
    out = args.out_dir
    weights = out / "torch" / f"{args.role}_gai.pt"
    onnx_path = out / f"{args.role}_gai.onnx"
    g = torch.Generator().manual_seed(123)
    x = torch.randn(2, 4, 8, 8, generator=g)
    tt = torch.tensor([999.0, 421.0])
    with torch.no_grad():
        ctx = text(torch.tensor([vocab.encode("a red star on grass"), vocab.null_ids()]))
    names = ["latent", "timestep", "context"]
    dyn = {"latent": {0: "batch"}, "timestep": {0: "batch"}, "context": {0: "batch"}, "eps": {0: "batch"}}
    if args.role == "cloud":
        export_onnx(model, (x, tt, ctx), onnx_path, names, ["eps"], dyn)
        with torch.no_grad():
            write_fixture(out, "cloud_gai", onnx_path.name, {"latent": x, "timestep": tt, "context": ctx},
                          {"eps": model(x, tt, ctx)})
    else:
        wrapper = LoraUNet(model)
        # random low-rank updates of different ranks on the attention (4) and the convolutions (3)
        lora = [v for s in wrapper.sites
                for v in low_rank_pair(model, s, 4 if s in model.lora_sites() else 3,
                                       lambda shape: torch.randn(shape, generator=g) * 0.1)]
        lnames = lora_input_names(wrapper.sites)
        dyn.update(dynamic_rank_axes(model))
        export_onnx(wrapper, (x, tt, ctx, *lora), onnx_path, names + lnames, ["eps"], dyn)
        with torch.no_grad():
            feeds = {"latent": x, "timestep": tt, "context": ctx, **dict(zip(lnames, lora))}
            write_fixture(out, "edge_gai_lora", onnx_path.name, feeds, {"eps": wrapper(x, tt, ctx, *lora)},
                          note="random rank-4 LoRA on every attention projection, rank-3 LoCon on every convolution")
            zeros = [v for s in wrapper.sites for v in low_rank_pair(model, s, 1, torch.zeros)]
            feeds = {"latent": x, "timestep": tt, "context": ctx, **dict(zip(lnames, zeros))}
            write_fixture(out, "edge_gai", onnx_path.name, feeds, {"eps": model(x, tt, ctx)},
                          note="rank-1 zero LoRA and LoCon: the base edge model")
    update_manifest(out, f"{args.role}_gai", [onnx_path, weights], command=" && ".join(commands),
                    seed=args.seed, wall_s=wall_s, parameters=count_parameters(model), data=data,
                    extra={"steps": total_steps, **training,
                           "channels": list(ROLE_CHANNELS[args.role]), "prompt_dropout": PROMPT_DROPOUT,
                           "schedule": "scaled-linear 0.00085..0.012, 1000 steps, eps-prediction",
                           **({"lora_sites": {s: list(v) for s, v in model.lora_sites().items()},
                               "conv_sites": {s: list(v) for s, v in model.conv_sites().items()}}
                              if args.role == "edge" else {})},
                    trained_at=trained_at)


if __name__ == "__main__":
    main()
