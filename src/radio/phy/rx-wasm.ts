/**
 * The receiver's two per-sample loops in WebAssembly, over sample buffers that live in the module's
 * memory (`RxSampleMemory`): the input sanitising + DC removal pass (StreamReceiver.append / dcCorrect)
 * and the Schmidl-Cox detector's search loop (SchmidlCoxDetector.run's fast path). Together they were
 * about 18 % of the receive loop's profile; every sample of the stream goes through both.
 *
 * Same bits as the JavaScript (golden decode, rx-wasm.test.ts): doubles, the same operations in the same
 * order, float32 where the JavaScript stores to its float32 arrays.
 * - dc(raw, buf, n, sums; dr, di) -> bad values: a complex sample is an f64x2 [re, im]; a lane with
 *   !(|x| < 1e30) (NaN, infinite, huge) becomes +0 in `raw` and in the sums (v128.and with the compare
 *   mask: the JavaScript's literal 0); sums += x lane by lane, sample after sample (the JavaScript's two
 *   running sums); buf = x - (dr, di).
 * - detect(a, count, l2, w2, armed, state; thr) -> 4 i + status: the running sums P, E1, E2 (state, four
 *   f64) advanced sample by sample from byte address a, until the normalized metric crosses the
 *   threshold while armed (status 1) or falls below it while disarmed (status 2), or `count` samples
 *   (status 0); i = samples fully processed before the one that stopped it.
 */
import {
  BLOCK,
  BR,
  BR_IF,
  ELSE,
  END,
  F32_LOAD,
  F64_ADD,
  F64_CONST,
  F64_GE,
  F64_GT,
  F64_LOAD,
  F64_MUL,
  F64_PROMOTE_F32,
  F64_STORE,
  F64_SUB,
  F32X4_DEMOTE_F64X2_ZERO,
  F64X2_ABS,
  F64X2_ADD,
  F64X2_LT,
  F64X2_PROMOTE_LOW_F32X4,
  F64X2_REPLACE_LANE,
  F64X2_SPLAT,
  F64X2_SUB,
  I32_ADD,
  I32_AND,
  I32_LT_S,
  I32_LT_U,
  I32_MUL,
  I32_SHL,
  I32_SUB,
  I32_WRAP_I64,
  I64_ADD,
  I64_CONST,
  I64X2_EXTRACT_LANE,
  I64X2_SPLAT,
  I64X2_SUB,
  IF,
  LOCAL_TEE,
  LOOP,
  V128_AND,
  V128_LOAD64_ZERO,
  V128_STORE,
  V128_STORE64_LANE,
  VOID,
  functionCode,
  emitter,
  section,
  wasmName,
  functionCodeWithF64Args,
  wasmApi,
} from './wasm-emit.js';

/**
 * Bytes kept at the start of the memory for the kernels' numbers: [0, 32) results and state, [32, 64)
 * inputs, [64, 128) the DC estimator's state (dcChunk), then the DC snapshot ring (re, im, count: 256 f64
 * each); the sample buffers follow.
 */
const RX_ARGS = 32;
const DC_STATE = 64;
const DC_RING = 128;
/** 64-sample blocks of DC history the receiver keeps; far more than a push chunk plus a sync event's delay. */
export const DC_RING_BLOCKS = 256;
const SCRATCH = DC_RING + 3 * 8 * DC_RING_BLOCKS;

function dcCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, f64x2, simd, mem } = e;
  const RAW = 0, BUF = 1, N = 2, SUMS = 3, DR = 4, DI = 5;
  const END_ = 6;
  const V = 7, OK = 8, SUM = 9, OKS = 10, D = 11;
  f64x2(0);
  set(SUM);
  op(I64_CONST, 0);
  simd(I64X2_SPLAT);
  set(OKS);
  get(DR);
  simd(F64X2_SPLAT);
  get(DI);
  simd(F64X2_REPLACE_LANE, 1);
  set(D);
  get(RAW);
  get(N);
  i32(3);
  op(I32_SHL, I32_ADD);
  set(END_);
  op(BLOCK, VOID);
  get(N);
  i32(1);
  op(I32_LT_S, BR_IF, 0);
  op(LOOP, VOID);
  get(RAW);
  simd(V128_LOAD64_ZERO, ...mem(3, 0));
  simd(F64X2_PROMOTE_LOW_F32X4);
  op(LOCAL_TEE, V);
  simd(F64X2_ABS);
  f64x2(1e30);
  simd(F64X2_LT);
  op(LOCAL_TEE, OK);
  get(V);
  simd(V128_AND);
  set(V);
  get(RAW);
  get(V);
  simd(F32X4_DEMOTE_F64X2_ZERO);
  simd(V128_STORE64_LANE, ...mem(3, 0), 0);
  get(SUM);
  get(V);
  simd(F64X2_ADD);
  set(SUM);
  get(BUF);
  get(V);
  get(D);
  simd(F64X2_SUB);
  simd(F32X4_DEMOTE_F64X2_ZERO);
  simd(V128_STORE64_LANE, ...mem(3, 0), 0);
  get(OKS);
  get(OK);
  simd(I64X2_SUB); // a passing lane's mask is -1
  set(OKS);
  get(BUF);
  i32(8);
  op(I32_ADD);
  set(BUF);
  get(RAW);
  i32(8);
  op(I32_ADD);
  op(LOCAL_TEE, RAW);
  get(END_);
  op(I32_LT_U, BR_IF, 0, END, END);
  get(SUMS);
  get(SUM);
  simd(V128_STORE, ...mem(3, 0));
  // bad = 2 n - passing lanes
  get(N);
  i32(1);
  op(I32_SHL);
  get(OKS);
  simd(I64X2_EXTRACT_LANE, 0);
  get(OKS);
  simd(I64X2_EXTRACT_LANE, 1);
  op(I64_ADD, I32_WRAP_I64, I32_SUB);
  op(END);
  return functionCodeWithF64Args(RX_ARGS, DR, 2, [2, 1, 0x7f, 5, 0x7b], e.c);
}

function detectCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, mem } = e;
  const A = 0, COUNT = 1, L2 = 2, W2 = 3, ARMED = 4, ST = 5, THR = 6;
  const I = 7, STATUS = 8;
  const PR = 9, PI = 10, E1 = 11, E2 = 12, XR = 13, XI = 14, YR = 15, YI = 16, UR = 17, UI = 18, VR = 19, VI = 20, M2 = 21, DEN = 22;
  const load = (to: number, back: () => void, offset: number): void => {
    get(A);
    back();
    op(F32_LOAD, ...mem(2, offset), F64_PROMOTE_F32);
    set(to);
  };
  const minus = (l: number): (() => void) => () => {
    get(l);
    op(I32_SUB);
  };
  const none = (): void => {};
  const both = (): void => {
    get(L2);
    op(I32_SUB);
    get(W2);
    op(I32_SUB);
  };
  // s = s + (pair1 - pair2)
  const update = (s: number, p1: [number, number, number, number, boolean], p2: [number, number, number, number, boolean]): void => {
    get(s);
    e.pair(...p1);
    e.pair(...p2);
    op(F64_SUB, F64_ADD);
    set(s);
  };
  [PR, PI, E1, E2].forEach((l, k) => {
    get(ST);
    op(F64_LOAD, ...mem(3, 8 * k));
    set(l);
  });
  i32(0);
  set(I);
  i32(0);
  set(STATUS);
  op(BLOCK, VOID, LOOP, VOID);
  get(I);
  get(COUNT);
  op(I32_LT_S);
  op(IF, VOID, ELSE, BR, 2, END); // i >= count: leave
  load(XR, none, 0);
  load(XI, none, 4);
  load(YR, minus(L2), 0);
  load(YI, minus(L2), 4);
  load(UR, minus(W2), 0);
  load(UI, minus(W2), 4);
  load(VR, both, 0);
  load(VI, both, 4);
  update(PR, [YR, XR, YI, XI, false], [VR, UR, VI, UI, false]);
  update(PI, [YR, XI, YI, XR, true], [VR, UI, VI, UR, true]);
  update(E1, [XR, XR, XI, XI, false], [UR, UR, UI, UI, false]);
  update(E2, [YR, YR, YI, YI, false], [VR, VR, VI, VI, false]);
  e.pair(PR, PR, PI, PI, false);
  set(M2);
  get(E1);
  get(E2);
  op(F64_MUL);
  set(DEN);
  // m2 >= thr den && den > 0
  get(M2);
  get(THR);
  get(DEN);
  op(F64_MUL, F64_GE);
  get(DEN);
  op(F64_CONST, ...new Uint8Array(new Float64Array([0]).buffer));
  op(F64_GT, I32_AND);
  op(IF, VOID);
  get(ARMED);
  op(IF, VOID);
  i32(1);
  set(STATUS);
  op(BR, 3, END); // leave the outer block
  op(ELSE);
  get(ARMED);
  i32(0);
  op(0x46); // i32.eq: disarmed
  op(IF, VOID);
  i32(2);
  set(STATUS);
  op(BR, 3, END);
  op(END);
  get(I);
  i32(1);
  op(I32_ADD);
  set(I);
  get(A);
  i32(8);
  op(I32_ADD);
  set(A);
  op(BR, 0, END, END);
  [PR, PI, E1, E2].forEach((l, k) => {
    get(ST);
    get(l);
    op(F64_STORE, ...mem(3, 8 * k));
  });
  get(I);
  i32(4);
  op(I32_MUL);
  get(STATUS);
  op(I32_ADD, END);
  return functionCodeWithF64Args(RX_ARGS, THR, 1, [2, 2, 0x7f, 14, 0x7c], e.c);
}

/**
 * dcChunk(raw, buf, n, absMod) -> bad values: StreamReceiver's DC pass over n samples block by block, the
 * estimator included: at each 64-sample block start the estimate is remembered in the ring (block
 * ((absMod + i) >> 6) & 255, absMod = the first sample's absolute index mod 16384), `dc` corrects the
 * block's samples, and a full block updates the estimate (cumulative, then exponential with time constant
 * 8192) unless held or skipped, the JavaScript's dcSnapshot / dcAccumulate. The state (dcR, dcI, dcCount,
 * dcSumR, dcSumI, dcFill, hold, skip as f64) is read from and written back to DC_STATE.
 */
function dcChunkCode(dcIndex: number): number[] {
  const e = emitter();
  const { op, get, set, i32, f64, mem } = e;
  const RAW = 0, BUF = 1, N = 2, ABS = 3;
  const I = 4, TAKE = 5, BAD = 6, FILL = 7, B = 8;
  const R = 9, IM = 10, COUNT = 11, SUMR = 12, SUMI = 13, HOLD = 14, SKIP = 15, W = 16;
  const CALL = 0x10;
  const I32_TRUNC_F64_S = 0xaa;
  const F64_CONVERT_I32_S = 0xb7;
  const F64_LT = 0x63;
  const F64_DIV = 0xa3;
  const F64_NE = 0x62;
  const I32_EQ = 0x46;
  const I32_EQZ = 0x45;
  const I32_SHR_S = 0x75;
  const I32_OR = 0x72;
  const SELECT = 0x1b;
  const state = (k: number): number => DC_STATE + 8 * k;
  // load the state
  for (const [l, k] of [[R, 0], [IM, 1], [COUNT, 2], [SUMR, 3], [SUMI, 4], [HOLD, 6], [SKIP, 7]] as const) {
    i32(0);
    op(F64_LOAD, ...mem(3, state(k)));
    set(l);
  }
  i32(0);
  op(F64_LOAD, ...mem(3, state(5)), I32_TRUNC_F64_S);
  set(FILL);
  i32(0);
  set(I);
  i32(0);
  set(BAD);
  op(BLOCK, VOID, LOOP, VOID);
  get(I);
  get(N);
  op(I32_LT_S, I32_EQZ, BR_IF, 1);
  // a block starts: remember what it is corrected with
  get(FILL);
  op(I32_EQZ, IF, VOID);
  get(ABS);
  get(I);
  op(I32_ADD);
  i32(6);
  op(I32_SHR_S);
  i32(255);
  op(I32_AND);
  i32(3);
  op(I32_SHL);
  set(B);
  for (const [l, k] of [[R, 0], [IM, 1], [COUNT, 2]] as const) {
    get(B);
    get(l);
    op(F64_STORE, ...mem(3, DC_RING + 8 * DC_RING_BLOCKS * k));
  }
  op(END);
  // take = min(n - i, 64 - fill)
  get(N);
  get(I);
  op(I32_SUB);
  i32(64);
  get(FILL);
  op(I32_SUB);
  get(N);
  get(I);
  op(I32_SUB);
  i32(64);
  get(FILL);
  op(I32_SUB);
  op(I32_LT_S, SELECT);
  set(TAKE);
  // dc(raw + 8 i, buf + 8 i, take, sums 0) with (dcR, dcI) at RX_ARGS
  i32(0);
  get(R);
  op(F64_STORE, ...mem(3, RX_ARGS));
  i32(0);
  get(IM);
  op(F64_STORE, ...mem(3, RX_ARGS + 8));
  get(RAW);
  get(I);
  i32(3);
  op(I32_SHL, I32_ADD);
  get(BUF);
  get(I);
  i32(3);
  op(I32_SHL, I32_ADD);
  get(TAKE);
  i32(0);
  op(CALL, dcIndex);
  get(BAD);
  op(I32_ADD);
  set(BAD);
  // dcAccumulate(sums, take)
  get(SUMR);
  i32(0);
  op(F64_LOAD, ...mem(3, 0), F64_ADD);
  set(SUMR);
  get(SUMI);
  i32(0);
  op(F64_LOAD, ...mem(3, 8), F64_ADD);
  set(SUMI);
  get(FILL);
  get(TAKE);
  op(I32_ADD);
  op(LOCAL_TEE, FILL);
  i32(64);
  op(I32_EQ, IF, VOID);
  get(HOLD);
  f64(0);
  op(F64_NE);
  get(SKIP);
  f64(0);
  op(F64_NE, I32_OR, IF, VOID);
  f64(0);
  set(SKIP);
  op(ELSE);
  get(COUNT);
  f64(64);
  op(F64_ADD);
  set(COUNT);
  // w = count < 8192 ? 64 / count : 64 / 8192
  f64(64);
  get(COUNT);
  op(F64_DIV);
  f64(64 / 8192);
  get(COUNT);
  f64(8192);
  op(F64_LT, SELECT);
  set(W);
  // dcR += (sumR / 64 - dcR) w; dcI likewise
  for (const [l, sum] of [[R, SUMR], [IM, SUMI]] as const) {
    get(l);
    get(sum);
    f64(64);
    op(F64_DIV);
    get(l);
    op(F64_SUB);
    get(W);
    op(F64_MUL, F64_ADD);
    set(l);
  }
  op(END);
  f64(0);
  set(SUMR);
  f64(0);
  set(SUMI);
  i32(0);
  set(FILL);
  op(END);
  get(I);
  get(TAKE);
  op(I32_ADD);
  set(I);
  op(BR, 0, END, END);
  // the state back
  for (const [l, k] of [[R, 0], [IM, 1], [COUNT, 2], [SUMR, 3], [SUMI, 4], [HOLD, 6], [SKIP, 7]] as const) {
    i32(0);
    get(l);
    op(F64_STORE, ...mem(3, state(k)));
  }
  i32(0);
  get(FILL);
  op(F64_CONVERT_I32_S, F64_STORE, ...mem(3, state(5)));
  get(BAD);
  op(END);
  return functionCode([2, 5, 0x7f, 8, 0x7c], e.c);
}

function buildModule(): Uint8Array {
  const name = wasmName;
  const I = 0x7f;
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // dc (i32 x 4) -> i32, detect (i32 x 6) -> i32 (their doubles are read from RX_ARGS), dcChunk (i32 x 4) -> i32
    ...section(1, [2, 0x60, 4, I, I, I, I, 1, I, 0x60, 6, I, I, I, I, I, I, 1, I]),
    ...section(2, [1, ...name('m'), ...name('mem'), 0x02, 0x00, 1]),
    ...section(3, [3, 0, 1, 0]),
    ...section(7, [3, ...name('dc'), 0x00, 0, ...name('detect'), 0x00, 1, ...name('dcChunk'), 0x00, 2]),
    ...section(10, [3, ...dcCode(), ...detectCode(), ...dcChunkCode(0)]),
  ]);
}

type DcFn = (raw: number, buf: number, n: number, sums: number) => number; // dr, di at RX_ARGS
type DetectFn = (a: number, count: number, l2: number, w2: number, armed: number, state: number) => number; // threshold at RX_ARGS
type DcChunkFn = (raw: number, buf: number, n: number, absMod: number) => number;

let compiled: object | null | undefined;



/**
 * The receiver's sample buffers (`buf`, and `raw` with DC blocking) with the kernels that work on them.
 * Without WebAssembly SIMD they are plain arrays and `dc` / `detect` are null (the callers' JavaScript
 * runs). The views are replaced when the buffers grow: read `buf` and `raw` after `grow`.
 */
export class RxSampleMemory {
  buf: Float32Array;
  raw: Float32Array;
  private readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number } | null;
  private readonly fns: { dc: DcFn; detect: DetectFn; dcChunk: DcChunkFn } | null;
  private f64: Float64Array;
  private argsView: Float64Array;
  private dcStateView: Float64Array;
  private ring: { re: Float64Array; im: Float64Array; count: Float64Array };
  private readonly withRaw: boolean;

  /** `useWasm` false: plain arrays and no kernels even where WebAssembly is available. */
  constructor(floats: number, withRaw: boolean, useWasm = true) {
    this.withRaw = withRaw;
    let memory: RxSampleMemory['memory'] = null;
    let fns: RxSampleMemory['fns'] = null;
    const wasm = useWasm ? wasmApi() : null;
    try {
      if (wasm && compiled === undefined) {
        const bytes = buildModule();
        compiled = null; // stays null if the module does not compile (no WebAssembly SIMD)
        compiled = new wasm.Module(bytes);
      }
      if (wasm && compiled) {
        memory = new wasm.Memory({ initial: Math.ceil((SCRATCH + 8 * floats) / 65536) });
        const x = new wasm.Instance(compiled, { m: { mem: memory } }).exports;
        fns = { dc: x['dc'] as DcFn, detect: x['detect'] as DetectFn, dcChunk: x['dcChunk'] as DcChunkFn };
      }
    } catch {
      memory = null;
      fns = null;
    }
    this.memory = memory;
    this.fns = fns;
    if (memory) {
      this.buf = new Float32Array(memory.buffer, SCRATCH, floats);
      this.raw = new Float32Array(memory.buffer, SCRATCH + 4 * floats, withRaw ? floats : 0);
      this.f64 = new Float64Array(memory.buffer, 0, SCRATCH >> 3);
    } else {
      this.buf = new Float32Array(floats);
      this.raw = new Float32Array(withRaw ? floats : 0);
      this.f64 = new Float64Array(SCRATCH >> 3);
    }
    this.argsView = this.f64.subarray(RX_ARGS >> 3);
    this.dcStateView = this.f64.subarray(DC_STATE >> 3, (DC_STATE >> 3) + 8);
    this.ring = this.ringViews();
  }

  /** Whether the kernels run (WebAssembly SIMD available). */
  get kernels(): boolean {
    return this.fns !== null;
  }

  /**
   * Larger buffers of `floats` values each, holding what buf[from, to) and raw[from, to) held at their
   * start (floats >= twice the current size, so the old and new regions of `raw` cannot overlap).
   */
  grow(floats: number, from: number, to: number): void {
    const memory = this.memory;
    if (!memory) {
      const b = new Float32Array(floats);
      b.set(this.buf.subarray(from, to));
      this.buf = b;
      if (this.withRaw) {
        const r = new Float32Array(floats);
        r.set(this.raw.subarray(from, to));
        this.raw = r;
      }
      return;
    }
    const old = this.buf.length;
    const need = SCRATCH + 8 * floats;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    const all = new Float32Array(memory.buffer);
    const s = SCRATCH >> 2;
    // raw first: its new region lies above everything old; then buf moves down within its old region
    if (this.withRaw) all.copyWithin(s + floats, s + old + from, s + old + to);
    all.copyWithin(s, s + from, s + to);
    this.buf = new Float32Array(memory.buffer, SCRATCH, floats);
    this.raw = new Float32Array(memory.buffer, SCRATCH + 4 * floats, this.withRaw ? floats : 0);
    this.f64 = new Float64Array(memory.buffer, 0, SCRATCH >> 3);
    this.argsView = this.f64.subarray(RX_ARGS >> 3);
    this.dcStateView = this.f64.subarray(DC_STATE >> 3, (DC_STATE >> 3) + 8);
    this.ring = this.ringViews();
  }

  private ringViews(): { re: Float64Array; im: Float64Array; count: Float64Array } {
    const at = (k: number): Float64Array => this.f64.subarray((DC_RING >> 3) + k * DC_RING_BLOCKS, (DC_RING >> 3) + (k + 1) * DC_RING_BLOCKS);
    return { re: at(0), im: at(1), count: at(2) };
  }

  /**
   * StreamReceiver's DC pass over samples [p, p + n) (complex index into buf/raw): raw sanitised in place,
   * buf = raw - (args[0], args[1]) (set them first); returns the number of bad values, the sums in `sums()` (0: re, 1: im).
   */
  dc(p: number, n: number): number {
    const o = 8 * p;
    return this.fns!.dc(this.raw.byteOffset + o, this.buf.byteOffset + o, n, 0);
  }

  /**
   * StreamReceiver's DC pass with its estimator over samples [p, p + n) (dcChunkCode): the state in
   * dcState() (set it first, read it after), the first sample's absolute index mod 16384 in absMod;
   * returns the bad values.
   */
  dcChunk(p: number, n: number, absMod: number): number {
    const o = 8 * p;
    return this.fns!.dcChunk(this.raw.byteOffset + o, this.buf.byteOffset + o, n, absMod);
  }

  /** The DC estimator's state for dcChunk: dcR, dcI, dcCount, dcSumR, dcSumI, dcFill, hold, skip. */
  dcState(): Float64Array {
    return this.dcStateView;
  }

  /** The DC snapshot ring (re, im, count per 64-sample block), in this memory so dcChunk writes it. */
  dcRing(): { re: Float64Array; im: Float64Array; count: Float64Array } {
    return this.ring;
  }

  /** The numbers the last kernel call left: dc's two sums, or detect's P re, P im, E1, E2. */
  sums(): Float64Array {
    return this.f64;
  }

  /**
   * The kernels' double inputs (dc: DC re, im; detect: the threshold): stored here by the caller, since a
   * double passed to a JavaScript function that is not inlined is boxed (a heap number per call).
   */
  get args(): Float64Array {
    return this.argsView;
  }

  /**
   * The detector's search from complex sample p of buf, at most `count` samples, with the running sums
   * in sums()[0..3] and the threshold in args[0] (set them first): see the module comment for the
   * returned 4 i + status.
   */
  detect(p: number, count: number, lag: number, window: number, armed: boolean): number {
    return this.fns!.detect(this.buf.byteOffset + 8 * p, count, 8 * lag, 8 * window, armed ? 1 : 0, 0);
  }
}
