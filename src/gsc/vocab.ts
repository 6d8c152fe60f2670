/**
 * The shared word-level vocabulary (models/vocab.json), read exactly as train/vocab.py reads it:
 * token ids are positions in the explicit `tokens` list.
 */
import { readFileSync } from 'node:fs';
import { ModelFileError } from '../util/errors.js';

export interface VocabFile {
  version: number;
  max_tokens: number;
  pad: string;
  bos: string;
  metaword_prefix: string;
  metaword_slots: number;
  filler: string[];
  attributes: Record<string, Record<string, string[]>>;
  misaligned: Record<string, string>;
  held_out_combinations: string[][];
  tokens: string[];
}

export class Vocab {
  readonly tokens: readonly string[];
  readonly maxTokens: number;
  readonly padId: number;
  readonly bosId: number;
  readonly metawordFirstId: number;
  readonly metawordSlots: number;
  readonly attributes: Readonly<Record<string, Record<string, string[]>>>;
  readonly misaligned: Readonly<Record<string, string>>;
  private readonly ids = new Map<string, number>();
  /** word -> [attribute, value], e.g. 'stars' -> ['shape', 'star'] */
  readonly wordAttribute = new Map<string, [string, string]>();

  constructor(raw: VocabFile) {
    this.tokens = raw.tokens;
    this.maxTokens = raw.max_tokens;
    raw.tokens.forEach((t, i) => this.ids.set(t, i));
    const id = (t: string): number => {
      const i = this.ids.get(t);
      if (i === undefined) throw new ModelFileError(`vocab.json: token '${t}' is missing from 'tokens'`);
      return i;
    };
    this.padId = id(raw.pad);
    this.bosId = id(raw.bos);
    this.metawordFirstId = id(`${raw.metaword_prefix}0>`);
    this.metawordSlots = raw.metaword_slots;
    this.attributes = raw.attributes;
    this.misaligned = raw.misaligned;
    for (const [attr, values] of Object.entries(raw.attributes)) {
      for (const [value, words] of Object.entries(values)) {
        for (const w of words) {
          id(w);
          this.wordAttribute.set(w, [attr, value]);
        }
      }
    }
  }

  static load(path: string): Vocab {
    let raw: VocabFile;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8')) as VocabFile;
    } catch (e) {
      throw new ModelFileError(`cannot read vocabulary ${path}: ${(e as Error).message}`);
    }
    if (!Array.isArray(raw.tokens) || typeof raw.max_tokens !== 'number') {
      throw new ModelFileError(`${path} is not a DeKA-g vocabulary (no 'tokens' list or 'max_tokens')`);
    }
    return new Vocab(raw);
  }

  get size(): number {
    return this.tokens.length;
  }

  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  isMetaword(id: number): boolean {
    return id >= this.metawordFirstId && id < this.metawordFirstId + this.metawordSlots;
  }

  metawordToken(slot: number): string {
    return this.tokens[this.metawordFirstId + slot]!;
  }
}
