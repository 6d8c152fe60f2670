/**
 * `dekag bench makd --quick` on the shipped adapters (two subjects, two prompts each): the structure and the
 * invariants that tie its numbers together. Not a measurement: the numbers that matter come from the full run.
 * Also `dekag generate --adapter` as a user runs it (real files).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodePng } from '../gsc/image.js';
import { modelsDir } from '../gsc/testing.js';
import { adapterFileName, availableSeeds, gapClosedPct, improvementPct, MODES, parseSeeds, runBenchMakd, seedDir } from './bench-makd.js';
import { runGenerate } from './generate.js';

const tmp = mkdtempSync(join(tmpdir(), 'dekag-bench-makd-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const adapters = join(modelsDir(), 'adapters');

test('improvement and gap closed are the issue\'s formulas', () => {
  assert.equal(improvementPct(1.5, 1.2), 25.000000000000007);
  assert.equal(gapClosedPct(1.4, 1.2, 1.6), 49.99999999999997);
});

test('bench makd --quick: per-subject numbers, their means, and what an adapter may not change', async () => {
  const out = join(tmp, 'makd.json');
  // (it also prints the JSON on stdout, as a user sees it)
  assert.equal(await runBenchMakd(['--quick', '--subjects', 'shape:star;colour:purple', '--json', '--out', out]), 0);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(r.quick, true);
  assert.deepEqual(r.seeds, [1, 2, 3], 'seeds 1 (models/adapters) and 2, 3 (its seedN folders) ship');
  assert.deepEqual(r.adapters.seed_dirs, { 1: adapters, 2: join(adapters, 'seed2'), 3: join(adapters, 'seed3') });
  assert.deepEqual(Object.keys(r.per_subject), ['shape:star', 'colour:purple']);
  assert.match(r.adapters.source, /shipped/);
  assert.deepEqual(r.tuned_on, ['shape:star']);
  assert.deepEqual(r.untuned, ['colour:purple']);
  const subjects = Object.values(r.per_subject) as any[];
  for (const [name, s] of Object.entries(r.per_subject) as [string, any][]) {
    assert.equal(s.n, 2);
    for (const m of MODES) {
      assert.ok(s.consistency[m] > 0 && s.consistency[m] <= 2, `${name} ${m} consistency ${s.consistency[m]} is a sum of two cosines`);
    }
    assert.ok(Math.abs(s.improvement_pct - improvementPct(s.consistency.makd, s.consistency.none)) < 0.05);
    assert.ok(Math.abs(s.gap_closed_pct - gapClosedPct(s.consistency.makd, s.consistency.none, s.ceiling)) < 0.5);
    const perSeed = s.gap_closed_pct_per_seed as number[];
    assert.equal(perSeed.length, 3);
    const avg = perSeed.reduce((a, v) => a + v, 0) / 3;
    assert.ok(Math.abs(s.gap_closed_pct - avg) < 0.1, 'the mean over seeds');
    const sd = Math.sqrt(perSeed.reduce((a, v) => a + (v - avg) ** 2, 0) / 2);
    assert.ok(Math.abs(s.gap_closed_pct_seed_spread - sd) < 0.1, 'the sample standard deviation over seeds');
    assert.equal(s.gap_closed_ci95.length, 2);
    assert.ok(s.gap_closed_ci95[0] <= s.gap_closed_ci95[1]);
    // the aligned prompts: consistency without the adapter minus with it
    for (const m of ['lora', 'metaword', 'makd']) {
      assert.ok(Math.abs(s.aligned_consistency_drop[m] - (s.aligned_consistency.none - s.aligned_consistency[m])) < 2e-4);
      assert.ok(s.distill_cpu_s[m] > 0);
    }
    assert.equal(s.aligned_consistency_drop.metaword, 0);
    // the reference: a share of the subject's prompts whose cloud image shows the attribute
    assert.ok(Number.isInteger(Math.round(s.cloud_subject_attribute_accuracy * s.n * 1e4) / 1e4) && s.cloud_subject_attribute_accuracy <= 1);
    // the metaword only enters prompts that name the subject: other prompts come out exactly as without an adapter
    assert.equal(s.other_prompts_attribute_accuracy.metaword, s.other_prompts_attribute_accuracy.none);
    for (const m of ['lora', 'metaword', 'makd']) {
      const sizes = [1, 2, 3].map((seed) => statSync(join(seedDir(adapters, seed), adapterFileName(name, m as 'makd'))).size);
      assert.ok(Math.abs(s.adapter_bytes[m] - sizes.reduce((a, v) => a + v, 0) / 3) < 1, `${name} ${m} bytes: the mean over seeds`);
      assert.ok(s.distill_wall_s[m] > 0);
    }
  }
  for (const m of MODES) {
    const avg = subjects.reduce((a, s) => a + s.consistency[m], 0) / subjects.length;
    assert.ok(Math.abs(r.mean.consistency[m] - avg) < 1e-3, `mean ${m}`);
  }
  assert.ok(Math.abs(r.mean.ceiling - subjects.reduce((a, s) => a + s.ceiling, 0) / 2) < 1e-3);
  assert.equal(r.mean.makd_beats_ablations, r.mean.consistency.makd > Math.max(r.mean.consistency.lora, r.mean.consistency.metaword));
  assert.ok(r.mean.max_distill_wall_s >= Math.max(...subjects.map((s) => s.distill_wall_s.makd)));
  assert.ok(r.mean.max_distill_cpu_s >= Math.max(...subjects.map((s) => s.distill_cpu_s.makd)));
  assert.equal(r.mean.max_adapter_bytes, Math.max(...subjects.flatMap((s) => (Object.values(s.adapter_bytes_per_seed) as number[][]).flat())), 'over every subject, mode and seed');
  assert.ok(Math.abs(r.mean.gap_closed_pct - subjects.reduce((a, s) => a + s.gap_closed_pct, 0) / 2) < 0.1, 'the mean over subjects');
  assert.ok(r.mean.gap_closed_ci95[0] <= r.mean.gap_closed_ci95[1]);
  assert.ok(Math.abs(r.mean.cloud_subject_attribute_accuracy - subjects.reduce((a, s) => a + s.cloud_subject_attribute_accuracy, 0) / 2) < 1e-4);
  assert.ok(Math.abs(r.mean.aligned_consistency_drop.makd - subjects.reduce((a, s) => a + s.aligned_consistency_drop.makd, 0) / 2) < 2e-4);
});

test('bench makd names an unknown subject and a missing adapter', async () => {
  await assert.rejects(runBenchMakd(['--quick', '--subjects', 'shape:hexagon']), /no prompt group for subject 'shape:hexagon'/);
  await assert.rejects(runBenchMakd(['--quick', '--subjects', 'shape:star', '--adapters', tmp]), /no lora adapter for shape:star, seed 1, at .*run with --train/);
  await assert.rejects(runBenchMakd(['--quick', '--subjects', 'shape:star', '--seeds', '1,4']), /no lora adapter for shape:star, seed 4, at .*seed4.*--seed 4/);
  assert.throws(() => parseSeeds('1,1'), /distinct training seeds/);
  assert.throws(() => parseSeeds('0'), /--seeds/);
  assert.deepEqual(parseSeeds(' 3, 1 '), [3, 1]);
});

test('the default seeds: seed 1 and every seedN folder that holds all the requested adapters', () => {
  const dir = join(tmp, 'seeds');
  const put = (seed: number, subject: string, modes = ['lora', 'metaword', 'makd']): void => {
    mkdirSync(seedDir(dir, seed), { recursive: true });
    for (const m of modes) writeFileSync(join(seedDir(dir, seed), adapterFileName(subject, m as 'makd')), '');
  };
  assert.deepEqual(availableSeeds(dir, ['shape:star']), [1], 'no folder yet: seed 1, whose absence bench makd reports');
  put(1, 'shape:star');
  put(3, 'shape:star');
  put(2, 'shape:star');
  put(2, 'colour:purple');
  put(10, 'shape:star', ['lora', 'makd']);
  assert.equal(seedDir(dir, 2), join(dir, 'seed2'));
  assert.deepEqual(availableSeeds(dir, ['shape:star']), [1, 2, 3]);
  assert.deepEqual(availableSeeds(dir, ['shape:star', 'colour:purple']), [1, 2], 'seed 3 lacks purple');
});

test('dekag generate --adapter draws the edge image with the adapter, and refuses it for the cloud', async () => {
  const prompt = 'a large red plain star on the left on grass';
  const base = join(tmp, 'base.png');
  const adapted = join(tmp, 'adapted.png');
  const adapter = join(adapters, adapterFileName('shape:star', 'makd'));
  assert.equal(await runGenerate(['--role', 'edge', '--prompt', prompt, '--steps', '8', '--out', base]), 0);
  assert.equal(await runGenerate(['--role', 'edge', '--prompt', prompt, '--steps', '8', '--adapter', adapter, '--out', adapted]), 0);
  const a = decodePng(readFileSync(base));
  const b = decodePng(readFileSync(adapted));
  let diff = 0;
  for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i]! - b.data[i]!);
  assert.ok(diff / a.data.length > 1, `the adapter changed the image by only ${diff / a.data.length} levels on average`);
  await assert.rejects(runGenerate(['--role', 'cloud', '--prompt', prompt, '--adapter', adapter, '--out', base]), /edge-GAI only; use --role edge/);
  await assert.rejects(runGenerate(['--role', 'edge', '--prompt', prompt, '--adapter', join(tmp, 'none.dkga'), '--out', base]), /cannot read adapter/);
});
