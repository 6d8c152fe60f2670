/**
 * WebAssembly bodies of the data-aided SNR fit over a symbol whose carriers are all known
 * (FrameDemodulator.accumulateKnown and SnrAccumulator.addSymbolKnown; demod-wasm.ts assembles and runs
 * them). Scalar f64, the JavaScript's operations in its order (`a += b * c + d * e` is (a + b c) + d e
 * only where the JavaScript wrote it so), float32 where it stores: the same bits (demod-wasm.test.ts).
 *
 * fitKnown(u, y, src, h, xc, pilotIndex, dataIndex, pilotVals, evmData, sums):
 *   carrier k's reference x is its pilot value or src[data number]; xc[k] = x (float32); with
 *   hx = H x: sums[0..1] += y conj(hx), and for data numbers < evmData sums[2] += |y - hx|^2,
 *   sums[3] += |hx|^2 (sums start at 0).
 * addKnown(u, y, xc, ar, ai, b, s, sums; rc, rs): y rotated by (rc + j rs) into the per-carrier fit
 *   sums ar, ai (+= y x*), b (+= |x|^2), s (+= |y|^2 before rotation); sums[0] = sum |y|^2, sums[1] = sum |x|^2.
 */
import {
  DEMOD_ARGS,
  ELSE,
  END,
  F64_ADD,
  F64_DIV,
  F64_GT,
  F64_LOAD,
  F64_MUL,
  F64_STORE,
  F64_SUB,
  I32_ADD,
  I32_GE_S,
  I32_LOAD,
  I32_LT_S,
  I32_SHL,
  I32_SUB,
  IF,
  LOCAL_TEE,
  VOID,
  emitter,
  functionCode,
  functionCodeWithF64Args,
} from './wasm-emit.js';
import { address, loadComplex, storeComplex, emitHypot, emitPilotValues } from './demod-wasm-math.js';




export function fitKnownCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  const U = 0, Y = 1, SRC = 2, H = 3, XC = 4, PILOT_INDEX = 5, DATA_INDEX = 6, PILOT_VALS = 7, EVM_DATA = 8, SUMS = 9;
  const K = 10, J = 11, A = 12, IN_EVM = 13;
  const XR = 14, XI = 15, HR = 16, HI = 17, YR = 18, YI = 19, SR = 20, SI = 21, EN = 22, ED = 23, T0 = 24, T1 = 25;
  for (const l of [SR, SI, EN, ED]) {
    f64(0);
    set(l);
  }
  e.countFrom0(K, U);
  address(e, PILOT_INDEX, K, 2);
  op(I32_LOAD, ...mem(2, 0));
  op(LOCAL_TEE, J);
  i32(0);
  op(I32_GE_S, IF, VOID);
  address(e, PILOT_VALS, J, 3);
  op(F64_LOAD, ...mem(3, 0));
  set(XR);
  f64(0);
  set(XI);
  i32(0);
  set(IN_EVM);
  op(ELSE);
  address(e, DATA_INDEX, K, 2);
  op(I32_LOAD, ...mem(2, 0));
  op(LOCAL_TEE, J); // d
  get(EVM_DATA);
  op(I32_LT_S);
  set(IN_EVM);
  loadComplex(e, SRC, J, A, XR, XI);
  op(END);
  // xc[k] = x
  storeComplex(e, XC, K, A, () => get(XR), () => get(XI));
  // hx = (h[2k] xr - h[2k+1] xi, h[2k] xi + h[2k+1] xr)
  loadComplex(e, H, K, A, T0, T1);
  e.pair(T0, XR, T1, XI, true);
  set(HR);
  e.pair(T0, XI, T1, XR, false);
  set(HI);
  loadComplex(e, Y, K, A, YR, YI);
  // sr += yr hr + yi hi; si += yi hr - yr hi
  get(SR);
  e.pair(YR, HR, YI, HI, false);
  op(F64_ADD);
  set(SR);
  get(SI);
  e.pair(YI, HR, YR, HI, true);
  op(F64_ADD);
  set(SI);
  get(IN_EVM);
  op(IF, VOID);
  get(YR);
  get(HR);
  op(F64_SUB);
  set(T0);
  get(YI);
  get(HI);
  op(F64_SUB);
  set(T1);
  get(EN);
  e.pair(T0, T0, T1, T1, false);
  op(F64_ADD);
  set(EN);
  get(ED);
  e.pair(HR, HR, HI, HI, false);
  op(F64_ADD);
  set(ED);
  op(END);
  e.nextWhileLess(K, U);
  op(END);
  [SR, SI, EN, ED].forEach((l, i) => {
    get(SUMS);
    get(l);
    op(F64_STORE, ...mem(3, 8 * i));
  });
  op(END);
  return functionCode([2, 4, 0x7f, 12, 0x7c], e.c);
}

export function addKnownCode(): number[] {
  const e = emitter();
  const { op, get, set, f64, mem } = e;
  const U = 0, Y = 1, XC = 2, AR = 3, AI = 4, B = 5, S = 6, SUMS = 7, RC = 8, RS = 9;
  const K = 10, A = 11;
  const Y0R = 12, Y0I = 13, P = 14, YR = 15, YI = 16, XR = 17, XI = 18, POW = 19, KE = 20, EN = 21;
  f64(0);
  set(POW);
  f64(0);
  set(KE);
  e.countFrom0(K, U);
  loadComplex(e, Y, K, A, Y0R, Y0I);
  e.pair(Y0R, Y0R, Y0I, Y0I, false);
  op(LOCAL_TEE, P);
  get(POW);
  op(F64_ADD); // p + pow: addition commutes bit for bit
  set(POW);
  e.pair(Y0R, RC, Y0I, RS, true);
  set(YR);
  e.pair(Y0R, RS, Y0I, RC, false);
  set(YI);
  loadComplex(e, XC, K, A, XR, XI);
  // ar[k] = ar[k] + yr xr + yi xi  (left to right)
  address(e, AR, K, 3);
  op(LOCAL_TEE, A);
  get(A);
  op(F64_LOAD, ...mem(3, 0));
  get(YR);
  get(XR);
  op(F64_MUL, F64_ADD);
  get(YI);
  get(XI);
  op(F64_MUL, F64_ADD, F64_STORE, ...mem(3, 0));
  // ai[k] = ai[k] + yi xr - yr xi
  address(e, AI, K, 3);
  op(LOCAL_TEE, A);
  get(A);
  op(F64_LOAD, ...mem(3, 0));
  get(YI);
  get(XR);
  op(F64_MUL, F64_ADD);
  get(YR);
  get(XI);
  op(F64_MUL, F64_SUB, F64_STORE, ...mem(3, 0));
  // e = xr xr + xi xi; b[k] += e; s[k] += p; kEnergy += e
  e.pair(XR, XR, XI, XI, false);
  set(EN);
  address(e, B, K, 3);
  op(LOCAL_TEE, A);
  get(A);
  op(F64_LOAD, ...mem(3, 0));
  get(EN);
  op(F64_ADD, F64_STORE, ...mem(3, 0));
  address(e, S, K, 3);
  op(LOCAL_TEE, A);
  get(A);
  op(F64_LOAD, ...mem(3, 0));
  get(P);
  op(F64_ADD, F64_STORE, ...mem(3, 0));
  get(KE);
  get(EN);
  op(F64_ADD);
  set(KE);
  e.nextWhileLess(K, U);
  op(END);
  get(SUMS);
  get(POW);
  op(F64_STORE, ...mem(3, 0));
  get(SUMS);
  get(KE);
  op(F64_STORE, ...mem(3, 8));
  op(END);
  return functionCodeWithF64Args(DEMOD_ARGS, RC, 2, [2, 2, 0x7f, 10, 0x7c], e.c);
}

/**
 * fitFrame(nsym, y0, src0, m0, evmCount, u, nData, h, xc, pilotIndex, dataIndex, pilotVals, np, pn, ar,
 * ai, b, s, sums, state): the SNR fit over a whole proven payload, symbol after symbol as
 * accumulateKnown does: symbol m's carriers at y0 + 8 u m, its references at src0 + 8 nData m, pilot
 * values pn[(m0 + m) np + 5 j + 3) % 127], data carriers below evmCount - m nData in the EVM; each
 * symbol's fitKnown, |.|-normalized phase, addKnown. state (four f64, in and out): EVM numerator,
 * denominator, total power, known energy, each summed symbol by symbol from its value on entry.
 */
export function fitFrameCode(fn: { fitKnown: number; addKnown: number }): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  const NSYM = 0, Y0 = 1, SRC0 = 2, M0 = 3, EVM_COUNT = 4, U = 5, N_DATA = 6, H = 7, XC = 8, PILOT_INDEX = 9, DATA_INDEX = 10, PILOT_VALS = 11, NP = 12, PN = 13,
    AR = 14, AI = 15, B = 16, S = 17, SUMS = 18, STATE = 19;
  const M = 20, J = 21, Y = 22, EVM = 23;
  const SR = 24, SI = 25, MAG = 26, TX = 27, TY = 28, TMAX = 29;
  const CALL = 0x10;
  const I32_MUL = 0x6c;
  const I32_GT_S = 0x4a;
  const SELECT = 0x1b;
  const stateAdd = (k: number, push: () => void): void => {
    get(STATE);
    get(STATE);
    op(F64_LOAD, ...mem(3, 8 * k));
    push();
    op(F64_ADD, F64_STORE, ...mem(3, 8 * k));
  };
  const sum = (k: number): void => {
    get(SUMS);
    op(F64_LOAD, ...mem(3, 8 * k));
  };
  e.countFrom0(M, NSYM);
  // pilot values of symbol m0 + m
  emitPilotValues(e, { pilotVals: PILOT_VALS, pn: PN, m0: M0, m: M, np: NP, j: J });
  // evmData = max(0, min(nData, evmCount - m nData))
  get(EVM_COUNT);
  get(M);
  get(N_DATA);
  op(I32_MUL, I32_SUB);
  op(LOCAL_TEE, EVM);
  get(N_DATA);
  get(EVM);
  get(N_DATA);
  op(I32_LT_S, SELECT); // min(evm, nData)
  op(LOCAL_TEE, EVM);
  i32(0);
  get(EVM);
  i32(0);
  op(I32_GT_S, SELECT); // max(., 0)
  set(EVM);
  // y = y0 + 8 u m
  get(Y0);
  get(U);
  get(M);
  op(I32_MUL);
  i32(3);
  op(I32_SHL, I32_ADD);
  set(Y);
  get(U);
  get(Y);
  get(SRC0);
  get(N_DATA);
  get(M);
  op(I32_MUL);
  i32(3);
  op(I32_SHL, I32_ADD);
  get(H);
  get(XC);
  get(PILOT_INDEX);
  get(DATA_INDEX);
  get(PILOT_VALS);
  get(EVM);
  get(SUMS);
  op(CALL, fn.fitKnown);
  stateAdd(0, () => sum(2));
  stateAdd(1, () => sum(3));
  sum(0);
  set(SR);
  sum(1);
  set(SI);
  emitHypot(e, SR, SI, MAG, TX, TY, TMAX);
  // args: rc = mag > 0 ? sr / mag : 1, rs = mag > 0 ? -si / mag : 0
  i32(DEMOD_ARGS);
  get(SR);
  get(MAG);
  op(F64_DIV);
  f64(1);
  get(MAG);
  f64(0);
  op(F64_GT, SELECT, F64_STORE, ...mem(3, 0));
  i32(DEMOD_ARGS);
  get(SI);
  op(0x9a); // f64.neg
  get(MAG);
  op(F64_DIV);
  f64(0);
  get(MAG);
  f64(0);
  op(F64_GT, SELECT, F64_STORE, ...mem(3, 8));
  for (const l of [U, Y, XC, AR, AI, B, S, SUMS]) get(l);
  op(CALL, fn.addKnown);
  stateAdd(2, () => sum(0));
  stateAdd(3, () => sum(1));
  e.nextWhileLess(M, NSYM);
  op(END);
  op(END);
  return functionCode([2, 4, 0x7f, 6, 0x7c], e.c);
}
