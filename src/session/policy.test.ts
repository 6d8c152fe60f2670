import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadRateCurves, predictPsnr, RatePolicy, type RatePoint } from './policy.js';

// Curves shaped like the codec's: more symbols help more at high SNR than at low SNR.
const curves: RatePoint[] = [];
for (const [rate, lowPsnr, highPsnr] of [
  [1 / 16, 12, 14],
  [1 / 8, 12.2, 16],
  [1 / 4, 12.3, 19],
  [1 / 2, 12.4, 22],
] as const) {
  curves.push({ snrDb: 0, rate, psnrDb: lowPsnr }, { snrDb: 20, rate, psnrDb: highPsnr });
}

test('predictPsnr interpolates in SNR and clamps outside the grid', () => {
  assert.equal(predictPsnr(curves, 1 / 2, 10), 17.2);
  assert.equal(predictPsnr(curves, 1 / 2, -10), 12.4);
  assert.equal(predictPsnr(curves, 1 / 2, 40), 22);
  assert.equal(predictPsnr(curves, 1 / 3, 10), null);
});

test('the policy spends symbols only where they buy PSNR, and holds its choice within the hysteresis', () => {
  const p = new RatePolicy(curves, { toleranceDb: 0.5, hysteresisDb: 1.5 });
  assert.equal(p.decide(20).rate, 1 / 2); // 22 dB vs 19 dB at 1/4: worth it
  assert.equal(p.decide(19).rate, 1 / 2); // within hysteresis: not revisited
  const low = p.decide(0); // all rates within 0.4 dB: the cheapest
  assert.equal(low.rate, 1 / 16);
  assert.equal(low.changed, true);
  assert.equal(p.decide(1.2).changed, false);
  assert.equal(p.decide(1.2).reason, 'within 1.5 dB of the last decision');
});

test('a fixed rate never changes; no curves keeps the starting rate and says why', () => {
  const fixed = new RatePolicy(curves, { fixedRate: 1 / 8 });
  assert.equal(fixed.decide(25).rate, 1 / 8);
  assert.equal(fixed.decide(-5).rate, 1 / 8);
  const none = new RatePolicy([], { initialRate: 1 / 4 });
  const d = none.decide(3);
  assert.equal(d.rate, 1 / 4);
  assert.match(d.reason, /no rate curves/);
});

test('loadRateCurves reads results.json and tolerates a missing or broken file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dekag-policy-'));
  assert.deepEqual(loadRateCurves(dir), []);
  mkdirSync(join(dir, 'cala'));
  writeFileSync(join(dir, 'cala', 'results.json'), '{"curves": {"cala": [{"snr_db": 5, "rate": 0.25, "image_psnr_db": 15.5}, {"snr_db": "x", "rate": 0.25, "image_psnr_db": 1}]}}');
  assert.deepEqual(loadRateCurves(dir), [{ snrDb: 5, rate: 0.25, psnrDb: 15.5 }]);
  writeFileSync(join(dir, 'cala', 'results.json'), '{not json');
  assert.deepEqual(loadRateCurves(dir), []);
});
