/**
 * WebAssembly bodies of decodeHeader's channel estimation (demod-wasm.ts assembles and runs them): the
 * LTS estimate with its SNR-fit sums (`lts`) and the smoothing across carriers with the ZF taps
 * (`smooth`). The JavaScript's operations in its order, float32 where it stores (golden decode,
 * wasm-equivalence.test.ts).
 */
import {
  BLOCK,
  BR,
  ELSE,
  END,
  F32_DEMOTE_F64,
  F32_LOAD,
  F32_STORE,
  F64_ADD,
  F64_CONVERT_I32_S,
  F64_DIV,
  F64_LOAD,
  F64_MUL,
  F64_PROMOTE_F32,
  F64_STORE,
  F64_SUB,
  I32_ADD,
  I32_AND,
  I32_LOAD,
  I32_LT_S,
  I32_SUB,
  IF,
  LOCAL_TEE,
  LOOP,
  SELECT,
  VOID,
  emitter,
  functionCode,
} from './wasm-emit.js';
import { address, loadComplex, storeComplex } from './demod-wasm-math.js';

/**
 * lts(u, y1, y2, ltsFreq, h, h2, ar, ai, b, s, sums): decodeHeader's channel estimate from the two LTS
 * copies (h = (y1 + y2) x / 2, |h|^2) and both copies into the SNR fit (SnrAccumulator.known, x real);
 * sums[0] = sum |y1 - y2|^2, sums[1] = sum |y|^2 and sums[2] = sum x^2 over the 2u known values.
 */
export function ltsCode(): number[] {
  const e = emitter();
  const { op, get, set, f64, mem } = e;
  const U = 0, Y1 = 1, Y2 = 2, LTS_FREQ = 3, H = 4, H2 = 5, AR = 6, AI = 7, B = 8, S = 9, SUMS = 10;
  const K = 11, A = 12;
  const X = 13, Y1R = 14, Y1I = 15, Y2R = 16, Y2I = 17, HR = 18, HI = 19, ND = 20, POW = 21, EN = 22, P = 23, ZERO = 24;
  /** l[k] = l[k] + push (f64 array at base) */
  const addAt = (base: number, push: () => void): void => {
    address(e, base, K, 3);
    op(LOCAL_TEE, A);
    get(A);
    op(F64_LOAD, ...mem(3, 0));
    push();
    op(F64_STORE, ...mem(3, 0));
  };
  /** SnrAccumulator.known(k, yr, yi, x, 0) */
  const known = (yr: number, yi: number): void => {
    addAt(AR, () => {
      get(yr);
      get(X);
      op(F64_MUL, F64_ADD);
      get(yi);
      get(ZERO);
      op(F64_MUL, F64_ADD);
    });
    addAt(AI, () => {
      get(yi);
      get(X);
      op(F64_MUL, F64_ADD);
      get(yr);
      get(ZERO);
      op(F64_MUL, F64_SUB);
    });
    // e = x x + 0 0
    e.pair(X, X, ZERO, ZERO, false);
    set(P);
    addAt(B, () => {
      get(P);
      op(F64_ADD);
    });
    get(EN);
    get(P);
    op(F64_ADD);
    set(EN);
    e.pair(yr, yr, yi, yi, false);
    set(P);
    addAt(S, () => {
      get(P);
      op(F64_ADD);
    });
    get(POW);
    get(P);
    op(F64_ADD);
    set(POW);
  };
  for (const l of [ND, POW, EN, ZERO]) {
    f64(0);
    set(l);
  }
  e.countFrom0(K, U);
  address(e, LTS_FREQ, K, 2);
  op(F32_LOAD, ...mem(2, 0), F64_PROMOTE_F32);
  set(X);
  loadComplex(e, Y1, K, A, Y1R, Y1I);
  loadComplex(e, Y2, K, A, Y2R, Y2I);
  // hr = 0.5 (y1r + y2r) x; hi likewise
  for (const [to, a, b] of [[HR, Y1R, Y2R], [HI, Y1I, Y2I]] as const) {
    f64(0.5);
    get(a);
    get(b);
    op(F64_ADD, F64_MUL);
    get(X);
    op(F64_MUL);
    set(to);
  }
  storeComplex(e, H, K, A, () => get(HR), () => get(HI));
  address(e, H2, K, 2);
  e.pair(HR, HR, HI, HI, false);
  op(F32_DEMOTE_F64, F32_STORE, ...mem(2, 0));
  // nd += dr dr + di di
  get(ND);
  get(Y1R);
  get(Y2R);
  op(F64_SUB);
  op(LOCAL_TEE, P);
  get(P);
  op(F64_MUL);
  get(Y1I);
  get(Y2I);
  op(F64_SUB);
  op(LOCAL_TEE, P);
  get(P);
  op(F64_MUL, F64_ADD, F64_ADD);
  set(ND);
  known(Y1R, Y1I);
  known(Y2R, Y2I);
  e.nextWhileLess(K, U);
  op(END);
  [ND, POW, EN].forEach((l, i) => {
    get(SUMS);
    get(l);
    op(F64_STORE, ...mem(3, 8 * i));
  });
  op(END);
  return functionCode([2, 2, 0x7f, 12, 0x7c], e.c);
}

/**
 * smooth(u, h, h2, invH, usedSc, t): decodeHeader's smoothChannel and ZF taps: the LTS estimate's mean
 * phase slope (atan2 of the adjacent-carrier correlation) removed into the float32 scratch t, a 3-tap
 * average across carriers (2 taps at the band edges), the slope put back into h (float32), |h|^2 into h2,
 * then invH = conj(h) / max(|h|^2, 1e-30). Math.atan2 / cos / sin are the module's imports (fn).
 */
export function smoothCode(fn: { atan2: number; cos: number; sin: number }): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  const U = 0, H = 1, H2 = 2, INVH = 3, USED_SC = 4, T = 5;
  const K = 6, A = 7, LO = 8, HI = 9, CNT = 10, U1 = 11;
  const SR = 12, SI = 13, SLOPE = 14, TH = 15, C = 16, S = 17, AR = 18, AI = 19, X = 20, Y = 21, X2 = 22, Y2 = 23, INV = 24;
  const CALL = 0x10;
  const F64_NEG = 0x9a;
  const I32_EQ = 0x46;
  const I32_NE = 0x47;
  const I32_GT_S = 0x4a;
  const F64_MAX = 0xa5;
  const f32At = (base: number, index: number, offset: number, to: number): void => {
    address(e, base, index, 3);
    op(F32_LOAD, ...mem(2, offset), F64_PROMOTE_F32);
    set(to);
  };
  const sc = (index: number): void => {
    address(e, USED_SC, index, 2);
    op(I32_LOAD, ...mem(2, 0), F64_CONVERT_I32_S);
  };
  get(U);
  i32(1);
  op(I32_SUB);
  set(U1);
  // 1. the mean slope: sr += h[k+1] conj-ish h[k] over adjacent carriers
  f64(0);
  set(SR);
  f64(0);
  set(SI);
  i32(0);
  set(K);
  op(BLOCK, VOID, LOOP, VOID);
  get(K);
  get(U1);
  op(I32_LT_S, IF, VOID, ELSE, BR, 2, END);
  address(e, USED_SC, K, 2);
  op(LOCAL_TEE, A);
  op(I32_LOAD, ...mem(2, 4));
  get(A);
  op(I32_LOAD, ...mem(2, 0));
  i32(1);
  op(I32_ADD, I32_EQ, IF, VOID);
  loadComplex(e, H, K, A, X, Y);
  f32At(H, K, 8, X2); // h[2k + 2]
  f32At(H, K, 12, Y2); // h[2k + 3]
  get(SR);
  e.pair(X2, X, Y2, Y, false);
  op(F64_ADD);
  set(SR);
  get(SI);
  e.pair(Y2, X, X2, Y, true);
  op(F64_ADD);
  set(SI);
  op(END);
  get(K);
  i32(1);
  op(I32_ADD);
  set(K);
  op(BR, 0, END, END);
  get(SI);
  get(SR);
  op(CALL, fn.atan2);
  set(SLOPE);
  // 2. t = h exp(-j slope k) (float32)
  e.countFrom0(K, U);
  get(SLOPE);
  op(F64_NEG);
  sc(K);
  op(F64_MUL);
  set(TH);
  get(TH);
  op(CALL, fn.cos);
  set(C);
  get(TH);
  op(CALL, fn.sin);
  set(S);
  loadComplex(e, H, K, A, X, Y);
  storeComplex(e, T, K, A, () => e.pair(X, C, Y, S, true), () => e.pair(X, S, Y, C, false));
  e.nextWhileLess(K, U);
  op(END);
  // 3. the average, the slope back, |h|^2 and the ZF taps
  e.countFrom0(K, U);
  // lo = k > 0 ? k - 1 : k; hi = k + 1 < u ? k + 1 : k
  get(K);
  i32(1);
  op(I32_SUB);
  get(K);
  get(K);
  i32(0);
  op(I32_GT_S, SELECT);
  set(LO);
  get(K);
  i32(1);
  op(I32_ADD);
  get(K);
  get(K);
  i32(1);
  op(I32_ADD);
  get(U);
  op(I32_LT_S, SELECT);
  set(HI);
  loadComplex(e, T, LO, A, X, Y);
  loadComplex(e, T, HI, A, X2, Y2);
  get(X);
  get(X2);
  op(F64_ADD);
  set(AR);
  get(Y);
  get(Y2);
  op(F64_ADD);
  set(AI);
  i32(2);
  set(CNT);
  get(LO);
  get(K);
  op(I32_NE);
  get(HI);
  get(K);
  op(I32_NE, I32_AND, IF, VOID);
  loadComplex(e, T, K, A, X, Y);
  get(AR);
  get(X);
  op(F64_ADD);
  set(AR);
  get(AI);
  get(Y);
  op(F64_ADD);
  set(AI);
  i32(3);
  set(CNT);
  op(END);
  // th = slope k; mr = ar / cnt, mi = ai / cnt
  get(SLOPE);
  sc(K);
  op(F64_MUL);
  set(TH);
  get(TH);
  op(CALL, fn.cos);
  set(C);
  get(TH);
  op(CALL, fn.sin);
  set(S);
  get(AR);
  get(CNT);
  op(F64_CONVERT_I32_S, F64_DIV);
  set(X); // mr
  get(AI);
  get(CNT);
  op(F64_CONVERT_I32_S, F64_DIV);
  set(Y); // mi
  storeComplex(e, H, K, A, () => e.pair(X, C, Y, S, true), () => e.pair(X, S, Y, C, false));
  address(e, H2, K, 2);
  e.pair(X, X, Y, Y, false);
  op(F32_DEMOTE_F64, F32_STORE, ...mem(2, 0));
  e.nextWhileLess(K, U);
  op(END);
  // 4. invH = conj(h) / max(|h|^2, 1e-30), from the stored float32 values
  e.countFrom0(K, U);
  f64(1);
  address(e, H2, K, 2);
  op(F32_LOAD, ...mem(2, 0), F64_PROMOTE_F32);
  f64(1e-30);
  op(F64_MAX, F64_DIV);
  set(INV);
  loadComplex(e, H, K, A, X, Y);
  address(e, INVH, K, 3);
  op(LOCAL_TEE, A);
  get(X);
  get(INV);
  op(F64_MUL, F32_DEMOTE_F64, F32_STORE, ...mem(2, 0));
  get(A);
  get(Y);
  op(F64_NEG);
  get(INV);
  op(F64_MUL, F32_DEMOTE_F64, F32_STORE, ...mem(2, 4));
  e.nextWhileLess(K, U);
  op(END);
  op(END);
  return functionCode([2, 6, 0x7f, 13, 0x7c], e.c);
}
