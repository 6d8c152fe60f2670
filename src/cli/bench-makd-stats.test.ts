/** The arithmetic of `dekag bench makd`: the paired bootstrap, the figures over seeds and over subjects. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRng } from '../util/rng.js';
import { gapClosedCi95, meanOverSubjects, seedReport, zipLeaves, type PromptTriples, type SeedFigures } from './bench-makd-stats.js';
import { quantile, sampleStd } from './bench-common.js';

/** Prompts whose scores differ a lot from prompt to prompt, but where MAKD closes almost exactly `gap` of each one's gap. */
function triples(n: number, gap: number, seed: number): PromptTriples {
  const rng = new SeededRng(seed);
  const none = Array.from({ length: n }, () => 0.9 + 0.6 * rng.uniform());
  const ceiling = none.map((x) => x + 0.4 + 0.02 * rng.normal());
  return { none, ceiling, adapted: none.map((x, i) => x + gap * (ceiling[i]! - x) + 0.01 * rng.normal()) };
}

const width = ([lo, hi]: [number, number]): number => hi - lo;

test('the bootstrap keeps each prompt\'s three scores together: a broken pairing gives a far wider interval', () => {
  const t = triples(48, 0.3, 1);
  const paired = gapClosedCi95([t]);
  assert.ok(paired[0] < 30 && paired[1] > 30, `[${paired}] contains 30`);
  assert.ok(width(paired) < 5, `paired interval [${paired}] is narrow`);
  // the same scores with the adapted ones moved to other prompts: what an unpaired resampling amounts to
  const shuffled = { ...t, adapted: [...t.adapted.slice(17), ...t.adapted.slice(0, 17)] };
  const unpaired = gapClosedCi95([shuffled]);
  assert.ok(width(unpaired) > 4 * width(paired), `unpaired [${unpaired}] vs paired [${paired}]`);
});

test('the bootstrap is deterministic, and over several subjects it averages their gaps closed', () => {
  const a = triples(48, 0.2, 2);
  const b = triples(48, 0.6, 3);
  assert.deepEqual(gapClosedCi95([a]), gapClosedCi95([a]));
  const both = gapClosedCi95([a, b]);
  assert.ok(both[0] < 40 && both[1] > 40 && width(both) < 5, `[${both}] around the mean of 20 and 60`);
  assert.deepEqual(gapClosedCi95([{ none: [1, 1], adapted: [1, 1], ceiling: [1, 1] }]), [NaN, NaN], 'no gap to close: no interval');
});

test('quantile and the sample standard deviation', () => {
  assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.equal(quantile([0, 10], 0.975), 9.75);
  assert.equal(sampleStd([2, 4, 6]), 2);
  assert.ok(Number.isNaN(sampleStd([2])), 'one seed has no spread');
});

const figures = (k: number): SeedFigures => ({
  consistency: { none: 1.2, lora: 1.3 + k, metaword: 1.1, makd: 1.4 + k },
  ceiling: 1.8,
  improvement_pct: 10 * k,
  gap_closed_pct: 20 + 10 * k,
  ceiling_improvement_pct: 50,
  subject_attribute_accuracy: { none: 0.1, lora: 0.2, metaword: 0.1, makd: 0.3 },
  other_prompts_attribute_accuracy: { none: 0.8, lora: 0.79, metaword: 0.8, makd: 0.78 },
  aligned_consistency: { none: 1.5, lora: 1.45, metaword: 1.5, makd: 1.44 },
  aligned_consistency_drop: { lora: 0.05, metaword: 0, makd: 0.06 },
  adapter_bytes: { lora: 59_000, metaword: 1_500, makd: 60_000 + k },
  distill_wall_s: { lora: 50, metaword: 40, makd: 60 + k },
  distill_cpu_s: { lora: 49, metaword: 39, makd: 59 + k },
});

test('every figure over seeds: the mean, the sample spread and the per-seed values, rounded per figure', () => {
  const r = seedReport([figures(0), figures(1), figures(2)]) as Record<string, any>;
  assert.deepEqual(r['gap_closed_pct_per_seed'], [20, 30, 40]);
  assert.equal(r['gap_closed_pct'], 30);
  assert.equal(r['gap_closed_pct_seed_spread'], 10);
  assert.deepEqual(r['consistency'], { none: 1.2, lora: 2.3, metaword: 1.1, makd: 2.4 });
  assert.deepEqual(r['consistency_seed_spread'], { none: 0, lora: 1, metaword: 0, makd: 1 });
  assert.deepEqual(r['distill_cpu_s_per_seed'], { lora: [49, 49, 49], metaword: [39, 39, 39], makd: [59, 60, 61] });
  assert.equal(r['adapter_bytes']['makd'], 60_001);
  assert.equal(seedReport([figures(0)])['gap_closed_pct_seed_spread'], NaN);
});

test('the mean over subjects is taken seed by seed, leaf by leaf', () => {
  const [s1, s2] = meanOverSubjects([[figures(0), figures(2)], [figures(1), figures(4)]]);
  assert.equal(s1!.gap_closed_pct, 25);
  assert.ok(Math.abs(s2!.consistency.makd - 4.4) < 1e-12);
  assert.deepEqual(zipLeaves([{ a: 1, b: { c: 2 } }, { a: 3, b: { c: 6 } }], (v) => v[0]! + v[1]!), { a: 4, b: { c: 8 } });
});
