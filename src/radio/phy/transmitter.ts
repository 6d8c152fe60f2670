/**
 * Burst OFDM transmitter: turns bytes (FEC + CRC) or already-quantized JSCC symbols into one frame of
 * complex baseband (interleaved Float32Array, unit mean power during the frame, no leading/trailing gap).
 */
import { Fft } from './fft.js';
import { OfdmLayout, OfdmParams, makeLayout, HEADER_BYTES } from './params.js';
import { Constellation, Modulation, constellation } from './constellation.js';
import { CodeRate, codedLength, convEncode } from './convcode.js';
import { bytesToBits, interleaverInverse, interleaverPermutation, scramble } from './bits.js';
import { crc32 } from './crc.js';
import { FrameHeader, PayloadKind, packHeader } from './header.js';
import { PayloadPlan, fillerPoint, frameLength, pilotValue, planPayload, scramblerSeed, training } from './framing.js';
import { PhyPayloadError } from './errors.js';

export interface TxFrameOptions {
  /** Constellation of the payload (bytes: the mapping; symbols: the constellation the points come from). */
  modulation?: Modulation;
  /** FEC rate for byte payloads (ignored for symbols). */
  codeRate?: CodeRate;
  sessionId?: number;
  sequence?: number;
  /** Application frame type, 0..15. */
  frameType?: number;
}

/**
 * Reusable work buffers for re-encoding on the receive side (the receiver re-encodes every decoded header
 * and payload for its data-aided SNR fit; fresh typed arrays per frame cost measurable GC time).
 * Buffers grow on demand and are then reused; a view returned by `get` is valid until the next `get(i)`.
 */
export class EncodeScratch {
  private readonly bufs: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
  get(i: 0 | 1 | 2, n: number): Uint8Array {
    if (this.bufs[i]!.length < n) this.bufs[i] = new Uint8Array(2 * n);
    return this.bufs[i]!.subarray(0, n);
  }
}

/** Encodes the header's bits: CRC-16 inside, K=7 rate 1/2, padded to whole symbols, interleaved per symbol. */
export function headerCodedBits(layout: OfdmLayout, headerBytes: Uint8Array, scratch?: EncodeScratch): Uint8Array {
  const nb = HEADER_BYTES * 8;
  const bits = bytesToBits(headerBytes.subarray(0, HEADER_BYTES), scratch ? scratch.get(0, nb) : new Uint8Array(nb));
  const total = layout.headerSymbols * layout.numData;
  const padded = scratch ? scratch.get(1, total) : new Uint8Array(total);
  const n = codedLength(nb, CodeRate.R1_2);
  convEncode(bits, CodeRate.R1_2, padded.subarray(0, n));
  padded.fill(0, n);
  return interleaveSymbols(padded, layout.numData, 1, scratch ? scratch.get(2, total) : new Uint8Array(total));
}

/** Per-OFDM-symbol interleaving of a padded coded stream. */
export function interleaveSymbols(bits: Uint8Array, ncbps: number, bps: number, out: Uint8Array = new Uint8Array(bits.length)): Uint8Array {
  const perm = interleaverPermutation(ncbps, bps);
  for (let s = 0; s + ncbps <= bits.length; s += ncbps) {
    for (let i = 0; i < ncbps; i++) out[s + perm[i]!] = bits[s + i]!;
  }
  return out;
}

/** Coded, scrambled, padded and interleaved bits of a byte payload. */
export function payloadCodedBits(plan: PayloadPlan, payload: Uint8Array, sequence: number, scratch?: EncodeScratch): Uint8Array {
  const nb = payload.length * 8;
  const bits = bytesToBits(payload, scratch ? scratch.get(0, nb) : new Uint8Array(nb));
  scramble(bits, scramblerSeed(sequence));
  const total = plan.numSymbols * plan.ncbps;
  const padded = scratch ? scratch.get(1, total) : new Uint8Array(total);
  const n = codedLength(nb, plan.codeRate);
  convEncode(bits, plan.codeRate, padded.subarray(0, n));
  padded.fill(0, n);
  // Pad bits pseudo-random too, so the last symbol keeps unit average energy.
  scramble(padded.subarray(n), 0x2b);
  return interleaveSymbols(padded, plan.ncbps, plan.constellation.bitsPerSymbol, scratch ? scratch.get(2, total) : new Uint8Array(total));
}

/**
 * The payload's transmitted points from its *scrambled* information bits (what the receiver's Viterbi
 * decoder returns before descrambling), into out[0 .. 2 numSymbols numData): the same values as
 * plan.constellation.mapBits(payloadCodedBits(plan, payload, sequence), 0, numSymbols numData, out, 0)
 * for the payload those bits descramble to, without unpacking the bytes and scrambling them again, and
 * with the interleaver and the mapper in one pass (no interleaved copy of the coded bits).
 */
export function payloadPointsFromScrambledBits(plan: PayloadPlan, scrambledBits: Uint8Array, out: Float32Array, scratch: EncodeScratch): void {
  const nb = scrambledBits.length;
  const ncbps = plan.ncbps;
  const total = plan.numSymbols * ncbps;
  const padded = scratch.get(1, total);
  const n = codedLength(nb, plan.codeRate);
  convEncode(scrambledBits, plan.codeRate, padded.subarray(0, n));
  padded.fill(0, n);
  scramble(padded.subarray(n), 0x2b);
  const c = plan.constellation;
  const bps = c.bitsPerSymbol;
  const inv = interleaverInverse(ncbps, bps);
  const pts = c.points;
  let o = 0;
  for (let s = 0; s < total; s += ncbps) {
    for (let p = 0; p < ncbps; p += bps) {
      let idx = 0;
      for (let b = 0; b < bps; b++) idx = (idx << 1) | (padded[s + inv[p + b]!]! & 1);
      out[o] = pts[2 * idx]!;
      out[o + 1] = pts[2 * idx + 1]!;
      o += 2;
    }
  }
}

/** Constellation indices of points (the symbol frame's CRC is over these). */
export function symbolIndices(points: Float32Array, c: Constellation, out = new Uint8Array(points.length >> 1)): Uint8Array {
  for (let i = 0; i < out.length; i++) out[i] = c.nearestIndex(points[2 * i]!, points[2 * i + 1]!);
  return out;
}

export class OfdmModulator {
  readonly layout: OfdmLayout;
  private readonly fft: Fft;
  private readonly work: Float32Array;

  constructor(params: Partial<OfdmParams> | OfdmLayout = {}) {
    this.layout = 'usedSc' in params ? (params as OfdmLayout) : makeLayout(params as Partial<OfdmParams>);
    this.fft = new Fft(this.layout.fftSize);
    this.work = new Float32Array(2 * this.layout.fftSize);
  }

  /** A frame carrying bytes with FEC; the header carries their CRC-32. */
  modulateBytes(payload: Uint8Array, opts: TxFrameOptions = {}): Float32Array {
    const modulation = opts.modulation ?? Modulation.QPSK;
    const codeRate = opts.codeRate ?? CodeRate.R1_2;
    this.checkLength(payload.length);
    const plan = planPayload(this.layout, PayloadKind.Bytes, modulation, codeRate, payload.length);
    const header = this.header(opts, PayloadKind.Bytes, modulation, codeRate, payload.length, crc32(payload));
    const points = new Float32Array(2 * plan.numSymbols * this.layout.numData);
    const bits = payloadCodedBits(plan, payload, header.sequence);
    plan.constellation.mapBits(bits, 0, plan.numSymbols * this.layout.numData, points, 0);
    return this.assemble(header, plan, points);
  }

  /**
   * A frame carrying JSCC symbols: complex points (interleaved) already quantized to `modulation`'s
   * constellation (unit average energy expected), placed on the data carriers as they are, in order,
   * symbol after symbol. The header carries a CRC-32 of their constellation indices.
   */
  modulateSymbols(points: Float32Array, opts: TxFrameOptions = {}): Float32Array {
    const modulation = opts.modulation ?? Modulation.QPSK;
    if (points.length % 2 !== 0) throw new PhyPayloadError(`symbols must be interleaved complex values (even length), got ${points.length} floats`);
    const count = points.length >> 1;
    this.checkLength(count);
    for (let i = 0; i < points.length; i++) {
      if (!Number.isFinite(points[i]!)) throw new PhyPayloadError(`symbol ${i >> 1} is not finite (${points[i]})`);
    }
    const plan = planPayload(this.layout, PayloadKind.Symbols, modulation, CodeRate.R1_2, count);
    const c = constellation(modulation);
    const header = this.header(opts, PayloadKind.Symbols, modulation, CodeRate.R1_2, count, crc32(symbolIndices(points, c)));
    const all = new Float32Array(2 * plan.numSymbols * this.layout.numData);
    all.set(points);
    for (let i = count; i < all.length >> 1; i++) {
      const [re, im] = fillerPoint(i);
      all[2 * i] = re;
      all[2 * i + 1] = im;
    }
    return this.assemble(header, plan, all);
  }

  private checkLength(n: number): void {
    const max = Math.min(0xffffff, this.layout.params.maxPayloadLength);
    if (n > max) throw new PhyPayloadError(`payload of ${n} exceeds the frame limit of ${max}; split it into several frames`);
  }

  private header(o: TxFrameOptions, kind: PayloadKind, modulation: Modulation, codeRate: CodeRate, length: number, crc: number): FrameHeader {
    const frameType = o.frameType ?? 0;
    const sessionId = o.sessionId ?? 0;
    const sequence = o.sequence ?? 0;
    if (!Number.isInteger(frameType) || frameType < 0 || frameType > 15) throw new PhyPayloadError(`frameType must be 0..15, got ${frameType}`);
    if (!Number.isInteger(sessionId) || sessionId < 0 || sessionId > 0xffff) throw new PhyPayloadError(`sessionId must be 0..65535, got ${sessionId}`);
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > 0xffff) throw new PhyPayloadError(`sequence must be 0..65535, got ${sequence}`);
    if (!(modulation >= Modulation.BPSK && modulation <= Modulation.QAM256)) throw new PhyPayloadError(`unknown modulation ${modulation}`);
    if (!(codeRate >= CodeRate.R1_2 && codeRate <= CodeRate.R5_6)) throw new PhyPayloadError(`unknown code rate ${codeRate}`);
    return { frameType, payloadKind: kind, modulation, codeRate, sessionId, sequence, payloadLength: length, payloadCrc32: crc };
  }

  /** Writes preamble, header and payload symbols; `points` holds numSymbols x numData data-carrier values. */
  private assemble(header: FrameHeader, plan: PayloadPlan, points: Float32Array): Float32Array {
    const L = this.layout;
    const tr = training(L);
    const out = new Float32Array(2 * frameLength(L, plan));
    out.set(tr.stsSection, 0);
    out.set(tr.ltsSection, 2 * L.stsLength);
    let pos = L.preambleLength;
    const hdrBits = headerCodedBits(L, packHeader(header));
    const hdrPoints = new Float32Array(2 * L.numData);
    const bpsk = constellation(Modulation.BPSK);
    for (let m = 0; m < L.headerSymbols; m++) {
      bpsk.mapBits(hdrBits, m * L.numData, L.numData, hdrPoints, 0);
      this.writeSymbol(out, pos, m, hdrPoints, 0);
      pos += L.symbolLength;
    }
    for (let m = 0; m < plan.numSymbols; m++) {
      this.writeSymbol(out, pos, L.headerSymbols + m, points, m * L.numData);
      pos += L.symbolLength;
    }
    return out;
  }

  private writeSymbol(out: Float32Array, pos: number, m: number, data: Float32Array, dataOffset: number): void {
    const L = this.layout;
    const w = this.work;
    w.fill(0);
    for (let j = 0; j < L.numPilots; j++) {
      w[2 * L.usedBin[L.pilotPos[j]!]!] = pilotValue(L, m, j);
    }
    for (let d = 0; d < L.numData; d++) {
      const bin = L.usedBin[L.dataPos[d]!]!;
      w[2 * bin] = data[2 * (dataOffset + d)]!;
      w[2 * bin + 1] = data[2 * (dataOffset + d) + 1]!;
    }
    this.fft.inverse(w);
    const n = L.fftSize;
    const cp = L.cpLength;
    const s = L.txScale;
    for (let i = 0; i < n; i++) {
      out[2 * (pos + cp + i)] = w[2 * i]! * s;
      out[2 * (pos + cp + i) + 1] = w[2 * i + 1]! * s;
    }
    for (let i = 0; i < cp; i++) {
      out[2 * (pos + i)] = w[2 * (n - cp + i)]! * s;
      out[2 * (pos + i) + 1] = w[2 * (n - cp + i) + 1]! * s;
    }
  }
}
