/**
 * WebAssembly body of FrameDemodulator.symbolLlrs (with Constellation.demapLlrTo / axisLlr): the bit
 * LLRs of one payload symbol's data carriers, max-log, clamped to +-1e4 (NaN -> 0), written to their
 * deinterleaved positions. demod-wasm.ts assembles and runs it. Scalar f64, the JavaScript's operations
 * in its order (`4 * re * iv` is (4 re) iv), float32 where it stores: the same bits (demod-wasm.test.ts,
 * golden decode).
 *
 * llrs(nData, sym, invH, h2, dataPos, inv, mode, axisBits, levels, levelBits, nLevels, out; nv, l1):
 *   mode 0 BPSK, 1 QPSK (l1 = the outer level), 2 square QAM (levels f64 and their Gray bits, i32).
 */
import {
  DEMOD_ARGS,
  BR_IF,
  ELSE,
  END,
  F32_DEMOTE_F64,
  F32_LOAD,
  F32_STORE,
  F64_ADD,
  F64_DIV,
  F64_GT,
  F64_LOAD,
  F64_LT,
  F64_MAX,
  F64_MUL,
  F64_NE,
  F64_PROMOTE_F32,
  F64_SUB,
  I32_ADD,
  I32_AND,
  I32_EQ,
  I32_LOAD,
  I32_LT_S,
  I32_MUL,
  I32_SHL,
  I32_SUB,
  IF,
  LOCAL_TEE,
  LOOP,
  SELECT,
  VOID,
  emitter,
  functionCodeWithF64Args,
} from './wasm-emit.js';


export function llrsCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  const N_DATA = 0, SYM = 1, INVH = 2, H2 = 3, DATA_POS = 4, INV = 5, MODE = 6, AXIS_BITS = 7, LEVELS = 8, LEVEL_BITS = 9, N_LEVELS = 10, OUT = 11;
  const NV = 12, L1 = 13;
  const D = 14, K = 15, A = 16, O = 17, AX = 18, B = 19, MASK = 20, L = 21;
  const YR = 22, YI = 23, IR = 24, II = 25, XR = 26, XI = 27, IV = 28, X = 29, MIN0 = 30, MIN1 = 31, D2 = 32, V = 33;
  /** Stores clamp(V) as float32 at out[inv[o + extra]] (`extra` adds to the index on the stack, if anything). */
  const storeClamped = (indexExtra: () => void): void => {
    // address = out + 4 inv[o + extra]
    get(OUT);
    get(INV);
    get(O);
    indexExtra();
    i32(2);
    op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
    i32(2);
    op(I32_SHL, I32_ADD);
    // clamp: NaN -> 0; > 1e4 -> 1e4; < -1e4 -> -1e4
    f64(0);
    f64(1e4);
    f64(-1e4);
    get(V);
    get(V);
    f64(-1e4);
    op(F64_LT, SELECT); // v < -1e4 ? -1e4 : v
    get(V);
    f64(1e4);
    op(F64_GT, SELECT); // v > 1e4 ? 1e4 : (...)
    get(V);
    get(V);
    op(F64_NE, SELECT); // NaN ? 0 : (...)
    op(F32_DEMOTE_F64, F32_STORE, ...mem(2, 0));
  };
  // axis LLRs of local X into out[inv[o + ax + b]], b < axisBits
  const axis = (): void => {
    i32(0);
    set(B);
    op(LOOP, VOID);
    // mask = 1 << (axisBits - 1 - b)
    i32(1);
    get(AXIS_BITS);
    i32(1);
    op(I32_SUB);
    get(B);
    op(I32_SUB, I32_SHL);
    set(MASK);
    f64(Infinity);
    set(MIN0);
    f64(Infinity);
    set(MIN1);
    i32(0);
    set(L);
    op(LOOP, VOID);
    get(X);
    get(LEVELS);
    get(L);
    i32(3);
    op(I32_SHL, I32_ADD, F64_LOAD, ...mem(3, 0), F64_SUB);
    op(LOCAL_TEE, D2);
    get(D2);
    op(F64_MUL);
    set(D2);
    get(LEVEL_BITS);
    get(L);
    i32(2);
    op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
    get(MASK);
    op(I32_AND, IF, VOID);
    get(D2);
    get(MIN1);
    get(D2);
    get(MIN1);
    op(F64_LT, SELECT);
    set(MIN1);
    op(ELSE);
    get(D2);
    get(MIN0);
    get(D2);
    get(MIN0);
    op(F64_LT, SELECT);
    set(MIN0);
    op(END);
    get(L);
    i32(1);
    op(I32_ADD);
    op(LOCAL_TEE, L);
    get(N_LEVELS);
    op(I32_LT_S, BR_IF, 0, END);
    // llr = clamp((min1 - min0) iv)
    get(MIN1);
    get(MIN0);
    op(F64_SUB);
    get(IV);
    op(F64_MUL);
    set(V);
    storeClamped(() => {
      get(AX);
      op(I32_ADD);
      get(B);
      op(I32_ADD);
    });
    get(B);
    i32(1);
    op(I32_ADD);
    op(LOCAL_TEE, B);
    get(AXIS_BITS);
    op(I32_LT_S, BR_IF, 0, END);
  };

  e.countFrom0(D, N_DATA);
  get(DATA_POS);
  get(D);
  i32(2);
  op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
  set(K);
  get(SYM);
  get(K);
  i32(3);
  op(I32_SHL, I32_ADD);
  op(LOCAL_TEE, A);
  op(F32_LOAD, ...mem(2, 0), F64_PROMOTE_F32);
  set(YR);
  get(A);
  op(F32_LOAD, ...mem(2, 4), F64_PROMOTE_F32);
  set(YI);
  get(INVH);
  get(K);
  i32(3);
  op(I32_SHL, I32_ADD);
  op(LOCAL_TEE, A);
  op(F32_LOAD, ...mem(2, 0), F64_PROMOTE_F32);
  set(IR);
  get(A);
  op(F32_LOAD, ...mem(2, 4), F64_PROMOTE_F32);
  set(II);
  // x = y invH
  get(YR);
  get(IR);
  op(F64_MUL);
  get(YI);
  get(II);
  op(F64_MUL, F64_SUB);
  set(XR);
  get(YR);
  get(II);
  op(F64_MUL);
  get(YI);
  get(IR);
  op(F64_MUL, F64_ADD);
  set(XI);
  // iv = 1 / max(nv / max(h2, 1e-30), 1e-12)
  f64(1);
  get(NV);
  get(H2);
  get(K);
  i32(2);
  op(I32_SHL, I32_ADD, F32_LOAD, ...mem(2, 0), F64_PROMOTE_F32);
  f64(1e-30);
  op(F64_MAX, F64_DIV);
  f64(1e-12);
  op(F64_MAX, F64_DIV);
  set(IV);
  // o = d bits per symbol (BPSK 1, else 2 axisBits)
  get(D);
  i32(1);
  get(AXIS_BITS);
  i32(1);
  op(I32_SHL);
  get(MODE);
  i32(0);
  op(I32_EQ, SELECT, I32_MUL);
  set(O);
  get(MODE);
  i32(0);
  op(I32_EQ, IF, VOID);
  // BPSK: clamp(4 re iv)
  f64(4);
  get(XR);
  op(F64_MUL);
  get(IV);
  op(F64_MUL);
  set(V);
  storeClamped(() => {});
  op(ELSE);
  get(MODE);
  i32(1);
  op(I32_EQ, IF, VOID);
  // QPSK: clamp(-4 l1 re iv), clamp(-4 l1 im iv)
  f64(-4);
  get(L1);
  op(F64_MUL);
  get(XR);
  op(F64_MUL);
  get(IV);
  op(F64_MUL);
  set(V);
  storeClamped(() => {});
  f64(-4);
  get(L1);
  op(F64_MUL);
  get(XI);
  op(F64_MUL);
  get(IV);
  op(F64_MUL);
  set(V);
  storeClamped(() => {
    i32(1);
    op(I32_ADD);
  });
  op(ELSE);
  get(XR);
  set(X);
  i32(0);
  set(AX);
  axis();
  get(XI);
  set(X);
  get(AXIS_BITS);
  set(AX);
  axis();
  op(END, END);
  e.nextWhileLess(D, N_DATA);
  op(END);
  op(END);
  return functionCodeWithF64Args(DEMOD_ARGS, NV, 2, [2, 8, 0x7f, 12, 0x7c], e.c);
}
