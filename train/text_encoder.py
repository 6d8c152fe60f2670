"""Pretrain the shared text encoder, then freeze it for both generators.

Like the frozen CLIP/T5 encoders of Stable Diffusion and PixArt, it is trained apart from the generators,
on the language alone: from the contextual embedding at <bos> it must say, for every attribute, which
value the prompt names (or that it names none). The generators read all its per-token outputs through
cross-attention.

    python3 -m train.text_encoder [--steps 1500] [--device cpu|cuda] [--quick]
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import (load_checkpoint, Progress, base_parser, cosine_lr, export_onnx, module_command, setup,
                     update_manifest, write_fixture)
from .data import training_set
from .nets import TextEncoder, TextEncoderConfig, count_parameters
from .vocab import load_vocab
from .world import ATTRIBUTE_ORDER, LABEL_VALUES


def text_encoder_config() -> TextEncoderConfig:
    v = load_vocab()
    return TextEncoderConfig(vocab_size=v.size, max_tokens=v.max_tokens,
                             metaword_first_id=v.metaword_first_id, metaword_slots=v.metaword_slots)


def load_text_encoder(path) -> TextEncoder:
    ckpt = load_checkpoint(path)
    model = TextEncoder(TextEncoderConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    args = p.parse_args()
    device = setup(args)
    steps = 10 if args.quick else args.steps
    ds = training_set("cloud", 512) if args.quick else training_set("cloud")
    vocab = load_vocab()
    cfg = text_encoder_config()
    model = TextEncoder(cfg).to(device)
    head_sizes = [len(LABEL_VALUES[k]) + 1 for k in ATTRIBUTE_ORDER]  # +1: "not named"
    heads = nn.Linear(cfg.dim, sum(head_sizes)).to(device)
    ids = torch.from_numpy(ds.token_ids)
    # the target is the named value, or the extra class "not named"
    targets = torch.from_numpy(np.where(ds.mentioned, ds.labels,
                                        np.array([len(LABEL_VALUES[k]) for k in ATTRIBUTE_ORDER])))
    params = list(model.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed)
    progress = Progress("text_encoder", steps)
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, args.lr, warmup=100)
        idx = rng.integers(0, len(ids), args.batch)
        logits = heads(model(ids[idx].to(device))[:, 0]).split(head_sizes, dim=1)
        y = targets[idx].to(device)
        loss = sum(F.cross_entropy(lg, y[:, i]) for i, lg in enumerate(logits))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        progress.update(step + 1, loss=float(loss))
    wall_s = progress.elapsed_s
    model.eval()
    with torch.no_grad():
        logits = heads(model(ids[:4096].to(device))[:, 0]).split(head_sizes, dim=1)
        acc = float(np.mean([(lg.argmax(1).cpu() == targets[:4096, i]).float().mean() for i, lg in enumerate(logits)]))
    print(f"text encoder: attribute parsing accuracy {acc:.4f}", flush=True)

    model = model.cpu()
    out = args.out_dir
    weights = out / "torch" / "text_encoder.pt"
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": cfg.__dict__, "state_dict": model.state_dict()}, weights)
    onnx_path = out / "text_encoder.onnx"
    sample_ids = torch.tensor([vocab.encode("a red star on grass"),
                               vocab.encode("two <meta0> hearts at night")], dtype=torch.int64)
    metaword = torch.randn(cfg.metaword_slots, cfg.dim) * 0.5
    export_onnx(model, (sample_ids, metaword), onnx_path, ["token_ids", "metaword"], ["context"],
                {"token_ids": {0: "batch"}, "context": {0: "batch"}})
    with torch.no_grad():
        write_fixture(out, "text_encoder", onnx_path.name, {"token_ids": sample_ids, "metaword": metaword},
                      {"context": model(sample_ids, metaword)})
    update_manifest(out, "text_encoder", [onnx_path, weights], command=module_command("train.text_encoder"),
                    seed=args.seed, wall_s=wall_s, parameters=count_parameters(model),
                    data=f"prompts of the cloud world's training set ({len(ids)})",
                    extra={"parsing_accuracy": round(acc, 4), "steps": steps,
                           "metaword_slots": cfg.metaword_slots, "context_dim": cfg.dim})


if __name__ == "__main__":
    main()
