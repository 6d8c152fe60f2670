import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRng } from '../util/rng.js';
import { alphasCumprod, DdimScheduler, ddimStep, ddimTimesteps, guide, sampleDdim } from './sampler.js';
import { ModelStore } from './models.js';
import { modelsDir, readFixture, relativeError } from './testing.js';

interface MathFixture {
  rng: Record<string, number[]>;
  rng_u32: { seed: number; values: number[] };
  alphas_cumprod: Record<string, number>;
  ddim_timesteps: Record<string, number[]>;
  ddim_step: { x: number[]; eps: number[]; a_t: number; a_prev: number; out: number[] };
  guide: { cond: number[]; uncond: number[]; guidance: number; out: number[] };
}
const ref = readFixture<MathFixture>('sampler_math.json');

test('the seeded generator reproduces Python bit for bit', () => {
  const r = new SeededRng(ref.rng_u32.seed);
  assert.deepEqual(ref.rng_u32.values.map(() => r.nextU32()), ref.rng_u32.values);
  for (const [seed, normals] of Object.entries(ref.rng)) {
    const got = Array.from(new SeededRng(Number(seed)).normals(normals.length));
    assert.deepEqual(got, normals.map((v) => Math.fround(v)), `seed ${seed}`);
  }
});

test('different seeds give different noise', () => {
  assert.notDeepEqual(Array.from(new SeededRng(1).normals(8)), Array.from(new SeededRng(2).normals(8)));
});

test('alpha-bar matches the Python schedule', () => {
  const ac = alphasCumprod();
  for (const [t, v] of Object.entries(ref.alphas_cumprod)) {
    assert.ok(Math.abs(ac[Number(t)]! - v) <= 1e-12 * Math.max(1, v), `t=${t}: ${ac[Number(t)]} vs ${v}`);
  }
});

test('DDIM timesteps match Python, including its round-half-even', () => {
  for (const [n, ts] of Object.entries(ref.ddim_timesteps)) assert.deepEqual(ddimTimesteps(Number(n)), ts, `steps=${n}`);
  assert.throws(() => ddimTimesteps(0), RangeError);
  assert.throws(() => ddimTimesteps(1.5), RangeError);
});

test('one DDIM step and the guidance combination match Python', () => {
  const x = Float64Array.from(ref.ddim_step.x);
  ddimStep(x, ref.ddim_step.eps, ref.ddim_step.a_t, ref.ddim_step.a_prev);
  assert.ok(relativeError(x, ref.ddim_step.out) < 1e-12);
  const g = new Float64Array(ref.guide.out.length);
  guide(ref.guide.cond, ref.guide.uncond, ref.guide.guidance, g);
  assert.ok(relativeError(g, ref.guide.out) < 1e-12);
});

test('with an exact noise predictor DDIM recovers the clean latent', async () => {
  // if eps is the true noise of x_t = sqrt(a) x0 + sqrt(1-a) n, the sampler must land on x0
  const ac = alphasCumprod();
  const x0 = new SeededRng(5).normals(16);
  const n = new SeededRng(6).normals(16);
  const tStart = ddimTimesteps(10)[0]!;
  const start = new Float32Array(16);
  for (let i = 0; i < 16; i++) start[i] = Math.sqrt(ac[tStart]!) * x0[i]! + Math.sqrt(1 - ac[tStart]!) * n[i]!;
  const epsOf = (x: Float32Array, t: number): Float32Array => {
    const e = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) e[i] = (x[i]! - Math.sqrt(ac[t]!) * x0[i]!) / Math.sqrt(1 - ac[t]!);
    return e;
  };
  let calls = 0;
  const out = await sampleDdim(async (x, t) => {
    calls++;
    return [epsOf(x, t), epsOf(x, t)];
  }, start, { steps: 10, guidance: 5 });
  assert.equal(calls, 10);
  assert.ok(relativeError(out, x0) < 1e-4, `error ${relativeError(out, x0)}`);
});

test('the scheduler built from the manifest\'s schedule reproduces the constants and Python exactly', () => {
  const scheduler = new DdimScheduler(ModelStore.open(modelsDir()).pipeline.schedule);
  assert.deepEqual(scheduler.alphasCumprod, alphasCumprod());
  for (const [t, v] of Object.entries(ref.alphas_cumprod)) assert.ok(Math.abs(scheduler.alphasCumprod[Number(t)]! - v) <= 1e-12 * Math.max(1, v));
  for (const [n, ts] of Object.entries(ref.ddim_timesteps)) assert.deepEqual(scheduler.timesteps(Number(n)), ts, `steps=${n}`);
  // step(x, eps, t, tPrev) is ddimStep between the schedule's alpha-bars; tPrev undefined ends at alpha-bar 1
  const x = Float64Array.from(ref.ddim_step.x);
  const y = Float64Array.from(ref.ddim_step.x);
  scheduler.step(x, ref.ddim_step.eps, 999, 946);
  ddimStep(y, ref.ddim_step.eps, alphasCumprod()[999]!, alphasCumprod()[946]!);
  assert.deepEqual(x, y);
  scheduler.step(x, ref.ddim_step.eps, 0, undefined);
  ddimStep(y, ref.ddim_step.eps, alphasCumprod()[0]!, 1);
  assert.deepEqual(x, y);
  // another schedule is another table
  const other = new DdimScheduler({ kind: 'scaled-linear', betaStart: 0.0001, betaEnd: 0.02, trainTimesteps: 100, prediction: 'eps' });
  assert.equal(other.alphasCumprod.length, 100);
  assert.deepEqual(other.timesteps(3), [99, 50, 0]);
});
