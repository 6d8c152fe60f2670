import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './rng.js';
import { addAwgn, meanPower, noiseVarianceFor } from './awgn.js';
import { FadingChannel } from './fading.js';
import { applyCfo, applyDelay, applySro, cfoHzFromPpm } from './impairments.js';
import { cf32ToCi8, cf32ToCu8, ci8ToCf32, ci8ToCu8, cu8ToCf32, cu8ToCi8, quantize8 } from '../iq/format.js';
import { ChannelSimulator } from './simulator.js';

function tone(n: number, freq: number): Float32Array {
  const x = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = Math.cos(2 * Math.PI * freq * i);
    x[2 * i + 1] = Math.sin(2 * Math.PI * freq * i);
  }
  return x;
}

test('seeded draws are reproducible and distinct per seed; Gaussian has unit variance', () => {
  const a = new Rng(5);
  const b = new Rng(5);
  const c = new Rng(6);
  const va = Array.from({ length: 10 }, () => a.nextU32());
  assert.deepEqual(va, Array.from({ length: 10 }, () => b.nextU32()));
  assert.notDeepEqual(va, Array.from({ length: 10 }, () => c.nextU32()));
  const g = new Rng(1);
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < 100000; i++) {
    const v = g.gaussian();
    s += v;
    s2 += v * v;
  }
  assert.ok(Math.abs(s / 1e5) < 0.02 && Math.abs(s2 / 1e5 - 1) < 0.02);
});

test('AWGN has the variance the SNR asks for (in-band definition)', () => {
  const x = new Float32Array(2 * 200000);
  const nv = addAwgn(x, 10, 1, { occupiedFraction: 0.5 });
  assert.ok(Math.abs(nv - noiseVarianceFor(10, { occupiedFraction: 0.5 })) < 1e-12);
  assert.ok(Math.abs(nv - 0.2) < 1e-12);
  assert.ok(Math.abs(meanPower(x) / nv - 1) < 0.01);
});

test('Rayleigh fading: unit mean power over realizations, static without Doppler, varying with it', () => {
  let acc = 0;
  const trials = 400;
  const impulse = new Float32Array(2 * 64);
  impulse[0] = 1;
  for (let s = 0; s < trials; s++) {
    const ch = new FadingChannel({ profile: 'eva', sampleRateHz: 10e6, seed: s });
    acc += meanPower(ch.apply(impulse)) * 64;
  }
  assert.ok(Math.abs(acc / trials - 1) < 0.15, `mean power ${acc / trials}`);
  const x = tone(20000, 0.01);
  const stat = new FadingChannel({ profile: 'flat', sampleRateHz: 1e6, seed: 3 }).apply(x);
  const p0 = meanPower(stat, 0, 100);
  assert.ok(Math.abs(meanPower(stat, 19000, 19100) / p0 - 1) < 1e-3);
  const dop = new FadingChannel({ profile: 'flat', sampleRateHz: 1e6, seed: 3, maxDopplerHz: 200 }).apply(x);
  let lo = Infinity;
  let hi = 0;
  for (let k = 0; k < 20; k++) {
    const p = meanPower(dop, k * 1000, k * 1000 + 50);
    lo = Math.min(lo, p);
    hi = Math.max(hi, p);
  }
  assert.ok(hi / lo > 2, `doppler did not vary the gain (max/min ${hi / lo})`);
  // block fading: constant inside a block
  const blk = new FadingChannel({ profile: 'flat', sampleRateHz: 1e6, seed: 4, maxDopplerHz: 500, blockLengthSamples: 1000 }).apply(x);
  assert.ok(Math.abs(meanPower(blk, 1000, 1100) / meanPower(blk, 1900, 2000) - 1) < 1e-3);
});

test('fading keeps state across apply() calls', () => {
  const x = tone(4000, 0.05);
  const whole = new FadingChannel({ profile: 'etu', sampleRateHz: 10e6, seed: 9, maxDopplerHz: 300 }).apply(x);
  const ch = new FadingChannel({ profile: 'etu', sampleRateHz: 10e6, seed: 9, maxDopplerHz: 300 });
  const a = ch.apply(x.subarray(0, 2 * 1234));
  const b = ch.apply(x.subarray(2 * 1234));
  const joined = new Float32Array(whole.length);
  joined.set(a);
  joined.set(b, a.length);
  for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(joined[i]! - whole[i]!) < 1e-5);
});

test('CFO rotates a tone to the right frequency; ppm conversion', () => {
  assert.ok(Math.abs(cfoHzFromPpm(20, 2.4e9) - 48000) < 1e-6);
  const x = tone(1000, 0);
  applyCfo(x, 1000, 100000);
  const ph = Math.atan2(x[2 * 500 + 1]!, x[2 * 500]!);
  const expect = ((2 * Math.PI * 1000 * 500) / 100000) % (2 * Math.PI);
  assert.ok(Math.abs(Math.atan2(Math.sin(ph - expect), Math.cos(ph - expect))) < 1e-4);
});

test('sample-rate offset and fractional delay interpolate a band-limited tone accurately', () => {
  const f = 0.3; // cycles/sample, well inside the band an OFDM signal occupies
  const x = tone(5000, f);
  const y = applySro(x, 100); // 100 ppm: output sample k sits at input time k / (1 + 1e-4)
  assert.equal(y.length >> 1, Math.floor(4999 * (1 + 1e-4)));
  let err = 0;
  for (let k = 100; k < 4800; k++) {
    const t = k / (1 + 1e-4);
    err += (y[2 * k]! - Math.cos(2 * Math.PI * f * t)) ** 2 + (y[2 * k + 1]! - Math.sin(2 * Math.PI * f * t)) ** 2;
  }
  assert.ok(err / 4700 < 1e-4, `interpolation MSE ${err / 4700}`); // better than -40 dB
  const d = applyDelay(x, 10.5);
  assert.ok(Math.abs(d[2 * 1010]! - Math.cos(2 * Math.PI * f * 999.5)) < 0.01);
});

test('8-bit formats: cf32 <-> ci8 <-> cu8 round trips within half an LSB, clipping', () => {
  const x = Float32Array.of(0, 0.5, -0.5, 0.999, -1, 2, -2, 0.001);
  const i8 = cf32ToCi8(x);
  assert.deepEqual(Array.from(i8), [0, 64, -64, 127, -127, 127, -128, 0]);
  const back = ci8ToCf32(i8);
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(back[i]! - x[i]!) <= 0.5 / 127.5 + 1e-7);
  const u8 = cf32ToCu8(x);
  assert.equal(u8[0], 128); // 127.5 rounds up
  assert.equal(u8[5], 255);
  assert.equal(u8[6], 0);
  const ub = cu8ToCf32(u8); // (u - 128) / 128: +1.0 clips to 127/128
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(ub[i]! - Math.min(127 / 128, x[i]!)) <= 0.5 / 128 + 1e-7);
  assert.deepEqual(Array.from(cu8ToCi8(ci8ToCu8(i8))), Array.from(i8));
  const y = tone(1000, 0.1);
  const clipped = quantize8(y, 'cu8', 12);
  assert.equal(clipped, 0);
  assert.ok(Math.abs(meanPower(y) - 1) < 0.01);
});

test('the simulator is deterministic for a seed and reports its truth', () => {
  const x = tone(3000, 0.05);
  const cfg = { seed: 4, sampleRateHz: 2e6, snrDb: 10, cfoPpm: 5, carrierHz: 2.4e9, fading: { profile: 'epa', maxDopplerHz: 10 }, phaseNoiseLinewidthHz: 50, iqImbalance: { amplitudeDb: 0.3, phaseDeg: 1 }, dcOffset: { re: 0.1, im: 0 }, quantization: 'ci8' as const };
  const a = new ChannelSimulator(cfg).run(x);
  const b = new ChannelSimulator(cfg).run(x);
  assert.deepEqual(a.rx, b.rx);
  assert.ok(Math.abs(a.truth.cfoHz - 12000) < 1e-6);
  assert.ok(a.truth.noiseVar > 0 && a.truth.fadedPower > 0);
  const c = new ChannelSimulator({ ...cfg, seed: 5 }).run(x);
  assert.notDeepEqual(a.rx, c.rx);
});
