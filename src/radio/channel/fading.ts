/**
 * Rayleigh fading as a tapped delay line (3GPP EPA / EVA / ETU or a custom profile).
 *
 * Each tap is an independent complex Gaussian process with unit-normalized total power. Time variation
 * follows Jakes' Doppler spectrum (Zheng-Xiao sum of sinusoids, seeded). With `blockLengthSamples` the
 * gains are sampled at each block start and held for the block: the paper's block fading, with gains
 * correlated across blocks exactly as the Doppler process says. Tap delays are rounded to whole samples
 * (taps that land on the same sample add their powers, which keeps Rayleigh statistics).
 * Stateful: consecutive apply() calls continue the same channel (filter memory and time).
 */
import { Rng } from './rng.js';

export interface TdlProfile {
  name: string;
  delaysNs: number[];
  powersDb: number[];
}

export const TDL_PROFILES: Record<string, TdlProfile> = {
  flat: { name: 'flat', delaysNs: [0], powersDb: [0] },
  epa: { name: 'epa', delaysNs: [0, 30, 70, 90, 110, 190, 410], powersDb: [0, -1, -2, -3, -8, -17.2, -20.8] },
  eva: {
    name: 'eva',
    delaysNs: [0, 30, 150, 310, 370, 710, 1090, 1730, 2510],
    powersDb: [0, -1.5, -1.4, -3.6, -0.6, -9.1, -7.0, -12.0, -16.9],
  },
  etu: {
    name: 'etu',
    delaysNs: [0, 50, 120, 200, 230, 500, 1600, 2300, 5000],
    powersDb: [-1, -1, -1, 0, 0, 0, -3, -5, -7],
  },
};

export interface FadingOptions {
  profile: string | TdlProfile;
  sampleRateHz: number;
  seed: number;
  /** Maximum Doppler shift; 0 = static channel (one draw). */
  maxDopplerHz?: number;
  /** Hold gains constant over blocks of this many samples (block fading); 0 = continuous. */
  blockLengthSamples?: number;
  /** Continuous mode: recompute gains every this many samples (Doppler << sample rate). Default 16. */
  updateIntervalSamples?: number;
}

const SINUSOIDS = 16;

export class FadingChannel {
  readonly tapDelays: Int32Array;
  readonly tapPowers: Float64Array;
  private readonly fdRadPerSample: number;
  private readonly block: number;
  private readonly update: number;
  private readonly gains: Float64Array; // current complex gain per tap
  private readonly staticGains: Float64Array;
  private readonly cosA: Float64Array; // per tap x sinusoid: cos(alpha), sin(alpha), phases
  private readonly sinA: Float64Array;
  private readonly phI: Float64Array;
  private readonly phQ: Float64Array;
  private readonly memory: Float32Array; // last maxDelay input samples
  private time = 0;

  constructor(opts: FadingOptions) {
    const prof = typeof opts.profile === 'string' ? TDL_PROFILES[opts.profile.toLowerCase()] : opts.profile;
    if (!prof) throw new RangeError(`unknown fading profile '${String(opts.profile)}'; use one of ${Object.keys(TDL_PROFILES).join(', ')}`);
    if (!(opts.sampleRateHz > 0)) throw new RangeError(`sampleRateHz must be positive, got ${opts.sampleRateHz}`);
    const merged = new Map<number, number>();
    for (let i = 0; i < prof.delaysNs.length; i++) {
      const d = Math.round((prof.delaysNs[i]! * 1e-9) * opts.sampleRateHz);
      merged.set(d, (merged.get(d) ?? 0) + Math.pow(10, prof.powersDb[i]! / 10));
    }
    const delays = [...merged.keys()].sort((a, b) => a - b);
    let total = 0;
    for (const d of delays) total += merged.get(d)!;
    this.tapDelays = Int32Array.from(delays);
    this.tapPowers = Float64Array.from(delays.map((d) => merged.get(d)! / total));
    const taps = delays.length;
    const fd = opts.maxDopplerHz ?? 0;
    this.fdRadPerSample = (2 * Math.PI * fd) / opts.sampleRateHz;
    this.block = opts.blockLengthSamples ?? 0;
    this.update = Math.max(1, opts.updateIntervalSamples ?? 16);
    const rng = new Rng(opts.seed);
    this.gains = new Float64Array(2 * taps);
    this.staticGains = new Float64Array(2 * taps);
    this.cosA = new Float64Array(taps * SINUSOIDS);
    this.sinA = new Float64Array(taps * SINUSOIDS);
    this.phI = new Float64Array(taps * SINUSOIDS);
    this.phQ = new Float64Array(taps * SINUSOIDS);
    for (let t = 0; t < taps; t++) {
      const s = Math.sqrt(this.tapPowers[t]! / 2);
      this.staticGains[2 * t] = s * rng.gaussian();
      this.staticGains[2 * t + 1] = s * rng.gaussian();
      const theta = 2 * Math.PI * rng.uniform() - Math.PI;
      for (let m = 0; m < SINUSOIDS; m++) {
        const alpha = (2 * Math.PI * (m + 1) - Math.PI + theta) / (4 * SINUSOIDS);
        this.cosA[t * SINUSOIDS + m] = Math.cos(alpha);
        this.sinA[t * SINUSOIDS + m] = Math.sin(alpha);
        this.phI[t * SINUSOIDS + m] = 2 * Math.PI * rng.uniform() - Math.PI;
        this.phQ[t * SINUSOIDS + m] = 2 * Math.PI * rng.uniform() - Math.PI;
      }
    }
    this.memory = new Float32Array(2 * (this.tapDelays[taps - 1]! + 1));
    this.computeGains(0);
  }

  /** Gains at sample time t (static draw when there is no Doppler). */
  private computeGains(t: number): void {
    const taps = this.tapDelays.length;
    if (this.fdRadPerSample === 0) {
      this.gains.set(this.staticGains);
      return;
    }
    const w = this.fdRadPerSample * t;
    for (let k = 0; k < taps; k++) {
      let gi = 0;
      let gq = 0;
      for (let m = 0; m < SINUSOIDS; m++) {
        const j = k * SINUSOIDS + m;
        gi += Math.cos(w * this.cosA[j]! + this.phI[j]!);
        gq += Math.cos(w * this.sinA[j]! + this.phQ[j]!);
      }
      // each sum has variance M/2; scale so E|g|^2 = tap power
      const s = Math.sqrt(this.tapPowers[k]! / SINUSOIDS);
      this.gains[2 * k] = s * gi;
      this.gains[2 * k + 1] = s * gq;
    }
  }

  /** Current complex tap gains (interleaved), e.g. to compute the true frequency response. */
  currentGains(): Float64Array {
    return Float64Array.from(this.gains);
  }

  /** Frequency response |H(f)|^2 averaged over the given FFT bins at the current gains. */
  meanPowerGain(fftSize: number, bins: ArrayLike<number>): number {
    let acc = 0;
    for (let i = 0; i < bins.length; i++) {
      const b = bins[i]!;
      let hr = 0;
      let hi = 0;
      for (let k = 0; k < this.tapDelays.length; k++) {
        const ph = (-2 * Math.PI * b * this.tapDelays[k]!) / fftSize;
        const c = Math.cos(ph);
        const s = Math.sin(ph);
        hr += this.gains[2 * k]! * c - this.gains[2 * k + 1]! * s;
        hi += this.gains[2 * k]! * s + this.gains[2 * k + 1]! * c;
      }
      acc += hr * hr + hi * hi;
    }
    return acc / bins.length;
  }

  /** Filter a block (continuing from the previous one); returns a new array of the same length. */
  apply(input: Float32Array): Float32Array {
    const n = input.length >> 1;
    const out = new Float32Array(input.length);
    const taps = this.tapDelays.length;
    const memLen = this.memory.length >> 1;
    const mem = this.memory;
    for (let i = 0; i < n; i++) {
      const t = this.time + i;
      if (this.fdRadPerSample !== 0) {
        if (this.block > 0 ? t % this.block === 0 : t % this.update === 0) this.computeGains(t);
      }
      let yr = 0;
      let yi = 0;
      for (let k = 0; k < taps; k++) {
        const d = this.tapDelays[k]!;
        let xr: number;
        let xi: number;
        const j = i - d;
        if (j >= 0) {
          xr = input[2 * j]!;
          xi = input[2 * j + 1]!;
        } else {
          const mj = memLen + j; // j in -d..-1
          xr = mem[2 * mj]!;
          xi = mem[2 * mj + 1]!;
        }
        const gr = this.gains[2 * k]!;
        const gi = this.gains[2 * k + 1]!;
        yr += gr * xr - gi * xi;
        yi += gr * xi + gi * xr;
      }
      out[2 * i] = yr;
      out[2 * i + 1] = yi;
    }
    // keep the last memLen input samples (older memory shifts in if the block is short)
    if (n >= memLen) mem.set(input.subarray(2 * (n - memLen), 2 * n));
    else {
      mem.copyWithin(0, 2 * n);
      mem.set(input.subarray(0, 2 * n), 2 * (memLen - n));
    }
    this.time += n;
    return out;
  }
}
