/** Emitter helpers shared by the demodulator's WebAssembly bodies. */
import { BLOCK, BR_IF, ELSE, END, F32_DEMOTE_F64, F32_LOAD, F32_STORE, F64_ADD, F64_DIV, F64_GT, F64_LOAD, F64_MUL, F64_NE, F64_PROMOTE_F32, F64_STORE, I32_ADD, I32_LT_S, I32_SHL, IF, LOCAL_TEE, LOOP, VOID, type emitter } from './wasm-emit.js';

const F64_ABS = 0x99;
const F64_SQRT = 0x9f;
const F64_EQ = 0x61;
const I32_OR = 0x72;
const SELECT = 0x1b;
const F64_RESULT = 0x7c;

/**
 * hypot2(x, y) of two f64 locals into local `to` (fastmath.ts: the same algorithm, so the same double:
 * Infinity if either is infinite, NaN if either is NaN, 0 if both are 0, else sqrt(a a + b b) max with
 * a, b the magnitudes over the larger one); tx, ty, tmax are f64 scratch locals.
 */
export function emitHypot(e: ReturnType<typeof emitter>, x: number, y: number, to: number, tx: number, ty: number, tmax: number): void {
  const { op, get, set, f64 } = e;
  get(x);
  op(F64_ABS);
  set(tx);
  get(y);
  op(F64_ABS);
  set(ty);
  get(tx);
  f64(Infinity);
  op(F64_EQ);
  get(ty);
  f64(Infinity);
  op(F64_EQ, I32_OR, IF, F64_RESULT);
  f64(Infinity);
  op(ELSE);
  get(tx);
  get(tx);
  op(F64_NE);
  get(ty);
  get(ty);
  op(F64_NE, I32_OR, IF, F64_RESULT);
  f64(NaN);
  op(ELSE);
  get(tx);
  get(ty);
  get(tx);
  get(ty);
  op(F64_GT, SELECT); // ax > ay ? ax : ay
  op(LOCAL_TEE, tmax);
  f64(0);
  op(F64_EQ, IF, F64_RESULT);
  f64(0);
  op(ELSE);
  get(tx);
  get(tmax);
  op(F64_DIV);
  op(LOCAL_TEE, tx);
  get(tx);
  op(F64_MUL);
  get(ty);
  get(tmax);
  op(F64_DIV);
  op(LOCAL_TEE, ty);
  get(ty);
  op(F64_MUL, F64_ADD, F64_SQRT);
  get(tmax);
  op(F64_MUL);
  op(END, END, END);
  set(to);
}

/**
 * pilotVals[j] = pn[((m0 + m) np + 5 j + 3) % 127] for j < np: framing.ts pilotValue of OFDM symbol m0 + m
 * from the PN sequence as an f64 table at `pn` (locals name the pointers, counts and the scratch j).
 */
export function emitPilotValues(e: ReturnType<typeof emitter>, L: { pilotVals: number; pn: number; m0: number; m: number; np: number; j: number }): void {
  const { op, get, set, i32, mem } = e;
  const I32_MUL = 0x6c;
  const I32_REM_U = 0x70;
  i32(0);
  set(L.j);
  op(BLOCK, VOID);
  get(L.np);
  i32(1);
  op(I32_LT_S, BR_IF, 0);
  op(LOOP, VOID);
  get(L.pilotVals);
  get(L.j);
  i32(3);
  op(I32_SHL, I32_ADD);
  get(L.pn);
  get(L.m0);
  get(L.m);
  op(I32_ADD);
  get(L.np);
  op(I32_MUL);
  get(L.j);
  i32(5);
  op(I32_MUL, I32_ADD);
  i32(3);
  op(I32_ADD);
  i32(127);
  op(I32_REM_U);
  i32(3);
  op(I32_SHL, I32_ADD, F64_LOAD, ...mem(3, 0), F64_STORE, ...mem(3, 0));
  get(L.j);
  i32(1);
  op(I32_ADD);
  op(LOCAL_TEE, L.j);
  get(L.np);
  op(I32_LT_S, BR_IF, 0, END, END);
}

/** Pushes base + (index << shift) of two i32 locals (an element's byte address). */
export function address(e: ReturnType<typeof emitter>, base: number, index: number, shift: number): void {
  e.get(base);
  e.get(index);
  e.i32(shift);
  e.op(I32_SHL, I32_ADD);
}

/** Complex float32 element `index` of the array at `base` into two f64 locals (`at`: i32 scratch for its address). */
export function loadComplex(e: ReturnType<typeof emitter>, base: number, index: number, at: number, re: number, im: number): void {
  address(e, base, index, 3);
  e.op(LOCAL_TEE, at, F32_LOAD, ...e.mem(2, 0), F64_PROMOTE_F32);
  e.set(re);
  e.get(at);
  e.op(F32_LOAD, ...e.mem(2, 4), F64_PROMOTE_F32);
  e.set(im);
}

/** Stores the f64 values `re` and `im` push as complex float32 element `index` of the array at `base`. */
export function storeComplex(e: ReturnType<typeof emitter>, base: number, index: number, at: number, re: () => void, im: () => void): void {
  address(e, base, index, 3);
  e.op(LOCAL_TEE, at);
  re();
  e.op(F32_DEMOTE_F64, F32_STORE, ...e.mem(2, 0));
  e.get(at);
  im();
  e.op(F32_DEMOTE_F64, F32_STORE, ...e.mem(2, 4));
}
