/**
 * DDIM sampling with classifier-free guidance: pure math over typed arrays, seeded, no model inside.
 * The reference is train/diffusion.py; the tests compare against values it computed. A DdimScheduler is
 * built from a noise schedule described as data (the manifest's pipeline.schedule); the constants below
 * are the shipped models' schedule and sampler defaults (the tests hold the manifest to them).
 */
import type { NoiseSchedule } from './pipeline.js';

export const TRAIN_TIMESTEPS = 1000;
/** The shipped generators' defaults: DDIM steps and the classifier-free guidance scale. */
export const DEFAULT_STEPS = 20;
export const DEFAULT_GUIDANCE = 4;
const BETA_START = 0.00085;
const BETA_END = 0.012;
/** train/diffusion.py's schedule, the one the shipped noise predictors were trained on. */
export const SHIPPED_SCHEDULE: NoiseSchedule = { kind: 'scaled-linear', betaStart: BETA_START, betaEnd: BETA_END, trainTimesteps: TRAIN_TIMESTEPS, prediction: 'eps' };

/** alpha-bar_t of Stable Diffusion's scaled-linear schedule, in double precision. */
export function alphasCumprod(T = TRAIN_TIMESTEPS, betaStart = BETA_START, betaEnd = BETA_END): Float64Array {
  const out = new Float64Array(T);
  const a = Math.sqrt(betaStart);
  const b = Math.sqrt(betaEnd);
  let prod = 1;
  for (let i = 0; i < T; i++) {
    const s = T === 1 ? a : a + ((b - a) * i) / (T - 1);
    prod *= 1 - s * s;
    out[i] = prod;
  }
  return out;
}

/** Evenly spaced timesteps from T-1 down to 0, rounded (the first step starts from pure noise). */
export function ddimTimesteps(steps: number, T = TRAIN_TIMESTEPS): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > T) {
    throw new RangeError(`steps must be an integer in 1..${T}, got ${steps}`);
  }
  if (steps === 1) return [T - 1];
  // Python's round() rounds half to even; the values (T-1)*k/(steps-1) hit .5 only for some steps
  return Array.from({ length: steps }, (_, i) => roundHalfEven(((T - 1) * (steps - 1 - i)) / (steps - 1)));
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** eps = eps_u + g (eps_c - eps_u), in place into `out`. */
export function guide(epsCond: ArrayLike<number>, epsUncond: ArrayLike<number>, guidance: number, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) {
    const u = epsUncond[i]!;
    out[i] = u + guidance * (epsCond[i]! - u);
  }
}

/** Deterministic DDIM (eta = 0) from alpha-bar aT to aPrev, in place on x. */
export function ddimStep(x: Float64Array, eps: ArrayLike<number>, aT: number, aPrev: number): void {
  const sa = Math.sqrt(aT);
  const s1a = Math.sqrt(1 - aT);
  const sp = Math.sqrt(aPrev);
  const s1p = Math.sqrt(1 - aPrev);
  for (let i = 0; i < x.length; i++) {
    const e = eps[i]!;
    const x0 = (x[i]! - s1a * e) / sa;
    x[i] = sp * x0 + s1p * e;
  }
}

/** Deterministic DDIM over a noise schedule: which timesteps to visit, and one step between two of them. */
export class DdimScheduler {
  /** alpha-bar_t for t = 0 .. trainTimesteps - 1 (float64). */
  readonly alphasCumprod: Float64Array;

  constructor(readonly schedule: NoiseSchedule = SHIPPED_SCHEDULE) {
    this.alphasCumprod = alphasCumprod(schedule.trainTimesteps, schedule.betaStart, schedule.betaEnd);
  }

  /** The timesteps of a `steps`-step run, from trainTimesteps - 1 down to 0. */
  timesteps(steps: number): number[] {
    return ddimTimesteps(steps, this.schedule.trainTimesteps);
  }

  /** x_t -> x_tPrev in place, given the (guided) predicted noise; tPrev undefined is the clean end (alpha-bar 1). */
  step(x: Float64Array, eps: ArrayLike<number>, t: number, tPrev: number | undefined): void {
    ddimStep(x, eps, this.alphasCumprod[t]!, tPrev === undefined ? 1 : this.alphasCumprod[tPrev]!);
  }
}

/** The noise predictor as the sampler sees it: (x_t, t) -> [eps_cond, eps_uncond]. */
export type GuidedEps = (x: Float32Array, t: number) => Promise<[Float32Array, Float32Array]>;

export interface SampleOptions {
  steps: number;
  guidance: number;
  onStep?: (step: number, total: number) => void;
  /** The schedule to sample (default: the shipped one). */
  scheduler?: DdimScheduler;
}

/** Runs DDIM from `noise` and returns the final latent (float32). */
export async function sampleDdim(epsFn: GuidedEps, noise: Float32Array, opts: SampleOptions): Promise<Float32Array> {
  const scheduler = opts.scheduler ?? new DdimScheduler();
  const ts = scheduler.timesteps(opts.steps);
  const x = Float64Array.from(noise);
  const x32 = new Float32Array(x.length);
  const eps = new Float64Array(x.length);
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    x32.set(x);
    const [ec, eu] = await epsFn(x32, t);
    guide(ec, eu, opts.guidance, eps);
    scheduler.step(x, eps, t, ts[i + 1]);
    opts.onStep?.(i + 1, ts.length);
  }
  return Float32Array.from(x);
}
