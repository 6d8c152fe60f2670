/**
 * The receiver's re-encoding of a proven payload (payloadPointsFromScrambledBits: convolutional encoding
 * and puncturing, the scrambled pad, interleaving and mapping to constellation points) as one
 * WebAssembly function: integer work on one bit per byte, points copied as float32 bit patterns, so the
 * points are exactly the JavaScript's (reencode-wasm.test.ts). In JavaScript it was about 4 % of the
 * receive loop and its largest optimizing compile.
 *
 * points(nb, total, ncbps, bps, period, bits, coded, out, inv, pts, mask, outTable): encode the nb bits
 * (+ 6 tail zeros) with the puncturing `mask` (period entries) into coded[0 .. n), fill coded[n .. total)
 * with the pad scrambler (seed 0x2b), then map symbol by symbol: point index from bps coded bits taken
 * through the deinterleaver `inv`, out = pts[index] (complex float32).
 */
import {
  BLOCK,
  BR,
  BR_IF,
  ELSE,
  END,
  I32_ADD,
  I32_AND,
  I32_EQ,
  I32_LOAD,
  I32_LT_S,
  I32_OR,
  I32_SHL,
  I32_SHR_S,
  I32_STORE8,
  I32_XOR,
  IF,
  LOCAL_TEE,
  LOOP,
  VOID,
  emitter,
  section,
  wasmName,
  functionCode,
  wasmApi,
} from './wasm-emit.js';
import { encoderOutputs, punctureMask, TAIL_BITS, type CodeRate } from './convcode.js';
import { interleaverInverse } from './bits.js';
import type { PayloadPlan } from './framing.js';

const I32_LOAD8_U = 0x2d;
const I64_LOAD = 0x29;
const I64_STORE = 0x37;

function pointsCode(): number[] {
  const e = emitter();
  const { op, get, set, i32, mem } = e;
  const NB = 0, TOTAL = 1, NCBPS = 2, BPS = 3, PERIOD = 4, BITS = 5, CODED = 6, OUT = 7, INV = 8, PTS = 9, MASK = 10, OUT_TABLE = 11;
  const I = 12, ST = 13, M = 14, O = 15, REG = 16, PAIR = 17, S = 18, FB = 19, P = 20, IDX = 21, B = 22;
  const load8 = (base: number, index: () => void): void => {
    get(base);
    index();
    op(I32_ADD, I32_LOAD8_U, ...mem(0, 0));
  };
  // one punctured output: if mask[m]: coded[o++] = bit; m = (m + 1) % period
  const emitBit = (bit: () => void): void => {
    load8(MASK, () => get(M));
    op(IF, VOID);
    get(CODED);
    get(O);
    op(I32_ADD);
    bit();
    op(I32_STORE8, ...mem(0, 0));
    get(O);
    i32(1);
    op(I32_ADD);
    set(O);
    op(END);
    get(M);
    i32(1);
    op(I32_ADD);
    op(LOCAL_TEE, M);
    get(PERIOD);
    op(I32_EQ, IF, VOID);
    i32(0);
    set(M);
    op(END);
  };
  // 1. encode
  for (const l of [I, ST, M, O]) {
    i32(0);
    set(l);
  }
  op(LOOP, VOID);
  // reg = (st << 1) | (i < nb ? bits[i] & 1 : 0)
  get(ST);
  i32(1);
  op(I32_SHL);
  get(I);
  get(NB);
  op(I32_LT_S, IF, 0x7f);
  load8(BITS, () => get(I));
  i32(1);
  op(I32_AND, ELSE);
  i32(0);
  op(END, I32_OR);
  op(LOCAL_TEE, REG);
  get(OUT_TABLE);
  op(I32_ADD, I32_LOAD8_U, ...mem(0, 0));
  set(PAIR);
  emitBit(() => {
    get(PAIR);
    i32(1);
    op(I32_SHR_S);
  });
  emitBit(() => {
    get(PAIR);
    i32(1);
    op(I32_AND);
  });
  get(REG);
  i32(63);
  op(I32_AND);
  set(ST);
  get(I);
  i32(1);
  op(I32_ADD);
  op(LOCAL_TEE, I);
  get(NB);
  i32(TAIL_BITS);
  op(I32_ADD, I32_LT_S, BR_IF, 0, END);
  // 2. the pad: the scrambler's sequence from seed 0x2b (scramble() over zeros)
  i32(0x2b);
  set(S);
  op(BLOCK, VOID, LOOP, VOID);
  get(O);
  get(TOTAL);
  op(I32_LT_S);
  op(IF, VOID, ELSE, BR, 2, END);
  // fb = ((s >> 6) ^ (s >> 3)) & 1; s = ((s << 1) | fb) & 0x7f
  get(S);
  i32(6);
  op(I32_SHR_S);
  get(S);
  i32(3);
  op(I32_SHR_S, I32_XOR);
  i32(1);
  op(I32_AND);
  set(FB);
  get(S);
  i32(1);
  op(I32_SHL);
  get(FB);
  op(I32_OR);
  i32(0x7f);
  op(I32_AND);
  set(S);
  get(CODED);
  get(O);
  op(I32_ADD);
  get(FB);
  op(I32_STORE8, ...mem(0, 0));
  get(O);
  i32(1);
  op(I32_ADD);
  set(O);
  op(BR, 0, END, END);
  // 3. map: every bps deinterleaved bits of each symbol to a point
  i32(0);
  set(S); // symbol start
  get(OUT);
  set(O);
  op(BLOCK, VOID);
  get(TOTAL);
  i32(1);
  op(I32_LT_S, BR_IF, 0);
  op(LOOP, VOID); // symbols
  i32(0);
  set(P);
  op(LOOP, VOID); // points
  i32(0);
  set(IDX);
  i32(0);
  set(B);
  op(LOOP, VOID); // bits
  get(IDX);
  i32(1);
  op(I32_SHL);
  get(CODED);
  get(S);
  get(INV);
  get(P);
  get(B);
  op(I32_ADD);
  i32(2);
  op(I32_SHL, I32_ADD, I32_LOAD, ...mem(2, 0));
  op(I32_ADD, I32_ADD, I32_LOAD8_U, ...mem(0, 0));
  i32(1);
  op(I32_AND, I32_OR);
  set(IDX);
  e.nextWhileLess(B, BPS);
  get(O);
  get(PTS);
  get(IDX);
  i32(3);
  op(I32_SHL, I32_ADD, I64_LOAD, ...mem(2, 0), I64_STORE, ...mem(2, 0));
  get(O);
  i32(8);
  op(I32_ADD);
  set(O);
  get(P);
  get(BPS);
  op(I32_ADD);
  op(LOCAL_TEE, P);
  get(NCBPS);
  op(I32_LT_S, BR_IF, 0, END);
  get(S);
  get(NCBPS);
  op(I32_ADD);
  op(LOCAL_TEE, S);
  get(TOTAL);
  op(I32_LT_S, BR_IF, 0, END, END);
  op(END);
  return functionCode([1, 11, 0x7f], e.c);
}

function buildModule(): Uint8Array {
  const name = wasmName;
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 12, ...new Array(12).fill(0x7f), 0]),
    ...section(2, [1, ...name('m'), ...name('mem'), 0x02, 0x00, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('points'), 0x00, 0]),
    ...section(10, [1, ...pointsCode()]),
  ]);
}

type PointsFn = (nb: number, total: number, ncbps: number, bps: number, period: number, bits: number, coded: number, out: number, inv: number, pts: number, mask: number, outTable: number) => void;

let compiled: object | null | undefined;

/** Fixed regions: the encoder's output table, the puncturing mask, the constellation's points (256-QAM at most). */
const OUT_TABLE = 0;
const MASK = 128;
const PTS = 256;
const VARIABLE = PTS + 8 * 256;

/** payloadPointsFromScrambledBits in WebAssembly (one per demodulator; its memory grows to the largest frame). */
export class PointEncoder {
  private u8: Uint8Array;
  private f32: Float32Array;
  private ptsOf: Float32Array | null = null;

  private constructor(
    private readonly fn: PointsFn,
    private readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number },
  ) {
    this.u8 = new Uint8Array(memory.buffer);
    this.f32 = new Float32Array(memory.buffer);
    this.u8.set(encoderOutputs(), OUT_TABLE);
  }

  /** The encoder, or null where WebAssembly is unavailable. */
  static create(): PointEncoder | null {
    const wasm = wasmApi();
    if (!wasm) return null;
    try {
      if (compiled === undefined) {
        const bytes = buildModule();
        compiled = null; // stays null if the module does not compile (no WebAssembly SIMD)
        compiled = new wasm.Module(bytes);
      }
      if (compiled === null) return null;
      const memory = new wasm.Memory({ initial: 1 });
      const instance = new wasm.Instance(compiled, { m: { mem: memory } });
      return new PointEncoder(instance.exports['points'] as PointsFn, memory);
    } catch {
      return null;
    }
  }

  /** The same points as payloadPointsFromScrambledBits(plan, scrambledBits, out, ...). */
  encode(plan: PayloadPlan, scrambledBits: Uint8Array, out: Float32Array): void {
    const nb = scrambledBits.length;
    const ncbps = plan.ncbps;
    const bps = plan.constellation.bitsPerSymbol;
    const total = plan.numSymbols * ncbps;
    const nRe = total / bps;
    // variable regions: deinterleaver (u32), bits, coded bits, points
    const inv = interleaverInverse(ncbps, bps);
    const atInv = VARIABLE;
    const atBits = atInv + 4 * ncbps;
    const atCoded = (atBits + nb + 7) & ~7;
    const atOut = (atCoded + total + 7) & ~7;
    const need = atOut + 8 * nRe;
    if (need > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((need - this.memory.buffer.byteLength) / 65536));
      this.u8 = new Uint8Array(this.memory.buffer);
      this.f32 = new Float32Array(this.memory.buffer);
      this.ptsOf = null;
    }
    const pts = plan.constellation.points;
    if (pts !== this.ptsOf) {
      this.f32.set(pts, PTS >> 2);
      this.ptsOf = pts;
    }
    new Uint32Array(this.memory.buffer, atInv, ncbps).set(inv);
    const mask = punctureMask(plan.codeRate as CodeRate);
    this.u8.set(mask, MASK);
    this.u8.set(scrambledBits, atBits);
    this.fn(nb, total, ncbps, bps, mask.length, atBits, atCoded, atOut, atInv, PTS, MASK, OUT_TABLE);
    out.set(this.f32.subarray(atOut >> 2, (atOut >> 2) + 2 * nRe));
  }
}
