"""Where should MAKD's low-rank updates go? A PyTorch study of the distillation levers (issue 14).

    python3 -m train.makd_study --subject shape:star [--variants attn:4,attn+conv:4:3] [--seeds 1 2 3]
                                [--steps 250] [--threads 2] [--out FILE.json]

Each variant distils an adapter with train/makd.py's own `distill` (same data, losses and schedule) and is
scored on the benchmark's prompts for the subject (models/eval/prompts.json, the prompts `dekag bench makd`
uses) with the benchmark's metric, computed here in PyTorch: consistency = cos(edge image, cloud image) +
cos(edge image, prompt) in the evaluator's embeddings, the cloud reference and the ceiling (a second cloud
image) from fixed noise. Reported per variant: consistency without / with the adapter, the gap closed
(mean over prompts) with a 95 % paired bootstrap interval over prompts, the spread over training seeds, the
drop on the 'aligned' prompts (other prompts must not suffer), how often the evaluator sees the subject's
attribute in the edge's images without and with the adapter (the bench's subject_attribute_accuracy, from this
study's noise), trainable numbers and CPU seconds.

A variant is `attn:R` (LoRA of rank R on the attention projections only), `attn+conv:R:C` (also a
rank-C LoCon update on every convolution of the edge: what ships since 2026-12-07 evening, R = 16, C = 8) or `attn+full:R:GROUPS` (also train some of the edge's own weights in full, GROUPS from all, conv,
attn, temb, norm joined by '+': a diagnostic of where capacity matters, not an adapter). The noise differs from the TypeScript bench's (torch generator here), so the absolute numbers are
close to, not equal to, `dekag bench makd`'s; the comparison between variants is what this measures.
"""
from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .common import MODELS_DIR
from .diffusion import sample_batch
from .evaluator import evaluator_config
from .gai import load_autoencoder
from .makd import GUIDANCE, SAMPLER_STEPS, adapted_pairs, distill, make_parser, place_metaword
from .prompt_accuracy import evaluate_latents, load_evaluator
from .world import ATTRIBUTE_ORDER, LABEL_VALUES

EVAL_NOISE_SEED = 20000
CEILING_NOISE_SEED = 20500


class Judge:
    """The benchmark's consistency, in PyTorch, for a fixed prompt list."""

    def __init__(self, models_dir: Path, prompts: list[str], vocab, text, cloud, null_ctx, subject: dict[str, str] | None = None):
        self.prompts, self.vocab, self.text, self.null_ctx = prompts, vocab, text, null_ctx
        self.subject = subject or {}
        self.ae = load_autoencoder(models_dir / "torch" / "autoencoder.pt")
        self.image_enc = load_evaluator(models_dir)
        text_enc = load_evaluator(models_dir, "text")
        ids = torch.tensor([vocab.encode(p) for p in prompts])
        with torch.no_grad():
            self.prompt_emb = text_enc(ids)
        self.noise = torch.randn(len(prompts), 4, 8, 8, generator=torch.Generator().manual_seed(EVAL_NOISE_SEED))
        noise2 = torch.randn(len(prompts), 4, 8, 8, generator=torch.Generator().manual_seed(CEILING_NOISE_SEED))
        ctx = self.contexts(prompts)
        self.cloud_emb = self.embed(cloud, ctx, self.noise)[0]
        ceiling = self.embed(cloud, ctx, noise2)[0]
        self.ceiling = self.score(ceiling)

    @torch.no_grad()
    def contexts(self, prompts: list[str], metaword: torch.Tensor | None = None) -> torch.Tensor:
        return self.text(torch.tensor([self.vocab.encode(p) for p in prompts]), metaword)

    @torch.no_grad()
    def embed(self, model, ctx: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The evaluator's (embeddings, attribute logits) of the images `model` samples from `noise`."""
        latent = sample_batch(model, ctx, self.null_ctx, noise, SAMPLER_STEPS, GUIDANCE)
        return evaluate_latents(self.ae, self.image_enc, latent)

    def seen(self, logits: torch.Tensor) -> float | None:
        """Share of the images in which the evaluator sees every attribute of the subject (as the bench's
        subject_attribute_accuracy: the argmax of that attribute's head)."""
        if not self.subject:
            return None
        heads = logits.split(list(evaluator_config().head_sizes), 1)
        hits = torch.ones(logits.shape[0], dtype=torch.bool)
        for attr, value in self.subject.items():
            hits &= heads[ATTRIBUTE_ORDER.index(attr)].argmax(1) == LABEL_VALUES[attr].index(value)
        return round(float(hits.float().mean()), 4)

    def score(self, emb: torch.Tensor) -> np.ndarray:
        """Per-prompt consistency of images with embeddings `emb`."""
        c = (emb * self.cloud_emb).sum(-1) + (emb * self.prompt_emb).sum(-1)
        return c.numpy().astype(np.float64)

    def edge(self, edge, lora, metaword: torch.Tensor | None, slots: dict[str, int],
             tokens_per_word: int = 1) -> tuple[np.ndarray, float | None]:
        """Per-prompt consistency of the edge's images, and how often the evaluator sees the subject in them."""
        prompts = [place_metaword(p, slots, self.vocab, tokens_per_word) for p in self.prompts] if metaword is not None else self.prompts
        ctx = self.contexts(prompts, metaword)
        emb, logits = self.embed(lambda x, t, c: edge(x, t, c, lora), ctx, self.noise)
        return self.score(emb), self.seen(logits)


def gap_closed(none: np.ndarray, adapted: np.ndarray, ceiling: np.ndarray) -> float:
    return float(100 * (adapted.mean() - none.mean()) / (ceiling.mean() - none.mean()))


def bootstrap_ci(none: np.ndarray, adapted: np.ndarray, ceiling: np.ndarray, n: int = 2000, seed: int = 0) -> list[float]:
    """95 % interval of the gap closed, resampling prompts (paired: a prompt keeps its three scores)."""
    rng = np.random.default_rng(seed)
    k = len(none)
    vals = []
    for _ in range(n):
        i = rng.integers(0, k, k)
        den = ceiling[i].mean() - none[i].mean()
        if abs(den) > 1e-9:
            vals.append(100 * (adapted[i].mean() - none[i].mean()) / den)
    return [round(float(np.percentile(vals, 2.5)), 1), round(float(np.percentile(vals, 97.5)), 1)]


def parse_variant(v: str) -> dict:
    parts = v.split(":")
    if parts[0] == "attn" and len(parts) == 2:
        return {"name": v, "rank": int(parts[1]), "conv_rank": 0, "unfreeze": ""}
    if parts[0] == "attn+full" and len(parts) == 3:
        return {"name": v, "rank": int(parts[1]), "conv_rank": 0, "unfreeze": parts[2].replace("+", ",")}
    if parts[0] == "attn+conv" and len(parts) == 3:
        return {"name": v, "rank": int(parts[1]), "conv_rank": int(parts[2]), "unfreeze": ""}
    raise SystemExit(f"--variants: '{v}' is not attn:R, attn+conv:R:C or attn+full:R:GROUPS (GROUPS: all, conv, attn, temb, norm joined by +)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subject", required=True)
    p.add_argument("--variants", default="attn:4,attn+conv:4:3")
    p.add_argument("--mode", default="makd", choices=("makd", "lora"))
    p.add_argument("--seeds", type=int, nargs="+", default=[1])
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr-lora", type=float, default=3e-3, help="learning rate of the low-rank updates (LoRA and LoCon)")
    p.add_argument("--w-preserve", type=float, default=1.0, help="weight of the preservation loss (train.makd's)")
    p.add_argument("--lr-full", type=float, default=1e-4, help="learning rate of the edge weights an attn+full variant trains")
    p.add_argument("--prompts", type=int, default=128, help="distillation prompts per subject (train.makd's --prompts)")
    p.add_argument("--prompt-style", choices=("mixed", "full"), default="mixed", help="train.makd's --prompt-style")
    p.add_argument("--makd-args", default="", help="more train.makd options for every variant, e.g. '--w-rollout 1'")
    p.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    prompts_doc = json.loads((args.models_dir / "eval" / "prompts.json").read_text())
    if args.subject not in prompts_doc["subjects"]:
        raise SystemExit(f"--subject: no evaluation prompts for '{args.subject}' in models/eval/prompts.json")
    results = []
    judge = judge_aligned = None
    for variant in (parse_variant(v) for v in args.variants.split(",")):
        runs = []
        for seed in args.seeds:
            dargs = make_parser().parse_args(["--subject", args.subject, "--mode", args.mode, "--out", "/dev/null",
                                              "--steps", str(args.steps), "--rank", str(variant["rank"]),
                                              "--conv-rank", str(variant["conv_rank"]), "--unfreeze", variant["unfreeze"], "--seed", str(seed), "--lr-lora", str(args.lr_lora), "--w-preserve", str(args.w_preserve), "--lr-full", str(args.lr_full), "--prompts", str(args.prompts), "--prompt-style", args.prompt_style,
                                              "--threads", str(args.threads), "--models-dir", str(args.models_dir),
                                              *shlex.split(args.makd_args)])
            cpu0 = time.process_time()
            r = distill(dargs)
            cpu_s = time.process_time() - cpu0
            edge, adapter, conv = r["edge"], r["adapter"], r["conv"]
            if judge is None:
                judge = Judge(args.models_dir, prompts_doc["subjects"][args.subject], r["vocab"], r["text"], r["cloud"], r["null_ctx"], r["subject"])
                judge_aligned = Judge(args.models_dir, prompts_doc["subjects"]["aligned"], r["vocab"], r["text"], r["cloud"], r["null_ctx"])
            meta = adapter.metaword.detach() if r["use_meta"] else None
            pairs = adapted_pairs(adapter, conv)  # None without a LoRA
            lora = {k: (a.detach(), b.detach()) for k, (a, b) in pairs.items()} if pairs is not None else None
            none, seen_none = judge.edge(r["base_edge"], None, None, {})
            none_aligned, _ = judge_aligned.edge(r["base_edge"], None, None, {})
            adapted, seen_adapted = judge.edge(edge, lora, meta, r["slots"], r["metaword_tokens"])
            adapted_aligned, _ = judge_aligned.edge(edge, lora, None, {})  # the aligned prompts never name the subject
            numbers = sum(a.numel() + b.numel() for a, b in (lora or {}).values()) + r["unfrozen_numbers"]
            runs.append({"seed": seed, "none": round(float(none.mean()), 4), "adapted": round(float(adapted.mean()), 4),
                         "ceiling": round(float(judge.ceiling.mean()), 4),
                         "gap_closed_pct": round(gap_closed(none, adapted, judge.ceiling), 1),
                         "gap_closed_ci95": bootstrap_ci(none, adapted, judge.ceiling),
                         "aligned_drop": round(float(none_aligned.mean() - adapted_aligned.mean()), 4),
                         "subject_attribute_seen": {"none": seen_none, "adapted": seen_adapted},
                         "trainable_numbers": int(numbers), "adapter_kb_float32": round(4 * numbers / 1024, 1),
                         "cpu_s": round(cpu_s, 1)})
            print(json.dumps({"variant": variant["name"], **runs[-1]}), flush=True)
        gaps = [x["gap_closed_pct"] for x in runs]
        results.append({"variant": variant["name"], "mode": args.mode, "runs": runs,
                        "gap_closed_pct_mean": round(float(np.mean(gaps)), 1),
                        "gap_closed_pct_seed_spread": round(float(np.std(gaps, ddof=1)), 1) if len(gaps) > 1 else None})
    doc = {"study": "makd levers", "subject": args.subject, "steps": args.steps, "seeds": args.seeds, "lr_lora": args.lr_lora, "w_preserve": args.w_preserve, "lr_full": args.lr_full, "distill_prompts": args.prompts, "prompt_style": args.prompt_style,
           "makd_args": args.makd_args,
           "prompts": len(prompts_doc["subjects"][args.subject]), "results": results}
    print(json.dumps(doc), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
