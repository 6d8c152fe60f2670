/**
 * Iterative radix-2 complex FFT over interleaved Float32Array [re0, im0, re1, im1, ...].
 * Twiddles and the bit-reversal permutation are computed once per size, so a transform allocates nothing.
 * Forward: X[k] = sum_n x[n] e^{-j 2 pi k n / N}; inverse: same with e^{+j...}, *unnormalized* (no 1/N).
 * (Variants tried and measured slower or no faster in V8 for N = 64: a Float64 scratch with merged first
 * two stages and per-stage twiddle tables, and a twiddle-outer loop order.)
 */
import { PhyConfigError } from './errors.js';

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;
}

export class Fft {
  readonly size: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;

  constructor(size: number) {
    if (!isPowerOfTwo(size) || size > 1 << 20) {
      throw new PhyConfigError(`FFT size must be a power of two between 2 and 2^20, got ${size}`);
    }
    this.size = size;
    const half = size >> 1;
    this.cos = new Float64Array(half);
    this.sin = new Float64Array(half);
    for (let i = 0; i < half; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / size);
      this.sin[i] = Math.sin((2 * Math.PI * i) / size);
    }
    this.rev = new Uint32Array(size);
    const bits = Math.log2(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
  }

  /** In-place forward transform of `size` complex values starting at complex index `offset`. */
  forward(data: Float32Array, offset = 0): void {
    this.transform(data, offset << 1, -1);
  }

  /** In-place inverse transform (unnormalized). */
  inverse(data: Float32Array, offset = 0): void {
    this.transform(data, offset << 1, 1);
  }

  private transform(d: Float32Array, base: number, sign: number): void {
    const n = this.size;
    const rev = this.rev;
    for (let i = 0; i < n; i++) {
      const j = rev[i]!;
      if (j > i) {
        const a = base + 2 * i;
        const b = base + 2 * j;
        const tr = d[a]!;
        const ti = d[a + 1]!;
        d[a] = d[b]!;
        d[a + 1] = d[b + 1]!;
        d[b] = tr;
        d[b + 1] = ti;
      }
    }
    const cos = this.cos;
    const sin = this.sin;
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < half; k++) {
          const wr = cos[k * step]!;
          const wi = sign * sin[k * step]!;
          const a = base + 2 * (start + k);
          const b = a + 2 * half;
          const br = d[b]!;
          const bi = d[b + 1]!;
          const tr = br * wr - bi * wi;
          const ti = br * wi + bi * wr;
          const ar = d[a]!;
          const ai = d[a + 1]!;
          d[a] = ar + tr;
          d[a + 1] = ai + ti;
          d[b] = ar - tr;
          d[b + 1] = ai - ti;
        }
      }
    }
  }
}
