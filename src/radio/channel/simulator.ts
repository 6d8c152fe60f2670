/**
 * The loopback radio: applies a whole chain of impairments to a transmitted burst or stream, seeded.
 * Order follows the physical path: multipath fading -> timing offset -> sample-rate offset (receiver
 * ADC clock) -> thermal noise -> carrier offset and phase noise (receiver LO) -> IQ imbalance -> DC offset
 * -> 8-bit quantization.
 */
import { Rng } from './rng.js';
import { FadingChannel, FadingOptions } from './fading.js';
import { addNoise, meanPower, noiseVarianceFor } from './awgn.js';
import { applyCfo, applyDcOffset, applyDelay, applyIqImbalance, applyPhaseNoise, applySro, cfoHzFromPpm } from './impairments.js';
import { quantize8 } from '../iq/format.js';

export interface ChannelConfig {
  seed: number;
  sampleRateHz: number;
  /** In-band SNR (see awgn.ts); omit for no noise. */
  snrDb?: number;
  /** Occupied fraction of the band for the SNR definition (used carriers / FFT size). Default 52/64. */
  occupiedFraction?: number;
  /** Reference signal power for the SNR; default 1 (unit-power frames, so SNR is the mean SNR under fading). */
  signalPower?: number;
  fading?: Omit<FadingOptions, 'sampleRateHz' | 'seed'>;
  /** CFO in Hz, or in ppm of carrierHz (both add). */
  cfoHz?: number;
  cfoPpm?: number;
  carrierHz?: number;
  sroPpm?: number;
  timingOffsetSamples?: number;
  phaseNoiseLinewidthHz?: number;
  iqImbalance?: { amplitudeDb: number; phaseDeg: number };
  dcOffset?: { re: number; im: number };
  quantization?: 'none' | 'ci8' | 'cu8';
  /** RMS below full scale for the 8-bit AGC. Default 12 dB. */
  adcBackoffDb?: number;
}

export interface ChannelTruth {
  noiseVar: number;
  /** Mean power per sample after fading (before noise), over the non-silent input samples. */
  fadedPower: number;
  cfoHz: number;
  clipped: number;
}

export class ChannelSimulator {
  private readonly fading: FadingChannel | null;

  constructor(readonly config: ChannelConfig) {
    this.fading = config.fading ? new FadingChannel({ ...config.fading, sampleRateHz: config.sampleRateHz, seed: config.seed ^ 0x51ed }) : null;
  }

  /** Run `iq` through the channel; returns the received samples and what the channel really did. */
  run(iq: Float32Array): { rx: Float32Array; truth: ChannelTruth } {
    const c = this.config;
    let x = this.fading ? this.fading.apply(iq) : Float32Array.from(iq);
    const active = activePower(iq);
    const fadedPower = active.count > 0 ? activePowerAt(x, active.mask) : 0;
    if (c.timingOffsetSamples) x = applyDelay(x, c.timingOffsetSamples);
    if (c.sroPpm) x = applySro(x, c.sroPpm);
    let noiseVar = 0;
    if (c.snrDb !== undefined) {
      noiseVar = noiseVarianceFor(c.snrDb, { signalPower: c.signalPower ?? 1, occupiedFraction: c.occupiedFraction ?? 52 / 64 });
      addNoise(x, noiseVar, new Rng(c.seed));
    }
    const cfoHz = (c.cfoHz ?? 0) + (c.cfoPpm ? cfoHzFromPpm(c.cfoPpm, c.carrierHz ?? 2.4e9) : 0);
    if (cfoHz) applyCfo(x, cfoHz, c.sampleRateHz, 0.7);
    if (c.phaseNoiseLinewidthHz) applyPhaseNoise(x, c.phaseNoiseLinewidthHz, c.sampleRateHz, c.seed ^ 0x7a11);
    if (c.iqImbalance) applyIqImbalance(x, c.iqImbalance.amplitudeDb, c.iqImbalance.phaseDeg);
    if (c.dcOffset) applyDcOffset(x, c.dcOffset.re, c.dcOffset.im);
    let clipped = 0;
    if (c.quantization && c.quantization !== 'none') clipped = quantize8(x, c.quantization, c.adcBackoffDb ?? 12);
    return { rx: x, truth: { noiseVar, fadedPower, cfoHz, clipped } };
  }
}

function activePower(iq: Float32Array): { mask: Uint8Array; count: number } {
  const n = iq.length >> 1;
  const mask = new Uint8Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (iq[2 * i] !== 0 || iq[2 * i + 1] !== 0) {
      mask[i] = 1;
      count++;
    }
  }
  return { mask, count };
}

function activePowerAt(x: Float32Array, mask: Uint8Array): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    s += x[2 * i]! * x[2 * i]! + x[2 * i + 1]! * x[2 * i + 1]!;
    c++;
  }
  return c > 0 ? s / c : meanPower(x);
}
