"""Write the evaluation prompt sets (models/eval/prompts.json) used by `dekag bench generate` and MAKD.

- heldout: prompts that never occur in any training set; a third are built on the held-out attribute
  combinations (generalization), the rest are new descriptions of ordinary scenes.
- subjects: fully specified single-object prompts, grouped by the subject they are about: one group per
  misaligned subject (star, striped, purple, heart, snow) and one 'aligned' group that names none of them.
  Fully specified, so the cloud and edge images differ because the generators do, not because one of
  them drew an unnamed attribute differently.

Each subject group is drawn in two stages, so that growing it never changes the prompts already measured:
the first 24 (FIRST_STAGE) and the 'aligned' group (48) come from one RNG in the order they always did;
prompts 25..N of each subject come from a second RNG (EXTENSION_SEED), distinct from the group's earlier ones.

    python3 -m train.eval_prompts [--heldout 240] [--per-subject 48] [--aligned 48]
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
# the subject groups had 24 prompts (drawn from EVAL_SEED + 1) before issue 14 asked for 48
FIRST_STAGE = 24
EXTENSION_SEED = EVAL_SEED + 2


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


def subject_groups(vocab, per_subject: int, n_aligned: int, exclude: set[str],
                   heldout: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Per misaligned subject, per_subject prompts naming it (and no other misaligned value); then 'aligned'.
    No prompt is in `exclude`; the extension (prompts 25..) also avoids `heldout`, the held-out group."""
    misaligned: dict[str, set[str]] = {}
    for key in vocab.misaligned:
        attr, value = key.split(":")
        misaligned.setdefault(attr, set()).add(value)
    avoid = {key: {a: v - {key.split(":")[1]} if a == key.split(":")[0] else v for a, v in misaligned.items()}
             for key in vocab.misaligned}

    def draw(rng: np.random.Generator, key: str, excluded: set[str] = exclude) -> str:
        return fully_specified(rng, vocab, dict([key.split(":")]), avoid[key], excluded)

    # stage 1, in the original RNG order: FIRST_STAGE * 3 draws per subject, then the aligned group
    rng = np.random.default_rng(EVAL_SEED + 1)
    subjects: dict[str, list[str]] = {}
    for key in vocab.misaligned:
        drawn = [draw(rng, key) for _ in range(FIRST_STAGE * 3)]
        subjects[key] = list(dict.fromkeys(drawn))[: min(per_subject, FIRST_STAGE)]  # distinct, in draw order
    aligned: dict[str, None] = {}
    while len(aligned) < n_aligned:
        aligned[fully_specified(rng, vocab, {}, misaligned, exclude)] = None
    # stage 2: the rest of each subject group from its own RNG, new prompts only
    rng = np.random.default_rng(EXTENSION_SEED)
    exclude_more = exclude | heldout
    for key in vocab.misaligned:
        group = dict.fromkeys(subjects[key])
        for _ in range(per_subject * 50):
            if len(group) >= per_subject:
                break
            group[draw(rng, key, exclude_more)] = None
        if len(group) < per_subject:
            raise RuntimeError(f"only {len(group)} distinct prompts for {key}")
        subjects[key] = list(group)
    subjects["aligned"] = list(aligned)
    return subjects


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--heldout", type=int, default=240)
    p.add_argument("--per-subject", type=int, default=48)
    p.add_argument("--aligned", type=int, default=48)
    p.add_argument("--out", default=str(MODELS_DIR / "eval" / "prompts.json"))
    args = p.parse_args()
    vocab = load_vocab()
    training_prompts = set(training_set("cloud").prompts) | set(training_set("edge").prompts)
    heldout = held_out_scenes(args.heldout, EVAL_SEED, vocab, training_prompts)
    subjects = subject_groups(vocab, args.per_subject, args.aligned, training_prompts,
                              frozenset(s.prompt(vocab) for s in heldout))
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
