/**
 * The separation baseline every JSCC paper compares against, for the latent: transform coding + FEC + CRC.
 *
 *   latent --KLT--> coefficients --bit allocation + uniform quantizers--> bits --modem: conv code, MCS, CRC--> air
 *
 * - Transform: the latent's Karhunen-Loeve transform (PCA over the training latents, models/cala/latent_klt.json,
 *   written by `python3 -m train.cala`): decorrelated coefficients with known variances.
 * - Bits: a budget of B bits (what fits, coded, in the K channel symbols the JSCC frame has at the same rate,
 *   with the chosen modulation and code) is spread greedily, one bit at a time, to the coefficient whose expected distortion
 *   drops most (a greedy reverse water-filling); each coefficient gets the MSE-optimal uniform quantizer of a
 *   Laplacian of its variance with that many levels (generated latents are heavy-tailed; QUANTIZER_STEP).
 *   Sender and receiver derive the same allocation
 *   from the payload length alone, so nothing but the indices is sent.
 * - Air: one byte frame of the burst OFDM modem with its convolutional code and CRC-32: all or nothing. A frame
 *   that fails its CRC gives the receiver nothing (the latent's mean: the image a receiver shows when it has none).
 * - MCS: a small table (QPSK 1/2 ... 64-QAM 3/4), each with its delivery probability against SNR on the
 *   loopback radio (AWGN with a cabled SDR pair's impairments; a logistic fitted to measured frames,
 *   docs/cala.md); the edge picks the one with the lowest expected latent MSE at the fed-back SNR, lost frames
 *   counted (a lost frame leaves the mean latent).
 */
import { readFileSync } from 'node:fs';
import type { ModelStore } from '../gsc/models.js';
import { ModelFileError, UsageError } from '../util/errors.js';
import { constellation, Modulation } from '../radio/phy/constellation.js';
import { CodeRate, codedLength } from '../radio/phy/convcode.js';

export const KLT_FILE = 'cala/latent_klt.json';

export interface LatentKlt {
  dim: number;
  mean: Float64Array;
  /** Coefficient variances, decreasing. */
  variance: Float64Array;
  /** dim x dim, row i = basis vector i (orthonormal). */
  basis: Float64Array;
}

export function parseKlt(text: string, where: string): LatentKlt {
  let j: { latent_dim?: unknown; mean?: unknown; variance?: unknown; basis?: unknown };
  try {
    j = JSON.parse(text) as typeof j;
  } catch (e) {
    throw new ModelFileError(`${where} is not valid JSON: ${(e as Error).message}`);
  }
  const dim = j.latent_dim;
  const nums = (x: unknown, n: number, what: string): Float64Array => {
    if (!Array.isArray(x) || x.length !== n || !x.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new ModelFileError(`${where}: '${what}' must be a list of ${n} finite numbers`);
    }
    return Float64Array.from(x as number[]);
  };
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1 || dim > 65536) throw new ModelFileError(`${where}: 'latent_dim' must be a positive integer`);
  if (!Array.isArray(j.basis) || j.basis.length !== dim) throw new ModelFileError(`${where}: 'basis' must hold ${dim} rows`);
  const basis = new Float64Array(dim * dim);
  (j.basis as unknown[]).forEach((row, i) => basis.set(nums(row, dim, `basis[${i}]`), i * dim));
  return { dim, mean: nums(j.mean, dim, 'mean'), variance: nums(j.variance, dim, 'variance'), basis };
}

/** The KLT shipped with the models, checked against the manifest's sha256. */
export function loadLatentKlt(store: ModelStore): LatentKlt {
  const path = store.verifiedPath(KLT_FILE);
  return parseKlt(readFileSync(path, 'utf8'), path);
}

/**
 * Step of the MSE-optimal uniform quantizer (reconstruction at the cells' midpoints) of a unit-variance
 * Laplacian with 2^b levels, b = 1..8 (the tables of Paez and Glisson 1972, recomputed numerically). Laplacian,
 * not Gaussian: the latents the link sends are generated ones, and their KLT coefficients are heavy-tailed
 * (kurtosis 5.9 over 96 held-out prompts, a Laplacian's is 6, a Gaussian's 3); the Gaussian quantizers (Max
 * 1960) clipped them, and coefficients given 3-5 bits ended with 5-17 times the error the model expected.
 */
const QUANTIZER_STEP = [0, 1.4142, 1.0874, 0.7309, 0.461, 0.28, 0.1657, 0.0961, 0.0548];
/** Its mean squared error (unit variance); b = 0 sends nothing and leaves the whole variance. */
const QUANTIZER_MSE = [1, 0.5, 0.1963, 0.07175, 0.02535, 0.008713, 0.002913, 0.0009486, 0.0003014];
export const MAX_BITS_PER_COEFFICIENT = 8;

/** Greedy bit allocation of `totalBits` over coefficients of the given variances (deterministic). */
export function allocateBits(variance: Float64Array, totalBits: number): Uint8Array {
  const bits = new Uint8Array(variance.length);
  for (let spent = 0; spent < totalBits; spent++) {
    let best = -1;
    let bestGain = 0;
    for (let i = 0; i < variance.length; i++) {
      const b = bits[i]!;
      if (b >= MAX_BITS_PER_COEFFICIENT) continue;
      const gain = variance[i]! * (QUANTIZER_MSE[b]! - QUANTIZER_MSE[b + 1]!);
      if (gain > bestGain) {
        bestGain = gain;
        best = i;
      }
    }
    if (best < 0) break;
    bits[best]!++;
  }
  return bits;
}

/** Expected latent MSE (per value) of the transform coder with this allocation, when the frame arrives. */
export function expectedMse(klt: LatentKlt, bits: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < klt.dim; i++) d += klt.variance[i]! * QUANTIZER_MSE[bits[i]!]!;
  return d / klt.dim;
}

class BitWriter {
  private pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  write(value: number, n: number): void {
    for (let k = n - 1; k >= 0; k--, this.pos++) {
      if ((value >> k) & 1) this.bytes[this.pos >> 3]! |= 0x80 >> (this.pos & 7);
    }
  }
}

class BitReader {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}
  read(n: number): number {
    let v = 0;
    for (let k = 0; k < n; k++, this.pos++) v = (v << 1) | ((this.bytes[this.pos >> 3]! >> (7 - (this.pos & 7))) & 1);
    return v;
  }
}

/** Transform-code a latent into exactly `bytes` bytes. */
export function encodeLatent(klt: LatentKlt, latent: Float32Array, bytes: number): Uint8Array {
  if (latent.length !== klt.dim) throw new UsageError(`digital latent: expected ${klt.dim} values, got ${latent.length}`);
  if (!Number.isInteger(bytes) || bytes < 1) throw new UsageError(`digital latent: the byte budget must be a positive integer, got ${bytes}`);
  const bits = allocateBits(klt.variance, 8 * bytes);
  const out = new Uint8Array(bytes);
  const w = new BitWriter(out);
  const n = klt.dim;
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    if (b === 0) continue;
    let c = 0;
    for (let j = 0; j < n; j++) c += klt.basis[i * n + j]! * (latent[j]! - klt.mean[j]!);
    const levels = 1 << b;
    const step = QUANTIZER_STEP[b]! * Math.sqrt(klt.variance[i]!);
    const idx = Math.min(levels - 1, Math.max(0, Math.floor(c / step + levels / 2)));
    w.write(idx, b);
  }
  return out;
}

/** Inverse of encodeLatent; `payload` === null (the frame was lost) gives the mean latent. */
export function decodeLatent(klt: LatentKlt, payload: Uint8Array | null): Float32Array {
  const n = klt.dim;
  const z = Float32Array.from(klt.mean);
  if (!payload) return z;
  const bits = allocateBits(klt.variance, 8 * payload.length);
  const r = new BitReader(payload);
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    if (b === 0) continue;
    const levels = 1 << b;
    const step = QUANTIZER_STEP[b]! * Math.sqrt(klt.variance[i]!);
    const c = (r.read(b) - (levels - 1) / 2) * step;
    for (let j = 0; j < n; j++) z[j]! += c * klt.basis[i * n + j]!;
  }
  return z;
}

/** A frame's delivery against the SNR the receiver measures: P(arrives) = 1 / (1 + exp(-(snr - snr50Db) / widthDb)). */
export interface DeliveryFit {
  snr50Db: number;
  widthDb: number;
}

export interface Mcs {
  label: string;
  modulation: Modulation;
  codeRate: CodeRate;
  /**
   * Delivery on the simulated radio with a cabled SDR pair's impairments, flat channel, one logistic fit per
   * calibration frame size (MCS_CALIBRATION_SYMBOLS, same order), in the SNR the receiver measured on the
   * frame before (what the edge is fed back and decides on). Fitted by `dekag bench mcs` (docs/bench/mcs.json:
   * 60 frames per size and 1 dB step).
   */
  flat: readonly DeliveryFit[];
  /** The same on a frequency-selective channel (EPA multipath): wider, since one frame's fades decide it. */
  selective: readonly DeliveryFit[];
}

/**
 * Channel symbols of the frames the table is fitted on: the JSCC frame at rates 1/16 ... 1 of the shipped
 * 256-value latent, the airtimes the digital latent is given. One fit per size, because how a frame is lost
 * depends on its length in ways no scaling rule gets right at both ends: a long frame at high SNR loses to
 * the impairments' phase noise (a 128-symbol fit scaled up predicted 0.2 % losses for 256-symbol 64-QAM 2/3
 * frames at 17 dB measured, where 2-3 % are lost, and the hybrid sent latents in frames that arrived as
 * nothing), a short one under fading to a single fade (a 256-symbol fit scaled down was far too hopeful).
 */
export const MCS_CALIBRATION_SYMBOLS: readonly number[] = Object.freeze([16, 32, 64, 128, 256]);

const fits = (pairs: readonly (readonly [number, number])[]): readonly DeliveryFit[] => Object.freeze(pairs.map(([snr50Db, widthDb]) => Object.freeze({ snr50Db, widthDb })));

/** The modem's modulation and coding schemes for the digital latent, slowest first (`dekag bench mcs` fits). */
export const DIGITAL_MCS_TABLE: readonly Mcs[] = Object.freeze([
  // @mcs-fits-begin (written from docs/bench/mcs.json; src/cli/bench-mcs.test.ts checks they agree)
  { label: 'qpsk-1/2', modulation: Modulation.QPSK, codeRate: CodeRate.R1_2,
    flat: fits([[0.3, 0.6], [0.75, 0.6], [1.7, 0.65], [2.15, 0.6], [3.05, 0.6]]),
    selective: fits([[0.95, 3.05], [1.5, 3.2], [1.9, 3.2], [2.5, 3.3], [2.95, 3.55]]) },
  { label: 'qpsk-3/4', modulation: Modulation.QPSK, codeRate: CodeRate.R3_4,
    flat: fits([[1.5, 0.95], [3, 0.8], [4.15, 0.65], [4.7, 0.55], [5.45, 0.45]]),
    selective: fits([[2.05, 3.15], [3.3, 3.15], [4.3, 3.2], [4.75, 3.4], [5.4, 3.4]]) },
  { label: '16qam-1/2', modulation: Modulation.QAM16, codeRate: CodeRate.R1_2,
    flat: fits([[4.55, 0.85], [5.45, 0.75], [6.7, 0.65], [7.25, 0.5], [7.95, 0.5]]),
    selective: fits([[4.6, 3.2], [5.2, 3.3], [6.4, 3.2], [6.95, 3.35], [7.65, 3.5]]) },
  { label: '16qam-3/4', modulation: Modulation.QAM16, codeRate: CodeRate.R3_4,
    flat: fits([[8.4, 0.8], [9.2, 0.75], [10.25, 0.6], [10.8, 0.55], [11.5, 0.45]]),
    selective: fits([[7.9, 3.2], [8.7, 3.15], [9.6, 3.2], [10.2, 3.25], [10.85, 3.45]]) },
  { label: '64qam-2/3', modulation: Modulation.QAM64, codeRate: CodeRate.R2_3,
    flat: fits([[11.35, 0.75], [12.45, 0.55], [12.95, 0.6], [13.85, 0.55], [14.65, 0.55]]),
    selective: fits([[10.3, 3], [11.55, 2.85], [12.4, 2.8], [13.05, 2.8], [14.1, 2.8]]) },
  { label: '64qam-3/4', modulation: Modulation.QAM64, codeRate: CodeRate.R3_4,
    flat: fits([[13.05, 0.8], [13.9, 0.65], [14.55, 0.6], [15.25, 0.6], [16.15, 0.7]]),
    selective: fits([[12.3, 2.75], [13.1, 2.5], [13.8, 2.45], [14.6, 2.45], [15.6, 2.6]]) },
  // @mcs-fits-end
  // 256-QAM byte frames are not in the table: with the loopback's impairments (8-bit ADC, phase noise, IQ
  // imbalance) they never reach 80 % delivery (about 75 % even at 30 dB): the EVM floor, not the noise.
]);

const logistic = (snrDb: number, f: DeliveryFit): number => 1 / (1 + Math.exp(-(snrDb - f.snr50Db) / f.widthDb));

/**
 * Probability that a frame of `bytes` payload bytes with this MCS arrives at the measured `snrDb`, on a flat
 * or a selective channel. At a calibration size the fit itself; between two, the fits' 50 % point and width
 * interpolated in log(bytes); below the smallest, its fit (cautious); above the largest, its probability to
 * the power of the frame's length in calibration frames (as if each piece failed on its own).
 */
export function deliveryProbability(mcs: Mcs, snrDb: number, bytes: number, selective = false): number {
  const table = selective ? mcs.selective : mcs.flat;
  const sizes = MCS_CALIBRATION_SYMBOLS.map((k) => Math.max(1, bytesWithin(mcs, k)));
  if (bytes <= sizes[0]!) return logistic(snrDb, table[0]!);
  const last = sizes.length - 1;
  if (bytes >= sizes[last]!) return logistic(snrDb, table[last]!) ** (bytes / sizes[last]!);
  let i = 0;
  while (bytes > sizes[i + 1]!) i++;
  const a = table[i]!;
  const b = table[i + 1]!;
  const w = sizes[i + 1]! > sizes[i]! ? Math.log(bytes / sizes[i]!) / Math.log(sizes[i + 1]! / sizes[i]!) : 0;
  return logistic(snrDb, { snr50Db: a.snr50Db + w * (b.snr50Db - a.snr50Db), widthDb: a.widthDb + w * (b.widthDb - a.widthDb) });
}

/** Latent MSE per value of a receiver that got nothing (it shows the mean latent): the total variance. */
export function nothingMse(klt: LatentKlt): number {
  return klt.variance.reduce((a, v) => a + v, 0) / klt.dim;
}

export interface DigitalPlan {
  mcs: Mcs;
  /** Payload bytes that fit in the airtime. */
  bytes: number;
  /** Expected latent MSE: delivered with P(arrive), else the mean latent. */
  expectedMse: number;
  delivery: number;
}

/**
 * The most a digital frame may risk being lost when the edge chooses it over JSCC (`chooseLink`'s hybrid):
 * 0.1 %. A lost frame is all or nothing, and nothing is what the user then sees: the mean latent's image,
 * with no subject in it (consistency about -0.1 against 1.2 for a delivered one). In latent PSNR, the hybrid's
 * currency, that image still scores 22 dB, so expected distortion alone takes a 1 % risk of a blank image
 * for half a dB of quantization (the demo at 20 dB lost 2 of 20 images that way); JSCC degrades gracefully
 * instead, so an MCS above this risk is not offered.
 */
export const MAX_DIGITAL_LOSS = 1e-3;

/**
 * The best MCS for the measured SNR: the one whose expected latent MSE, counting the frames it would lose
 * (a lost frame leaves the mean latent), is lowest in the given airtime, among those whose predicted loss is
 * at most `maxLoss` (default: any). Null when no MCS fits a byte or none is safe enough.
 */
export function bestDigitalPlan(klt: LatentKlt, snrDb: number, channelSymbols: number, selective = false, maxLoss = 1, table: readonly Mcs[] = DIGITAL_MCS_TABLE): DigitalPlan | null {
  let best: DigitalPlan | null = null;
  const lost = nothingMse(klt);
  for (const mcs of table) {
    const bytes = bytesWithin(mcs, channelSymbols);
    if (bytes < 1) continue;
    const delivery = deliveryProbability(mcs, snrDb, bytes, selective);
    if (1 - delivery > maxLoss) continue;
    const mse = delivery * expectedMse(klt, allocateBits(klt.variance, 8 * bytes)) + (1 - delivery) * lost;
    if (!best || mse < best.expectedMse) best = { mcs, bytes, expectedMse: mse, delivery };
  }
  return best;
}

/**
 * The most payload bytes whose coded bits fit in `channelSymbols` complex symbols of `mcs`: the digital latent
 * gets exactly the channel uses the JSCC frame has at the same rate (and so, within an OFDM symbol, its airtime).
 */
export function bytesWithin(mcs: Mcs, channelSymbols: number): number {
  const bits = channelSymbols * constellation(mcs.modulation).bitsPerSymbol;
  let bytes = Math.floor(bits / 8);
  while (bytes > 0 && codedLength(8 * bytes, mcs.codeRate) > bits) bytes--;
  return bytes;
}

