/**
 * WebAssembly bodies of FrameDemodulator.acquire's loops (demod-wasm.ts assembles and runs them): the CFO
 * derotation of the search window, the integer-CFO search over the LTS spectrum, the fine-timing
 * cross-correlation with the LTS body, and the guard/LTS lag sums for the fine CFO. The JavaScript keeps
 * the decisions between them and the trigonometry. Same operations in the same order as the JavaScript,
 * float32 where it stores (golden decode, demod-wasm.test.ts).
 *
 * derot(count, in, out): out[i] = in[i] exp(j phase_i), (cos, sin) of the phase from (c, s) advancing by
 *   (dc, ds) per sample (doubles at DEMOD_ARGS).
 * cfo(n, src, fb, perm, tw, usedSc, ltsFreq, numUsed, maxShift) -> best even shift: the FFT of the n
 *   samples at src (into fb), then for each shift the LTS-weighted correlation of adjacent carriers.
 * timing(count, win, lts, n, sums) -> index of the best of `count` window starts (win + 8 k) by
 *   |sum x conj(lts)|^2 (strictly better only; `count` >> 1 when none is), its normalized metric in
 *   sums[0]; ltsEnergy at DEMOD_ARGS.
 * lagSums(count, a, n, sums): sums[0..1] = sum of x[t] conj... as acquire's fine CFO.
 */
import {
  BLOCK,
  BR,
  BR_IF,
  DEMOD_ARGS,
  END,
  F32_DEMOTE_F64,
  F32_LOAD,
  F32_STORE,
  F64_ADD,
  F64_DIV,
  F64_GT,
  F64_MUL,
  F64_PROMOTE_F32,
  F64_STORE,
  I32_ADD,
  I32_AND,
  I32_EQ,
  I32_LOAD,
  I32_LT_S,
  I32_SHL,
  I32_SUB,
  IF,
  ELSE,
  LOCAL_TEE,
  LOOP,
  VOID,
  emitter,
  functionCode,
  functionCodeWithF64Args,
} from './wasm-emit.js';
import { emitStages } from './demod-wasm-stages.js';

const I64_LOAD = 0x29;
const I64_STORE = 0x37;
const I32_LE_S = 0x4c;

type Emitter = ReturnType<typeof emitter>;

function f32At(e: Emitter, addr: number, offset: number, to: number): void {
  e.get(addr);
  e.op(F32_LOAD, ...e.mem(2, offset), F64_PROMOTE_F32);
  e.set(to);
}


/** l = l + (pushed value), for a pushed f64 (call after pushing). */
function accumulate(e: Emitter, l: number, push: () => void): void {
  e.get(l);
  push();
  e.op(F64_ADD);
  e.set(l);
}

/** local `to` = base + (index << shift) of two i32 locals. */
function addressInto(e: Emitter, base: number, index: number, shift: number, to: number): void {
  e.get(base);
  e.get(index);
  e.i32(shift);
  e.op(I32_SHL, I32_ADD);
  e.set(to);
}

export function derotCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, mem } = e;
  const COUNT = 0, IN = 1, OUT = 2;
  const C = 3, S = 4, DC = 5, DS = 6;
  const END_ = 7;
  const XR = 8, XI = 9, NC = 10;
  op(BLOCK, VOID);
  get(COUNT);
  i32(1);
  op(I32_LT_S, BR_IF, 0);
  addressInto(e, IN, COUNT, 3, END_);
  op(LOOP, VOID);
  f32At(e, IN, 0, XR);
  f32At(e, IN, 4, XI);
  get(OUT);
  e.pair(XR, C, XI, S, true);
  op(F32_DEMOTE_F64, F32_STORE, ...mem(2, 0));
  get(OUT);
  e.pair(XR, S, XI, C, false);
  op(F32_DEMOTE_F64, F32_STORE, ...mem(2, 4));
  e.pair(C, DC, S, DS, true);
  set(NC);
  e.pair(C, DS, S, DC, false);
  set(S);
  get(NC);
  set(C);
  for (const l of [IN, OUT]) {
    get(l);
    i32(8);
    op(I32_ADD);
    set(l);
  }
  get(IN);
  get(END_);
  op(I32_LT_S, BR_IF, 0, END, END, END);
  return functionCodeWithF64Args(DEMOD_ARGS, C, 4, [2, 1, 0x7f, 3, 0x7c], e.c);
}

export function cfoCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  const N = 0, SRC = 1, FB = 2, PERM = 3, TW = 4, USED_SC = 5, LTS_FREQ = 6, NUM_USED = 7, MAX_SHIFT = 8;
  const HALF = 9, W = 10, START = 11, A = 12, END_ = 13, K = 14, B = 15, I = 16, SHIFT = 17, BEST_S = 18, SC0 = 19, SC1 = 20, MASK = 21;
  const CR = 22, CI = 23, SG = 24, AR = 25, AI = 26, BR_ = 27, BI = 28, M = 29, BEST_M = 30;
  const VA = 31, T = 32;
  // 1. the window's n samples to their bit-reversed slots (bit copies), then the stages
  i32(0);
  set(I);
  op(LOOP, VOID);
  get(FB);
  get(PERM);
  get(I);
  i32(2);
  op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
  i32(3);
  op(I32_SHL, I32_ADD);
  get(SRC);
  get(I);
  i32(3);
  op(I32_SHL, I32_ADD, I64_LOAD, ...mem(3, 0), I64_STORE, ...mem(3, 0));
  e.nextWhileLess(I, N);
  emitStages(e, { n: N, fb: FB, tw: TW, half: HALF, w: W, start: START, a: A, end: END_, k: K, b: B, va: VA, t: T });
  // 2. the search over even shifts -maxShift .. maxShift
  get(N);
  i32(1);
  op(I32_SUB);
  set(MASK); // (x % n + n) % n = x & (n - 1) for a power of two n
  f64(-1);
  set(BEST_M);
  i32(0);
  set(BEST_S);
  i32(0);
  get(MAX_SHIFT);
  op(I32_SUB);
  set(SHIFT);
  op(LOOP, VOID); // shifts
  f64(0);
  set(CR);
  f64(0);
  set(CI);
  i32(0);
  set(I);
  op(BLOCK, VOID, LOOP, VOID); // carriers i, i + 1 < numUsed
  get(I);
  i32(1);
  op(I32_ADD);
  get(NUM_USED);
  op(I32_LT_S);
  op(IF, VOID, ELSE, BR, 2, END);
  addressInto(e, USED_SC, I, 2, A);
  get(A);
  op(I32_LOAD, ...mem(2, 0));
  set(SC0);
  get(A);
  op(I32_LOAD, ...mem(2, 4));
  op(LOCAL_TEE, SC1);
  get(SC0);
  i32(1);
  op(I32_ADD, I32_EQ, IF, VOID);
  addressInto(e, LTS_FREQ, I, 2, A);
  f32At(e, A, 0, SG);
  get(SG);
  get(A);
  op(F32_LOAD, ...mem(2, 4), F64_PROMOTE_F32, F64_MUL);
  set(SG);
  get(SC0);
  get(SHIFT);
  op(I32_ADD);
  get(MASK);
  op(I32_AND);
  set(B);
  addressInto(e, FB, B, 3, A);
  f32At(e, A, 0, AR);
  f32At(e, A, 4, AI);
  get(SC1);
  get(SHIFT);
  op(I32_ADD);
  get(MASK);
  op(I32_AND);
  set(B);
  addressInto(e, FB, B, 3, A);
  f32At(e, A, 0, BR_);
  f32At(e, A, 4, BI);
  accumulate(e, CR, () => {
    get(SG);
    e.pair(AR, BR_, AI, BI, false);
    op(F64_MUL);
  });
  accumulate(e, CI, () => {
    get(SG);
    e.pair(AI, BR_, AR, BI, true);
    op(F64_MUL);
  });
  op(END); // if adjacent
  get(I);
  i32(1);
  op(I32_ADD);
  set(I);
  op(BR, 0, END, END);
  e.pair(CR, CR, CI, CI, false);
  op(LOCAL_TEE, M);
  get(BEST_M);
  op(F64_GT, IF, VOID);
  get(M);
  set(BEST_M);
  get(SHIFT);
  set(BEST_S);
  op(END);
  get(SHIFT);
  i32(2);
  op(I32_ADD);
  op(LOCAL_TEE, SHIFT);
  get(MAX_SHIFT);
  op(I32_LE_S, BR_IF, 0, END);
  get(BEST_S);
  op(END);
  return functionCode([3, 13, 0x7f, 9, 0x7c, 2, 0x7b], e.c);
}

export function timingCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  const COUNT = 0, WIN = 1, LTS = 2, N = 3, SUMS = 4;
  const ENERGY = 5;
  const K = 6, I = 7, X = 8, L = 9, BEST_K = 10;
  const XR = 11, XI = 12, LR = 13, LI = 14, CR = 15, CI = 16, EN = 17, C = 18, BEST_C = 19, RHO = 20;
  f64(-1);
  set(BEST_C);
  f64(0);
  set(RHO);
  get(COUNT);
  i32(1);
  op(0x75); // i32.shr_s: the centre (the prediction) when no start is better
  set(BEST_K);
  e.countFrom0(K, COUNT);
  f64(0);
  set(CR);
  f64(0);
  set(CI);
  f64(0);
  set(EN);
  addressInto(e, WIN, K, 3, X);
  get(LTS);
  set(L);
  i32(0);
  set(I);
  op(LOOP, VOID);
  f32At(e, X, 0, XR);
  f32At(e, X, 4, XI);
  f32At(e, L, 0, LR);
  f32At(e, L, 4, LI);
  accumulate(e, CR, () => e.pair(XR, LR, XI, LI, false));
  accumulate(e, CI, () => e.pair(XI, LR, XR, LI, true));
  accumulate(e, EN, () => e.pair(XR, XR, XI, XI, false));
  for (const l of [X, L]) {
    get(l);
    i32(8);
    op(I32_ADD);
    set(l);
  }
  e.nextWhileLess(I, N);
  e.pair(CR, CR, CI, CI, false);
  op(LOCAL_TEE, C);
  get(BEST_C);
  op(F64_GT, IF, VOID);
  get(C);
  set(BEST_C);
  get(K);
  set(BEST_K);
  // rho = e > 0 ? c / (e ltsEnergy) : 0
  get(EN);
  f64(0);
  op(F64_GT, IF, VOID);
  get(C);
  get(EN);
  get(ENERGY);
  op(F64_MUL, F64_DIV);
  set(RHO);
  op(ELSE);
  f64(0);
  set(RHO);
  op(END, END);
  e.nextWhileLess(K, COUNT);
  op(END);
  get(SUMS);
  get(RHO);
  op(F64_STORE, ...mem(3, 0));
  get(BEST_K);
  op(END);
  return functionCodeWithF64Args(DEMOD_ARGS, ENERGY, 1, [2, 5, 0x7f, 10, 0x7c], e.c);
}

export function lagSumsCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  const COUNT = 0, A = 1, N = 2, SUMS = 3;
  const END_ = 4, B = 5;
  const XR = 6, XI = 7, YR = 8, YI = 9, FR = 10, FI = 11;
  f64(0);
  set(FR);
  f64(0);
  set(FI);
  op(BLOCK, VOID);
  get(COUNT);
  i32(1);
  op(I32_LT_S, BR_IF, 0);
  addressInto(e, A, COUNT, 3, END_);
  op(LOOP, VOID);
  addressInto(e, A, N, 3, B);
  f32At(e, A, 0, XR);
  f32At(e, A, 4, XI);
  f32At(e, B, 0, YR);
  f32At(e, B, 4, YI);
  accumulate(e, FR, () => e.pair(XR, YR, XI, YI, false));
  accumulate(e, FI, () => e.pair(XR, YI, XI, YR, true));
  get(A);
  i32(8);
  op(I32_ADD);
  op(LOCAL_TEE, A);
  get(END_);
  op(I32_LT_S, BR_IF, 0, END, END);
  get(SUMS);
  get(FR);
  op(F64_STORE, ...mem(3, 0));
  get(SUMS);
  get(FI);
  op(F64_STORE, ...mem(3, 8));
  op(END);
  return functionCode([2, 2, 0x7f, 6, 0x7c], e.c);
}
