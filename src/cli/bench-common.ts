/** What the `dekag bench` commands share: the evaluation prompt sets, means, and the machine line. */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ModelStore } from '../gsc/models.js';

/** models/eval/prompts.json, written by `python3 -m train.eval_prompts`. */
export interface EvalPromptSets {
  heldout: { prompt: string; held_out_combination: boolean }[];
  /** prompts per subject ('shape:star', ...), plus an 'aligned' group naming no misaligned subject */
  subjects: Record<string, string[]>;
}

export function readEvalPromptSets(store: ModelStore): EvalPromptSets {
  return JSON.parse(readFileSync(join(store.dir, 'eval', 'prompts.json'), 'utf8')) as EvalPromptSets;
}

export { mean, sampleStd } from '../util/stats.js';

/** The q-quantile (0..1) of ascending values, linear between neighbours (numpy's default). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

export function machineDescription(): string {
  const c = cpus();
  return `${c.length} x ${c[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}-${process.arch}, node ${process.version}`;
}
