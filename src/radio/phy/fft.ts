/**
 * Iterative radix-2 complex FFT over interleaved Float32Array [re0, im0, re1, im1, ...].
 * Twiddles and the bit-reversal permutation are computed once per size, so a transform allocates nothing.
 * Forward: X[k] = sum_n x[n] e^{-j 2 pi k n / N}; inverse: same with e^{+j...}, *unnormalized* (no 1/N).
 *
 * The arithmetic is the textbook decimation-in-time radix-2 (`referenceTransform`, kept for the tests),
 * with every stage's result rounded to float32 as the in-place array stores it; the fast path performs
 * exactly the same floating-point operations in the same order, so the results are bit for bit equal:
 * - stages run two at a time: each group of 4 values is loaded once, passes both stages in locals
 *   (Math.fround where the reference stores to the float32 array in between) and is stored once, which
 *   halves the typed-array traffic; the first pair (twiddles 1 and -+j) is a separate unrolled pass;
 * - twiddles come from per-stage contiguous tables (no index multiply, sign folded in);
 * - `forwardBitReversed` lets a caller that writes its input anyway (the receiver's derotator) store it
 *   in bit-reversed order and skip the permutation pass.
 * (Radix-4 or split-radix in doubles would do fewer operations but round differently; the receiver's
 * results are pinned bit for bit against the previous build, so the operation order is kept.)
 */
import { PhyConfigError } from './errors.js';

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;
}

export class Fft {
  readonly size: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  /** Bit-reversal permutation: input sample i belongs at position rev[i] before the stages. */
  readonly rev: Uint32Array;
  /** Twiddles of stages with size >= 8: stage `size` starts at offset size/2 - 4; real part, imag. forward/inverse. */
  private readonly twRe: Float64Array;
  private readonly twImFwd: Float64Array;
  private readonly twImInv: Float64Array;

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
    const tw = Math.max(0, size - 4);
    this.twRe = new Float64Array(tw);
    this.twImFwd = new Float64Array(tw);
    this.twImInv = new Float64Array(tw);
    for (let s = 8, off = 0; s <= size; off += s >> 1, s <<= 1) {
      const step = size / s;
      for (let k = 0; k < s >> 1; k++) {
        this.twRe[off + k] = this.cos[k * step]!;
        // the reference computes sign * sin: the same double (multiplying by +-1 is exact)
        this.twImFwd[off + k] = -1 * this.sin[k * step]!;
        this.twImInv[off + k] = 1 * this.sin[k * step]!;
      }
    }
  }

  /**
   * Every radix-2 stage's twiddles in order (stage half-size 1, 2, 4, ...; k < half): four doubles per
   * butterfly, wr, wi, -wi, wr, with wi = sign sin (the values this class's stages use), for the
   * WebAssembly transform (fft-wasm.ts).
   */
  stageTwiddles(sign: -1 | 1): Float64Array {
    const n = this.size;
    const out = new Float64Array(4 * (n - 1));
    let o = 0;
    for (let half = 1; half < n; half <<= 1) {
      const step = n / (2 * half);
      for (let k = 0; k < half; k++) {
        const wr = this.cos[k * step]!;
        const wi = sign * this.sin[k * step]!;
        out[o++] = wr;
        out[o++] = wi;
        out[o++] = -wi;
        out[o++] = wr;
      }
    }
    return out;
  }

  /** In-place forward transform of `size` complex values starting at complex index `offset`. */
  forward(data: Float32Array, offset = 0): void {
    this.permute(data, offset << 1);
    this.stages(data, offset << 1, -1);
  }

  /** In-place inverse transform (unnormalized). */
  inverse(data: Float32Array, offset = 0): void {
    this.permute(data, offset << 1);
    this.stages(data, offset << 1, 1);
  }

  /** Forward transform of data already in bit-reversed order (sample i stored at position rev[i]). */
  forwardBitReversed(data: Float32Array, offset = 0): void {
    this.stages(data, offset << 1, -1);
  }

  private permute(d: Float32Array, base: number): void {
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
  }

  private stages(d: Float32Array, base: number, sign: number): void {
    const n = this.size;
    if (n < 4) {
      this.referenceStages(d, base, sign);
      return;
    }
    const fr = Math.fround;
    // stage 1 twiddle (k = 0) and stage 2 twiddles (k = 0, k = 1 = a quarter turn)
    const c0 = this.cos[0]!;
    const s0 = sign * this.sin[0]!;
    const cq = this.cos[n >> 2]!;
    const sq = sign * this.sin[n >> 2]!;
    const end = base + 2 * n;
    for (let a = base; a < end; a += 8) {
      const x0r = d[a]!;
      const x0i = d[a + 1]!;
      const x1r = d[a + 2]!;
      const x1i = d[a + 3]!;
      const x2r = d[a + 4]!;
      const x2i = d[a + 5]!;
      const x3r = d[a + 6]!;
      const x3i = d[a + 7]!;
      // stage 1: (0, 1) and (2, 3)
      let tr = x1r * c0 - x1i * s0;
      let ti = x1r * s0 + x1i * c0;
      const a0r = fr(x0r + tr);
      const a0i = fr(x0i + ti);
      const a1r = fr(x0r - tr);
      const a1i = fr(x0i - ti);
      tr = x3r * c0 - x3i * s0;
      ti = x3r * s0 + x3i * c0;
      const a2r = fr(x2r + tr);
      const a2i = fr(x2i + ti);
      const a3r = fr(x2r - tr);
      const a3i = fr(x2i - ti);
      // stage 2: (0, 2) with k = 0, (1, 3) with k = 1
      tr = a2r * c0 - a2i * s0;
      ti = a2r * s0 + a2i * c0;
      d[a] = a0r + tr;
      d[a + 1] = a0i + ti;
      d[a + 4] = a0r - tr;
      d[a + 5] = a0i - ti;
      tr = a3r * cq - a3i * sq;
      ti = a3r * sq + a3i * cq;
      d[a + 2] = a1r + tr;
      d[a + 3] = a1i + ti;
      d[a + 6] = a1r - tr;
      d[a + 7] = a1i - ti;
    }
    const twr = this.twRe;
    const twi = sign < 0 ? this.twImFwd : this.twImInv;
    let size = 8;
    let off = 0;
    // Two stages per pass (sizes s and 2s): each group of 4 values k, k + s/2, k + s, k + 3s/2 is loaded
    // once, goes through both stages in registers (rounded to float32 in between, as the array would),
    // and is stored once.
    for (; 2 * size <= n; off += (size >> 1) + size, size <<= 2) {
      const half = size >> 1;
      const off2 = off + half; // twiddles of stage 2s
      const h2 = 2 * half;
      const s2 = 2 * size;
      for (let start = base; start < end; start += 2 * s2) {
        for (let k = 0, a = start; k < half; k++, a += 2) {
          const b = a + h2;
          const c = a + s2;
          const e = c + h2;
          // stage s: (a, b) and (c, e), twiddle k of stage s
          const wr = twr[off + k]!;
          const wi = twi[off + k]!;
          let br = d[b]!;
          let bi = d[b + 1]!;
          let tr = br * wr - bi * wi;
          let ti = br * wi + bi * wr;
          let ar = d[a]!;
          let ai = d[a + 1]!;
          const pr = fr(ar + tr);
          const pi = fr(ai + ti);
          const qr = fr(ar - tr);
          const qi = fr(ai - ti);
          br = d[e]!;
          bi = d[e + 1]!;
          tr = br * wr - bi * wi;
          ti = br * wi + bi * wr;
          ar = d[c]!;
          ai = d[c + 1]!;
          const ur = fr(ar + tr);
          const ui = fr(ai + ti);
          const vr = fr(ar - tr);
          const vi = fr(ai - ti);
          // stage 2s: (a, c) with twiddle k, (b, e) with twiddle k + s/2
          let w2r = twr[off2 + k]!;
          let w2i = twi[off2 + k]!;
          tr = ur * w2r - ui * w2i;
          ti = ur * w2i + ui * w2r;
          d[a] = pr + tr;
          d[a + 1] = pi + ti;
          d[c] = pr - tr;
          d[c + 1] = pi - ti;
          w2r = twr[off2 + half + k]!;
          w2i = twi[off2 + half + k]!;
          tr = vr * w2r - vi * w2i;
          ti = vr * w2i + vi * w2r;
          d[b] = qr + tr;
          d[b + 1] = qi + ti;
          d[e] = qr - tr;
          d[e + 1] = qi - ti;
        }
      }
    }
    // an odd number of stages left: one more single stage
    for (; size <= n; off += size >> 1, size <<= 1) {
      const half = size >> 1;
      const h2 = 2 * half;
      for (let start = base; start < end; start += 2 * size) {
        for (let k = 0, a = start; k < half; k++, a += 2) {
          const wr = twr[off + k]!;
          const wi = twi[off + k]!;
          const b = a + h2;
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

  /** The plain radix-2 stages (after the permutation): the definition the fast path reproduces. */
  private referenceStages(d: Float32Array, base: number, sign: number): void {
    const n = this.size;
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

  /** Reference transform (permutation + plain stages), for tests that pin the fast path to it. */
  referenceTransform(data: Float32Array, offset: number, sign: -1 | 1): void {
    this.permute(data, offset << 1);
    this.referenceStages(data, offset << 1, sign);
  }
}
