"""Write the evaluation prompt sets (models/eval/prompts.json) used by `dekag bench generate` and MAKD.

- heldout: prompts that never occur in any training set; a third are built on the held-out attribute
  combinations (generalization), the rest are new descriptions of ordinary scenes.
- subjects: fully specified single-object prompts, grouped by the subject they are about: one group per
  misaligned subject (star, striped, purple, heart, snow) and one 'aligned' group that names none of them.
  Fully specified, so the cloud and edge images differ because the generators do, not because one of
  them drew an unnamed attribute differently.

    python3 -m train.eval_prompts [--heldout 240] [--per-subject 24]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .common import MODELS_DIR
from .data import training_set
from .vocab import load_vocab
from .world import LABEL_VALUES, contains_held_out, held_out_scenes, sample_scene

EVAL_SEED = 5000


def fully_specified(rng: np.random.Generator, vocab, fixed: dict[str, str], avoid: dict[str, set[str]],
                    exclude: set[str]) -> str:
    """A single-object prompt naming every attribute; `avoid` keeps misaligned values out."""
    for _ in range(1000):
        force = {"count": "one"}
        for attr in ("size", "colour", "texture", "shape", "position", "background"):
            if attr in fixed:
                force[attr] = fixed[attr]
            else:
                choices = [v for v in LABEL_VALUES[attr] if v not in avoid.get(attr, set()) and v != "none"]
                force[attr] = choices[rng.integers(len(choices))]
        scene = sample_scene(rng, vocab, force=force, allow_held_out=True)
        if not contains_held_out(scene, vocab) and scene.prompt(vocab) not in exclude:
            return scene.prompt(vocab)
    raise RuntimeError(f"no fully specified prompt for {fixed}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--heldout", type=int, default=240)
    p.add_argument("--per-subject", type=int, default=24)
    p.add_argument("--out", default=str(MODELS_DIR / "eval" / "prompts.json"))
    args = p.parse_args()
    vocab = load_vocab()
    training_prompts = set(training_set("cloud").prompts) | set(training_set("edge").prompts)
    heldout = held_out_scenes(args.heldout, EVAL_SEED, vocab, training_prompts)
    misaligned: dict[str, set[str]] = {}
    for key in vocab.misaligned:
        attr, value = key.split(":")
        misaligned.setdefault(attr, set()).add(value)
    rng = np.random.default_rng(EVAL_SEED + 1)
    subjects: dict[str, list[str]] = {}
    for key in vocab.misaligned:
        attr, value = key.split(":")
        others = {a: v - {value} if a == attr else v for a, v in misaligned.items()}
        drawn = [fully_specified(rng, vocab, {attr: value}, others, training_prompts) for _ in range(args.per_subject * 3)]
        subjects[key] = list(dict.fromkeys(drawn))[: args.per_subject]  # distinct, in draw order
    aligned: dict[str, None] = {}
    while len(aligned) < 2 * args.per_subject:
        aligned[fully_specified(rng, vocab, {}, misaligned, training_prompts)] = None
    subjects["aligned"] = list(aligned)
    doc = {
        "note": "written by python3 -m train.eval_prompts; none of these prompts occurs in a training set",
        "seed": EVAL_SEED,
        "heldout": [{"prompt": s.prompt(vocab),
                     "held_out_combination": contains_held_out(s, vocab)} for s in heldout],
        "subjects": subjects,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out}: {len(doc['heldout'])} held-out prompts, "
          + ", ".join(f"{k}: {len(v)}" for k, v in subjects.items()))


if __name__ == "__main__":
    main()
