import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../util/rng.js';
import { SpectrumMonitor } from './spectrum.js';

const RATE = 1e6;

function tone(freqHz: number, n: number, amp = 1): Float32Array {
  const iq = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const ph = (2 * Math.PI * freqHz * i) / RATE;
    iq[2 * i] = amp * Math.cos(ph);
    iq[2 * i + 1] = amp * Math.sin(ph);
  }
  return iq;
}

test('a tone shows at its frequency, DC in the middle', () => {
  const m = new SpectrumMonitor({ bins: 256, intervalMs: 10 });
  // +125 kHz at 1 Msps: bin 256 * 0.125 = 32 above the centre bin 128
  const row = m.push(tone(125e3, 20000), RATE);
  assert.ok(row);
  const peak = row.indexOf(Math.max(...row));
  assert.equal(peak, 128 + 32);
  const neg = new SpectrumMonitor({ bins: 256, intervalMs: 10 }).push(tone(-250e3, 20000), RATE)!;
  assert.equal(neg.indexOf(Math.max(...neg)), 128 - 64);
});

test('bins add up to the stream power (noise and tones alike)', () => {
  const rng = new SeededRng(7);
  const n = 100000;
  const iq = new Float32Array(2 * n);
  const sigma = 0.1; // per component: power 2 * 0.01 = 0.02
  for (let i = 0; i < 2 * n; i++) iq[i] = sigma * rng.normal();
  const row = new SpectrumMonitor({ bins: 256, intervalMs: 20, maxSegments: 64 }).push(iq, RATE)!;
  const total = row.reduce((a, db) => a + 10 ** (db / 10), 0);
  assert.ok(Math.abs(total / 0.02 - 1) < 0.1, `noise power ${total}, expected 0.02`);
  const t = new SpectrumMonitor({ bins: 256, intervalMs: 20 }).push(tone(50e3, 20000, 0.5), RATE)!;
  const tonePower = t.reduce((a, db) => a + 10 ** (db / 10), 0);
  assert.ok(Math.abs(tonePower / 0.25 - 1) < 0.05, `tone power ${tonePower}, expected 0.25`);
});

test('rows come every intervalMs of stream time, in any block size', () => {
  for (const block of [100, 4096, 65536]) {
    const m = new SpectrumMonitor({ bins: 256, intervalMs: 100 });
    const iq = tone(10e3, block);
    let rows = 0;
    for (let sent = 0; sent + block <= 1_000_000; sent += block) if (m.push(iq, RATE)) rows++;
    assert.ok(rows >= 9 && rows <= 10, `block ${block}: ${rows} rows in 1 s`);
  }
});
