/**
 * Convolutional code K=7, generators 133/171 (octal), as 802.11; rates 1/2, 2/3, 3/4, 5/6 by puncturing.
 * Soft-decision Viterbi decoder with preallocated path-metric and decision buffers (grown on demand only).
 * Bits are one per byte (0/1). LLR convention: LLR = log P(0)/P(1), so positive means "0".
 */
import { PhyConfigError } from './errors.js';
import { acsStep } from './viterbi-acs.js';
import { SimdForward, createSimdForward } from './viterbi-simd.js';
import { roundHalfUp } from './fastmath.js';

export const CONSTRAINT_LENGTH = 7;
export const TAIL_BITS = CONSTRAINT_LENGTH - 1;
const G0 = 0o133;
const G1 = 0o171;
const NSTATES = 64;

export enum CodeRate {
  R1_2 = 0,
  R2_3 = 1,
  R3_4 = 2,
  R5_6 = 3,
}

/** Keep-masks over the mother-code stream A0 B0 A1 B1 ... (802.11 puncturing patterns). */
const PUNCTURE: Record<CodeRate, Uint8Array> = {
  [CodeRate.R1_2]: Uint8Array.of(1, 1),
  [CodeRate.R2_3]: Uint8Array.of(1, 1, 1, 0),
  [CodeRate.R3_4]: Uint8Array.of(1, 1, 1, 0, 0, 1),
  [CodeRate.R5_6]: Uint8Array.of(1, 1, 1, 0, 0, 1, 1, 0, 0, 1),
};

export function codeRateName(r: CodeRate): string {
  return ['1/2', '2/3', '3/4', '5/6'][r] ?? `unknown(${r})`;
}

export function parseCodeRate(s: string): CodeRate {
  const i = ['1/2', '2/3', '3/4', '5/6'].indexOf(s.trim());
  if (i < 0) throw new PhyConfigError(`unknown code rate '${s}'; use 1/2, 2/3, 3/4 or 5/6`);
  return i as CodeRate;
}

function parity(x: number): number {
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return x & 1;
}

/** Output pair index (c0 << 1 | c1) for 7-bit register value (old bits high, new bit at LSB). */
const OUT = (() => {
  const t = new Uint8Array(128);
  for (let r = 0; r < 128; r++) t[r] = (parity(r & G0) << 1) | parity(r & G1);
  return t;
})();

/** The encoder's output pair (c0 << 1 | c1) per 7-bit register value (for the WebAssembly re-encoder). */
export function encoderOutputs(): Uint8Array {
  return OUT;
}

/** The puncturing pattern of a code rate over the mother code's outputs (1 = sent). */
export function punctureMask(rate: CodeRate): Uint8Array {
  return PUNCTURE[rate];
}

/** Number of coded bits after puncturing for `infoBits` information bits (tail included). */
export function codedLength(infoBits: number, rate: CodeRate): number {
  const mother = 2 * (infoBits + TAIL_BITS);
  const mask = PUNCTURE[rate];
  let ones = 0;
  for (const m of mask) ones += m;
  const full = Math.floor(mother / mask.length);
  let n = full * ones;
  for (let i = 0; i < mother - full * mask.length; i++) n += mask[i]!;
  return n;
}

/**
 * Encode `bits` (tail of 6 zeros appended here) and puncture. Returns coded bits, one per byte, in `out`
 * when given (it must hold codedLength(bits.length, rate) values; all of them are written).
 */
export function convEncode(bits: Uint8Array, rate: CodeRate, out: Uint8Array = new Uint8Array(codedLength(bits.length, rate))): Uint8Array {
  const total = bits.length + TAIL_BITS;
  if (rate === CodeRate.R1_2) {
    // unpunctured: both outputs of every step (the general loop below with an all-ones mask)
    let st = 0;
    for (let i = 0; i < total; i++) {
      const reg = (st << 1) | (i < bits.length ? bits[i]! & 1 : 0);
      const pair = OUT[reg]!;
      out[2 * i] = pair >> 1;
      out[2 * i + 1] = pair & 1;
      st = reg & 63;
    }
    return out;
  }
  const mask = PUNCTURE[rate];
  let state = 0;
  let m = 0;
  let o = 0;
  for (let i = 0; i < total; i++) {
    const b = i < bits.length ? bits[i]! & 1 : 0;
    const reg = (state << 1) | b;
    const pair = OUT[reg]!;
    if (mask[m]!) out[o++] = pair >> 1;
    if (++m === mask.length) m = 0;
    if (mask[m]!) out[o++] = pair & 1;
    if (++m === mask.length) m = 0;
    state = reg & 63;
  }
  return out;
}

/** Path metrics at the start: the encoder is in state 0 (the others start far below). */
function startAtZero(pm: Int32Array): void {
  pm.fill(-(1 << 28), 0, NSTATES);
  pm[0] = 0;
}

/**
 * Viterbi decoder. Reuse one instance: buffers grow to the longest frame seen and are then reused.
 */
export class ViterbiDecoder {
  /** The WebAssembly SIMD forward pass when available and not disabled (same decisions, ~3x faster). */
  private readonly simd: SimdForward | null;
  private pm = new Int32Array(NSTATES);
  private pmNext = new Int32Array(NSTATES);
  private dec = new Int32Array(0); // 2 words of 32 decisions per step
  private mother = new Int32Array(0);

  /** `simd: false` forces the scalar forward pass (tests compare both; results are identical). */
  constructor(opts: { simd?: boolean } = {}) {
    this.simd = opts.simd === false ? null : createSimdForward();
  }

  /** Whether this decoder runs the WebAssembly SIMD forward pass. */
  get usesSimd(): boolean {
    return this.simd !== null;
  }

  /**
   * Decode punctured LLRs into `infoBits` bits (tail removed). `llr.length` must be at least
   * codedLength(infoBits, rate); extra values are ignored, missing ones count as erasures.
   * Metrics are integers: LLRs are quantized to 1/8 (clamped to +-2^15), which costs nothing measurable
   * in BER and runs faster than float metrics in V8.
   */
  decode(llr: Float32Array, infoBits: number, rate: CodeRate, out: Uint8Array = new Uint8Array(infoBits)): Uint8Array {
    const steps = infoBits + TAIL_BITS;
    const motherLen = 2 * steps;
    const simd = this.simd;
    let mother: Int32Array;
    let mo = 0; // index of the first mother LLR in `mother`
    let dec: Int32Array;
    let dp = 0; // index of the first decision word in `dec`
    if (simd) {
      const at = simd.reserve(steps);
      mother = simd.view;
      dec = simd.view;
      mo = at.mother;
      dp = at.dec;
    } else {
      if (this.mother.length < motherLen) this.mother = new Int32Array(motherLen * 2);
      if (this.dec.length < 2 * steps) this.dec = new Int32Array(4 * steps);
      mother = this.mother;
      dec = this.dec;
    }
    if (simd && rate === CodeRate.R1_2) {
      // the mother code itself: quantized, run and traced back inside the WebAssembly module
      simd.quantizeUnpunctured(llr);
      startAtZero(simd.view);
      simd.run(steps);
      simd.traceback(steps, out.length === infoBits ? out : out.subarray(0, infoBits));
      return out;
    }
    const mask = PUNCTURE[rate];
    const period = mask.length;
    const nIn = llr.length;
    let m = 0;
    let k = 0;
    for (let i = 0; i < motherLen; i++) {
      let q = 0;
      if (mask[m]! && k < nIn) {
        // clamp before rounding (same result as rounding first, then clamping); NaN: erasure
        const v = llr[k++]! * 8;
        q = v >= 32767 ? 32767 : v <= -32767 ? -32767 : v === v ? roundHalfUp(v) : 0;
      }
      mother[mo + i] = q;
      if (++m === period) m = 0;
    }
    if (simd) {
      startAtZero(simd.view);
      simd.run(steps);
    } else this.forward(mother, dec, steps);
    // Terminated code: trace back from state 0.
    let state = 0;
    for (let s = steps - 1; s >= 0; s--) {
      // word index by arithmetic, not a branch: which half the state is in is a coin flip per step
      const word = dec[dp + 2 * s + (state >> 5)]!;
      const d = (word >>> (state & 31)) & 1;
      if (s < infoBits) out[s] = state & 1;
      state = (state >> 1) | (d << 5);
    }
    return out;
  }

  /** Scalar forward pass: the unrolled branch-free ACS step, metrics renormalized every 32 steps. */
  private forward(mother: Int32Array, dec: Int32Array, steps: number): void {
    let pm = this.pm;
    let nx = this.pmNext;
    pm.fill(-(1 << 28));
    pm[0] = 0; // encoder starts in state 0
    for (let s = 0; s < steps; s++) {
      const l0 = mother[2 * s]!;
      const l1 = mother[2 * s + 1]!;
      // Correlation metric of branch output (c0,c1): +l if the coded bit is 0, -l if it is 1.
      // Butterflies: state j (oldest bit 0) and j+32 (oldest bit 1) feed states 2j (input 0) and 2j+1.
      // Both generators tap the oldest and the newest bit, so the four branches are +-bm of one output.
      acsStep(pm, nx, l0 + l1, l0 - l1, dec, s);
      const tmp = pm;
      pm = nx;
      nx = tmp;
      if ((s & 31) === 31) {
        // keep metrics far from int32 overflow (growth per step <= 2^17)
        const ref = pm[0]!;
        for (let j = 0; j < NSTATES; j++) pm[j] = pm[j]! - ref;
      }
    }
    this.pm = pm;
    this.pmNext = nx;
  }
}
