"""The evaluation prompt sets: growing a subject group keeps the prompts already measured (issue 14: 24 -> 48)."""
import json
from pathlib import Path

from train.eval_prompts import FIRST_STAGE, subject_groups
from train.vocab import load_vocab

ROOT = Path(__file__).resolve().parents[2]


def test_a_larger_group_starts_with_the_smaller_one_and_aligned_does_not_move():
    vocab = load_vocab()
    small = subject_groups(vocab, FIRST_STAGE, 48, set())
    large = subject_groups(vocab, 2 * FIRST_STAGE, 48, set())
    assert large["aligned"] == small["aligned"]
    for key in vocab.misaligned:
        assert len(small[key]) == FIRST_STAGE and len(large[key]) == 2 * FIRST_STAGE
        assert large[key][:FIRST_STAGE] == small[key], key
        assert len(set(large[key])) == len(large[key]), key


def test_the_committed_sets_have_48_distinct_prompts_per_subject_in_no_other_group():
    doc = json.loads((ROOT / "models" / "eval" / "prompts.json").read_text())
    subjects = doc["subjects"]
    assert len(doc["heldout"]) == 240
    assert len(subjects["aligned"]) == 48
    every = [p for group in subjects.values() for p in group]
    assert len(every) == len(set(every)), "a prompt is in two groups"
    assert not set(every) & {h["prompt"] for h in doc["heldout"]}, "a subject prompt is also held out"
    for key, group in subjects.items():
        if key != "aligned":
            assert len(group) == 48, key
            value = key.split(":")[1]
            assert all(value in p.split() for p in group), key
