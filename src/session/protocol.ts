/**
 * The session's messages. Semantic traffic (what the paper transmits) is `job` (prompt + adapter, cloud ->
 * edge) and the radio frame (edge -> user). `feedback` (user -> edge) closes the CALA loop. `report` and
 * `result` carry images and timings back to the cloud, which keeps the session record: that is the
 * testbed's instrumentation, not part of the communication being measured, and is not counted as over
 * the air.
 */
import { UsageError } from '../util/errors.js';

export const SESSION_PROTOCOL = 'dekag-session/1';
/** Header frameType of a JSCC latent frame (the rate follows from the payload's symbol count). */
export const FRAME_TYPE_JSCC = 1;

export interface HelloMsg {
  type: 'hello';
  protocol: string;
  role: 'cloud' | 'edge' | 'user';
}

export interface JobMsg {
  type: 'job';
  sessionId: number;
  sequence: number;
  prompt: string;
  seed: number;
  /** The adapter the cloud picked for the prompt's subject; its file is the attachment when `attached`. */
  adapter: { name: string; subject: string; sha256: string; bytes: number; attached: boolean } | null;
  /** Also generate without the adapter (for the record). */
  compareBase: boolean;
}

export interface FeedbackMsg {
  type: 'feedback';
  sessionId: number;
  sequence: number;
  snrDb: number;
  crcOk: boolean;
  evmDb: number;
  cfoHz: number;
}

/** Stage timings, ms. */
export type Timings = Record<string, number>;

export interface ReportMsg {
  type: 'report';
  sessionId: number;
  sequence: number;
  measuredSnrDb: number;
  rate: number;
  symbols: number;
  frameSamples: number;
  crcOk: boolean;
  evmDb: number;
  cfoHz: number;
  /** Host clock (ms since the epoch) when the frame came out of the demodulator (before JSCC decoding). */
  decodedAtMs: number;
  timings: Timings;
  /** Received image as PNG: the attachment. */
}

export interface ResultMsg {
  type: 'result';
  sessionId: number;
  sequence: number;
  /** false: the user never reported the frame (lost on the air, or the user is gone). */
  received: boolean;
  lostReason?: string;
  adapter: string | null;
  adapterAvailable: boolean;
  rate: number;
  rateReason: string;
  /** SNR the encoder was conditioned on (the last fed-back measurement, or the prior). */
  encoderSnrDb: number;
  encoderSnrSource: 'feedback' | 'prior';
  /** The channel's configured SNR when the edge owns the radio's channel (loopback), else null. */
  configuredSnrDb: number | null;
  measuredSnrDb: number | null;
  symbols: number;
  bitsPerSymbol: number;
  frameSamples: number;
  crcOk: boolean | null;
  evmDb: number | null;
  timings: Timings;
  /** Offsets of the PNGs in the attachment: edgeBase, edgeAdapter, received. */
  parts: Record<string, [number, number]>;
}

export interface EndMsg {
  type: 'end';
  reason: string;
}

/** Several byte blobs as one attachment, with their [offset, length] by name. */
export function packParts(parts: Record<string, Uint8Array | undefined>): { data: Uint8Array; index: Record<string, [number, number]> } {
  let total = 0;
  for (const p of Object.values(parts)) total += p?.length ?? 0;
  const data = new Uint8Array(total);
  const index: Record<string, [number, number]> = {};
  let off = 0;
  for (const [name, p] of Object.entries(parts)) {
    if (!p) continue;
    data.set(p, off);
    index[name] = [off, p.length];
    off += p.length;
  }
  return { data, index };
}

export function unpackPart(data: Uint8Array | undefined, index: Record<string, [number, number]>, name: string): Uint8Array | undefined {
  const r = index[name];
  if (!r || !data) return undefined;
  const [off, len] = r;
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > data.length) {
    throw new UsageError(`message part '${name}' [${off}, ${len}] lies outside the ${data.length}-byte attachment`);
  }
  return data.subarray(off, off + len);
}
