/**
 * Gray-mapped constellations with unit average energy: BPSK, QPSK, 16/64/256-QAM.
 * Square QAM is two Gray PAMs (first half of the bits on I, second half on Q), so mapping, slicing and
 * max-log LLRs are done per axis: cheap and exact for max-log.
 */
import { PhyConfigError } from './errors.js';
import { roundClampIndex } from './fastmath.js';

export enum Modulation {
  BPSK = 0,
  QPSK = 1,
  QAM16 = 2,
  QAM64 = 3,
  QAM256 = 4,
}

const NAMES: Record<string, Modulation> = {
  bpsk: Modulation.BPSK,
  qpsk: Modulation.QPSK,
  '4qam': Modulation.QPSK,
  '16qam': Modulation.QAM16,
  qam16: Modulation.QAM16,
  '64qam': Modulation.QAM64,
  qam64: Modulation.QAM64,
  '256qam': Modulation.QAM256,
  qam256: Modulation.QAM256,
};

export function modulationName(m: Modulation): string {
  return ['bpsk', 'qpsk', '16qam', '64qam', '256qam'][m] ?? `unknown(${m})`;
}

export function parseModulation(name: string): Modulation {
  const m = NAMES[name.toLowerCase().replace(/[-_ ]/g, '')];
  if (m === undefined) throw new PhyConfigError(`unknown modulation '${name}'; use one of bpsk, qpsk, 16qam, 64qam, 256qam`);
  return m;
}

export class Constellation {
  readonly modulation: Modulation;
  readonly bitsPerSymbol: number;
  /** Bits per axis (0 for the Q axis of BPSK). */
  readonly axisBits: number;
  /** PAM amplitude of each axis level, ascending. */
  readonly levels: Float64Array;
  /** The same levels rounded to float32, i.e. exactly the coordinates found in `points`. */
  readonly levels32: Float32Array;
  /** Gray bit pattern of each level (MSB first within the axis). */
  readonly levelBits: Uint8Array;
  /** Level index for a Gray bit pattern. */
  readonly levelOfBits: Uint8Array;
  /** Complex points (interleaved) indexed by symbol index (I bits then Q bits). */
  readonly points: Float32Array;
  readonly size: number;
  private readonly scale: number;
  /**
   * sliceAxis's level index is round-half-up(x halfInvScale + halfSpan) clamped to [0, maxLevel] (public for
   * the WebAssembly carrier pass, demod-wasm-carriers.ts, which slices with the same numbers).
   */
  readonly halfInvScale: number;
  readonly halfSpan: number;
  readonly maxLevel: number;
  /** One point's LLRs before demapLlrTo scatters them. */
  private readonly llrTmp = new Float32Array(8);

  constructor(modulation: Modulation) {
    this.modulation = modulation;
    if (modulation === Modulation.BPSK) {
      this.bitsPerSymbol = 1;
      this.axisBits = 1;
      this.scale = 1;
    } else if (modulation >= Modulation.QPSK && modulation <= Modulation.QAM256) {
      this.bitsPerSymbol = 2 * modulation;
      this.axisBits = modulation;
      const m = 1 << this.bitsPerSymbol;
      this.scale = Math.sqrt(3 / (2 * (m - 1)));
    } else {
      throw new PhyConfigError(`unknown modulation code ${modulation}`);
    }
    const nl = 1 << this.axisBits;
    this.halfInvScale = 1 / (2 * this.scale);
    this.halfSpan = (nl - 1) / 2;
    this.maxLevel = nl - 1;
    this.levels = new Float64Array(nl);
    this.levelBits = new Uint8Array(nl);
    this.levelOfBits = new Uint8Array(nl);
    for (let l = 0; l < nl; l++) {
      this.levels[l] = (2 * l - (nl - 1)) * this.scale;
      const gray = l ^ (l >> 1);
      this.levelBits[l] = gray;
      this.levelOfBits[gray] = l;
    }
    this.levels32 = Float32Array.from(this.levels);
    this.size = 1 << this.bitsPerSymbol;
    this.points = new Float32Array(2 * this.size);
    for (let s = 0; s < this.size; s++) {
      if (modulation === Modulation.BPSK) {
        this.points[2 * s] = s === 0 ? 1 : -1;
        this.points[2 * s + 1] = 0;
      } else {
        const ib = s >> this.axisBits;
        const qb = s & (nl - 1);
        this.points[2 * s] = this.levels[this.levelOfBits[ib]!]!;
        this.points[2 * s + 1] = this.levels[this.levelOfBits[qb]!]!;
      }
    }
  }

  /** Nearest level index on one axis. */
  sliceAxis(x: number): number {
    // Math.round + clamp (NaN -> 0), without the data-dependent branches that mispredict on noisy input
    return roundClampIndex(x * this.halfInvScale + this.halfSpan, this.maxLevel);
  }

  /**
   * Coordinate of the nearest level on one axis, as stored in `points` (float32-rounded). For square QAM
   * (not BPSK) the nearest point is (sliceCoord(re), sliceCoord(im)): the receiver's decision-directed
   * loops use this to skip the index -> Gray -> point round trip.
   */
  sliceCoord(x: number): number {
    return this.levels32[this.sliceAxis(x)]!;
  }

  /** Index of the nearest constellation point. */
  nearestIndex(re: number, im: number): number {
    if (this.modulation === Modulation.BPSK) return re >= 0 ? 0 : 1;
    return (this.levelBits[this.sliceAxis(re)]! << this.axisBits) | this.levelBits[this.sliceAxis(im)]!;
  }

  /**
   * Map bits (one per byte, 0/1) to points. Reads bitsPerSymbol bits per symbol from `bits[bitOffset..]`
   * and writes `count` complex points at complex index `outOffset`.
   */
  mapBits(bits: Uint8Array, bitOffset: number, count: number, out: Float32Array, outOffset: number): void {
    const bps = this.bitsPerSymbol;
    for (let s = 0; s < count; s++) {
      let idx = 0;
      for (let b = 0; b < bps; b++) idx = (idx << 1) | (bits[bitOffset + s * bps + b]! & 1);
      out[2 * (outOffset + s)] = this.points[2 * idx]!;
      out[2 * (outOffset + s) + 1] = this.points[2 * idx + 1]!;
    }
  }

  /**
   * Max-log LLRs, LLR = log P(bit=0)/P(bit=1), for one received (equalized) point with complex noise
   * variance `noiseVar`. Writes bitsPerSymbol values at llr[outOffset..].
   */
  demapLlr(re: number, im: number, noiseVar: number, llr: Float32Array, outOffset: number): void {
    const inv = 1 / Math.max(noiseVar, 1e-12);
    if (this.modulation === Modulation.BPSK) {
      // d(-1)^2 - d(+1)^2 = 4 re; per-axis noise variance is noiseVar/2 but BPSK's Q axis carries no bit.
      llr[outOffset] = clampLlr(4 * re * inv);
      return;
    }
    this.axisLlr(re, inv, llr, outOffset);
    this.axisLlr(im, inv, llr, outOffset + this.axisBits);
  }

  /**
   * demapLlr, with the LLRs going to interleaved positions: the point's bit b (value b of what demapLlr
   * would write at outOffset) is stored at llr[base + inv[outOffset + b]]. The same values; this fuses the
   * receiver's per-symbol deinterleaver into the demapper.
   */
  demapLlrTo(re: number, im: number, noiseVar: number, llr: Float32Array, base: number, inv: Uint32Array, outOffset: number): void {
    const iv = 1 / Math.max(noiseVar, 1e-12);
    if (this.modulation === Modulation.BPSK) {
      llr[base + inv[outOffset]!] = clampLlr(4 * re * iv);
      return;
    }
    if (this.axisBits === 1) {
      // QPSK: axisLlr's one-bit case for each axis
      const l1 = this.levels[1]!;
      llr[base + inv[outOffset]!] = clampLlr(-4 * l1 * re * iv);
      llr[base + inv[outOffset + 1]!] = clampLlr(-4 * l1 * im * iv);
      return;
    }
    const t = this.llrTmp;
    this.axisLlr(re, iv, t, 0);
    this.axisLlr(im, iv, t, this.axisBits);
    for (let b = 0; b < this.bitsPerSymbol; b++) llr[base + inv[outOffset + b]!] = t[b]!;
  }

  private axisLlr(x: number, inv: number, llr: Float32Array, off: number): void {
    const nb = this.axisBits;
    const levels = this.levels;
    const lb = this.levelBits;
    if (nb === 1) {
      // QPSK axis: levels -s (gray 0) and +s (gray 1): LLR = (d1 - d0) * inv = -4 s x inv
      llr[off] = clampLlr(-4 * levels[1]! * x * inv);
      return;
    }
    for (let b = 0; b < nb; b++) {
      const mask = 1 << (nb - 1 - b);
      let min0 = Infinity;
      let min1 = Infinity;
      for (let l = 0; l < levels.length; l++) {
        const d = x - levels[l]!;
        const d2 = d * d;
        if (lb[l]! & mask) {
          if (d2 < min1) min1 = d2;
        } else if (d2 < min0) min0 = d2;
      }
      llr[off + b] = clampLlr((min1 - min0) * inv);
    }
  }
}

function clampLlr(v: number): number {
  if (!(v === v)) return 0; // NaN: no information
  return v > 1e4 ? 1e4 : v < -1e4 ? -1e4 : v;
}

const cache = new Map<Modulation, Constellation>();
export function constellation(m: Modulation): Constellation {
  let c = cache.get(m);
  if (!c) {
    c = new Constellation(m);
    cache.set(m, c);
  }
  return c;
}
