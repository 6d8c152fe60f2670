/**
 * Frame plan shared by transmitter and receiver: training sequences, pilot polarities, and how many OFDM
 * symbols a payload takes. A frame is
 *
 *   [STS: cp + stsRepeats x N/2]  Schmidl-Cox symbol (even carriers only, so it repeats every N/2)
 *   [LTS: 2cp guard + 2 x N]      two copies of the long training symbol (all used carriers, BPSK)
 *   [header: H x (cp + N)]        BPSK rate 1/2 + CRC-16, pilots included
 *   [payload: P x (cp + N)]       data carriers + pilots
 */
import { Fft } from './fft.js';
import type { OfdmLayout } from './params.js';
import { Constellation, Modulation, constellation } from './constellation.js';
import { CodeRate, codedLength } from './convcode.js';
import { PayloadKind } from './header.js';

/** +-1 PN sequence of length 127 (x^7 + x^4 + 1, all-ones seed), reused for training and pilots. */
export const PN127 = (() => {
  const t = new Int8Array(127);
  let s = 0x7f;
  for (let i = 0; i < 127; i++) {
    const fb = ((s >> 6) ^ (s >> 3)) & 1;
    s = ((s << 1) | fb) & 0x7f;
    t[i] = fb ? -1 : 1;
  }
  return t;
})();

/** Pilot value (real, +-1) on pilot `j` of OFDM symbol `m` (m counts from the first header symbol). */
export function pilotValue(layout: OfdmLayout, m: number, j: number): number {
  return PN127[(m * layout.numPilots + j * 5 + 3) % 127]!;
}

export interface Training {
  /** Frequency-domain LTS values per used carrier (+-1). */
  ltsFreq: Float32Array;
  /** Time-domain LTS body (N samples, interleaved). */
  ltsTime: Float32Array;
  /** Time-domain STS section (stsLength samples) and LTS section (ltsLength samples). */
  stsSection: Float32Array;
  ltsSection: Float32Array;
  /** Energy of ltsTime (sum |x|^2). */
  ltsEnergy: number;
}

const trainingCache = new Map<string, Training>();

export function training(layout: OfdmLayout): Training {
  const key = `${layout.fftSize}/${layout.cpLength}/${layout.numUsed}/${layout.params.stsRepeats}`;
  const hit = trainingCache.get(key);
  if (hit) return hit;
  const n = layout.fftSize;
  const fft = new Fft(n);
  // STS: QPSK PN on even carriers, boosted by sqrt(2) so the symbol keeps unit mean power.
  const sts = new Float32Array(2 * n);
  for (let i = 0; i < layout.numUsed; i++) {
    const k = layout.usedSc[i]!;
    if (k % 2 !== 0) continue;
    const a = PN127[(i * 3) % 127]!;
    const b = PN127[(i * 3 + 1) % 127]!;
    sts[2 * layout.usedBin[i]!] = a;
    sts[2 * layout.usedBin[i]! + 1] = b;
  }
  fft.inverse(sts);
  for (let i = 0; i < 2 * n; i++) sts[i] = sts[i]! * layout.txScale;
  const half = n >> 1;
  const stsSection = new Float32Array(2 * layout.stsLength);
  for (let i = 0; i < layout.stsLength; i++) {
    const src = (((i - layout.cpLength) % half) + half) % half;
    stsSection[2 * i] = sts[2 * src]!;
    stsSection[2 * i + 1] = sts[2 * src + 1]!;
  }
  // LTS: BPSK PN on all used carriers.
  const ltsFreq = new Float32Array(layout.numUsed);
  const lts = new Float32Array(2 * n);
  for (let i = 0; i < layout.numUsed; i++) {
    const v = PN127[(i * 7 + 11) % 127]!;
    ltsFreq[i] = v;
    lts[2 * layout.usedBin[i]!] = v;
  }
  fft.inverse(lts);
  let energy = 0;
  for (let i = 0; i < 2 * n; i++) {
    lts[i] = lts[i]! * layout.txScale;
    energy += lts[i]! * lts[i]!;
  }
  const ltsSection = new Float32Array(2 * layout.ltsLength);
  for (let i = 0; i < layout.ltsLength; i++) {
    const src = (((i - layout.ltsGuard) % n) + n) % n;
    ltsSection[2 * i] = lts[2 * src]!;
    ltsSection[2 * i + 1] = lts[2 * src + 1]!;
  }
  const t: Training = { ltsFreq, ltsTime: lts, stsSection, ltsSection, ltsEnergy: energy };
  trainingCache.set(key, t);
  return t;
}

export interface PayloadPlan {
  kind: PayloadKind;
  modulation: Modulation;
  codeRate: CodeRate;
  /** Bytes (kind Bytes) or complex symbols (kind Symbols). */
  length: number;
  numSymbols: number;
  /** Bytes only: information bits, coded bits after puncturing, coded bits per OFDM symbol. */
  infoBits: number;
  codedBits: number;
  ncbps: number;
  constellation: Constellation;
}

export function planPayload(layout: OfdmLayout, kind: PayloadKind, modulation: Modulation, codeRate: CodeRate, length: number): PayloadPlan {
  const c = constellation(modulation);
  if (kind === PayloadKind.Bytes) {
    const infoBits = 8 * length;
    const codedBits = codedLength(infoBits, codeRate);
    const ncbps = layout.numData * c.bitsPerSymbol;
    return { kind, modulation, codeRate, length, numSymbols: Math.ceil(codedBits / ncbps), infoBits, codedBits, ncbps, constellation: c };
  }
  return { kind, modulation, codeRate, length, numSymbols: Math.ceil(length / layout.numData), infoBits: 0, codedBits: 0, ncbps: 0, constellation: c };
}

/** Total frame length in samples. */
export function frameLength(layout: OfdmLayout, plan: PayloadPlan): number {
  return layout.preambleLength + (layout.headerSymbols + plan.numSymbols) * layout.symbolLength;
}

/** Filler for unused data carriers of the last symbol of a symbols frame: PN QPSK, unit energy. */
export function fillerPoint(i: number): [number, number] {
  const s = Math.SQRT1_2;
  return [PN127[i % 127]! * s, PN127[(i + 40) % 127]! * s];
}

/** Scrambler seed for a frame (varies with the sequence number so repeated payloads look different). */
export function scramblerSeed(sequence: number): number {
  return (sequence % 127) + 1;
}
