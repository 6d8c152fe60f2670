"""Train the evaluator: a domain CLIP (image and text encoders, contrastive) plus attribute heads.

It stands in for the paper's DINO and CLIP scores. It learns the cloud's rendering of the world, which is
the reference the user should receive, on every attribute combination (held-out ones included: it is the
judge, not a generator), on clean images and on the autoencoder's reconstructions (what generators emit).

    python3 -m train.evaluator [--steps 2000] [--device cpu|cuda] [--quick]

Fixed once trained: MAKD and CALA work must not retrain or retune it to improve their numbers.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .common import (MODELS_DIR, Progress, base_parser, cosine_lr, export_onnx, module_command, setup,
                     update_manifest, write_fixture)
from .data import EVALUATOR_SEED, to_model_images, training_set
from .gai import load_autoencoder
from .nets import EvaluatorConfig, EvaluatorImageEncoder, EvaluatorTextEncoder, count_parameters
from .vocab import load_vocab
from .world import ATTRIBUTE_ORDER, LABEL_VALUES, make_dataset


def evaluator_config() -> EvaluatorConfig:
    v = load_vocab()
    return EvaluatorConfig(vocab_size=v.size, max_tokens=v.max_tokens,
                           head_sizes=tuple(len(LABEL_VALUES[k]) for k in ATTRIBUTE_ORDER))


@torch.no_grad()
def reconstruct(ae, images: torch.Tensor, device: torch.device) -> torch.Tensor:
    ae = ae.to(device)
    return torch.cat([ae.decode(ae.encode(images[i:i + 1024].to(device))).clamp(-1, 1).cpu()
                      for i in range(0, len(images), 1024)])


def head_accuracy(logits: torch.Tensor, labels: torch.Tensor, sizes: tuple[int, ...]) -> list[float]:
    return [float((lg.argmax(1) == labels[:, i]).float().mean()) for i, lg in enumerate(logits.split(sizes, 1))]


def main() -> None:
    p = base_parser(__doc__)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--models-dir", type=type(MODELS_DIR), default=MODELS_DIR,
                   help="where the trained autoencoder is read from")
    args = p.parse_args()
    device = setup(args)
    steps = 10 if args.quick else args.steps
    n = 512 if args.quick else 60000
    vocab = load_vocab()
    cfg = evaluator_config()
    ds = training_set("cloud", n, seed=EVALUATOR_SEED, allow_held_out=True)
    clean = torch.from_numpy(to_model_images(ds.images))
    recon = reconstruct(load_autoencoder(args.models_dir / "torch" / "autoencoder.pt"), clean, device)
    ids = torch.from_numpy(ds.token_ids)
    labels = torch.from_numpy(ds.labels)

    image_enc = EvaluatorImageEncoder(cfg).to(device)
    text_enc = EvaluatorTextEncoder(cfg).to(device)
    log_scale = torch.nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32, device=device))
    params = list(image_enc.parameters()) + list(text_enc.parameters()) + [log_scale]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed)
    progress = Progress("evaluator", steps)
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, args.lr, warmup=100)
        idx = torch.from_numpy(rng.integers(0, len(clean), args.batch))
        use_recon = torch.from_numpy(rng.random(args.batch) < 0.5)[:, None, None, None]
        x = torch.where(use_recon, recon[idx], clean[idx])
        x = (x + 0.03 * torch.randn_like(x)).to(device)
        y = labels[idx].to(device)
        emb, logits = image_enc(x)
        temb = text_enc(ids[idx].to(device))
        # identical prompts in a batch are positives of each other, not negatives
        same = (ids[idx][:, None, :] == ids[idx][None, :, :]).all(-1).float().to(device)
        target = same / same.sum(1, keepdim=True)
        sim = log_scale.exp().clamp(max=100) * emb @ temb.t()
        contrastive = 0.5 * (-(target * F.log_softmax(sim, 1)).sum(1).mean()
                             - (target * F.log_softmax(sim.t(), 1)).sum(1).mean())
        heads = sum(F.cross_entropy(lg, y[:, i]) for i, lg in enumerate(logits.split(cfg.head_sizes, 1)))
        loss = contrastive + heads
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        progress.update(step + 1, loss=float(loss), contrastive=float(contrastive))
    wall_s = progress.elapsed_s

    image_enc, text_enc = image_enc.cpu().eval(), text_enc.cpu().eval()
    test = make_dataset(64 if args.quick else 2000, 91, "cloud", vocab, allow_held_out=True)
    xt = torch.from_numpy(to_model_images(test.images))
    with torch.no_grad():
        acc_clean = head_accuracy(image_enc(xt)[1], torch.from_numpy(test.labels), cfg.head_sizes)
        acc_recon = head_accuracy(image_enc(reconstruct(load_autoencoder(args.models_dir / "torch" / "autoencoder.pt"),
                                                        xt, torch.device("cpu")))[1],
                                  torch.from_numpy(test.labels), cfg.head_sizes)
    report = {k: {"clean": round(a, 4), "reconstructed": round(b, 4)}
              for k, a, b in zip(ATTRIBUTE_ORDER, acc_clean, acc_recon)}
    print("evaluator held-out head accuracy:", report, flush=True)

    out = args.out_dir
    weights = out / "torch" / "evaluator.pt"
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": cfg.__dict__, "image": image_enc.state_dict(), "text": text_enc.state_dict()}, weights)
    img_path, txt_path = out / "evaluator_image.onnx", out / "evaluator_text.onnx"
    export_onnx(image_enc, (xt[:2],), img_path, ["image"], ["embedding", "attribute_logits"],
                {"image": {0: "batch"}, "embedding": {0: "batch"}, "attribute_logits": {0: "batch"}})
    tids = torch.from_numpy(test.token_ids[:2])
    export_onnx(text_enc, (tids,), txt_path, ["token_ids"], ["embedding"],
                {"token_ids": {0: "batch"}, "embedding": {0: "batch"}})
    with torch.no_grad():
        emb, logits = image_enc(xt[:2])
        truth = [{k: LABEL_VALUES[k][int(test.labels[n, i])] for i, k in enumerate(ATTRIBUTE_ORDER)} for n in range(2)]
        write_fixture(out, "evaluator_image", img_path.name, {"image": xt[:2]},
                      {"embedding": emb, "attribute_logits": logits},
                      note="two held-out cloud renderings", extra={"truth": truth, "prompts": test.prompts[:2]})
        write_fixture(out, "evaluator_text", txt_path.name, {"token_ids": tids}, {"embedding": text_enc(tids)})
    update_manifest(out, "evaluator", [img_path, txt_path, weights], command=module_command("train.evaluator"),
                    seed=args.seed, wall_s=wall_s,
                    parameters=count_parameters(image_enc) + count_parameters(text_enc),
                    data=f"world cloud rendering, {n} scenes (seed {EVALUATOR_SEED}), all combinations, "
                         "clean and autoencoder-reconstructed",
                    extra={"steps": steps, "heads": {k: list(LABEL_VALUES[k]) for k in ATTRIBUTE_ORDER},
                           "heldout_head_accuracy": report,
                           "consistency": "cos(image, reference image) + cos(image, prompt text)"})


if __name__ == "__main__":
    main()
