/** The radix-2 FFT stages as WebAssembly code, for the kernels that transform (demod-wasm.ts, demod-wasm-acquire.ts). */
import { F32_LOAD, F32X4_DEMOTE_F64X2_ZERO, F64_PROMOTE_F32, F64X2_ADD, F64X2_MUL, F64X2_PROMOTE_LOW_F32X4, F64X2_SPLAT, F64X2_SUB, I32_ADD, I32_SHL, LOCAL_TEE, LOOP, V128_LOAD, V128_LOAD64_ZERO, V128_STORE64_LANE, VOID, type emitter } from './wasm-emit.js';

/**
 * Emits the radix-2 stages over the n complex float32 values at byte fb (bit-reversed input order), with
 * the twiddle table at byte tw (stage half-size h starts at tw + 32 (h - 1)); L names the locals to use
 * (i32: n, fb, tw parameters and half, w, start, a, end, k, b scratch; v128: va, t).
 */
export function emitStages(
  e: ReturnType<typeof emitter>,
  L: { n: number; fb: number; tw: number; half: number; w: number; start: number; a: number; end: number; k: number; b: number; va: number; t: number },
): void {
  const { op, get, set, i32, simd, mem } = e;
  const f32Load = (offset: number): void => op(F32_LOAD, ...mem(2, offset), F64_PROMOTE_F32);
  i32(1);
  set(L.half);
  get(L.tw);
  set(L.w); // twiddles of the current stage
  op(LOOP, VOID); // stages
  i32(0);
  set(L.start);
  op(LOOP, VOID); // groups
  get(L.fb);
  get(L.start);
  i32(3);
  op(I32_SHL, I32_ADD);
  op(LOCAL_TEE, L.a);
  get(L.half);
  i32(3);
  op(I32_SHL, I32_ADD);
  set(L.end); // the group's second half starts here
  get(L.w);
  set(L.k); // twiddle k
  op(LOOP, VOID); // butterflies
  get(L.a);
  get(L.half);
  i32(3);
  op(I32_SHL, I32_ADD);
  op(LOCAL_TEE, L.b);
  f32Load(0);
  simd(F64X2_SPLAT);
  get(L.k);
  simd(V128_LOAD, ...mem(4, 0));
  simd(F64X2_MUL);
  get(L.b);
  f32Load(4);
  simd(F64X2_SPLAT);
  get(L.k);
  simd(V128_LOAD, ...mem(4, 16));
  simd(F64X2_MUL);
  simd(F64X2_ADD);
  set(L.t);
  get(L.a);
  simd(V128_LOAD64_ZERO, ...mem(3, 0));
  simd(F64X2_PROMOTE_LOW_F32X4);
  set(L.va);
  get(L.a);
  get(L.va);
  get(L.t);
  simd(F64X2_ADD);
  simd(F32X4_DEMOTE_F64X2_ZERO);
  simd(V128_STORE64_LANE, ...mem(3, 0), 0);
  get(L.b);
  get(L.va);
  get(L.t);
  simd(F64X2_SUB);
  simd(F32X4_DEMOTE_F64X2_ZERO);
  simd(V128_STORE64_LANE, ...mem(3, 0), 0);
  e.addTo(L.k, 32);
  e.addTo(L.a, 8);
  e.loopWhileLess(L.a, () => get(L.end));
  // next group
  get(L.start);
  get(L.half);
  i32(1);
  op(I32_SHL, I32_ADD);
  set(L.start);
  e.loopWhileLess(L.start, () => get(L.n));
  // next stage
  get(L.w);
  get(L.half);
  i32(5);
  op(I32_SHL, I32_ADD);
  set(L.w);
  get(L.half);
  i32(1);
  op(I32_SHL);
  set(L.half);
  e.loopWhileLess(L.half, () => get(L.n));

}

