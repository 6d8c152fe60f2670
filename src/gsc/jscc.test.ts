import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRng } from '../util/rng.js';
import { fromModem, JsccCodec, measureSelectivity, parseRate, qamLevels, quantizePoints, symbolsForRate } from './jscc.js';
import { Generator } from './generate.js';
import { ModelStore } from './models.js';
import { modelsDir } from './testing.js';

test('rates map to symbol counts, and a rate the codec does not serve is refused with the choices', () => {
  assert.equal(symbolsForRate(1 / 16, 256), 16);
  assert.equal(symbolsForRate(1 / 2, 256), 128);
  assert.equal(symbolsForRate(1, 256), 256);
  assert.equal(symbolsForRate(1 / 4, 1024), 256);
  assert.equal(parseRate('1/4'), 0.25);
  assert.equal(parseRate('0.125'), 0.125);
  assert.equal(parseRate('1'), 1);
  assert.throws(() => parseRate('1/3'), /not one the codec serves; use one of 1\/16, 1\/8, 1\/4, 1\/2, 1$/);
  assert.throws(() => parseRate('2'), /not one the codec serves/);
});

test('quantizePoints lands every value on the 256-QAM point nearest to it', () => {
  const levels = qamLevels(8);
  assert.equal(levels.length, 16);
  let energy = 0;
  for (const a of levels) for (const b of levels) energy += a * a + b * b;
  assert.ok(Math.abs(energy / 256 - 1) < 1e-6, `unit mean energy, got ${energy / 256}`);
  const rng = new SeededRng(3);
  const x = Float32Array.from({ length: 400 }, () => (rng.uniform() - 0.5) * 3);
  const q = quantizePoints(Float32Array.from(x));
  for (let i = 0; i < x.length; i += 2) {
    let best = Infinity;
    for (const a of levels) for (const b of levels) best = Math.min(best, (x[i]! - a) ** 2 + (x[i + 1]! - b) ** 2);
    const d = (x[i]! - q[i]!) ** 2 + (x[i + 1]! - q[i + 1]!) ** 2;
    assert.ok(Math.abs(d - best) < 1e-9, `point ${i / 2}: quantized distance ${d}, nearest ${best}`);
  }
});

test('selectivity is 0 on a flat channel and about 1 for Rayleigh-faded carriers', () => {
  assert.equal(measureSelectivity(new Float32Array(64).fill(100)), 0);
  const rng = new SeededRng(5);
  // |h|^2 of CN(0,1) is exponential: its coefficient of variation is 1.
  const faded = Float32Array.from({ length: 4096 }, () => 100 * (rng.normal() ** 2 + rng.normal() ** 2) / 2);
  const s = measureSelectivity(faded);
  assert.ok(Math.abs(s - 1) < 0.1, `Rayleigh selectivity ${s}`);
  assert.equal(measureSelectivity(new Float32Array(0)), 0);
});

test('fromModem gives the same decoder inputs from a ZF and from an MMSE receiver', () => {
  // One received sample y = h x + n per point; both equalizers seen through their reported noise variances.
  const nv = 0.05;
  const h2 = [0.1, 1, 4];
  const y = [0.3, -0.2, 1.1, 0.4, -0.7, 0.9];
  const zf = new Float32Array(6);
  const zfNv = new Float32Array(3);
  const mm = new Float32Array(6);
  const mmNv = new Float32Array(3);
  h2.forEach((g, i) => {
    const h = Math.sqrt(g); // a real channel gain keeps the arithmetic readable
    zf[2 * i] = y[2 * i]! / h; zf[2 * i + 1] = y[2 * i + 1]! / h; zfNv[i] = nv / g;
    mm[2 * i] = (h * y[2 * i]!) / (g + nv); mm[2 * i + 1] = (h * y[2 * i + 1]!) / (g + nv); mmNv[i] = nv / (g + nv);
  });
  const a = fromModem(zf, zfNv, 'zf');
  const b = fromModem(mm, mmNv, 'mmse');
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(a.reliability[i]! - h2[i]! / nv) / (h2[i]! / nv) < 1e-5);
    assert.ok(Math.abs(b.reliability[i]! - h2[i]! / nv) / (h2[i]! / nv) < 1e-4);
  }
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(a.symbols[i]! - b.symbols[i]!) < 1e-5, `point ${i}: ${a.symbols[i]} vs ${b.symbols[i]}`);
});

test('CALA codec: a cleaner channel decodes closer to the latent, and K constellation points are sent', async () => {
  const store = ModelStore.open(modelsDir());
  const codec = await JsccCodec.load(store, 'cala');
  const rng = new SeededRng(11);
  const edge = await Generator.load(store, 'edge');
  const { latent } = await edge.generate({ prompt: 'a large red circle on grass', seed: 4, steps: 10 });
  assert.equal(latent.length, codec.latentDim);
  assert.deepEqual([codec.latentDim, codec.kMax, [...codec.latentShape]], [256, 256, [4, 8, 8]]);
  const rate = 1 / 4;
  const k = codec.symbolsForRate(rate);
  const points = await codec.encode(latent, { snrDb: 20, rate });
  assert.equal(points.length, 2 * k);
  const levels = qamLevels(8);
  for (const v of points) assert.ok(levels.includes(v), `${v} is not a 256-QAM level`);
  const error = async (snrDb: number): Promise<number> => {
    const nv = 10 ** (-snrDb / 10);
    const noisy = Float32Array.from(points, (p) => (p + Math.sqrt(nv / 2) * rng.normal()) / (1 + nv));
    const z = await codec.decode({ symbols: noisy, reliability: new Float32Array(k).fill(1 / nv) }, { snrDb, rate });
    let se = 0;
    for (let i = 0; i < z.length; i++) se += (z[i]! - latent[i]!) ** 2;
    return se / z.length;
  };
  const clean = await error(25);
  const noisy = await error(-5);
  assert.ok(clean < noisy, `MSE at 25 dB ${clean} should be below MSE at -5 dB ${noisy}`);
  await codec.release();
});

test('bad codec inputs fail with what was wrong: latent shape, rate outside the table, NaN symbols', async () => {
  const store = ModelStore.open(modelsDir());
  const codec = await JsccCodec.load(store, 'cala');
  await assert.rejects(codec.encode(new Float32Array(100), { snrDb: 10, rate: 1 / 4 }), /latent length 100 is not a multiple of 256/);
  await assert.rejects(codec.encode(new Float32Array(256), { snrDb: 10, rate: 1 / 3 }), /rate 0\.333.* is not one the codec serves/);
  const bad = new Float32Array(256);
  bad[7] = NaN;
  await assert.rejects(codec.encode(bad, { snrDb: 10, rate: 1 / 4 }), /latent holds a non-finite value \(NaN\) at index 7/);
  const symbols = new Float32Array(2 * 64);
  symbols[3] = NaN;
  await assert.rejects(codec.decode({ symbols, reliability: new Float32Array(64).fill(10) }, { snrDb: 10, rate: 1 / 4 }), /symbols holds a non-finite value \(NaN\) at index 3/);
  await assert.rejects(codec.decode({ symbols: new Float32Array(2 * 16), reliability: new Float32Array(16) }, { snrDb: 10, rate: 1 / 4 }), /received 16 points, but rate 0\.25 needs 64/);
  await codec.release();
});
