/**
 * WebAssembly body of FrameDemodulator.demodSymbol as a whole: the FFT of the symbol's window, the pilot
 * tracker (predicted slope, least-squares residual slope, the window slip when the drift reaches a
 * sample, common phase), then the carrier pass and the final rotation (calls to fftAt, carriers and
 * rotate of the same module). Math.atan2 / cos / sin are imported from JavaScript, which V8 calls as
 * the same C functions its JavaScript Math uses, so every number is the JavaScript's (golden decode,
 * wasm-equivalence.test.ts); the rest is the JavaScript's operations in its order.
 *
 * symbol(n, win, perm, fb, tw, used, u, out, usedSc, h, pilotPos, np, pilotVals, z, invH, h2,
 *        pilotIndex, levels, bpsk, maxLevel, sums) -> window slip (-1, 0, 1)
 *   win: the n + 2 samples from one before the window start; doubles at DEMOD_ARGS: start - ref, omega,
 *   cos / -sin of omega, the receive scale, slope, slope rate, the slicer's halfInvScale and halfSpan.
 *   Leaves the new slope and slope rate in sums[2], sums[3].
 */
import { emitHypot, emitPilotValues, loadComplex } from './demod-wasm-math.js';
import {
  BR_IF,
  DEMOD_ARGS,
  END,
  F64_ADD,
  F64_CONVERT_I32_S,
  F64_DIV,
  F64_GE,
  F64_GT,
  F64_LOAD,
  F64_MUL,
  F64_STORE,
  F64_SUB,
  I32_ADD,
  I32_LOAD,
  I32_LT_S,
  I32_SHL,
  I32_SUB,
  IF,
  LOCAL_TEE,
  LOOP,
  VOID,
  emitter,
  functionCodeWithF64Args,
} from './wasm-emit.js';

const CALL = 0x10;
const F64_NEG = 0x9a;
const F64_LE = 0x65;
const I32_OR = 0x72;

/** Stores the pushed f64 as DEMOD_ARGS[k] (a double input of the kernel about to be called). */
function storeDemodArg(e: ReturnType<typeof emitter>, k: number, push: () => void): void {
  e.i32(DEMOD_ARGS);
  push();
  e.op(F64_STORE, ...e.mem(3, 8 * k));
}

export interface SymbolCallees {
  atan2: number;
  cos: number;
  sin: number;
  fftAt: number;
  carriers: number;
  rotate: number;
}

export function symbolCode(fn: SymbolCallees): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  const N = 0, WIN = 1, PERM = 2, FB = 3, TW = 4, USED = 5, U = 6, OUT = 7, USED_SC = 8, H = 9, PILOT_POS = 10, NP = 11, PILOT_VALS = 12, Z = 13, INVH = 14, H2 = 15,
    PILOT_INDEX = 16, LEVELS = 17, BPSK = 18, MAX_LEVEL = 19, SUMS = 20;
  // doubles from DEMOD_ARGS
  const D = 21, OMEGA = 22, STEP_COS = 23, STEP_SIN = 24, SCALE = 25, SLOPE = 26, SLOPE_RATE = 27, HIS = 28, HSP = 29;
  // i32 locals
  const J = 30, K = 31, STEP = 32, A = 33;
  // f64 locals
  const BPRED = 34, SR = 35, SI = 36, SM = 37, CR = 38, CI = 39, NUM = 40, DEN = 41, RR = 42, RI = 43, MAG = 44, B = 45, BRES = 46, DRIFT = 47,
    AR = 48, AI = 49, TH = 50, YR = 51, YI = 52, HR = 53, HI = 54, SC = 55, X = 56, Y = 57, MX = 58;
  const storeArg = (k: number, push: () => void): void => storeDemodArg(e, k, push);
  const call = (index: number): void => op(CALL, index);
  const hypot = (x: number, y: number, to: number): void => emitHypot(e, x, y, to, X, Y, MX);
  /** fftAt of the window from sample `offset` (1 + step) with start - ref = D + step (local STEP). */
  const fft = (): void => {
    // ph = -omega (start - ref)
    get(OMEGA);
    op(F64_NEG);
    get(D);
    get(STEP);
    op(F64_CONVERT_I32_S, F64_ADD, F64_MUL);
    set(TH);
    storeArg(0, () => {
      get(TH);
      call(fn.cos);
    });
    storeArg(1, () => {
      get(TH);
      call(fn.sin);
    });
    storeArg(2, () => get(STEP_COS));
    storeArg(3, () => get(STEP_SIN));
    storeArg(4, () => get(SCALE));
    get(N);
    get(WIN);
    get(STEP);
    i32(1);
    op(I32_ADD);
    i32(3);
    op(I32_SHL, I32_ADD);
    get(PERM);
    get(FB);
    get(TW);
    get(USED);
    get(U);
    get(OUT);
    call(fn.fftAt);
  };
  /** z_j = Y_p conj(H_p) P_j exp(-j slope k_j) for every pilot, and their sum into SR, SI. */
  const pilots = (slope: number): void => {
    f64(0);
    set(SR);
    f64(0);
    set(SI);
    i32(0);
    set(J);
    op(LOOP, VOID);
    get(PILOT_POS);
    get(J);
    i32(2);
    op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
    set(K);
    loadComplex(e, OUT, K, A, YR, YI);
    loadComplex(e, H, K, A, HR, HI);
    get(PILOT_VALS);
    get(J);
    i32(3);
    op(I32_SHL, I32_ADD, F64_LOAD, ...mem(3, 0));
    set(SC); // pv
    // ar = (yr hr + yi hi) pv; ai = (yi hr - yr hi) pv
    get(YR);
    get(HR);
    op(F64_MUL);
    get(YI);
    get(HI);
    op(F64_MUL, F64_ADD);
    get(SC);
    op(F64_MUL);
    set(AR);
    get(YI);
    get(HR);
    op(F64_MUL);
    get(YR);
    get(HI);
    op(F64_MUL, F64_SUB);
    get(SC);
    op(F64_MUL);
    set(AI);
    // th = -slope usedSc[k]
    get(slope);
    op(F64_NEG);
    get(USED_SC);
    get(K);
    i32(2);
    op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0), F64_CONVERT_I32_S, F64_MUL);
    set(TH);
    get(TH);
    call(fn.cos);
    set(HR); // c
    get(TH);
    call(fn.sin);
    set(HI); // s
    // z[2j] = ar c - ai s; z[2j + 1] = ar s + ai c; and the sums
    get(Z);
    get(J);
    i32(4);
    op(I32_SHL, I32_ADD);
    op(LOCAL_TEE, A);
    get(AR);
    get(HR);
    op(F64_MUL);
    get(AI);
    get(HI);
    op(F64_MUL, F64_SUB);
    op(LOCAL_TEE, YR);
    op(F64_STORE, ...mem(3, 0));
    get(A);
    get(AR);
    get(HI);
    op(F64_MUL);
    get(AI);
    get(HR);
    op(F64_MUL, F64_ADD);
    op(LOCAL_TEE, YI);
    op(F64_STORE, ...mem(3, 8));
    get(SR);
    get(YR);
    op(F64_ADD);
    set(SR);
    get(SI);
    get(YI);
    op(F64_ADD);
    set(SI);
    get(J);
    i32(1);
    op(I32_ADD);
    op(LOCAL_TEE, J);
    get(NP);
    op(I32_LT_S, BR_IF, 0, END);
  };

  i32(0);
  set(STEP);
  fft();
  get(SLOPE);
  get(SLOPE_RATE);
  op(F64_ADD);
  set(BPRED);
  pilots(BPRED);
  // residual slope: least-squares fit of each pilot's phase relative to the common phase
  hypot(SR, SI, SM);
  get(SR);
  get(SM);
  op(F64_DIV);
  f64(1);
  get(SM);
  f64(0);
  op(F64_GT, 0x1b);
  set(CR);
  get(SI);
  op(F64_NEG);
  get(SM);
  op(F64_DIV);
  f64(0);
  get(SM);
  f64(0);
  op(F64_GT, 0x1b);
  set(CI);
  f64(0);
  set(NUM);
  f64(0);
  set(DEN);
  i32(0);
  set(J);
  op(LOOP, VOID);
  get(USED_SC);
  get(PILOT_POS);
  get(J);
  i32(2);
  op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
  i32(2);
  op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0), F64_CONVERT_I32_S);
  set(SC);
  get(Z);
  get(J);
  i32(4);
  op(I32_SHL, I32_ADD);
  op(LOCAL_TEE, A);
  op(F64_LOAD, ...mem(3, 0));
  set(YR); // zr
  get(A);
  op(F64_LOAD, ...mem(3, 8));
  set(YI); // zi
  get(YR);
  get(CR);
  op(F64_MUL);
  get(YI);
  get(CI);
  op(F64_MUL, F64_SUB);
  set(RR);
  get(YR);
  get(CI);
  op(F64_MUL);
  get(YI);
  get(CR);
  op(F64_MUL, F64_ADD);
  set(RI);
  hypot(RR, RI, MAG);
  // num += mag k atan2(ri, rr); den += mag k k
  get(NUM);
  get(MAG);
  get(SC);
  op(F64_MUL);
  get(RI);
  get(RR);
  call(fn.atan2);
  op(F64_MUL, F64_ADD);
  set(NUM);
  get(DEN);
  get(MAG);
  get(SC);
  op(F64_MUL);
  get(SC);
  op(F64_MUL, F64_ADD);
  set(DEN);
  e.nextWhileLess(J, NP);
  // bRes = den > 0 ? num / den : 0; b = bPred + 0.1 bRes; slopeRate += 0.005 bRes
  get(NUM);
  get(DEN);
  op(F64_DIV);
  f64(0);
  get(DEN);
  f64(0);
  op(F64_GT, 0x1b);
  set(BRES);
  get(BPRED);
  f64(0.1);
  get(BRES);
  op(F64_MUL, F64_ADD);
  set(B);
  get(SLOPE_RATE);
  f64(0.005);
  get(BRES);
  op(F64_MUL, F64_ADD);
  set(SLOPE_RATE);
  // window slip when the drift -b n / (2 pi) reaches a sample
  get(B);
  op(F64_NEG);
  get(N);
  op(F64_CONVERT_I32_S, F64_MUL);
  f64(2 * Math.PI);
  op(F64_DIV);
  op(LOCAL_TEE, DRIFT);
  f64(1);
  op(F64_GE);
  get(DRIFT);
  f64(-1);
  op(F64_LE, I32_OR, IF, VOID);
  i32(1);
  i32(-1);
  get(DRIFT);
  f64(1);
  op(F64_GE, 0x1b);
  set(STEP);
  // b += (step 2 pi) / n
  get(B);
  get(STEP);
  i32(1);
  op(I32_SHL, F64_CONVERT_I32_S);
  f64(Math.PI);
  op(F64_MUL);
  get(N);
  op(F64_CONVERT_I32_S, F64_DIV, F64_ADD);
  set(B);
  fft();
  op(END);
  // common phase with the final slope
  pilots(B);
  // th0 = -(a + b usedSc[0]) with a = atan2(si, sr)
  get(SI);
  get(SR);
  call(fn.atan2);
  get(B);
  get(USED_SC);
  op(I32_LOAD, ...mem(2, 0), F64_CONVERT_I32_S, F64_MUL, F64_ADD, F64_NEG);
  set(TH);
  storeArg(0, () => get(HIS));
  storeArg(1, () => get(HSP));
  storeArg(2, () => {
    get(TH);
    call(fn.cos);
  });
  storeArg(3, () => {
    get(TH);
    call(fn.sin);
  });
  storeArg(4, () => {
    get(B);
    call(fn.cos);
  });
  storeArg(5, () => {
    get(B);
    call(fn.sin);
    op(F64_NEG);
  });
  for (const l of [U, OUT, USED_SC, INVH, H2, PILOT_INDEX, PILOT_VALS, LEVELS, BPSK, MAX_LEVEL, SUMS]) get(l);
  call(fn.carriers);
  get(SUMS);
  op(F64_LOAD, ...mem(3, 0));
  set(SR);
  get(SUMS);
  op(F64_LOAD, ...mem(3, 8));
  set(SI);
  hypot(SR, SI, MAG);
  get(MAG);
  f64(0);
  op(F64_GT, IF, VOID);
  storeArg(0, () => {
    get(SR);
    get(MAG);
    op(F64_DIV);
  });
  storeArg(1, () => {
    get(SI);
    op(F64_NEG);
    get(MAG);
    op(F64_DIV);
  });
  get(U);
  get(OUT);
  call(fn.rotate);
  op(END);
  // the tracker's state back to the caller
  get(SUMS);
  get(B);
  op(F64_STORE, ...mem(3, 16));
  get(SUMS);
  get(SLOPE_RATE);
  op(F64_STORE, ...mem(3, 24));
  get(STEP);
  op(END);
  return functionCodeWithF64Args(DEMOD_ARGS, D, 9, [2, 4, 0x7f, 25, 0x7c], e.c);
}

/**
 * payload(...): the symbol loop of a byte payload (FrameDemodulator.decodePayload) as one call: for
 * symbols m0, m0 + 1, ...: the pilot values from the PN table, `symbol` on the window at its start
 * (the frame's samples are in a region; the start follows the window slips), the phase-corrected
 * carriers copied to stored + 8 u i, the bit LLRs (`llrs`) to llrOut + 4 ncbps i. Stops early, returning
 * the symbols done, when a window would leave the region (the caller goes on symbol by symbol).
 *
 * i32 parameters: nsym, m0, region, regionLen (samples), rel0 (the first window's start in the region),
 * symLen, then symbol's (n .. sums, 21), then pn, stored, llrOut, ncbps, and llrs' (nData, dataPos, inv,
 * mode, axisBits, levels64, levelBits, nLevels), state. Doubles at DEMOD_ARGS: the first window's
 * start - ref, omega, cos / -sin omega, scale, slope, slope rate, halfInvScale, halfSpan, the LTS noise
 * variance, the outer QPSK level. state out: slope, slope rate (f64), the slips' net shift and count (f64).
 */
export function payloadCode(fn: { symbol: number; llrs: number }): number[] {
  const e = emitter();
  const { op, get, set, i32, mem } = e;
  const NSYM = 0, M0 = 1, REGION = 2, REGION_LEN = 3, REL0 = 4, SYM_LEN = 5;
  // symbol's 21 parameters follow: 6 .. 26
  const S0 = 6;
  const N = S0, OUT = S0 + 7, NP = S0 + 11, PILOT_VALS = S0 + 12, U = S0 + 6, INVH = S0 + 14, H2 = S0 + 15, SUMS = S0 + 20;
  const PN = 27, STORED = 28, LLR_OUT = 29, NCBPS = 30, N_DATA = 31, DATA_POS = 32, INV = 33, MODE = 34, AXIS_BITS = 35, LEVELS64 = 36, LEVEL_BITS = 37, N_LEVELS = 38, STATE = 39;
  // doubles (locals from DEMOD_ARGS)
  const D0 = 40, OMEGA = 41, SC = 42, SS = 43, SCALE = 44, SLOPE = 45, SLOPE_RATE = 46, HIS = 47, HSP = 48, NV = 49, L1 = 50;
  // i32 locals
  const I = 51, REL = 52, DSLIP = 53, SLIPS = 54, J = 55, STEP = 56, K = 57;
  const CALL = 0x10;
  const I32_MUL = 0x6c;
  const I32_GT_S = 0x4a;
  const I32_OR = 0x72;
  const I64_LOAD = 0x29;
  const I64_STORE = 0x37;
  const storeArg = (k: number, push: () => void): void => storeDemodArg(e, k, push);
  for (const l of [I, DSLIP, SLIPS]) {
    i32(0);
    set(l);
  }
  op(0x02, VOID); // block: leave
  op(LOOP, VOID);
  get(I);
  get(NSYM);
  op(I32_LT_S);
  op(0x45, BR_IF, 1); // i32.eqz: all done
  // rel = rel0 + i symLen + dslip; the window needs rel - 1 .. rel + n + 1 inside the region
  get(REL0);
  get(I);
  get(SYM_LEN);
  op(I32_MUL, I32_ADD);
  get(DSLIP);
  op(I32_ADD);
  op(LOCAL_TEE, REL);
  i32(1);
  op(I32_LT_S);
  get(REL);
  get(N);
  op(I32_ADD);
  i32(1);
  op(I32_ADD);
  get(REGION_LEN);
  op(I32_GT_S, I32_OR, BR_IF, 1);
  // pilot values of symbol m0 + i
  emitPilotValues(e, { pilotVals: PILOT_VALS, pn: PN, m0: M0, m: I, np: NP, j: J });
  // symbol's doubles: start - ref = d0 + i symLen + dslip (integers, exact in doubles)
  storeArg(0, () => {
    get(D0);
    get(I);
    get(SYM_LEN);
    op(I32_MUL);
    get(DSLIP);
    op(I32_ADD, F64_CONVERT_I32_S, F64_ADD);
  });
  storeArg(1, () => get(OMEGA));
  storeArg(2, () => get(SC));
  storeArg(3, () => get(SS));
  storeArg(4, () => get(SCALE));
  storeArg(5, () => get(SLOPE));
  storeArg(6, () => get(SLOPE_RATE));
  storeArg(7, () => get(HIS));
  storeArg(8, () => get(HSP));
  get(N);
  get(REGION);
  get(REL);
  i32(1);
  op(I32_SUB);
  i32(3);
  op(I32_SHL, I32_ADD);
  for (let p = S0 + 2; p <= SUMS; p++) get(p);
  op(CALL, fn.symbol);
  op(LOCAL_TEE, STEP);
  get(DSLIP);
  op(I32_ADD);
  set(DSLIP);
  get(SLIPS);
  get(STEP);
  i32(0);
  op(0x47, I32_ADD); // i32.ne: a slip
  set(SLIPS);
  get(SUMS);
  op(F64_LOAD, ...mem(3, 16));
  set(SLOPE);
  get(SUMS);
  op(F64_LOAD, ...mem(3, 24));
  set(SLOPE_RATE);
  // stored + 8 u i <- out (u complex float32, as bit copies)
  i32(0);
  set(K);
  op(LOOP, VOID);
  get(STORED);
  get(U);
  get(I);
  op(I32_MUL);
  get(K);
  op(I32_ADD);
  i32(3);
  op(I32_SHL, I32_ADD);
  get(OUT);
  get(K);
  i32(3);
  op(I32_SHL, I32_ADD, I64_LOAD, ...mem(3, 0), I64_STORE, ...mem(3, 0));
  e.nextWhileLess(K, U);
  // the LLRs
  storeArg(0, () => get(NV));
  storeArg(1, () => get(L1));
  get(N_DATA);
  get(OUT);
  get(INVH);
  get(H2);
  get(DATA_POS);
  get(INV);
  get(MODE);
  get(AXIS_BITS);
  get(LEVELS64);
  get(LEVEL_BITS);
  get(N_LEVELS);
  get(LLR_OUT);
  get(NCBPS);
  get(I);
  op(I32_MUL);
  i32(2);
  op(I32_SHL, I32_ADD);
  op(CALL, fn.llrs);
  get(I);
  i32(1);
  op(I32_ADD);
  set(I);
  op(0x0c, 0, END, END); // br loop; end loop; end block
  // state out
  get(STATE);
  get(SLOPE);
  op(F64_STORE, ...mem(3, 0));
  get(STATE);
  get(SLOPE_RATE);
  op(F64_STORE, ...mem(3, 8));
  get(STATE);
  get(DSLIP);
  op(F64_CONVERT_I32_S, F64_STORE, ...mem(3, 16));
  get(STATE);
  get(SLIPS);
  op(F64_CONVERT_I32_S, F64_STORE, ...mem(3, 24));
  get(I);
  op(END);
  return functionCodeWithF64Args(DEMOD_ARGS, D0, 11, [1, 7, 0x7f], e.c);
}
