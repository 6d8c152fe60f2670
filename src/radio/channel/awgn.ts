/**
 * Additive white Gaussian noise at a set SNR.
 *
 * SNR is in-band: signal power over the noise power that falls inside the occupied bandwidth. With
 * `occupiedFraction` = used carriers / FFT size (52/64 for the default modem) the per-sample noise variance
 * is signalPower / (snr * occupiedFraction); that is exactly the per-carrier SNR the receiver estimates.
 */
import { Rng } from './rng.js';

export interface AwgnOptions {
  /** Mean signal power per sample; default 1 (the modem's frames have unit mean power). */
  signalPower?: number;
  /** Occupied share of the sampled bandwidth; default 1 (SNR over the full sample-rate bandwidth). */
  occupiedFraction?: number;
}

/** Complex noise variance (E|n|^2 per sample) that gives `snrDb`. */
export function noiseVarianceFor(snrDb: number, opts: AwgnOptions = {}): number {
  const p = opts.signalPower ?? 1;
  const f = opts.occupiedFraction ?? 1;
  return p / (Math.pow(10, snrDb / 10) * f);
}

/** Adds complex Gaussian noise of variance `noiseVar` (E|n|^2) in place. */
export function addNoise(iq: Float32Array, noiseVar: number, rng: Rng): void {
  const s = Math.sqrt(noiseVar / 2);
  for (let i = 0; i < iq.length; i++) iq[i] = iq[i]! + s * rng.gaussian();
}

/** Adds AWGN for `snrDb` in place; returns the noise variance used. */
export function addAwgn(iq: Float32Array, snrDb: number, seed: number, opts: AwgnOptions = {}): number {
  const nv = noiseVarianceFor(snrDb, opts);
  addNoise(iq, nv, new Rng(seed));
  return nv;
}

/** Mean power per complex sample. */
export function meanPower(iq: Float32Array, start = 0, end = iq.length >> 1): number {
  let s = 0;
  for (let i = start; i < end; i++) s += iq[2 * i]! * iq[2 * i]! + iq[2 * i + 1]! * iq[2 * i + 1]!;
  return end > start ? s / (end - start) : 0;
}
