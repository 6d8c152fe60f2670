/**
 * The Viterbi forward pass (add-compare-select over all steps) as a small WebAssembly SIMD module, built
 * here byte by byte (no toolchain, no binary file): 64 int32 path metrics are 16 i32x4 vectors, so one
 * trellis step is 8 groups of 4 butterflies instead of 64 scalar compare/selects.
 *
 * Bit for bit the same as the scalar `acsStep` (coding.test.ts checks both against a plain trellis
 * decoder): int32 wrap-around arithmetic, the predecessor with oldest bit 1 wins only when strictly better
 * (i32x4.gt_s), the same decision-word layout, and the same renormalization (subtract state 0's metric
 * every 32 steps). Where WebAssembly SIMD is unavailable `createSimdForward` returns null and the decoder
 * keeps using the scalar step.
 *
 * Memory layout (bytes): [0, 256) path metrics A, [256, 512) metrics B, [512, 512 + 8 steps) the
 * quantized mother-code LLRs (int32 pairs), then the decisions (two int32 words per step), the float LLRs
 * of an unpunctured (rate 1/2) frame and the traced-back bits (one byte each).
 *
 * Two more functions take the decoder's other per-bit loops out of JavaScript (together about 7 % of the
 * receive loop's profile, and JIT warm-up that a fresh `dekag modem rx` pays on every run):
 * - `quantize`: float LLR -> int32 metric for the mother code, two at a time in f64x2 lanes: x 8, clamped
 *   to +-32767 (pmin/pmax keep NaN), round half up as floor(v) + (v - floor(v) >= 0.5), NaN -> 0
 *   (trunc_sat). Every step is the scalar decoder's double arithmetic (clamp-then-round equals
 *   round-then-clamp, the scalar code's own comment), so the metrics are the same integers.
 * - `traceback`: from state 0 through the decisions, one byte per step (integer only).
 */

import {
  F64X2_FLOOR,
  F64X2_GE,
  F64X2_MUL,
  F64X2_PMAX,
  F64X2_PMIN,
  F64X2_PROMOTE_LOW_F32X4,
  F64X2_SUB,
  I16X8_BITMASK,
  I16X8_NARROW_I32X4_S,
  I32X4_ADD,
  I32X4_GT_S,
  I32X4_MAX_S,
  I32X4_REPLACE_LANE,
  I32X4_SPLAT,
  I32X4_SUB,
  I32X4_TRUNC_SAT_F64X2_S_ZERO,
  I32_ADD,
  I32_AND,
  I32_CONST,
  I32_EQ,
  I32_LOAD,
  I32_LT_S,
  I32_OR,
  I32_SHL,
  I32_SHR_S,
  I32_SHR_U,
  I32_STORE,
  I32_STORE8,
  I32_SUB,
  I8X16_SHUFFLE,
  LOCAL_GET,
  LOCAL_SET,
  LOCAL_TEE,
  SIMD,
  V128_LOAD,
  V128_LOAD64_ZERO,
  V128_STORE,
  V128_STORE64_LANE,
  emitter,
  section,
  wasmName,
  functionCode,
  sleb,
  uleb,
  wasmApi,
} from './wasm-emit.js';

function parity(x: number): number {
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return x & 1;
}

/** Branch-metric code of butterfly j: 0 -> b0, 1 -> b1, 2 -> -b1, 3 -> -b0 (see viterbi-acs-gen.ts). */
function metricCode(j: number): number {
  const reg = j << 1;
  return (parity(reg & 0o133) << 1) | parity(reg & 0o171);
}


// locals: params 0 steps, 1 mother pointer, 2 decision pointer; then i32 and v128 locals
const P_STEPS = 0;
const P_MO = 1;
const P_DP = 2;
const L_S = 3;
const L_PA = 4;
const L_PB = 5;
const L_B0 = 6;
const L_B1 = 7;
const L_W0 = 8;
const L_W1 = 9;
const L_T = 10;
const NUM_I32_LOCALS = 8; // 3..10
const V_BASE = 11;
const V_A = 12;
const V_C = 13;
const V_BM = 14;
const V_E = 15;
const V_O = 16;
const V_DE = 17;
const V_DO = 18;
const V_N = 19;
const V_T_C = 20;
const NUM_V128_LOCALS = 10; // 11..20

function buildModule(): Uint8Array {
  const c: number[] = [];
  const op = (...b: number[]): void => {
    c.push(...b);
  };
  const get = (l: number): void => op(LOCAL_GET, l);
  const set = (l: number): void => op(LOCAL_SET, l);
  const i32 = (v: number): void => op(I32_CONST, ...sleb(v));
  const simd = (code: number, ...imm: number[]): void => op(SIMD, ...uleb(code), ...imm);
  const mem = (align: number, offset: number): number[] => [align, ...uleb(offset)];
  const shuffle = (lanes: number[]): void => simd(I8X16_SHUFFLE, ...lanes);
  const i32Lanes = (idx: number[]): number[] => idx.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]);

  // s = 0; pa = 0; pb = 256
  i32(0);
  set(L_S);
  i32(0);
  set(L_PA);
  i32(256);
  set(L_PB);
  // if steps > 0: loop
  op(0x02, 0x40); // block
  get(P_STEPS);
  i32(1);
  op(I32_LT_S);
  op(0x0d, 0); // br_if 0 (steps < 1)
  op(0x03, 0x40); // loop
  // b0 = l0 + l1, b1 = l0 - l1
  get(P_MO);
  op(I32_LOAD, ...mem(2, 0));
  get(P_MO);
  op(I32_LOAD, ...mem(2, 4));
  set(L_T);
  op(LOCAL_TEE, L_B0); // l0 kept in b0 for now
  get(L_T);
  op(I32_SUB);
  set(L_B1); // b1 = l0 - l1
  get(L_B0);
  get(L_T);
  op(I32_ADD);
  set(L_B0); // b0 = l0 + l1
  // base = [b0, b1, -b1, -b0]
  get(L_B0);
  simd(I32X4_SPLAT);
  get(L_B1);
  simd(I32X4_REPLACE_LANE, 1);
  i32(0);
  get(L_B1);
  op(I32_SUB);
  simd(I32X4_REPLACE_LANE, 2);
  i32(0);
  get(L_B0);
  op(I32_SUB);
  simd(I32X4_REPLACE_LANE, 3);
  set(V_BASE);
  i32(0);
  set(L_W0);
  i32(0);
  set(L_W1);
  for (let g = 0; g < 8; g++) {
    // A = states 4g..4g+3 (oldest bit 0), C = states 4g+32.. (oldest bit 1)
    get(L_PA);
    simd(V128_LOAD, ...mem(4, 16 * g));
    set(V_A);
    get(L_PA);
    simd(V128_LOAD, ...mem(4, 128 + 16 * g));
    set(V_C);
    get(V_BASE);
    get(V_BASE);
    shuffle(i32Lanes([0, 1, 2, 3].map((i) => metricCode(4 * g + i))));
    set(V_BM);
    // even targets 2j: a + bm vs c - bm; odd targets 2j+1: a - bm vs c + bm
    const half = (aOp: number, cOp: number, vOut: number, vDec: number): void => {
      get(V_A);
      get(V_BM);
      simd(aOp);
      set(V_N); // candidate from A
      get(V_C);
      get(V_BM);
      simd(cOp);
      set(V_T_C); // candidate from C
      get(V_N);
      get(V_T_C);
      simd(I32X4_MAX_S);
      set(vOut);
      get(V_T_C);
      get(V_N);
      simd(I32X4_GT_S); // C strictly better
      set(vDec);
    };
    half(I32X4_ADD, I32X4_SUB, V_E, V_DE);
    half(I32X4_SUB, I32X4_ADD, V_O, V_DO);
    // new states 8g..8g+7 = E0 O0 E1 O1 | E2 O2 E3 O3
    get(L_PB);
    get(V_E);
    get(V_O);
    shuffle(i32Lanes([0, 4, 1, 5]));
    simd(V128_STORE, ...mem(4, 32 * g));
    get(L_PB);
    get(V_E);
    get(V_O);
    shuffle(i32Lanes([2, 6, 3, 7]));
    simd(V128_STORE, ...mem(4, 32 * g + 16));
    // decisions: narrow to i16 lanes [de0..de3, do0..do3], reorder to de0 do0 de1 do1 ..., bitmask
    get(V_DE);
    get(V_DO);
    simd(I16X8_NARROW_I32X4_S);
    op(LOCAL_TEE, V_N);
    get(V_N);
    shuffle([0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15]);
    simd(I16X8_BITMASK);
    const w = g < 4 ? L_W0 : L_W1;
    i32(8 * (g & 3));
    op(I32_SHL);
    get(w);
    op(I32_OR);
    set(w);
  }
  // dec[2s] = w0, dec[2s+1] = w1
  get(P_DP);
  get(L_W0);
  op(I32_STORE, ...mem(2, 0));
  get(P_DP);
  get(L_W1);
  op(I32_STORE, ...mem(2, 4));
  // swap pa, pb
  get(L_PA);
  get(L_PB);
  set(L_PA);
  set(L_PB);
  // every 32 steps: subtract state 0's metric from all (keeps int32 far from overflow)
  get(L_S);
  i32(31);
  op(I32_AND);
  i32(31);
  op(I32_EQ);
  op(0x04, 0x40); // if
  get(L_PA);
  op(I32_LOAD, ...mem(2, 0));
  simd(I32X4_SPLAT);
  set(V_BM);
  for (let i = 0; i < 16; i++) {
    get(L_PA);
    get(L_PA);
    simd(V128_LOAD, ...mem(4, 16 * i));
    get(V_BM);
    simd(I32X4_SUB);
    simd(V128_STORE, ...mem(4, 16 * i));
  }
  op(0x0b); // end if
  // advance
  get(P_MO);
  i32(8);
  op(I32_ADD);
  set(P_MO);
  get(P_DP);
  i32(8);
  op(I32_ADD);
  set(P_DP);
  get(L_S);
  i32(1);
  op(I32_ADD);
  op(LOCAL_TEE, L_S);
  get(P_STEPS);
  op(I32_LT_S);
  op(0x0d, 0); // br_if loop
  op(0x0b); // end loop
  op(0x0b); // end block
  // the final metrics are in pa: return it so the caller could read them
  get(L_PA);
  op(0x0b); // end function

  const forwardCode = functionCode([2, ...uleb(NUM_I32_LOCALS), 0x7f, ...uleb(NUM_V128_LOCALS), 0x7b], c);
  const name = wasmName;
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // types: 0 (i32, i32, i32) -> i32 (forward), 1 (i32, i32, i32) -> () (quantize, traceback)
    ...section(1, [2, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]),
    // import memory "m" "mem" (min 1 page)
    ...section(2, [1, ...name('m'), ...name('mem'), 0x02, 0x00, 1]),
    ...section(3, [3, 0, 1, 1]),
    ...section(7, [3, ...name('forward'), 0x00, 0, ...name('quantize'), 0x00, 1, ...name('traceback'), 0x00, 2]),
    ...section(10, [3, ...forwardCode, ...quantizeCode(), ...tracebackCode()]),
  ];
  return Uint8Array.from(bytes);
}

/**
 * quantize(pairs, llr, mother): for i < 2 pairs, mother[i] = the scalar decoder's metric of llr[i]
 * (int32 at byte `mother`, f32 at byte `llr`), two values per iteration.
 */
function quantizeCode(): number[] {
  const { c, op, get, set, i32, f64x2, simd, mem } = emitter();
  const P_PAIRS = 0;
  const P_LLR = 1;
  const P_MOTHER = 2;
  const V_V = 3;
  const V_F = 4;
  op(0x02, 0x40); // block
  get(P_PAIRS);
  i32(1);
  op(I32_LT_S);
  op(0x0d, 0); // br_if: nothing to do
  op(0x03, 0x40); // loop
  // v = clamp(llr * 8, -32767, 32767) in doubles; NaN stays NaN
  get(P_LLR);
  simd(V128_LOAD64_ZERO, ...mem(3, 0));
  simd(F64X2_PROMOTE_LOW_F32X4);
  f64x2(8);
  simd(F64X2_MUL);
  f64x2(32767);
  simd(F64X2_PMIN); // pmin(v, C) = C < v ? C : v
  f64x2(-32767);
  simd(F64X2_PMAX); // pmax(v, -C) = v < -C ? -C : v
  op(LOCAL_TEE, V_V);
  simd(F64X2_FLOOR);
  op(LOCAL_TEE, V_F);
  // int(floor(v)) (NaN -> 0) minus the all-ones mask of (v - floor(v) >= 0.5), i.e. plus one there
  simd(I32X4_TRUNC_SAT_F64X2_S_ZERO);
  get(V_V);
  get(V_F);
  simd(F64X2_SUB);
  f64x2(0.5);
  simd(F64X2_GE);
  op(LOCAL_TEE, V_V);
  get(V_V);
  simd(I8X16_SHUFFLE, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 16, 17, 18, 19); // 64-bit masks -> int32 lanes 0, 1
  simd(I32X4_SUB);
  set(V_F);
  get(P_MOTHER);
  get(V_F);
  simd(V128_STORE64_LANE, ...mem(3, 0), 0);
  get(P_LLR);
  i32(8);
  op(I32_ADD);
  set(P_LLR);
  get(P_MOTHER);
  i32(8);
  op(I32_ADD);
  set(P_MOTHER);
  get(P_PAIRS);
  i32(1);
  op(I32_SUB);
  op(LOCAL_TEE, P_PAIRS);
  op(0x0d, 0); // br_if loop (pairs left)
  op(0x0b); // end loop
  op(0x0b); // end block
  op(0x0b); // end function
  return functionCode([1, 2, 0x7b], c);
}

/**
 * traceback(steps, decisions, out): the terminated code's survivor path from state 0; byte
 * out + s = the state's newest bit at step s (the decoded bit for s < info bits).
 */
function tracebackCode(): number[] {
  const { c, op, get, set, i32, mem } = emitter();
  const P_STEPS = 0;
  const P_DP = 1;
  const P_OUT = 2;
  const L_STATE = 3;
  const L_S = 4;
  i32(0);
  set(L_STATE);
  get(P_STEPS);
  set(L_S);
  op(0x02, 0x40); // block
  get(L_S);
  i32(1);
  op(I32_LT_S);
  op(0x0d, 0);
  op(0x03, 0x40); // loop: s = steps - 1 .. 0
  get(L_S);
  i32(1);
  op(I32_SUB);
  set(L_S);
  // out[s] = state & 1
  get(P_OUT);
  get(L_S);
  op(I32_ADD);
  get(L_STATE);
  i32(1);
  op(I32_AND);
  op(I32_STORE8, ...mem(0, 0));
  // state = (state >> 1) | (((dec[2 s + (state >> 5)] >>> (state & 31)) & 1) << 5)
  get(L_STATE);
  i32(1);
  op(I32_SHR_S);
  get(P_DP);
  get(L_S);
  i32(3);
  op(I32_SHL);
  op(I32_ADD);
  get(L_STATE);
  i32(5);
  op(I32_SHR_S);
  i32(2);
  op(I32_SHL);
  op(I32_ADD);
  op(I32_LOAD, ...mem(2, 0));
  get(L_STATE);
  i32(31);
  op(I32_AND);
  op(I32_SHR_U);
  i32(1);
  op(I32_AND);
  i32(5);
  op(I32_SHL);
  op(I32_OR);
  set(L_STATE);
  get(L_S);
  op(0x0d, 0); // br_if loop (s > 0)
  op(0x0b); // end loop
  op(0x0b); // end block
  op(0x0b); // end function
  return functionCode([1, 2, 0x7f], c);
}

export interface SimdForward {
  /** int32 view of the module's memory (replaced when the memory grows). */
  view: Int32Array;
  /** Make room for `steps` trellis steps; returns the int32 index of the mother LLRs and of the decisions. */
  reserve(steps: number): { mother: number; dec: number };
  /** Run the forward pass from the metrics at int32 index 0..63; returns nothing useful to the decoder. */
  run(steps: number): void;
  /**
   * The mother-code metrics of an unpunctured frame: llr[0 .. min(llr.length, 2 steps)) quantized as the
   * scalar decoder does, the rest (missing values) erasures (0). After reserve(steps).
   */
  quantizeUnpunctured(llr: Float32Array): void;
  /** After run(steps): the survivor path from state 0, decoded bits 0 .. out.length - 1 into `out`. */
  traceback(steps: number, out: Uint8Array): void;
}

let cached: SimdForward | null | undefined;

/** The SIMD forward pass (one per process, shared), or null where WebAssembly SIMD is not available. */
export function createSimdForward(): SimdForward | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const wasm = wasmApi();
    if (!wasm) return null;
    const bytes = buildModule();
    const memory = new wasm.Memory({ initial: 1 });
    const instance = new wasm.Instance(new wasm.Module(bytes), { m: { mem: memory } });
    const forward = instance.exports['forward'] as (steps: number, mo: number, dp: number) => number;
    const quantize = instance.exports['quantize'] as (pairs: number, llr: number, mother: number) => void;
    const traceback = instance.exports['traceback'] as (steps: number, dp: number, out: number) => void;
    let steps0 = 0;
    let f32 = new Float32Array(memory.buffer);
    let u8 = new Uint8Array(memory.buffer);
    // byte offsets of the float LLRs and of the traced-back bits, after the decisions
    const llrAt = (steps: number): number => 512 + 16 * steps;
    const bitsAt = (steps: number): number => 512 + 24 * steps + 8;
    const fw: SimdForward = {
      view: new Int32Array(memory.buffer),
      reserve(steps: number) {
        const need = bitsAt(steps) + steps;
        if (need > memory.buffer.byteLength) {
          memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
          fw.view = new Int32Array(memory.buffer);
          f32 = new Float32Array(memory.buffer);
          u8 = new Uint8Array(memory.buffer);
        }
        steps0 = steps;
        return { mother: 128, dec: 128 + 2 * steps };
      },
      run(steps: number) {
        if (steps > steps0) throw new RangeError(`reserve(${steps}) first`);
        forward(steps, 512, 512 + 8 * steps0);
      },
      quantizeUnpunctured(llr: Float32Array) {
        const motherLen = 2 * steps0;
        const n = Math.min(llr.length, motherLen);
        const at = llrAt(steps0) >> 2;
        f32.set(n === llr.length ? llr : llr.subarray(0, n), at);
        f32[at + n] = 0; // an odd count's last pair: the pad quantizes to 0 like a missing value
        quantize((n + 1) >> 1, llrAt(steps0), 512);
        if (n < motherLen) fw.view.fill(0, 128 + n, 128 + motherLen); // erasures
      },
      traceback(steps: number, out: Uint8Array) {
        if (steps > steps0 || out.length > steps) throw new RangeError(`reserve(${steps}) first; at most ${steps} bits`);
        traceback(steps, 512 + 8 * steps0, bitsAt(steps0));
        out.set(u8.subarray(bitsAt(steps0), bitsAt(steps0) + out.length));
      },
    };
    cached = fw;
  } catch {
    cached = null;
  }
  return cached;
}
