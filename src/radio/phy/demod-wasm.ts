/**
 * The receiver's per-symbol FFT step (`FrameDemodulator.fftAt`) as one WebAssembly SIMD function:
 * derotate the window's samples by the CFO into bit-reversed order, run the radix-2 stages, and gather
 * the used carriers scaled to unit energy. It ran as about 12 % of the receive loop's profile in
 * JavaScript, and its JIT warm-up is paid by every fresh `dekag modem rx`.
 *
 * Bit for bit what the JavaScript does (fft.test.ts and the golden decode check it): the same double
 * operations in the same order, rounded to float32 where the JavaScript stores to its float32 arrays.
 * A butterfly keeps a complex value as an f64x2 [re, im]; the twisted value
 * [br wr - bi wi, br wi + bi wr] is splat(br) [wr, wi] + splat(bi) [-wi, wr]: the product with -wi is
 * the exact negation of bi wi, and x + (-y) is IEEE subtraction, so each lane is the scalar result
 * (signed zeros included). The stages are the plain radix-2 ones of `Fft.referenceTransform`, which the
 * JavaScript fast path equals bit for bit (fft.test.ts).
 *
 * One module per process; one instance (with its own small memory) per demodulator.
 * Memory (bytes, n = FFT size, u = used carriers): [0, 8n) input samples, [8n, 16n) the transform,
 * [16n, 16n + 8u) the used carriers out, then the bit-reversal table (u32), the used bins (u32), and from
 * a 16-byte boundary the stage twiddles (four f64 per butterfly: wr, wi, -wi, wr).
 */
import type { Fft } from './fft.js';
import { Modulation, type Constellation } from './constellation.js';
import { carriersCode, rotateCode } from './demod-wasm-carriers.js';
import { addKnownCode, fitFrameCode, fitKnownCode } from './demod-wasm-fit.js';
import { ltsCode, smoothCode } from './demod-wasm-channel.js';
import { PN127 } from './framing.js';
import type { SnrAccumulator } from './snr.js';
import { llrsCode } from './demod-wasm-llr.js';
import { emitStages } from './demod-wasm-stages.js';
import { cfoCode, derotCode, lagSumsCode, timingCode } from './demod-wasm-acquire.js';
import { payloadCode, symbolCode } from './demod-wasm-symbol.js';
import type { OfdmLayout } from './params.js';
import {
  BLOCK,
  DEMOD_ARGS,
  BR_IF,
  END,
  F32_DEMOTE_F64,
  F32_LOAD,
  F32_STORE,
  F64_MUL,
  F64_ADD,
  F64_PROMOTE_F32,
  F64_SUB,
  I32_ADD,
  I32_LOAD,
  I32_LT_S,
  I32_SHL,
  LOCAL_TEE,
  LOOP,
  VOID,
  emitter,
  section,
  wasmName,
  functionCodeWithF64Args,
  uleb,
  wasmApi,
} from './wasm-emit.js';

// parameters: i32 n, in, perm, fb, tw, used, u, out; f64 c, s, dc, ds, sc
const P_N = 0;
const P_IN = 1;
const P_PERM = 2;
const P_FB = 3;
const P_TW = 4;
const P_USED = 5;
const P_U = 6;
const P_OUT = 7;
const P_C = 8;
const P_S = 9;
const P_DC = 10;
const P_DS = 11;
const P_SC = 12;
// locals: i32 i, o, half, start, a, b, w, end; f64 xr, xi, nc; v128 va, t
const L_I = 13;
const L_O = 14;
const L_HALF = 15;
const L_START = 16;
const L_A = 17;
const L_B = 18;
const L_W = 19;
const L_END = 20;
const L_XR = 21;
const L_XI = 22;
const L_NC = 23;
const V_A = 24;
const V_T = 25;

function fftAtCode(): number[] {
  const e = emitter();
  const { c, op, get, set, i32, mem } = e;
  const f32Load = (offset: number): void => op(F32_LOAD, ...mem(2, offset), F64_PROMOTE_F32);
  const f32Store = (offset: number): void => op(F32_DEMOTE_F64, F32_STORE, ...mem(2, offset));

  // 1. derotate: sample i times exp(j phase), phase advancing by a rotation recurrence, to slot perm[i]
  i32(0);
  set(L_I);
  op(LOOP, VOID);
  get(P_IN);
  get(L_I);
  i32(3);
  op(I32_SHL, I32_ADD);
  op(LOCAL_TEE, L_A);
  f32Load(0);
  set(L_XR);
  get(L_A);
  f32Load(4);
  set(L_XI);
  get(P_PERM);
  get(L_I);
  i32(2);
  op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
  i32(3);
  op(I32_SHL);
  get(P_FB);
  op(I32_ADD);
  op(LOCAL_TEE, L_O);
  get(L_XR);
  get(P_C);
  op(F64_MUL);
  get(L_XI);
  get(P_S);
  op(F64_MUL, F64_SUB);
  f32Store(0);
  get(L_O);
  get(L_XR);
  get(P_S);
  op(F64_MUL);
  get(L_XI);
  get(P_C);
  op(F64_MUL, F64_ADD);
  f32Store(4);
  // nc = c dc - s ds; s = c ds + s dc; c = nc
  get(P_C);
  get(P_DC);
  op(F64_MUL);
  get(P_S);
  get(P_DS);
  op(F64_MUL, F64_SUB);
  set(L_NC);
  get(P_C);
  get(P_DS);
  op(F64_MUL);
  get(P_S);
  get(P_DC);
  op(F64_MUL, F64_ADD);
  set(P_S);
  get(L_NC);
  set(P_C);
  e.addTo(L_I, 1);
  e.loopWhileLess(L_I, () => get(P_N));

  // 2. radix-2 stages
  emitStages(e, { n: P_N, fb: P_FB, tw: P_TW, half: L_HALF, w: L_W, start: L_START, a: L_A, end: L_END, k: L_O, b: L_B, va: V_A, t: V_T });

  // 3. the used carriers, times the receive scale
  op(BLOCK, VOID);
  get(P_U);
  i32(1);
  op(I32_LT_S, BR_IF, 0);
  i32(0);
  set(L_I);
  op(LOOP, VOID);
  get(P_FB);
  get(P_USED);
  get(L_I);
  i32(2);
  op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
  i32(3);
  op(I32_SHL, I32_ADD);
  set(L_A);
  get(P_OUT);
  get(L_I);
  i32(3);
  op(I32_SHL, I32_ADD);
  op(LOCAL_TEE, L_O);
  get(L_A);
  f32Load(0);
  get(P_SC);
  op(F64_MUL);
  f32Store(0);
  get(L_O);
  get(L_A);
  f32Load(4);
  get(P_SC);
  op(F64_MUL);
  f32Store(4);
  e.addTo(L_I, 1);
  e.loopWhileLess(L_I, () => get(P_U));
  op(END); // block
  op(END); // function
  return functionCodeWithF64Args(DEMOD_ARGS, P_C, 5, [3, 8, 0x7f, 3, 0x7c, 2, 0x7b], c);
}

/** The module: memory and Math.atan2 / cos / sin imported, then the kernels (exported by name). */
function buildModule(): Uint8Array {
  const name = wasmName;
  const I = 0x7f;
  const D = 0x7c;
  const imports = ['atan2', 'cos', 'sin'];
  // the double inputs are read from memory (functionCodeWithF64Args), so every parameter is an i32
  const kernels: { name: string; params: number; result: boolean; code: () => number[] }[] = [
    { name: 'fftAt', params: 8, result: false, code: fftAtCode },
    { name: 'carriers', params: 11, result: false, code: carriersCode },
    { name: 'rotate', params: 2, result: false, code: rotateCode },
    { name: 'fitKnown', params: 10, result: false, code: fitKnownCode },
    { name: 'addKnown', params: 8, result: false, code: addKnownCode },
    { name: 'llrs', params: 12, result: false, code: llrsCode },
    { name: 'derot', params: 3, result: false, code: derotCode },
    { name: 'cfo', params: 9, result: true, code: cfoCode },
    { name: 'timing', params: 5, result: true, code: timingCode },
    { name: 'lagSums', params: 4, result: false, code: lagSumsCode },
    { name: 'lts', params: 11, result: false, code: ltsCode },
    { name: 'symbol', params: 21, result: true, code: () => symbolCode(callees) },
    { name: 'fitFrame', params: 20, result: false, code: () => fitFrameCode({ fitKnown: index('fitKnown'), addKnown: index('addKnown') }) },
    { name: 'payload', params: 40, result: true, code: () => payloadCode({ symbol: index('symbol'), llrs: index('llrs') }) },
    { name: 'smooth', params: 6, result: false, code: () => smoothCode(callees) },
  ];
  // function indices: the imports first, then the kernels in order
  const index = (n: string): number => {
    const k = kernels.findIndex((x) => x.name === n);
    return k >= 0 ? imports.length + k : imports.indexOf(n);
  };
  const callees = { atan2: index('atan2'), cos: index('cos'), sin: index('sin'), fftAt: index('fftAt'), carriers: index('carriers'), rotate: index('rotate') };
  // types: 0 (f64, f64) -> f64, 1 f64 -> f64, then one per kernel
  const types = [[0x60, 2, D, D, 1, D], [0x60, 1, D, 1, D], ...kernels.map((k) => [0x60, ...uleb(k.params), ...new Array<number>(k.params).fill(I), ...(k.result ? [1, I] : [0])])];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(types.length), ...types.flat()]),
    ...section(2, [
      1 + imports.length,
      ...name('m'), ...name('mem'), 0x02, 0x00, 1,
      ...name('m'), ...name('atan2'), 0x00, 0,
      ...name('m'), ...name('cos'), 0x00, 1,
      ...name('m'), ...name('sin'), 0x00, 1,
    ]),
    ...section(3, [...uleb(kernels.length), ...kernels.map((_, k) => 2 + k)]),
    ...section(7, [...uleb(kernels.length), ...kernels.flatMap((k, i) => [...name(k.name), 0x00, ...uleb(imports.length + i)])]),
    ...section(10, [...uleb(kernels.length), ...kernels.flatMap((k) => k.code())]),
  ]);
}

// double inputs go through `args` (memory), in the order of the comments
type FftAtFn = (n: number, inp: number, perm: number, fb: number, tw: number, used: number, u: number, out: number) => void; // c, s, dc, ds, scale
type CarriersFn = (u: number, out: number, usedSc: number, invH: number, h2: number, pilotIndex: number, pilotVals: number, levels: number, bpsk: number, maxLevel: number, sums: number) => void; // his, hsp, c, s, dc, ds
type RotateFn = (u: number, out: number) => void; // rc, rs
type FitKnownFn = (u: number, y: number, src: number, h: number, xc: number, pilotIndex: number, dataIndex: number, pilotVals: number, evmData: number, sums: number) => void;
type AddKnownFn = (u: number, y: number, xc: number, ar: number, ai: number, b: number, s: number, sums: number) => void; // rc, rs
type DerotFn = (count: number, input: number, out: number) => void; // c, s, dc, ds
type CfoFn = (n: number, src: number, fb: number, perm: number, tw: number, usedSc: number, ltsFreq: number, numUsed: number, maxShift: number) => number;
type TimingFn = (count: number, win: number, lts: number, n: number, sums: number) => number; // ltsEnergy
type LagSumsFn = (count: number, a: number, n: number, sums: number) => void;
type SymbolFn = (
  n: number, win: number, perm: number, fb: number, tw: number, used: number, u: number, out: number, usedSc: number, h: number, pilotPos: number, np: number,
  pilotVals: number, z: number, invH: number, h2: number, pilotIndex: number, levels: number, bpsk: number, maxLevel: number, sums: number,
) => number; // see demod-wasm-symbol.ts for the doubles
type FitFrameFn = (
  nsym: number, y0: number, src0: number, m0: number, evmCount: number, u: number, nData: number, h: number, xc: number, pilotIndex: number, dataIndex: number,
  pilotVals: number, np: number, pn: number, ar: number, ai: number, b: number, s: number, sums: number, state: number,
) => void;
type PayloadFn = (...args: number[]) => number; // see demod-wasm-symbol.ts payloadCode for the 40 parameters
type SmoothFn = (u: number, h: number, h2: number, invH: number, usedSc: number, t: number) => void;
type LtsFn = (u: number, y1: number, y2: number, ltsFreq: number, h: number, h2: number, ar: number, ai: number, b: number, s: number, sums: number) => void;
type LlrsFn = (nData: number, sym: number, invH: number, h2: number, dataPos: number, inv: number, mode: number, axisBits: number, levels: number, levelBits: number, nLevels: number, out: number) => void; // nv, l1

let compiled: object | null | undefined;

/** Payload symbols demodulated (payload) and fitted (fitFrame) in one call; longer frames go symbol by symbol. */
export const FRAME_SYMBOLS = 256;
/** Samples of margin on each side of a payload's region for the windows' slips. */
const SLIP_MARGIN = 16;

/** Bytes for `count` values of `unit` bytes, rounded up to 16 (each region starts 16-byte aligned). */
const region = (count: number, unit: number): number => (count * unit + 15) & ~15;

/**
 * The demodulator's WebAssembly kernels and the arrays they work on. The arrays (`sym`, `y1`, `y2`,
 * `h`, `h2`, `invH`) are views of the kernels' memory, which never grows, so the demodulator uses them as
 * its own and the kernels read and write them in place.
 */
export class DemodKernels {
  readonly sym: Float32Array;
  readonly y1: Float32Array;
  readonly y2: Float32Array;
  readonly h: Float32Array;
  readonly h2: Float32Array;
  readonly invH: Float32Array;
  /** acquire's derotated search window. */
  readonly win: Float32Array;
  /** The current symbol's pilot values (the caller fills them before carriers and fitKnown). */
  readonly pilotVals: Float64Array;
  /** The SNR fit's per-carrier sums (SnrAccumulator keeps them here so that addKnown updates them). */
  readonly snrArrays: { readonly ar: Float64Array; readonly ai: Float64Array; readonly b: Float64Array; readonly s: Float64Array };
  private readonly f32: Float32Array;
  private readonly sums: Float64Array;
  /** What the last kernel left besides its return value (fineTiming: the metric of the best start). */
  get results(): Float64Array {
    return this.sums;
  }
  /**
   * The kernels' double inputs (at DEMOD_ARGS): callers store them here before a call, in the order each
   * method's comment gives. A double passed as an argument to a JavaScript function that is not inlined
   * is boxed (a heap number per argument per call); a store into this array allocates nothing.
   */
  readonly args: Float64Array;
  /** fitFrame's running sums (EVM numerator, denominator, total power, known energy). */
  private readonly frameState: Float64Array;
  /** The transform's used carriers when the caller's array is not one of ours. */
  private readonly outView: Float32Array;
  private readonly buffer: ArrayBuffer;
  /** The constellation whose levels are in memory (for carriers, and for llrs). */
  private levelsOf: Constellation | null = null;
  private levels64Of: Constellation | null = null;
  /** The deinterleaver table in memory. */
  private invOf: Uint32Array | null = null;

  private constructor(
    private readonly fns: { fftAt: FftAtFn; carriers: CarriersFn; rotate: RotateFn; fitKnown: FitKnownFn; addKnown: AddKnownFn; llrs: LlrsFn; derot: DerotFn; cfo: CfoFn; timing: TimingFn; lagSums: LagSumsFn; lts: LtsFn; symbol: SymbolFn; fitFrame: FitFrameFn; payload: PayloadFn; smooth: SmoothFn },
    buffer: ArrayBuffer,
    private readonly n: number,
    private readonly u: number,
    private readonly at: Record<
      'input' | 'fb' | 'out' | 'perm' | 'ltsFreq' | 'ltsTime' | 'pilotPos' | 'z' | 'pn' | 'state' | 'frameY' | 'frameSrc' | 'region' | 'llrFrame' | 'used' | 'usedSc' | 'pilotIndex' | 'dataIndex' | 'dataPos' | 'pilotVals' | 'levels' | 'levels64' | 'levelBits' | 'inv' | 'llr' | 'sums' | 'y' | 'src' | 'xc' | 'tw',
      number
    >,
    views: Record<'sym' | 'y1' | 'y2' | 'h' | 'h2' | 'invH' | 'ar' | 'ai' | 'b' | 's' | 'win', number>,
    winFloats: number,
    private readonly numData: number,
    private readonly numPilots: number,
    private readonly scale: number,
    private readonly regionSamples: number,
  ) {
    this.buffer = buffer;
    this.f32 = new Float32Array(buffer);
    this.sym = new Float32Array(buffer, views.sym, 2 * u);
    this.y1 = new Float32Array(buffer, views.y1, 2 * u);
    this.y2 = new Float32Array(buffer, views.y2, 2 * u);
    this.h = new Float32Array(buffer, views.h, 2 * u);
    this.h2 = new Float32Array(buffer, views.h2, u);
    this.invH = new Float32Array(buffer, views.invH, 2 * u);
    this.win = new Float32Array(buffer, views.win, winFloats);
    this.pilotVals = new Float64Array(buffer, at.pilotVals, (at.levels - at.pilotVals) >> 3);
    this.sums = new Float64Array(buffer, at.sums, 4);
    this.args = new Float64Array(buffer, DEMOD_ARGS, 16);
    this.frameState = new Float64Array(buffer, at.state, 4);
    this.outView = new Float32Array(buffer, at.out, 2 * u);
    this.snrArrays = { ar: new Float64Array(buffer, views.ar, u), ai: new Float64Array(buffer, views.ai, u), b: new Float64Array(buffer, views.b, u), s: new Float64Array(buffer, views.s, u) };
  }

  /**
   * Kernels for an FFT and a carrier layout (used bins, their subcarrier numbers, each carrier's pilot
   * number or -1), or null where WebAssembly SIMD is missing.
   */
  static create(
    fft: Fft,
    layout: Pick<OfdmLayout, 'usedBin' | 'usedSc' | 'numPilots' | 'pilotPos' | 'numData' | 'dataPos' | 'rxScale' | 'symbolLength'>,
    tables: { pilotIndex: ArrayLike<number>; dataIndex: ArrayLike<number>; ltsFreq: Float32Array; ltsTime: Float32Array; winFloats: number },
  ): DemodKernels | null {
    const { usedBin, usedSc, numPilots, numData, rxScale: scale } = layout;
    const { pilotIndex, dataIndex, winFloats } = tables;
    // a payload's samples: FRAME_SYMBOLS symbols, a window, and slip margins on both sides
    const regionSamples = FRAME_SYMBOLS * layout.symbolLength + fft.size + 2 + 2 * SLIP_MARGIN;
    const wasm = wasmApi();
    if (!wasm) return null;
    try {
      if (compiled === undefined) {
        const bytes = buildModule();
        compiled = null; // stays null if the module does not compile (no WebAssembly SIMD)
        compiled = new wasm.Module(bytes);
      }
      if (compiled === null) return null;
      const n = fft.size;
      const u = usedBin.length;
      let end = 0;
      const take = (bytes: number): number => {
        const o = end;
        end += bytes;
        return o;
      };
      take(128); // the kernels' double inputs at DEMOD_ARGS = 0 (16 f64)
      const at = {
        input: take(region(Math.max(2 * n, winFloats), 4)),
        ltsFreq: take(region(u, 4)),
        ltsTime: take(region(2 * n, 4)),
        fb: take(region(2 * n, 4)),
        out: take(region(2 * u, 4)),
        perm: take(region(n, 4)),
        used: take(region(u, 4)),
        usedSc: take(region(u, 4)),
        pilotIndex: take(region(u, 4)),
        dataIndex: take(region(u, 4)),
        dataPos: take(region(numData, 4)),
        pilotPos: take(region(Math.max(1, numPilots), 4)),
        z: take(region(2 * Math.max(1, numPilots), 8)),
        pn: take(region(127, 8)),
        state: take(region(4, 8)),
        frameY: take(region(2 * u * FRAME_SYMBOLS, 4)),
        frameSrc: take(region(2 * numData * FRAME_SYMBOLS, 4)),
        region: take(region(2 * regionSamples, 4)),
        llrFrame: take(region(8 * numData * FRAME_SYMBOLS, 4)),
        pilotVals: take(region(Math.max(1, numPilots), 8)),
        levels: take(region(16, 4)),
        levels64: take(region(16, 8)),
        levelBits: take(region(16, 4)),
        inv: take(region(8 * numData, 4)),
        llr: take(region(8 * numData, 4)),
        sums: take(region(4, 8)),
        y: take(region(2 * u, 4)),
        src: take(region(2 * numData, 4)),
        xc: take(region(2 * u, 4)),
        tw: take(region(4 * n, 8)),
      };
      const views = {
        sym: take(region(2 * u, 4)),
        y1: take(region(2 * u, 4)),
        y2: take(region(2 * u, 4)),
        h: take(region(2 * u, 4)),
        h2: take(region(u, 4)),
        invH: take(region(2 * u, 4)),
        ar: take(region(u, 8)),
        ai: take(region(u, 8)),
        b: take(region(u, 8)),
        s: take(region(u, 8)),
        win: take(region(winFloats, 4)),
      };
      const memory = new wasm.Memory({ initial: Math.ceil(end / 65536) });
      // Math's own functions: V8 calls imported Math.atan2 / cos / sin as the C functions JavaScript uses
      const instance = new wasm.Instance(compiled, { m: { mem: memory, atan2: Math.atan2, cos: Math.cos, sin: Math.sin } });
      const buffer = memory.buffer;
      new Uint32Array(buffer, at.perm, n).set(fft.rev);
      new Int32Array(buffer, at.used, u).set(Array.from(usedBin));
      new Int32Array(buffer, at.usedSc, u).set(Array.from(usedSc));
      new Int32Array(buffer, at.pilotIndex, u).set(Array.from(pilotIndex));
      new Int32Array(buffer, at.dataIndex, u).set(Array.from(dataIndex));
      new Int32Array(buffer, at.dataPos, numData).set(Array.from(layout.dataPos));
      new Int32Array(buffer, at.pilotPos, numPilots).set(Array.from(layout.pilotPos));
      new Float64Array(buffer, at.pn, 127).set(PN127);
      new Float64Array(buffer, at.tw, 4 * (n - 1)).set(fft.stageTwiddles(-1));
      new Float32Array(buffer, at.ltsFreq, u).set(tables.ltsFreq.subarray(0, u));
      new Float32Array(buffer, at.ltsTime, 2 * n).set(tables.ltsTime.subarray(0, 2 * n));
      const x = instance.exports;
      const fns = {
        fftAt: x['fftAt'] as FftAtFn,
        carriers: x['carriers'] as CarriersFn,
        rotate: x['rotate'] as RotateFn,
        fitKnown: x['fitKnown'] as FitKnownFn,
        addKnown: x['addKnown'] as AddKnownFn,
        llrs: x['llrs'] as LlrsFn,
        derot: x['derot'] as DerotFn,
        cfo: x['cfo'] as CfoFn,
        timing: x['timing'] as TimingFn,
        lagSums: x['lagSums'] as LagSumsFn,
        lts: x['lts'] as LtsFn,
        symbol: x['symbol'] as SymbolFn,
        fitFrame: x['fitFrame'] as FitFrameFn,
        payload: x['payload'] as PayloadFn,
        smooth: x['smooth'] as SmoothFn,
      };
      return new DemodKernels(fns, buffer, n, u, at, views, winFloats, numData, numPilots, scale, regionSamples);
    } catch {
      return null;
    }
  }

  /** Whether `a` is one of this object's arrays (the kernels can work on it in place). */
  owns(a: Float32Array): boolean {
    return a.buffer === this.buffer;
  }

  /**
   * The used carriers of the transform of buf's complex samples from float index `from` (n of them, all
   * inside `buf`), each first rotated by exp(j phase) with (cos, sin) of the phase starting at
   * (args[0], args[1]) and advancing by (args[2], args[3]) per sample, into out[0 .. 2u) (in place when
   * `out` is one of this object's arrays).
   */
  fftAt(buf: Float32Array, from: number, out: Float32Array): void {
    const { n, u, at, f32, args } = this;
    // copied by a loop: a subarray per call would allocate a view object (a few per symbol)
    for (let i = 0, o = at.input >> 2; i < 2 * n; i++) f32[o + i] = buf[from + i]!;
    const inPlace = this.owns(out);
    args[4] = this.scale;
    this.fns.fftAt(n, at.input, at.perm, at.fb, at.tw, at.used, u, inPlace ? out.byteOffset : at.out);
    if (!inPlace) out.set(this.outView);
  }

  /**
   * demodSymbol's carrier pass over `out` (one of this object's arrays) with the pilot values in
   * `pilotVals`, the rotation starting at (args[2], args[3]) = (cos, sin) and stepping by (args[4],
   * args[5]) per subcarrier: returns the weighted sums (sr, si) in the returned array's first two numbers.
   */
  carriers(out: Float32Array, cons: Constellation): Float64Array {
    const { u, at } = this;
    const bpsk = cons.modulation === Modulation.BPSK ? 1 : 0;
    if (!bpsk && cons !== this.levelsOf) {
      this.f32.set(cons.levels32, at.levels >> 2);
      this.levelsOf = cons;
    }
    const args = this.args;
    args[0] = cons.halfInvScale;
    args[1] = cons.halfSpan;
    this.fns.carriers(u, out.byteOffset, at.usedSc, this.invH.byteOffset, this.h2.byteOffset, at.pilotIndex, at.pilotVals, at.levels, bpsk, cons.maxLevel, at.sums);
    return this.sums;
  }

  /**
   * accumulateKnown's first pass over symbol y[yOff ..] (2u values) with the data carriers' references
   * src[srcOff ..] (2 numData values) and the pilot values in `pilotVals`: returns (sr, si, en, ed) in
   * the returned array's first four numbers; the references stay in memory for addKnown.
   */
  fitKnown(y: Float32Array, yOff: number, src: Float32Array, srcOff: number, evmData: number): Float64Array {
    const { u, at, f32 } = this;
    for (let i = 0, o = at.y >> 2; i < 2 * u; i++) f32[o + i] = y[yOff + i]!;
    for (let i = 0, o = at.src >> 2, m = 2 * this.numData; i < m; i++) f32[o + i] = src[srcOff + i]!;
    this.fns.fitKnown(u, at.y, at.src, this.h.byteOffset, at.xc, at.pilotIndex, at.dataIndex, at.pilotVals, evmData, at.sums);
    return this.sums;
  }

  /**
   * decodePayload's symbol loop for a byte payload in one call (demod-wasm-symbol.ts payloadCode): from
   * symbol m0, whose window starts at absolute sample start0 (the current slip included), at most nsym
   * symbols; the samples come from buf (bufStart its first sample's index). args[0..6] and [9] as
   * `symbol` and `llrs` take them (start0 - ref, omega, cos / -sin omega, -, slope, slope rate, -, -,
   * noise variance); the rest is set here. Returns the symbols done; their carriers are frameStored(),
   * their LLRs (deinterleaved, ncbps per symbol) frameLlrs(), and the tracker's slope, slope rate, net slip
   * and slip count results[2..3] and state.
   */
  payload(buf: Float32Array, bufStart: number, start0: number, nsym: number, m0: number, symLen: number, cons: Constellation, inv: Uint32Array): number {
    const { n, u, at, f32, args } = this;
    const avail = bufStart + (buf.length >> 1);
    const r0 = Math.max(bufStart, start0 - 1 - SLIP_MARGIN);
    const r1 = Math.min(avail, start0 + (Math.min(nsym, FRAME_SYMBOLS) - 1) * symLen + n + 1 + SLIP_MARGIN, r0 + this.regionSamples);
    if (r1 <= r0) return 0;
    f32.set(buf.subarray(2 * (r0 - bufStart), 2 * (r1 - bufStart)), at.region >> 2);
    const bpsk = cons.modulation === Modulation.BPSK ? 1 : 0;
    if (!bpsk && cons !== this.levelsOf) {
      f32.set(cons.levels32, at.levels >> 2);
      this.levelsOf = cons;
    }
    const mode = bpsk ? 0 : cons.axisBits === 1 ? 1 : 2;
    if (mode === 2 && cons !== this.levels64Of) {
      new Float64Array(this.buffer, at.levels64, cons.levels.length).set(cons.levels);
      new Int32Array(this.buffer, at.levelBits, cons.levels.length).set(cons.levelBits);
      this.levels64Of = cons;
    }
    if (inv !== this.invOf) {
      new Uint32Array(this.buffer, at.inv, inv.length).set(inv);
      this.invOf = inv;
    }
    args[4] = this.scale;
    args[7] = cons.halfInvScale;
    args[8] = cons.halfSpan;
    args[10] = cons.levels[1] ?? 0;
    return this.fns.payload(
      Math.min(nsym, FRAME_SYMBOLS), m0, at.region, r1 - r0, start0 - r0, symLen,
      n, 0, at.perm, at.fb, at.tw, at.used, u, this.sym.byteOffset, at.usedSc, this.h.byteOffset, at.pilotPos, this.numPilots,
      at.pilotVals, at.z, this.invH.byteOffset, this.h2.byteOffset, at.pilotIndex, at.levels, bpsk, cons.maxLevel, at.sums,
      at.pn, at.frameY, at.llrFrame, inv.length, this.numData, at.dataPos, at.inv, mode, cons.axisBits, at.levels64, at.levelBits, cons.levels.length, at.state,
    );
  }

  /** The payload call's tracker state: slope, slope rate, net slip, slip count. */
  get payloadState(): Float64Array {
    return this.frameState;
  }

  /** The carriers of the first `symbols` symbols of the last payload call (2 u per symbol). */
  frameStored(symbols: number): Float32Array {
    return this.f32.subarray(this.at.frameY >> 2, (this.at.frameY >> 2) + 2 * this.u * symbols);
  }

  /** The LLRs of the last payload call's first `values` bits (ncbps per symbol). */
  frameLlrs(values: number): Float32Array {
    return this.f32.subarray(this.at.llrFrame >> 2, (this.at.llrFrame >> 2) + values);
  }

  /**
   * The SNR fit of a whole proven payload (accumulateKnown for symbols m0 .. m0 + nsym - 1, in order):
   * carriers of symbol m at stored[2 u m ..], references at src[2 numData m ..], data carriers below
   * evmCount - m numData in the EVM, whose sums continue from (evmNum, evmDen) into results[0], [1]; the
   * fit goes into `snr`. `stored` null: the carriers are already in the frame region (the last payload call
   * put every symbol's there). False (nothing done) for a frame of more than FRAME_SYMBOLS symbols.
   */
  fitFrame(stored: Float32Array | null, src: Float32Array, nsym: number, m0: number, evmCount: number, snr: SnrAccumulator, evmNum: number, evmDen: number): boolean {
    if (nsym > FRAME_SYMBOLS) return false;
    const { u, at, f32 } = this;
    const nData = this.numData;
    if (stored !== null) f32.set(stored.subarray(0, 2 * u * nsym), at.frameY >> 2);
    f32.set(src.subarray(0, 2 * nData * nsym), at.frameSrc >> 2);
    const state = this.frameState;
    state[0] = evmNum;
    state[1] = evmDen;
    snr.powerTotals(state, 2);
    const a = this.snrArrays;
    this.fns.fitFrame(
      nsym, at.frameY, at.frameSrc, m0, evmCount, u, nData, this.h.byteOffset, at.xc, at.pilotIndex, at.dataIndex, at.pilotVals, this.numPilots, at.pn,
      a.ar.byteOffset, a.ai.byteOffset, a.b.byteOffset, a.s.byteOffset, at.sums, at.state,
    );
    snr.setKnownSymbols(state[2]!, state[3]!, nsym);
    this.sums[0] = state[0]!;
    this.sums[1] = state[1]!;
    return true;
  }

  /**
   * SnrAccumulator.addSymbolKnown's per-carrier part for the symbol and references of the last fitKnown,
   * rotated by (args[0] + j args[1]), into `snrArrays`: returns (power, known energy) in the first two numbers.
   */
  addKnown(): Float64Array {
    const { u, at } = this;
    const a = this.snrArrays;
    this.fns.addKnown(u, at.y, at.xc, a.ar.byteOffset, a.ai.byteOffset, a.b.byteOffset, a.s.byteOffset, at.sums);
    return this.sums;
  }

  /**
   * symbolLlrs: the bit LLRs of the symbol in `sym` (equalized by invH, noise args[0] / |H|^2, max-log for
   * `cons`) at their deinterleaved positions out[base + inv[i]], i < 2 numData... (ncbps = inv.length).
   */
  llrs(cons: Constellation, out: Float32Array, base: number, inv: Uint32Array): void {
    const { at } = this;
    if (inv !== this.invOf) {
      new Uint32Array(this.buffer, at.inv, inv.length).set(inv);
      this.invOf = inv;
    }
    const mode = cons.modulation === Modulation.BPSK ? 0 : cons.axisBits === 1 ? 1 : 2;
    if (mode === 2 && cons !== this.levels64Of) {
      new Float64Array(this.buffer, at.levels64, cons.levels.length).set(cons.levels);
      new Int32Array(this.buffer, at.levelBits, cons.levels.length).set(cons.levelBits);
      this.levels64Of = cons;
    }
    this.args[1] = cons.levels[1] ?? 0;
    this.fns.llrs(this.numData, this.sym.byteOffset, this.invH.byteOffset, this.h2.byteOffset, at.dataPos, at.inv, mode, cons.axisBits, at.levels64, at.levelBits, cons.levels.length, at.llr);
    const f32 = this.f32;
    for (let i = 0, o = at.llr >> 2; i < inv.length; i++) out[base + i] = f32[o + i]!;
  }

  /** acquire: `count` complex samples of buf from float index `from` into the kernels' input (all inside buf). */
  loadWindow(buf: Float32Array, from: number, count: number): void {
    const f32 = this.f32;
    for (let i = 0, o = this.at.input >> 2; i < 2 * count; i++) f32[o + i] = buf[from + i]!;
  }

  /** acquire's derotate: the loaded samples times exp(j phase) ((cos, sin) = args[0..1] advancing by args[2..3]) into `win`. */
  derotateWindow(count: number): void {
    this.fns.derot(count, this.at.input, this.win.byteOffset);
  }

  /** acquire's integer-CFO search on the n samples of `win` from float index `off`: the best even shift. */
  cfoSearch(off: number, maxShift: number): number {
    const { at } = this;
    return this.fns.cfo(this.n, this.win.byteOffset + 4 * off, at.fb, at.perm, at.tw, at.usedSc, at.ltsFreq, this.u, maxShift);
  }

  /**
   * acquire's fine timing over `count` window starts from float index `off` of `win` (args[0]: the LTS
   * energy): the best start's index (count >> 1 when none beats -1), its normalized metric in results[0].
   */
  fineTiming(off: number, count: number): number {
    return this.fns.timing(count, this.win.byteOffset + 4 * off, this.at.ltsTime, this.n, this.at.sums);
  }

  /** acquire's fine-CFO sums over `count` samples of `win` from float index `off` and n later: in sums 0, 1. */
  lagSums(off: number, count: number): Float64Array {
    this.fns.lagSums(count, this.win.byteOffset + 4 * off, this.n, this.at.sums);
    return this.sums;
  }

  /** decodeHeader's smoothChannel and ZF taps (h, h2, invH; `sym` as scratch), demod-wasm-fit.ts smoothCode. */
  smoothAndTaps(): void {
    this.fns.smooth(this.u, this.h.byteOffset, this.h2.byteOffset, this.invH.byteOffset, this.at.usedSc, this.sym.byteOffset);
  }

  /**
   * decodeHeader's channel estimate from y1 and y2 into h and h2, both LTS copies into the SNR fit's
   * per-carrier sums: returns (sum |y1 - y2|^2, their power, their known energy) in the first three numbers.
   */
  ltsEstimate(): Float64Array {
    const a = this.snrArrays;
    this.fns.lts(this.u, this.y1.byteOffset, this.y2.byteOffset, this.at.ltsFreq, this.h.byteOffset, this.h2.byteOffset, a.ar.byteOffset, a.ai.byteOffset, a.b.byteOffset, a.s.byteOffset, this.at.sums);
    return this.sums;
  }

  /**
   * demodSymbol in one call (demod-wasm-symbol.ts) into `out` (one of this object's arrays), the pilot
   * values in `pilotVals`: the n + 2 samples of buf from float index `from` (one before the window start)
   * are copied in; args[0..6] = start - ref, omega, cos omega, -sin omega, (the scale, set here), slope,
   * slope rate. Returns the window slip (-1, 0, 1); the new slope and slope rate are results[2], [3].
   */
  symbol(buf: Float32Array, from: number, out: Float32Array, cons: Constellation): number {
    const { n, u, at, f32, args } = this;
    for (let i = 0, o = at.input >> 2, m = 2 * (n + 2); i < m; i++) f32[o + i] = buf[from + i]!;
    const bpsk = cons.modulation === Modulation.BPSK ? 1 : 0;
    if (!bpsk && cons !== this.levelsOf) {
      f32.set(cons.levels32, at.levels >> 2);
      this.levelsOf = cons;
    }
    args[4] = this.scale;
    args[7] = cons.halfInvScale;
    args[8] = cons.halfSpan;
    return this.fns.symbol(
      n, at.input, at.perm, at.fb, at.tw, at.used, u, out.byteOffset, at.usedSc, this.h.byteOffset, at.pilotPos, this.numPilots,
      at.pilotVals, at.z, this.invH.byteOffset, this.h2.byteOffset, at.pilotIndex, at.levels, bpsk, cons.maxLevel, at.sums,
    );
  }

  /** Every carrier of `out` (one of this object's arrays) times (args[0] + j args[1]). */
  rotate(out: Float32Array): void {
    this.fns.rotate(this.u, out.byteOffset);
  }
}
