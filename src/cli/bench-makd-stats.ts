/**
 * The arithmetic of `dekag bench makd` (issue 14), apart from the models so that it can be tested alone:
 * one subject's figures for one training seed, their mean, spread and per-seed values over seeds, the
 * mean over subjects, and the paired bootstrap interval of the gap closed.
 */
import { SeededRng } from '../util/rng.js';
import { mean, quantile, sampleStd } from './bench-common.js';
import { round } from './generate.js';

export const MODES = ['none', 'lora', 'metaword', 'makd'] as const;
export type Mode = (typeof MODES)[number];
export type AdapterMode = Exclude<Mode, 'none'>;
export const ADAPTER_MODES: AdapterMode[] = ['lora', 'metaword', 'makd'];

export const byMode = <T>(f: (m: Mode) => T): Record<Mode, T> => Object.fromEntries(MODES.map((m) => [m, f(m)])) as Record<Mode, T>;
export const byAdapterMode = <T>(f: (m: AdapterMode) => T): Record<AdapterMode, T> =>
  Object.fromEntries(ADAPTER_MODES.map((m) => [m, f(m)])) as Record<AdapterMode, T>;

export function improvementPct(makd: number, none: number): number {
  return ((makd - none) / none) * 100;
}

export function gapClosedPct(makd: number, none: number, ceiling: number): number {
  return ((makd - none) / (ceiling - none)) * 100;
}

/** What an adapter cost: its file size and its distillation's wall and CPU seconds (from its header). */
export interface AdapterCost {
  bytes: number;
  wall_s: number;
  cpu_s: number;
}

/** What the bench measured for one subject, raw. [seed][prompt] arrays: 'none' has the same row for every seed. */
export interface SubjectScores {
  /** cloud vs a second cloud image, per prompt */
  ceiling: number[];
  consistency: Record<Mode, number[][]>;
  /** 1 where the evaluator saw the subject's attribute value in the edge image, else 0 */
  subjectHits: Record<Mode, number[][]>;
  /** the same for the cloud's image of each prompt: how often the evaluator sees the attribute where it is drawn as the cloud draws it */
  cloudSubjectHits: number[];
  /** per seed, over the 'aligned' group's prompts */
  otherAccuracy: Record<Mode, number[]>;
  alignedConsistency: Record<Mode, number[]>;
  /** per seed */
  adapters: Record<AdapterMode, AdapterCost[]>;
}

/** One subject's figures for one training seed, unrounded (also: their mean over subjects). */
export interface SeedFigures {
  consistency: Record<Mode, number>;
  ceiling: number;
  improvement_pct: number;
  gap_closed_pct: number;
  /** the most improvement_pct this metric allows: an edge image as consistent as a second cloud image */
  ceiling_improvement_pct: number;
  subject_attribute_accuracy: Record<Mode, number>;
  other_prompts_attribute_accuracy: Record<Mode, number>;
  aligned_consistency: Record<Mode, number>;
  /** mean consistency on the 'aligned' prompts without the adapter minus with it */
  aligned_consistency_drop: Record<AdapterMode, number>;
  adapter_bytes: Record<AdapterMode, number>;
  distill_wall_s: Record<AdapterMode, number>;
  /** CPU seconds of the same runs: what they cost without other jobs competing for the cores */
  distill_cpu_s: Record<AdapterMode, number>;
}

/** Decimals in the report, per figure (its spread and per-seed values too). */
const DIGITS: Record<keyof SeedFigures, number> = {
  consistency: 4, ceiling: 4, improvement_pct: 2, gap_closed_pct: 1, ceiling_improvement_pct: 2,
  subject_attribute_accuracy: 4, other_prompts_attribute_accuracy: 4, aligned_consistency: 4,
  aligned_consistency_drop: 4, adapter_bytes: 0, distill_wall_s: 1, distill_cpu_s: 1,
};

export function seedFigures(sc: SubjectScores, s: number): SeedFigures {
  const cons = byMode((m) => mean(sc.consistency[m][s]!));
  const ceiling = mean(sc.ceiling);
  return {
    consistency: cons,
    ceiling,
    improvement_pct: improvementPct(cons.makd, cons.none),
    gap_closed_pct: gapClosedPct(cons.makd, cons.none, ceiling),
    ceiling_improvement_pct: improvementPct(ceiling, cons.none),
    subject_attribute_accuracy: byMode((m) => mean(sc.subjectHits[m][s]!)),
    other_prompts_attribute_accuracy: byMode((m) => sc.otherAccuracy[m][s]!),
    aligned_consistency: byMode((m) => sc.alignedConsistency[m][s]!),
    aligned_consistency_drop: byAdapterMode((m) => sc.alignedConsistency.none[s]! - sc.alignedConsistency[m][s]!),
    adapter_bytes: byAdapterMode((m) => sc.adapters[m][s]!.bytes),
    distill_wall_s: byAdapterMode((m) => sc.adapters[m][s]!.wall_s),
    distill_cpu_s: byAdapterMode((m) => sc.adapters[m][s]!.cpu_s),
  };
}

type Leaves<T, R> = T extends number ? R : { [K in keyof T]: Leaves<T[K], R> };

/** Same-shaped records (numbers, nested) combined leaf by leaf: f gets each leaf's values in order. */
export function zipLeaves<T, R>(xs: T[], f: (values: number[]) => R): Leaves<T, R> {
  const first = xs[0] as unknown;
  if (typeof first === 'number') return f(xs as unknown as number[]) as Leaves<T, R>;
  const keys = Object.keys(first as object) as (keyof T)[];
  return Object.fromEntries(keys.map((k) => [k, zipLeaves(xs.map((x) => x[k]), f)])) as Leaves<T, R>;
}

/**
 * Every figure over the training seeds: `<figure>` the mean, `<figure>_seed_spread` the sample standard
 * deviation (0 where no seed touches it: none, ceiling; null with one seed), `<figure>_per_seed` the values.
 */
export function seedReport(perSeed: SeedFigures[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(DIGITS) as (keyof SeedFigures)[]) {
    const r = (v: number): number => round(v, DIGITS[key]);
    const values = perSeed.map((f) => f[key]);
    out[key] = zipLeaves(values, (vs) => r(mean(vs)));
    out[`${key}_seed_spread`] = zipLeaves(values, (vs) => r(sampleStd(vs)));
    out[`${key}_per_seed`] = zipLeaves(values, (vs) => vs.map(r));
  }
  return out;
}

/** Per seed, the mean over subjects of each figure (subjects weigh the same). */
export function meanOverSubjects(perSubject: SeedFigures[][]): SeedFigures[] {
  return perSubject[0]!.map((_, s) => zipLeaves(perSubject.map((figs) => figs[s]!), mean) as SeedFigures);
}

/** One subject's per-prompt consistencies: each prompt's three scores stay together when resampled. */
export interface PromptTriples {
  none: number[];
  adapted: number[];
  ceiling: number[];
}

/** The triples the interval is taken over: MAKD's consistency averaged over the training seeds, per prompt. */
export function makdTriples(sc: SubjectScores): PromptTriples {
  const rows = sc.consistency.makd;
  return { none: sc.consistency.none[0]!, adapted: rows[0]!.map((_, i) => mean(rows.map((r) => r[i]!))), ceiling: sc.ceiling };
}

const meanAt = (xs: number[], idx: number[]): number => mean(idx.map((i) => xs[i]!));

/**
 * 95 % interval of the gap closed (percent), paired bootstrap over prompts: a resample draws prompts with
 * replacement and each drawn prompt brings its none, adapted and ceiling scores together. With several
 * groups (subjects), every resample draws within each group and averages the groups' gaps closed.
 * Resamples whose ceiling equals none (no gap to close) are left out. Deterministic (fixed RNG seed).
 */
export function gapClosedCi95(groups: PromptTriples[], resamples = 2000, seed = 14): [number, number] {
  const rng = new SeededRng(seed);
  const gaps: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const perGroup = groups.map((g) => {
      const idx = g.none.map(() => Math.floor(rng.uniform() * g.none.length));
      const none = meanAt(g.none, idx);
      const den = meanAt(g.ceiling, idx) - none;
      return Math.abs(den) > 1e-9 ? (100 * (meanAt(g.adapted, idx) - none)) / den : NaN;
    });
    if (perGroup.every(Number.isFinite)) gaps.push(mean(perGroup));
  }
  gaps.sort((a, b) => a - b);
  return [round(quantile(gaps, 0.025), 1), round(quantile(gaps, 0.975), 1)];
}
