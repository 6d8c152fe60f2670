"""Train the JSCC latent codec with CALA, and its baselines, on the autoencoder's latents of the edge world.

    python3 -m train.cala [--base-steps 4000] [--adapter-steps 1500] [--device cpu|cuda] [--quick]
    python3 -m train.cala --from-checkpoints DIR [--resume-eval PARTIAL.json]   # evaluate + export only

`--from-checkpoints DIR` loads base.pt, cala.pt, grouped.pt, noadapt.pt ({"config", "state_dict"}, as this
script saves them) instead of training them; `--resume-eval` takes a partial results file ({"curves": {method:
[points]}, "percond": [points], "train_wall_s": {...}}) from an interrupted run and evaluates only the grid points
it lacks. The evaluation is deterministic (seeded per point), so a resumed run writes what the full one would.

Stages (each logged as JSON progress lines):
  1. base       one codec, no adapters, trained over random conditions (SNR -7..32 dB, every rate, half of the
                examples on the paper's block-fading channel, half on a flat one)
  2. cala       base frozen; a bank of ADAPTERS rank-RANK LoRA updates per layer + a soft gate on
                (SNR, rate, selectivity)
  3. grouped    base frozen; one adapter per SNR group, hard-switched (the paper's earlier grouped scheme)
  4. noadapt    a codec trained from scratch at one condition (NOADAPT_SNR_DB, NOADAPT_RATE), used everywhere
                (at other rates it sends min(K, K_trained) of its symbols: it cannot use more, it must drop some)
  5. percond    the upper bound: the base fine-tuned fully at each grid condition (28 codecs, not exported;
                their storage is reported)
Then every method is evaluated on held-out latents over the grid (SNR -5..30 dB x every rate) on the paper's
channel, and the shipped codecs also on the flat channel: latent PSNR and decoded-image PSNR (against the
image decoded from the clean latent, so only the link's loss counts), written to models/cala/results.json;
ONNX encoders/decoders of cala, grouped, noadapt go to models/cala/.

The loss is the mean over examples of log(latent MSE): every condition counts in dB, as the PSNR averaged
over the grid does (a plain MSE would let the low-SNR examples' large errors drown the high-SNR ones).
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .common import MODELS_DIR, Progress, base_parser, export_onnx, module_command, setup, update_manifest, write_fixture
from .data import to_model_images, training_set
from .gai import encode_latents, load_autoencoder
from .jscc import (K_MAX, LATENT_DIM, RATES, SNR_GRID_DB, CodecConfig, JsccCodec, count, latent_psnr_db, paper_channel,
                   quantize_qam, selectivity_of, symbol_mask)

ADAPTERS = 4
RANK = 3
GROUPS = 3
NOADAPT_SNR_DB = 10.0
NOADAPT_RATE = 1 / 4
TRAIN_SNR_DB = (-7.0, 32.0)
FADING_FRACTION = 0.5  # share of training examples on the paper's block-fading channel (the rest flat)
COMMIT_WEIGHT = 0.1
LOG_MSE_FLOOR = 1e-4
TEST_SEED = 7000
TEST_SIZE = 1024
FLAT_TEST_SIZE = 256  # the flat-channel curves (the rate policy's inputs) on the first 256 test latents, 1 draw


def transmit(codec: JsccCodec, z: torch.Tensor, snr: torch.Tensor, rate: torch.Tensor, fading: torch.Tensor,
             gen: torch.Generator, enc_rate: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode, quantize (straight-through), channel, decode. `enc_rate` lets a fixed-rate codec send fewer.
    The selectivity both sides are conditioned on is the channel's nominal one (1 under block fading, 0 flat):
    the encoder only knows it from earlier frames' feedback; the decoder measures it (`selectivity_of`) but a
    frame of 16 symbols is too short to tell a channel's kind reliably, so training uses the nominal value
    with the measurement's noise added."""
    bits = codec.cfg.bits_per_symbol
    nominal = fading.to(z.dtype)
    s = codec.encoder(z, snr, rate if enc_rate is None else enc_rate, nominal)
    q = quantize_qam(s, bits)
    commit = (s - q.detach()).pow(2).sum(-1).mean()
    sent = s + (q - s).detach()
    mask = symbol_mask(rate)
    sent = sent * mask[:, :, None]
    eq, rel, gain = paper_channel(sent, snr, gen, fading)
    measured = selectivity_of(gain, mask)
    return codec.decoder(eq * mask[:, :, None], rel * mask, snr, rate, measured), commit


def random_conditions(n: int, rng: np.random.Generator, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    snr = torch.from_numpy(rng.uniform(*TRAIN_SNR_DB, n).astype(np.float32)).to(device)
    rate = torch.from_numpy(np.asarray(RATES, dtype=np.float32)[rng.integers(0, len(RATES), n)]).to(device)
    fading = torch.from_numpy(rng.random(n) < FADING_FRACTION).to(device)
    return snr, rate, fading


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
            fading = torch.ones(batch, dtype=torch.bool, device=device)  # the paper's channel
        else:
            snr, rate, fading = random_conditions(batch, rng, device)
        out, commit = transmit(codec, z, snr, rate, fading, gen)
        mse = (out - z).pow(2).flatten(1).mean(1)
        loss = torch.log(mse + LOG_MSE_FLOOR).mean() + COMMIT_WEIGHT * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        progress.update(step + 1, loss=running)
    return progress.elapsed_s


@torch.no_grad()
def evaluate(codec: JsccCodec, latents: torch.Tensor, clean_images: torch.Tensor, ae, peak: float, seed: int,
             snr_db: float, rate: float, enc_rate: float | None = None, draws: int = 2,
             fading: bool = True) -> dict[str, float]:
    gen = torch.Generator().manual_seed(seed)
    n = len(latents)
    mse_z, mse_x = 0.0, 0.0
    for _ in range(draws):
        snr = torch.full((n,), snr_db)
        r = torch.full((n,), rate)
        er = None if enc_rate is None else torch.full((n,), min(enc_rate, rate))
        out, _ = transmit(codec, latents, snr, r, torch.full((n,), fading), gen, er)
        mse_z += F.mse_loss(out, latents).item() / draws
        img = ae.decode(out).clamp(-1, 1)
        mse_x += ((img - clean_images) / 2).pow(2).mean().item() / draws  # images in [-1,1] -> [0,1] scale
    return {"latent_psnr_db": round(float(latent_psnr_db(torch.tensor(mse_z), peak)), 3),
            "image_psnr_db": round(float(10 * np.log10(1 / max(mse_x, 1e-12))), 3)}


def write_latent_klt(latents: torch.Tensor, out_dir: Path) -> Path:
    """The latent's Karhunen-Loeve transform (PCA over the training latents): mean, orthonormal basis rows in
    decreasing variance, and the variances. The digital-latent baseline (src/session/digital-latent.ts)
    transform-codes the latent with it, as a separation scheme would."""
    z = latents.reshape(len(latents), -1).double()
    mean = z.mean(0)
    cov = torch.cov((z - mean).T)
    var, vec = torch.linalg.eigh(cov)
    order = torch.argsort(var, descending=True)
    var, basis = var[order].clamp_min(0.0), vec[:, order].T.contiguous()
    path = out_dir / "cala" / "latent_klt.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "latent_dim": LATENT_DIM,
        "what": "KLT of the autoencoder latents of the edge world: coefficient i = basis[i] . (z - mean)",
        "scenes": len(latents),
        "mean": [round(float(x), 6) for x in mean],
        "variance": [float(f"{float(x):.6g}") for x in var],
        "basis": [[round(float(x), 6) for x in row] for row in basis],
    }, separators=(",", ":")) + "\n")
    return path


def export_codec(codec: JsccCodec, name: str, out, gen: torch.Generator) -> list:
    codec = codec.cpu().eval()
    n = 4
    z = torch.randn(n, 4, 8, 8, generator=gen)
    snr = torch.tensor([-3.0, 7.5, 22.0, 30.0])
    rate = torch.tensor([1 / 16, 1 / 4, 1 / 2, 1.0])
    sel = torch.tensor([1.0, 0.0, 0.4, 0.05])
    enc_path = out / "cala" / f"{name}_encoder.onnx"
    dec_path = out / "cala" / f"{name}_decoder.onnx"
    enc_path.parent.mkdir(parents=True, exist_ok=True)
    dyn = {0: "batch"}
    export_onnx(codec.encoder, (z, snr, rate, sel), enc_path, ["latent", "snr_db", "rate", "selectivity"], ["symbols"],
                {k: dyn for k in ("latent", "snr_db", "rate", "selectivity", "symbols")})
    with torch.no_grad():
        s = codec.encoder(z, snr, rate, sel)
        write_fixture(out, f"jscc_{name}_encoder", f"cala/{enc_path.name}",
                      {"latent": z, "snr_db": snr, "rate": rate, "selectivity": sel}, {"symbols": s})
        eq, rel, _ = paper_channel(quantize_qam(s, codec.cfg.bits_per_symbol) * symbol_mask(rate)[:, :, None], snr,
                                   torch.Generator().manual_seed(5), sel > 0.5)
        export_onnx(codec.decoder, (eq, rel, snr, rate, sel), dec_path,
                    ["symbols", "reliability", "snr_db", "rate", "selectivity"], ["latent"],
                    {k: dyn for k in ("symbols", "reliability", "snr_db", "rate", "selectivity", "latent")})
        write_fixture(out, f"jscc_{name}_decoder", f"cala/{dec_path.name}",
                      {"symbols": eq, "reliability": rel, "snr_db": snr, "rate": rate, "selectivity": sel},
                      {"latent": codec.decoder(eq, rel, snr, rate, sel)})
    return [enc_path, dec_path]


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--base-steps", type=int, default=3000)
    p.add_argument("--adapter-steps", type=int, default=1200)
    p.add_argument("--noadapt-steps", type=int, default=2000)
    p.add_argument("--percond-steps", type=int, default=120)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--models-dir", type=type(MODELS_DIR), default=MODELS_DIR)
    p.add_argument("--from-checkpoints", type=Path, default=None,
                   help="load base/cala/grouped/noadapt .pt from this folder instead of training them")
    p.add_argument("--resume-eval", type=Path, default=None,
                   help="partial results of an interrupted run: evaluate only the grid points it lacks")
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
    with torch.no_grad():  # what the autoencoder alone loses: the test images against their own reconstruction
        recon = ae.decode(test_latents).clamp(-1, 1)
        originals = torch.from_numpy(to_model_images(test_ds.images))
        ceiling_db = round(float(10 * np.log10(1 / ((recon - originals) / 2).pow(2).mean().item())), 3)
    klt_path = write_latent_klt(latents, out_dir=args.out_dir)

    resumed = json.loads(args.resume_eval.read_text()) if args.resume_eval else {}
    done_curves: dict[str, dict[tuple[float, float], dict]] = {
        m: {(c["snr_db"], c["rate"]): c for c in pts} for m, pts in resumed.get("curves", {}).items()}
    times: dict[str, float] = dict(resumed.get("train_wall_s", {}))
    grid = [(s, r) for r in RATES for s in SNR_GRID_DB]

    if args.from_checkpoints:
        def load(name: str) -> JsccCodec:
            state = torch.load(args.from_checkpoints / f"{name}.pt", map_location="cpu")
            codec = JsccCodec(CodecConfig(**state["config"]))
            codec.load_state_dict(state["state_dict"])
            return codec.to(device)

        base, cala, grouped, noadapt = (load(n) for n in ("base", "cala", "grouped", "noadapt"))
    else:
        base = JsccCodec(CodecConfig()).to(device)
        times["base"] = train(base, base.parameters(), latents, base_steps, args.lr, "jscc_base", args.seed,
                              args.batch, device=device)

        def adapted(cfg: CodecConfig, task: str, seed: int) -> JsccCodec:
            codec = JsccCodec(cfg).to(device)
            codec.load_state_dict(base.state_dict(), strict=False)
            for prm in codec.base_parameters():
                prm.requires_grad_(False)
            times[task] = train(codec, codec.adapter_parameters(), latents, adapter_steps, args.lr, f"jscc_{task}",
                                seed, args.batch, device=device)
            return codec

        cala = adapted(CodecConfig(adapters=ADAPTERS, rank=RANK, gate="soft"), "cala", args.seed + 1)
        grouped = adapted(CodecConfig(adapters=GROUPS, rank=RANK, gate="hard"), "grouped", args.seed + 2)

        noadapt = JsccCodec(CodecConfig()).to(device)
        times["noadapt"] = train(noadapt, noadapt.parameters(), latents, 20 if quick else args.noadapt_steps, args.lr,
                                 "jscc_noadapt", args.seed + 3, args.batch, fixed=(NOADAPT_SNR_DB, NOADAPT_RATE),
                                 device=device)

    percond_results = {k: {"latent_psnr_db": c["latent_psnr_db"], "image_psnr_db": c["image_psnr_db"]}
                       for k, c in done_curves.get("percond", {}).items()}
    t0 = time.time()
    for i, (s, r) in enumerate(grid):
        if (s, r) in percond_results:
            continue
        codec = copy.deepcopy(base)
        train(codec, codec.parameters(), latents, percond_steps, args.lr * 0.3, f"jscc_percond_{i}", args.seed + 10 + i,
              args.batch, fixed=(s, r), device=device)
        percond_results[(s, r)] = evaluate(codec.eval(), test_latents, clean_images, ae, peak, 99, s, r)
    if len(percond_results) > len(done_curves.get("percond", {})) or "percond" not in times:
        times["percond"] = times.get("percond", 0.0) + time.time() - t0

    def save_partial() -> None:
        """What is evaluated so far, in the --resume-eval format, so an interrupted evaluation is not lost."""
        partial = {"curves": {**curves, **{f"{m}_flat": v for m, v in curves_flat.items()}}, "train_wall_s": times}
        (args.out_dir / "cala").mkdir(parents=True, exist_ok=True)
        (args.out_dir / "cala" / "partial-eval.json").write_text(json.dumps(partial) + "\n")

    methods = {"noadapt": (noadapt, NOADAPT_RATE), "base": (base, None), "grouped": (grouped, None), "cala": (cala, None)}
    curves: dict[str, list[dict]] = {m: [] for m in [*methods, "percond"]}
    curves_flat: dict[str, list[dict]] = {m: [] for m in ("noadapt", "cala")}
    for s, r in grid:
        for m, (codec, enc_rate) in methods.items():
            done = done_curves.get(m, {}).get((s, r))
            res = done if done else evaluate(codec.eval(), test_latents, clean_images, ae, peak, 99, s, r, enc_rate)
            curves[m].append({"snr_db": s, "rate": r, "latent_psnr_db": res["latent_psnr_db"],
                              "image_psnr_db": res["image_psnr_db"]})
            Progress(f"jscc_eval_{m}", len(grid)).update(len(curves[m]))
        curves["percond"].append({"snr_db": s, "rate": r, **percond_results[(s, r)]})
        save_partial()

    # The flat channel (what the loopback radio and a cable look like after equalization): the rate policy's
    # curves when the measured selectivity is low.
    flat_latents, flat_clean = test_latents[:FLAT_TEST_SIZE], clean_images[:FLAT_TEST_SIZE]
    for s, r in grid:
        for m in curves_flat:
            codec, enc_rate = methods[m]
            done = done_curves.get(f"{m}_flat", {}).get((s, r))
            res = done if done else evaluate(codec.eval(), flat_latents, flat_clean, ae, peak, 99, s, r, enc_rate,
                                             draws=1, fading=False)
            curves_flat[m].append({"snr_db": s, "rate": r, "latent_psnr_db": res["latent_psnr_db"],
                                   "image_psnr_db": res["image_psnr_db"]})
        save_partial()

    def mean(m: str, key: str) -> float:
        return float(np.mean([c[key] for c in curves[m]]))

    base_params = count(base.parameters())
    extra = count(cala.adapter_parameters())
    results = {
        "grid": {"snr_db": list(SNR_GRID_DB), "rates": list(RATES)},
        "curves": curves,
        "curves_flat": curves_flat,
        "mean_image_psnr_db_flat": {m: round(float(np.mean([c["image_psnr_db"] for c in v])), 3)
                                    for m, v in curves_flat.items()},
        "autoencoder_ceiling_image_psnr_db": ceiling_db,
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
        "test": f"{len(test_latents)} autoencoder latents of edge-world scenes (seed {TEST_SEED}), 2 channel draws each; "
                f"the flat-channel curves on the first {min(FLAT_TEST_SIZE, len(test_latents))}, 1 draw each",
        "channel": "Rayleigh block fading (8-symbol blocks, correlation 0.8), AWGN, pilot estimate at the same SNR, MMSE",
        "command": module_command("train.cala"),
        "quick": quick,
        "from_checkpoints": bool(args.from_checkpoints),
        "resumed_points": sum(len(v) for v in done_curves.values()),
    }
    out = args.out_dir
    (out / "cala").mkdir(parents=True, exist_ok=True)
    (out / "cala" / "results.json").write_text(json.dumps(results, indent=1) + "\n")

    gen = torch.Generator().manual_seed(321)
    (out / "torch").mkdir(parents=True, exist_ok=True)
    files = []
    files.append(klt_path)
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
