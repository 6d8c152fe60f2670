/**
 * WebAssembly bodies of FrameDemodulator.demodSymbol's two per-carrier loops (demod-wasm.ts assembles
 * and runs them). Scalar f64, the JavaScript's operations in its order, float32 where it stores to or
 * rounds with its float32 arrays: the results are the same bits (demod-wasm.test.ts, golden decode).
 *
 * carriers(u, out, usedSc, invH, h2, pilotIndex, pilotVals, levels, bpsk, maxLevel, sums; his, hsp, c, s, dc, ds):
 *   rotate every used carrier by the phase recurrence (c, s) += (dc, ds) per subcarrier step, store it
 *   (float32), equalize it (ZF taps invH), decide it (pilot value, BPSK sign, or the nearest level per
 *   axis: round-half-up(x his + hsp) clamped to [0, maxLevel], levels float32), and sum |H|^2-weighted
 *   Y conj(X) into sums[0], sums[1] (f64).
 * rotate(u, out; rc, rs): every used carrier times (rc + j rs).
 */
import {
  BLOCK,
  DEMOD_ARGS,
  BR,
  BR_IF,
  ELSE,
  END,
  F32_DEMOTE_F64,
  F32_LOAD,
  F32_STORE,
  F64_ADD,
  F64_CONVERT_I32_S,
  F64_GE,
  F64_GT,
  F64_LOAD,
  F64_LT,
  F64_MUL,
  F64_PROMOTE_F32,
  F64_STORE,
  F64_SUB,
  I32_ADD,
  I32_AND,
  I32_GE_S,
  I32_LOAD,
  I32_LT_S,
  I32_MUL,
  I32_SHL,
  I32_SHR_S,
  I32_SUB,
  I32_TRUNC_F64_S,
  I32_XOR,
  IF,
  LOCAL_TEE,
  LOOP,
  VOID,
  emitter,
  functionCodeWithF64Args,
} from './wasm-emit.js';
import { loadComplex } from './demod-wasm-math.js';

export function carriersCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  // params
  const U = 0, OUT = 1, USED_SC = 2, INVH = 3, H2 = 4, PILOT_INDEX = 5, PILOT_VALS = 6, LEVELS = 7, BPSK = 8, MAX_LEVEL = 9, SUMS = 10;
  const HIS = 11, HSP = 12, C = 13, S = 14, DC = 15, DS = 16;
  // locals: i32 k, prevK, sc, j, l, d, a; f64 yr, yi, fyr, fyi, er, ei, xr, xi, sr, si, nc, v
  const K = 17, PREV = 18, SC = 19, J = 20, LV = 21, D = 22, A = 23;
  const YR = 24, YI = 25, FYR = 26, FYI = 27, ER = 28, EI = 29, XR = 30, XI = 31, SR = 32, SI = 33, NC = 34, V = 35;
  // the nearest level's coordinate for the value in local V -> leaves the f64 on the stack
  const slice = (x: number): void => {
    get(x);
    get(HIS);
    op(F64_MUL);
    get(HSP);
    op(F64_ADD);
    set(V);
    // !(v > -2e9 && v < 2e9): v > 0 ? maxLevel : 0 (NaN -> 0)
    get(V);
    f64(-2e9);
    op(F64_GT);
    get(V);
    f64(2e9);
    op(F64_LT);
    op(I32_AND);
    op(IF, 0x7f);
    // l = trunc(v); l += (v - l >= 0.5); l &= ~(l >> 31); d = l - max; l = max + (d & (d >> 31))
    get(V);
    op(I32_TRUNC_F64_S);
    set(LV);
    get(LV);
    get(V);
    get(LV);
    op(F64_CONVERT_I32_S, F64_SUB);
    f64(0.5);
    op(F64_GE, I32_ADD);
    op(LOCAL_TEE, LV);
    get(LV);
    i32(31);
    op(I32_SHR_S);
    i32(-1);
    op(I32_XOR, I32_AND);
    get(MAX_LEVEL);
    op(I32_SUB);
    op(LOCAL_TEE, D);
    get(D);
    i32(31);
    op(I32_SHR_S, I32_AND);
    get(MAX_LEVEL);
    op(I32_ADD);
    op(ELSE);
    get(V);
    f64(0);
    op(F64_GT);
    get(MAX_LEVEL);
    op(I32_MUL);
    op(END);
    i32(2);
    op(I32_SHL);
    get(LEVELS);
    op(I32_ADD, F32_LOAD, ...mem(2, 0), F64_PROMOTE_F32);
  };

  f64(0);
  set(SR);
  f64(0);
  set(SI);
  get(USED_SC);
  op(I32_LOAD, ...mem(2, 0));
  set(PREV);
  e.countFrom0(K, U);
  // sc = usedSc[k]; while (prevK < sc) advance the rotation
  get(USED_SC);
  get(K);
  i32(2);
  op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
  set(SC);
  op(BLOCK, VOID, LOOP, VOID);
  get(PREV);
  get(SC);
  op(I32_GE_S, BR_IF, 1);
  e.pair(C, DC, S, DS, true);
  set(NC);
  e.pair(C, DS, S, DC, false);
  set(S);
  get(NC);
  set(C);
  get(PREV);
  i32(1);
  op(I32_ADD);
  set(PREV);
  op(BR, 0, END, END);
  // y = out[k] rotated, stored back
  loadComplex(e, OUT, K, A, FYR, FYI); // y0 (in FYR, FYI until the rounded y replaces it); A keeps its address
  e.pair(FYR, C, FYI, S, true);
  set(YR);
  e.pair(FYR, S, FYI, C, false);
  set(YI);
  get(A);
  get(YR);
  op(F32_DEMOTE_F64, F32_STORE, ...mem(2, 0));
  get(A);
  get(YI);
  op(F32_DEMOTE_F64, F32_STORE, ...mem(2, 4));
  // equalize the float32-rounded value
  get(YR);
  op(F32_DEMOTE_F64, F64_PROMOTE_F32);
  set(FYR);
  get(YI);
  op(F32_DEMOTE_F64, F64_PROMOTE_F32);
  set(FYI);
  // er = fyr ir - fyi ii; ei = fyr ii + fyi ir (ir, ii in XR, XI briefly)
  loadComplex(e, INVH, K, A, XR, XI);
  e.pair(FYR, XR, FYI, XI, true);
  set(ER);
  e.pair(FYR, XI, FYI, XR, false);
  set(EI);
  // decision
  get(PILOT_INDEX);
  get(K);
  i32(2);
  op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
  op(LOCAL_TEE, J);
  i32(0);
  op(I32_GE_S, IF, VOID);
  get(PILOT_VALS);
  get(J);
  i32(3);
  op(I32_SHL, I32_ADD, F64_LOAD, ...mem(3, 0));
  set(XR);
  f64(0);
  set(XI);
  op(ELSE);
  get(BPSK);
  op(IF, VOID);
  // 2 (er >= 0) - 1
  get(ER);
  f64(0);
  op(F64_GE);
  i32(1);
  op(I32_SHL);
  i32(1);
  op(I32_SUB, F64_CONVERT_I32_S);
  set(XR);
  f64(0);
  set(XI);
  op(ELSE);
  slice(ER);
  set(XR);
  slice(EI);
  set(XI);
  op(END, END);
  // sr += w (er xr + ei xi); si += w (ei xr - er xi)
  get(SR);
  get(H2);
  get(K);
  i32(2);
  op(I32_SHL, I32_ADD, F32_LOAD, ...mem(2, 0), F64_PROMOTE_F32);
  op(LOCAL_TEE, NC); // w
  e.pair(ER, XR, EI, XI, false);
  op(F64_MUL, F64_ADD);
  set(SR);
  get(SI);
  get(NC);
  e.pair(EI, XR, ER, XI, true);
  op(F64_MUL, F64_ADD);
  set(SI);
  e.nextWhileLess(K, U);
  op(END);
  get(SUMS);
  get(SR);
  op(F64_STORE, ...mem(3, 0));
  get(SUMS);
  get(SI);
  op(F64_STORE, ...mem(3, 8));
  op(END);
  return functionCodeWithF64Args(DEMOD_ARGS, HIS, 6, [2, 7, 0x7f, 12, 0x7c], e.c);
}

export function rotateCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, mem } = e;
  const U = 0, OUT = 1, RC = 2, RS = 3;
  const A = 4, END_ = 5, YR = 6, YI = 7;
  op(BLOCK, VOID);
  get(U);
  i32(1);
  op(I32_LT_S, BR_IF, 0);
  get(OUT);
  set(A);
  get(OUT);
  get(U);
  i32(3);
  op(I32_SHL, I32_ADD);
  set(END_);
  op(LOOP, VOID);
  get(A);
  op(F32_LOAD, ...mem(2, 0), F64_PROMOTE_F32);
  set(YR);
  get(A);
  op(F32_LOAD, ...mem(2, 4), F64_PROMOTE_F32);
  set(YI);
  get(A);
  get(YR);
  get(RC);
  op(F64_MUL);
  get(YI);
  get(RS);
  op(F64_MUL, F64_SUB, F32_DEMOTE_F64, F32_STORE, ...mem(2, 0));
  get(A);
  get(YR);
  get(RS);
  op(F64_MUL);
  get(YI);
  get(RC);
  op(F64_MUL, F64_ADD, F32_DEMOTE_F64, F32_STORE, ...mem(2, 4));
  get(A);
  i32(8);
  op(I32_ADD);
  op(LOCAL_TEE, A);
  get(END_);
  op(I32_LT_S, BR_IF, 0, END, END, END);
  return functionCodeWithF64Args(DEMOD_ARGS, RC, 2, [2, 2, 0x7f, 2, 0x7c], e.c);
}
