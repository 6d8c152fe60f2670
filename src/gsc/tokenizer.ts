/**
 * Prompt text -> token ids, with errors a person can act on, and the attributes a prompt names.
 * Mirrors train/vocab.py (split, strip punctuation, [bos, words..., pad...]).
 */
import { PromptError } from '../util/errors.js';
import type { Vocab } from './vocab.js';

const STRIP = /^[.,;:!?"'()]+|[.,;:!?"'()]+$/g;

export function splitWords(prompt: string): string[] {
  return prompt
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(STRIP, ''))
    .filter((w) => w.length > 0);
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

export function nearestWords(word: string, vocab: Vocab, max = 3): string[] {
  const limit = Math.max(2, Math.floor(word.length / 2));
  return vocab.tokens
    .filter((t) => !t.startsWith('<'))
    .map((t) => ({ t, d: editDistance(word, t) }))
    .filter(({ d }) => d <= limit)
    .sort((x, y) => x.d - y.d || x.t.localeCompare(y.t))
    .slice(0, max)
    .map(({ t }) => t);
}

/** Token ids of a prompt: [bos, words..., pad...], length vocab.maxTokens. */
export function tokenize(prompt: string, vocab: Vocab): Int32Array {
  const words = splitWords(prompt);
  if (words.length === 0) {
    throw new PromptError("empty prompt; describe an image, e.g. 'a red star on grass'");
  }
  if (words.length > vocab.maxTokens - 1) {
    throw new PromptError(
      `prompt has ${words.length} words; at most ${vocab.maxTokens - 1} fit the text encoder`,
    );
  }
  const ids = new Int32Array(vocab.maxTokens).fill(vocab.padId);
  ids[0] = vocab.bosId;
  words.forEach((w, i) => {
    const id = vocab.idOf(w);
    if (id === undefined) {
      const near = nearestWords(w, vocab);
      const hint = near.length ? `; did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : '; see models/vocab.json for the words the world knows';
      throw new PromptError(`unknown word '${w}' in prompt${hint}`);
    }
    ids[i + 1] = id;
  });
  return ids;
}

/** The unconditional prompt used for classifier-free guidance. */
export function nullTokens(vocab: Vocab): Int32Array {
  const ids = new Int32Array(vocab.maxTokens).fill(vocab.padId);
  ids[0] = vocab.bosId;
  return ids;
}

/**
 * What the pipeline needs of a tokenizer: fixed-length token ids for a prompt and for the unconditional
 * prompt. The world's word-level tokenizer implements it; a CLIP BPE tokenizer for a real text-to-image model
 * would too, and the generator and the evaluator would not change.
 */
export interface Tokenizer {
  /** Length of every id sequence (the text encoders' input length). */
  readonly maxTokens: number;
  /** Ids of a prompt; a PromptError naming the problem when the prompt cannot be encoded. */
  encode(prompt: string): Int32Array;
  /** Ids of the empty prompt, for classifier-free guidance. */
  unconditional(): Int32Array;
}

/** The world's tokenizer: one token per word of models/vocab.json. */
export class WordTokenizer implements Tokenizer {
  constructor(private readonly vocab: Vocab) {}
  get maxTokens(): number {
    return this.vocab.maxTokens;
  }
  encode(prompt: string): Int32Array {
    return tokenize(prompt, this.vocab);
  }
  unconditional(): Int32Array {
    return nullTokens(this.vocab);
  }
}

/**
 * The attribute values a prompt names, e.g. 'two red stars' -> {count: 'two', colour: 'red', shape: 'star'}.
 * A singular shape word names count 'one'.
 */
export function namedAttributes(prompt: string, vocab: Vocab): Record<string, string> {
  const named: Record<string, string> = {};
  for (const w of splitWords(prompt)) {
    const hit = vocab.wordAttribute.get(w);
    if (hit) {
      named[hit[0]] = hit[1];
      if (hit[0] === 'shape' && vocab.attributes['shape']?.[hit[1]]?.[0] === w) named['count'] = 'one';
    }
  }
  return named;
}
