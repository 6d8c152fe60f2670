"""Train the JSCC latent codec with CALA, and its baselines, on the autoencoder's latents of the edge world.

    python3 -m train.cala [--base-steps 4000] [--adapter-steps 2500] [--device cpu|cuda] [--quick]

Stages (each logged as JSON progress lines):
  1. base       one codec, no adapters, trained over random conditions (SNR -7..27 dB, every rate)
  2. cala       base frozen; a bank of ADAPTERS rank-RANK LoRA updates per layer + a soft gate on (SNR, rate)
  3. grouped    base frozen; one adapter per SNR group, hard-switched (the paper's earlier grouped scheme)
  4. noadapt    a codec trained from scratch at one condition (NOADAPT_SNR_DB, NOADAPT_RATE), used everywhere
                (at other rates it sends min(K, K_trained) of its symbols: it cannot use more, it must drop some)
  5. percond    the upper bound: the base fine-tuned fully at each grid condition (28 codecs, not exported;
                their storage is reported)
Then every method is evaluated on held-out latents over the grid (SNR -5..25 dB x every rate), latent PSNR
and decoded-image PSNR (against the image decoded from the clean latent, so only the link's loss counts),
written to models/cala/results.json; ONNX encoders/decoders of cala, grouped, noadapt go to models/cala/.
"""
from __future__ import annotations

import copy
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from .common import MODELS_DIR, Progress, base_parser, export_onnx, module_command, setup, update_manifest, write_fixture
from .data import training_set
from .gai import encode_latents, load_autoencoder
from .jscc import (K_MAX, LATENT_DIM, RATES, SNR_GRID_DB, CodecConfig, JsccCodec, count, latent_psnr_db, paper_channel,
                   quantize_qam, symbol_mask)

ADAPTERS = 4
RANK = 4
GROUPS = 3
NOADAPT_SNR_DB = 10.0
NOADAPT_RATE = 1 / 4
TRAIN_SNR_DB = (-7.0, 27.0)
COMMIT_WEIGHT = 0.1
TEST_SEED = 7000
TEST_SIZE = 2048


def transmit(codec: JsccCodec, z: torch.Tensor, snr: torch.Tensor, rate: torch.Tensor, gen: torch.Generator,
             enc_rate: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode, quantize (straight-through), channel, decode. `enc_rate` lets a fixed-rate codec send fewer."""
    bits = codec.cfg.bits_per_symbol
    s = codec.encoder(z, snr, rate if enc_rate is None else enc_rate)
    q = quantize_qam(s, bits)
    commit = (s - q.detach()).pow(2).sum(-1).mean()
    sent = s + (q - s).detach()
    mask = symbol_mask(rate)
    sent = sent * mask[:, :, None]
    eq, rel = paper_channel(sent, snr, gen)
    return codec.decoder(eq * mask[:, :, None], rel * mask, snr, rate), commit


def random_conditions(n: int, rng: np.random.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    snr = torch.from_numpy(rng.uniform(*TRAIN_SNR_DB, n).astype(np.float32)).to(device)
    rate = torch.from_numpy(np.asarray(RATES, dtype=np.float32)[rng.integers(0, len(RATES), n)]).to(device)
    return snr, rate


def train(codec: JsccCodec, params, latents: torch.Tensor, steps: int, lr: float, task: str, seed: int, batch: int,
          fixed: tuple[float, float] | None = None, device=torch.device("cpu")) -> float:
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-5)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    progress = Progress(task, steps)
    running = None
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * min(1.0, step / max(steps, 1)))))
        idx = torch.from_numpy(rng.integers(0, len(latents), batch))
        z = latents[idx].to(device)
        if fixed:
            snr = torch.full((batch,), fixed[0], device=device)
            rate = torch.full((batch,), fixed[1], device=device)
        else:
            snr, rate = random_conditions(batch, rng, device)
        out, commit = transmit(codec, z, snr, rate, gen)
        loss = F.mse_loss(out, z) + COMMIT_WEIGHT * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        progress.update(step + 1, loss=running)
    return progress.elapsed_s


@torch.no_grad()
def evaluate(codec: JsccCodec, latents: torch.Tensor, clean_images: torch.Tensor, ae, peak: float, seed: int,
             snr_db: float, rate: float, enc_rate: float | None = None, draws: int = 2) -> dict[str, float]:
    gen = torch.Generator().manual_seed(seed)
    n = len(latents)
    mse_z, mse_x = 0.0, 0.0
    for _ in range(draws):
        snr = torch.full((n,), snr_db)
        r = torch.full((n,), rate)
        er = None if enc_rate is None else torch.full((n,), min(enc_rate, rate))
        out, _ = transmit(codec, latents, snr, r, gen, er)
        mse_z += F.mse_loss(out, latents).item() / draws
        img = ae.decode(out).clamp(-1, 1)
        mse_x += ((img - clean_images) / 2).pow(2).mean().item() / draws  # images in [-1,1] -> [0,1] scale
    return {"latent_psnr_db": round(float(latent_psnr_db(torch.tensor(mse_z), peak)), 3),
            "image_psnr_db": round(float(10 * np.log10(1 / max(mse_x, 1e-12))), 3)}


def export_codec(codec: JsccCodec, name: str, out, gen: torch.Generator) -> list:
    codec = codec.cpu().eval()
    n = 3
    z = torch.randn(n, 4, 8, 8, generator=gen)
    snr = torch.tensor([-3.0, 7.5, 22.0])
    rate = torch.tensor([1 / 16, 1 / 4, 1 / 2])
    enc_path = out / "cala" / f"{name}_encoder.onnx"
    dec_path = out / "cala" / f"{name}_decoder.onnx"
    enc_path.parent.mkdir(parents=True, exist_ok=True)
    dyn = {0: "batch"}
    export_onnx(codec.encoder, (z, snr, rate), enc_path, ["latent", "snr_db", "rate"], ["symbols"],
                {k: dyn for k in ("latent", "snr_db", "rate", "symbols")})
    with torch.no_grad():
        s = codec.encoder(z, snr, rate)
        write_fixture(out, f"jscc_{name}_encoder", f"cala/{enc_path.name}", {"latent": z, "snr_db": snr, "rate": rate},
                      {"symbols": s})
        eq, rel = paper_channel(quantize_qam(s, codec.cfg.bits_per_symbol) * symbol_mask(rate)[:, :, None], snr,
                                torch.Generator().manual_seed(5))
        export_onnx(codec.decoder, (eq, rel, snr, rate), dec_path, ["symbols", "reliability", "snr_db", "rate"],
                    ["latent"], {k: dyn for k in ("symbols", "reliability", "snr_db", "rate", "latent")})
        write_fixture(out, f"jscc_{name}_decoder", f"cala/{dec_path.name}",
                      {"symbols": eq, "reliability": rel, "snr_db": snr, "rate": rate},
                      {"latent": codec.decoder(eq, rel, snr, rate)})
    return [enc_path, dec_path]


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--base-steps", type=int, default=4000)
    p.add_argument("--adapter-steps", type=int, default=2500)
    p.add_argument("--percond-steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--models-dir", type=type(MODELS_DIR), default=MODELS_DIR)
    args = p.parse_args()
    device = setup(args)
    quick = args.quick
    base_steps = 20 if quick else args.base_steps
    adapter_steps = 10 if quick else args.adapter_steps
    percond_steps = 3 if quick else args.percond_steps
    t_start = time.time()

    ae = load_autoencoder(args.models_dir / "torch" / "autoencoder.pt")
    train_ds = training_set("edge", 512) if quick else training_set("edge")
    latents = encode_latents(ae, train_ds.images, device)
    test_ds = training_set("edge", 64 if quick else TEST_SIZE, cache_dir=None, seed=TEST_SEED)
    test_latents = encode_latents(ae, test_ds.images, device)
    with torch.no_grad():
        clean_images = ae.decode(test_latents).clamp(-1, 1)
    peak = float(latents.max() - latents.min())

    times: dict[str, float] = {}
    base = JsccCodec(CodecConfig()).to(device)
    times["base"] = train(base, base.parameters(), latents, base_steps, args.lr, "jscc_base", args.seed, args.batch,
                          device=device)

    def adapted(cfg: CodecConfig, task: str, seed: int) -> JsccCodec:
        codec = JsccCodec(cfg).to(device)
        codec.load_state_dict(base.state_dict(), strict=False)
        for prm in codec.base_parameters():
            prm.requires_grad_(False)
        times[task] = train(codec, codec.adapter_parameters(), latents, adapter_steps, args.lr, f"jscc_{task}", seed,
                            args.batch, device=device)
        return codec

    cala = adapted(CodecConfig(adapters=ADAPTERS, rank=RANK, gate="soft"), "cala", args.seed + 1)
    grouped = adapted(CodecConfig(adapters=GROUPS, rank=RANK, gate="hard"), "grouped", args.seed + 2)

    noadapt = JsccCodec(CodecConfig()).to(device)
    times["noadapt"] = train(noadapt, noadapt.parameters(), latents, base_steps, args.lr, "jscc_noadapt",
                             args.seed + 3, args.batch, fixed=(NOADAPT_SNR_DB, NOADAPT_RATE), device=device)

    grid = [(s, r) for r in RATES for s in SNR_GRID_DB]
    percond_results = {}
    t0 = time.time()
    for i, (s, r) in enumerate(grid):
        codec = copy.deepcopy(base)
        train(codec, codec.parameters(), latents, percond_steps, args.lr * 0.3, f"jscc_percond_{i}", args.seed + 10 + i,
              args.batch, fixed=(s, r), device=device)
        percond_results[(s, r)] = evaluate(codec.eval(), test_latents, clean_images, ae, peak, 99, s, r)
    times["percond"] = time.time() - t0

    methods = {"noadapt": (noadapt, NOADAPT_RATE), "base": (base, None), "grouped": (grouped, None), "cala": (cala, None)}
    curves: dict[str, list[dict]] = {m: [] for m in [*methods, "percond"]}
    for s, r in grid:
        for m, (codec, enc_rate) in methods.items():
            res = evaluate(codec.eval(), test_latents, clean_images, ae, peak, 99, s, r, enc_rate)
            curves[m].append({"snr_db": s, "rate": r, **res})
        curves["percond"].append({"snr_db": s, "rate": r, **percond_results[(s, r)]})

    def mean(m: str, key: str) -> float:
        return float(np.mean([c[key] for c in curves[m]]))

    base_params = count(base.parameters())
    extra = count(cala.adapter_parameters())
    results = {
        "grid": {"snr_db": list(SNR_GRID_DB), "rates": list(RATES)},
        "curves": curves,
        "mean_latent_psnr_db": {m: round(mean(m, "latent_psnr_db"), 3) for m in curves},
        "mean_image_psnr_db": {m: round(mean(m, "image_psnr_db"), 3) for m in curves},
        # Headline numbers on the decoded image (what the user sees, as in the paper); latent ones beside them.
        "avg_gain_db": round(mean("cala", "image_psnr_db") - mean("noadapt", "image_psnr_db"), 3),
        "avg_gain_latent_db": round(mean("cala", "latent_psnr_db") - mean("noadapt", "latent_psnr_db"), 3),
        "gap_to_per_condition_db": round(mean("percond", "image_psnr_db") - mean("cala", "image_psnr_db"), 3),
        "gap_to_per_condition_latent_db": round(mean("percond", "latent_psnr_db") - mean("cala", "latent_psnr_db"), 3),
        "extra_params_pct": round(100 * extra / base_params, 2),
        "params": {"base": base_params, "cala_extra": extra, "grouped_extra": count(grouped.adapter_parameters()),
                   "percond_total": base_params * len(grid)},
        "storage_bytes": {"cala": 4 * (base_params + extra), "grouped": 4 * (base_params + count(grouped.adapter_parameters())),
                          "noadapt": 4 * base_params, "percond": 4 * base_params * len(grid)},
        "latent_peak_to_peak": round(peak, 4),
        "noadapt_condition": {"snr_db": NOADAPT_SNR_DB, "rate": NOADAPT_RATE},
        "train_wall_s": {k: round(v, 1) for k, v in times.items()},
        "test": f"{len(test_latents)} autoencoder latents of edge-world scenes (seed {TEST_SEED}), 2 channel draws each",
        "channel": "Rayleigh block fading (8-symbol blocks, correlation 0.8), AWGN, pilot estimate at the same SNR, MMSE",
        "command": module_command("train.cala"),
        "quick": quick,
    }
    out = args.out_dir
    (out / "cala").mkdir(parents=True, exist_ok=True)
    (out / "cala" / "results.json").write_text(json.dumps(results, indent=1) + "\n")

    gen = torch.Generator().manual_seed(321)
    (out / "torch").mkdir(parents=True, exist_ok=True)
    files = []
    for name, codec in (("cala", cala), ("grouped", grouped), ("noadapt", noadapt)):
        files += export_codec(codec, name, out, gen)
        torch.save({"config": codec.cfg.to_dict(), "state_dict": codec.cpu().state_dict()},
                   out / "torch" / f"jscc_{name}.pt")
    update_manifest(out, "jscc", files, command=module_command("train.cala"), seed=args.seed,
                    wall_s=time.time() - t_start, parameters=base_params,
                    data=f"autoencoder latents of the edge world, {len(latents)} scenes (seed 1000)",
                    extra={"k_max": K_MAX, "latent_dim": LATENT_DIM, "rates": list(RATES), "adapters": ADAPTERS,
                           "rank": RANK, "bits_per_symbol": 8, "results": "models/cala/results.json",
                           "summary": {k: results[k] for k in ("avg_gain_db", "gap_to_per_condition_db",
                                                               "extra_params_pct")}})
    print(json.dumps({k: results[k] for k in ("avg_gain_db", "gap_to_per_condition_db", "extra_params_pct",
                                              "mean_latent_psnr_db", "mean_image_psnr_db", "train_wall_s")}))


if __name__ == "__main__":
    main()
