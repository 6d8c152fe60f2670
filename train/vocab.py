"""The shared word-level vocabulary (models/vocab.json), read the same way by Python and TypeScript.

Token ids are positions in the file's explicit `tokens` list, so both languages agree by construction.
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VOCAB_PATH = REPO_ROOT / "models" / "vocab.json"


class PromptError(ValueError):
    """A prompt that cannot be tokenized; the message says what is wrong and what would be right."""


@dataclass(frozen=True)
class Vocab:
    tokens: list[str]
    max_tokens: int
    pad_id: int
    bos_id: int
    metaword_first_id: int
    metaword_slots: int
    attributes: dict[str, dict[str, list[str]]]
    misaligned: dict[str, str]
    held_out_combinations: list[list[str]]

    @property
    def size(self) -> int:
        return len(self.tokens)

    def index(self, word: str) -> int:
        return self.tokens.index(word)

    def metaword_token(self, slot: int) -> str:
        return self.tokens[self.metaword_first_id + slot]

    def word_to_attribute(self) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for attr, values in self.attributes.items():
            for value, words in values.items():
                for w in words:
                    out[w] = (attr, value)
        return out

    def encode(self, prompt: str) -> list[int]:
        """Prompt text -> [bos, words..., pad...] of length max_tokens."""
        words = split_words(prompt)
        if not words:
            raise PromptError("empty prompt; describe an image, e.g. 'a red star on grass'")
        if len(words) > self.max_tokens - 1:
            raise PromptError(
                f"prompt has {len(words)} words; at most {self.max_tokens - 1} fit the text encoder")
        ids = [self.bos_id]
        for w in words:
            if w not in self.tokens:
                near = difflib.get_close_matches(w, self.tokens, n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
                raise PromptError(f"unknown word '{w}' in prompt{hint}")
            ids.append(self.tokens.index(w))
        return ids + [self.pad_id] * (self.max_tokens - len(ids))

    def null_ids(self) -> list[int]:
        """The unconditional prompt used for classifier-free guidance."""
        return [self.bos_id] + [self.pad_id] * (self.max_tokens - 1)


_WORD_RE = re.compile(r"<meta\d+>|[a-z]+")


def split_words(prompt: str) -> list[str]:
    text = prompt.lower()
    words = []
    for raw in text.split():
        raw = raw.strip(".,;:!?\"'()")
        if raw:
            words.append(raw)
    return words


def load_vocab(path: Path | str = VOCAB_PATH) -> Vocab:
    raw = json.loads(Path(path).read_text())
    tokens = list(raw["tokens"])
    first_meta = tokens.index(f"{raw['metaword_prefix']}0>")
    return Vocab(
        tokens=tokens,
        max_tokens=int(raw["max_tokens"]),
        pad_id=tokens.index(raw["pad"]),
        bos_id=tokens.index(raw["bos"]),
        metaword_first_id=first_meta,
        metaword_slots=int(raw["metaword_slots"]),
        attributes=raw["attributes"],
        misaligned=raw["misaligned"],
        held_out_combinations=raw["held_out_combinations"],
    )
