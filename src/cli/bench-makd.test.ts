/**
 * `dekag bench makd --quick` on the shipped adapters (two subjects, two prompts each): the structure and the
 * invariants that tie its numbers together. Not a measurement: the numbers that matter come from the full run.
 * Also `dekag generate --adapter` as a user runs it (real files).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodePng } from '../gsc/image.js';
import { modelsDir } from '../gsc/testing.js';
import { adapterFileName, gapClosedPct, improvementPct, MODES, runBenchMakd } from './bench-makd.js';
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
    // the metaword only enters prompts that name the subject: other prompts come out exactly as without an adapter
    assert.equal(s.other_prompts_attribute_accuracy.metaword, s.other_prompts_attribute_accuracy.none);
    for (const m of ['lora', 'metaword', 'makd']) {
      assert.equal(s.adapter_bytes[m], statSync(join(adapters, adapterFileName(name, m as 'makd'))).size);
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
});

test('bench makd names an unknown subject and a missing adapter', async () => {
  await assert.rejects(runBenchMakd(['--quick', '--subjects', 'shape:hexagon']), /no prompt group for subject 'shape:hexagon'/);
  await assert.rejects(runBenchMakd(['--quick', '--subjects', 'shape:star', '--adapters', tmp]), /no lora adapter for shape:star at .*run with --train/);
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
