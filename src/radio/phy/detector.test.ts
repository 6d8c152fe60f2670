import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchmidlCoxDetector } from './detector.js';
import { OfdmModulator } from './transmitter.js';
import { makeLayout } from './params.js';
import { burst, runChannel } from './testkit.js';
import { Rng } from '../channel/rng.js';

const FS = 2e6;

/**
 * Direct O(W) evaluation of the Schmidl-Cox statistics at every sample, then the detector's event rule
 * (first crossing, plateau within 90 % of the peak over cp + W + L samples, metric-weighted centre).
 */
function directEvent(r: Float32Array, from: number, L: number, W: number, cp: number, threshold: number) {
  const n = r.length >> 1;
  const m = new Float64Array(n);
  const pr = new Float64Array(n);
  const pi = new Float64Array(n);
  for (let t = Math.max(from, W + L - 1); t < n; t++) {
    let sr = 0;
    let si = 0;
    let e1 = 0;
    let e2 = 0;
    for (let i = t - W + 1; i <= t; i++) {
      const xr = r[2 * i]!;
      const xi = r[2 * i + 1]!;
      const yr = r[2 * (i - L)]!;
      const yi = r[2 * (i - L) + 1]!;
      sr += yr * xr + yi * xi; // conj(y) x
      si += yr * xi - yi * xr;
      e1 += xr * xr + xi * xi;
      e2 += yr * yr + yi * yi;
    }
    pr[t] = sr;
    pi[t] = si;
    m[t] = e1 * e2 > 0 ? (sr * sr + si * si) / (e1 * e2) : 0;
  }
  let first = -1;
  for (let t = from; t < n; t++) {
    if (m[t]! >= threshold) {
      first = t;
      break;
    }
  }
  assert.ok(first >= 0, 'the direct metric never crosses the threshold');
  const span = cp + W + L;
  let max = 0;
  for (let k = 0; k < span; k++) max = Math.max(max, m[first + k]!);
  let w = 0;
  let c = 0;
  let sr = 0;
  let si = 0;
  for (let k = 0; k < span; k++) {
    const v = m[first + k]!;
    if (v >= 0.9 * max) {
      w += v;
      c += v * k;
      sr += pr[first + k]!;
      si += pi[first + k]!;
    }
  }
  return { first, max, stsEnd: Math.round(first + c / w + cp / 2 + 1), coarse: Math.atan2(si, sr) / L };
}

test('detector metric, plateau timing and coarse CFO equal a direct computation of the Schmidl-Cox sums', () => {
  const layout = makeLayout({ sampleRateHz: FS });
  const tx = new OfdmModulator(layout);
  const rng = new Rng(7);
  for (const [snrDb, cfoHz] of [
    [6, 0],
    [15, 23_000],
    [30, -41_000],
  ] as const) {
    const gap = 3000;
    const { iq, starts } = burst([tx.modulateBytes(rng.bytes(40), { sequence: 1 })], gap);
    const { rx } = runChannel(iq, { seed: 11 + snrDb, sampleRateHz: FS, snrDb, cfoHz });
    const det = new SchmidlCoxDetector(layout);
    const pos = det.history + 1;
    det.reset(rx, 0, pos);
    const ev = det.run(rx, 0, rx.length >> 1);
    assert.ok(ev, `no event at ${snrDb} dB`);
    const d = directEvent(rx, pos, det.lag, det.window, layout.cpLength, det.threshold);
    // running sums in doubles vs direct sums: same values up to rounding of the summation order
    assert.ok(Math.abs(ev.metric - d.max) < 1e-9, `metric ${ev.metric} vs direct ${d.max}`);
    assert.equal(ev.stsEnd, d.stsEnd);
    assert.ok(Math.abs(ev.coarseRadPerSample - d.coarse) < 1e-9, `coarse ${ev.coarseRadPerSample} vs ${d.coarse}`);
    // and the event is where the STS really ends, with the CFO (mod 2 pi / L) recovered
    const trueEnd = starts[0]! + layout.stsLength;
    assert.ok(Math.abs(ev.stsEnd - trueEnd) <= 3, `stsEnd ${ev.stsEnd} vs true ${trueEnd} at ${snrDb} dB`);
    const want = (2 * Math.PI * cfoHz) / FS;
    const wrap = (2 * Math.PI) / det.lag;
    const err = Math.abs(((ev.coarseRadPerSample - want + wrap / 2) % wrap + wrap) % wrap - wrap / 2);
    assert.ok(err < 0.1 * wrap, `coarse CFO error ${err} rad/sample at ${snrDb} dB`);
  }
});
