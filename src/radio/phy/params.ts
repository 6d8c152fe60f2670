/**
 * Modem parameters and the derived OFDM layout (which FFT bins carry data, pilots, nothing).
 * Everything else in the PHY takes an `OfdmLayout`, so the numerology lives in exactly one place.
 */
import { PhyConfigError } from './errors.js';
import { isPowerOfTwo } from './fft.js';

export interface OfdmParams {
  /** Complex sample rate; only used to express CFO in Hz and to bound the CFO search (1..20 Msps typical). */
  sampleRateHz: number;
  /** FFT size, power of two, 16..4096. */
  fftSize: number;
  /** Cyclic prefix length in samples (>= 1, <= fftSize / 2). */
  cpLength: number;
  /** Occupied subcarriers excluding DC (even). Default: 52/64 of the FFT, as 802.11a. */
  usedSubcarriers: number;
  /** Pilot subcarriers (even). Default: one per ~13 used subcarriers, at least 4. */
  pilotSubcarriers: number;
  /** Number of N/2-periods in the Schmidl-Cox synchronization symbol (>= 2); more = better detection at low SNR. */
  stsRepeats: number;
  /** Largest carrier frequency offset the receiver searches for (Hz). */
  maxCfoHz: number;
  /** Largest payload (bytes, or complex symbols) a receiver accepts; bounds memory and waiting. */
  maxPayloadLength: number;
}

export const DEFAULT_OFDM_PARAMS: Readonly<OfdmParams> = Object.freeze({
  sampleRateHz: 2_000_000,
  fftSize: 64,
  cpLength: 16,
  usedSubcarriers: 52,
  pilotSubcarriers: 4,
  stsRepeats: 4,
  maxCfoHz: 150_000,
  maxPayloadLength: 1 << 20,
});

/** Fill in defaults; derived defaults (used and pilot carriers) follow the FFT size when not given. */
export function resolveParams(p: Partial<OfdmParams> = {}): OfdmParams {
  const fftSize = p.fftSize ?? DEFAULT_OFDM_PARAMS.fftSize;
  const usedDefault = 2 * Math.floor((26 * fftSize) / 64);
  const used = p.usedSubcarriers ?? usedDefault;
  const pilotDefault = Math.max(4, 2 * Math.round(used / 2 / 13));
  return {
    sampleRateHz: p.sampleRateHz ?? DEFAULT_OFDM_PARAMS.sampleRateHz,
    fftSize,
    cpLength: p.cpLength ?? Math.max(1, fftSize >> 2),
    usedSubcarriers: used,
    pilotSubcarriers: p.pilotSubcarriers ?? pilotDefault,
    stsRepeats: p.stsRepeats ?? DEFAULT_OFDM_PARAMS.stsRepeats,
    maxCfoHz: p.maxCfoHz ?? DEFAULT_OFDM_PARAMS.maxCfoHz,
    maxPayloadLength: p.maxPayloadLength ?? DEFAULT_OFDM_PARAMS.maxPayloadLength,
  };
}

export interface OfdmLayout {
  readonly params: OfdmParams;
  readonly fftSize: number;
  readonly cpLength: number;
  /** cp + fft */
  readonly symbolLength: number;
  readonly numUsed: number;
  readonly numPilots: number;
  readonly numData: number;
  /** Signed subcarrier index of each used carrier, ascending (-K..-1, 1..K). */
  readonly usedSc: Int32Array;
  /** FFT bin of each used carrier. */
  readonly usedBin: Int32Array;
  /** Positions (into the used list) of pilots and data carriers. */
  readonly pilotPos: Int32Array;
  readonly dataPos: Int32Array;
  /** 1 where used position is a pilot. */
  readonly isPilot: Uint8Array;
  /** Subcarrier spacing in Hz. */
  readonly subcarrierSpacingHz: number;
  /** Time-domain scale so that an OFDM symbol with unit-energy carriers has unit mean sample power. */
  readonly txScale: number;
  /** Receive scale: FFT output times this gives back unit-energy carriers. */
  readonly rxScale: number;
  /** Samples of the synchronization symbol (Schmidl-Cox, with cyclic prefix) and of the long training part. */
  readonly stsLength: number;
  readonly ltsGuard: number;
  readonly ltsLength: number;
  /** Header OFDM symbols (BPSK, rate 1/2). */
  readonly headerSymbols: number;
  /** Samples from frame start to the first header symbol. */
  readonly preambleLength: number;
}

export const HEADER_BYTES = 15;

export function makeLayout(partial: Partial<OfdmParams> = {}): OfdmLayout {
  const p = resolveParams(partial);
  const n = p.fftSize;
  if (!isPowerOfTwo(n) || n < 16 || n > 4096) throw new PhyConfigError(`fftSize must be a power of two in 16..4096, got ${n}`);
  if (!Number.isInteger(p.cpLength) || p.cpLength < 1 || p.cpLength > n / 2) {
    throw new PhyConfigError(`cpLength must be an integer in 1..${n / 2} for fftSize ${n}, got ${p.cpLength}`);
  }
  if (!Number.isInteger(p.usedSubcarriers) || p.usedSubcarriers % 2 !== 0 || p.usedSubcarriers < 8 || p.usedSubcarriers > n - 4) {
    throw new PhyConfigError(`usedSubcarriers must be even in 8..${n - 4}, got ${p.usedSubcarriers}`);
  }
  const half = p.usedSubcarriers / 2;
  if (!Number.isInteger(p.pilotSubcarriers) || p.pilotSubcarriers % 2 !== 0 || p.pilotSubcarriers < 2 || p.pilotSubcarriers > half) {
    throw new PhyConfigError(`pilotSubcarriers must be even in 2..${half}, got ${p.pilotSubcarriers}`);
  }
  if (!(p.sampleRateHz > 0) || !Number.isFinite(p.sampleRateHz)) throw new PhyConfigError(`sampleRateHz must be positive, got ${p.sampleRateHz}`);
  if (!Number.isInteger(p.stsRepeats) || p.stsRepeats < 2 || p.stsRepeats > 16) throw new PhyConfigError(`stsRepeats must be in 2..16, got ${p.stsRepeats}`);
  if (!(p.maxCfoHz >= 0)) throw new PhyConfigError(`maxCfoHz must be >= 0, got ${p.maxCfoHz}`);
  if (!Number.isInteger(p.maxPayloadLength) || p.maxPayloadLength < 1 || p.maxPayloadLength > 0xffffff) {
    throw new PhyConfigError(`maxPayloadLength must be in 1..16777215, got ${p.maxPayloadLength}`);
  }
  const usedSc = new Int32Array(p.usedSubcarriers);
  for (let i = 0; i < half; i++) {
    usedSc[i] = -half + i;
    usedSc[half + i] = i + 1;
  }
  const usedBin = new Int32Array(p.usedSubcarriers);
  for (let i = 0; i < usedSc.length; i++) usedBin[i] = (usedSc[i]! + n) % n;
  // Pilots spread evenly over each half band, mirrored (e.g. +-7, +-20 for 64).
  const perSide = p.pilotSubcarriers / 2;
  const pilotScSet = new Set<number>();
  for (let i = 0; i < perSide; i++) {
    const k = Math.max(1, Math.min(half, Math.round(((i + 0.5) * half) / perSide)));
    pilotScSet.add(k);
    pilotScSet.add(-k);
  }
  if (pilotScSet.size !== p.pilotSubcarriers) throw new PhyConfigError('pilot positions collide; use fewer pilots');
  const isPilot = new Uint8Array(p.usedSubcarriers);
  const pilotPos: number[] = [];
  const dataPos: number[] = [];
  for (let i = 0; i < usedSc.length; i++) {
    if (pilotScSet.has(usedSc[i]!)) {
      isPilot[i] = 1;
      pilotPos.push(i);
    } else dataPos.push(i);
  }
  const symbolLength = n + p.cpLength;
  const stsLength = p.cpLength + (p.stsRepeats * n) / 2;
  const ltsGuard = 2 * p.cpLength;
  const ltsLength = ltsGuard + 2 * n;
  const numData = dataPos.length;
  // Header: HEADER_BYTES*8 bits + 6 tail, rate 1/2, BPSK: one coded bit per data carrier.
  const headerSymbols = Math.ceil(((HEADER_BYTES * 8 + 6) * 2) / numData);
  return {
    params: p,
    fftSize: n,
    cpLength: p.cpLength,
    symbolLength,
    numUsed: p.usedSubcarriers,
    numPilots: p.pilotSubcarriers,
    numData,
    usedSc,
    usedBin,
    pilotPos: Int32Array.from(pilotPos),
    dataPos: Int32Array.from(dataPos),
    isPilot,
    subcarrierSpacingHz: p.sampleRateHz / n,
    txScale: 1 / Math.sqrt(p.usedSubcarriers),
    rxScale: Math.sqrt(p.usedSubcarriers) / n,
    stsLength,
    ltsGuard,
    ltsLength,
    headerSymbols,
    preambleLength: stsLength + ltsLength,
  };
}
