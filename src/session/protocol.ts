/**
 * The session's messages. Semantic traffic (what the paper transmits) is `job` (prompt + adapter, cloud ->
 * edge) and the radio frame (edge -> user). `feedback` (user -> edge) closes the CALA loop. `report` and
 * `result` carry images and timings back to the cloud, which keeps the session record: that is the
 * testbed's instrumentation, not part of the communication being measured, and is not counted as over
 * the air.
 */
import { UsageError } from '../util/errors.js';
import type { LinkLimits } from './link.js';

/** 2: authenticated handshake (handshake.ts), job-error, lostCause. */
export const SESSION_PROTOCOL = 'dekag-session/2';
/** Header frameType of a JSCC latent frame (the rate follows from the payload's symbol count). */
export const FRAME_TYPE_JSCC = 1;
/** A byte frame carrying the transform-coded latent (the digital baseline, src/session/digital-latent.ts). */
export const FRAME_TYPE_DIGITAL_LATENT = 2;

/**
 * What each link accepts from its peer once authenticated: what that peer's messages need, no more.
 * The cloud gets results (three 32x32 PNGs, a few kB); the edge gets jobs (an adapter file, ~60 kB
 * today, up to the wire's 16 MiB) and reports (one PNG); the user gets 'end'.
 */
export const LIMITS_FROM_EDGE_AT_CLOUD: LinkLimits = { maxJsonBytes: 64 << 10, maxAttachmentBytes: 1 << 20 };
export const LIMITS_FROM_CLOUD_AT_EDGE: LinkLimits = { maxJsonBytes: 64 << 10, maxAttachmentBytes: 16 << 20 };
export const LIMITS_FROM_USER_AT_EDGE: LinkLimits = { maxJsonBytes: 16 << 10, maxAttachmentBytes: 256 << 10 };
export const LIMITS_FROM_EDGE_AT_USER: LinkLimits = { maxJsonBytes: 4 << 10, maxAttachmentBytes: 0 };
/** Longest prompt a job may carry (the tokenizer's context is 16 tokens; this only bounds garbage). */
export const MAX_PROMPT_CHARS = 1000;

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
  /** Frequency selectivity the user measured on the frame (CV of the per-carrier gain); conditions CALA. */
  selectivity?: number;
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
  /** Why it was lost: no report in time ('timeout'), no user attached ('no-user'), the user left while waiting ('user-gone'). */
  lostCause?: 'timeout' | 'no-user' | 'user-gone';
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
  /** How the latent went out: JSCC with CALA, or the digital latent with its MCS; and why (the hybrid choice). */
  link?: { kind: 'jscc' | 'digital'; mcs?: string; payloadBytes?: number; predictedLatentPsnrDb: number | null; reason: string };
  frameSamples: number;
  crcOk: boolean | null;
  evmDb: number | null;
  timings: Timings;
  /** Offsets of the PNGs in the attachment: edgeBase, edgeAdapter, received. */
  parts: Record<string, [number, number]>;
}

/** The edge could not run a job (bad prompt, unusable job, generation failed): the cloud records it as failed at once. */
export interface JobErrorMsg {
  type: 'job-error';
  sessionId: number;
  sequence: number;
  error: string;
}

/** A job's fields checked (it comes from another process): undefined if usable, else what is wrong. */
export function jobProblem(m: Record<string, unknown>): string | undefined {
  const int = (k: string, max: number): boolean => Number.isInteger(m[k]) && (m[k] as number) >= 0 && (m[k] as number) <= max;
  if (!int('sessionId', 2 ** 32 - 1) || !int('sequence', 2 ** 32 - 1)) return 'sessionId and sequence must be non-negative integers';
  if (!int('seed', 2 ** 32 - 1)) return 'seed must be a non-negative integer';
  if (typeof m['prompt'] !== 'string' || m['prompt'].length === 0 || m['prompt'].length > MAX_PROMPT_CHARS) return `prompt must be a string of 1..${MAX_PROMPT_CHARS} characters`;
  if (typeof m['compareBase'] !== 'boolean') return 'compareBase must be a boolean';
  const a = m['adapter'] as Record<string, unknown> | null;
  if (a !== null) {
    if (typeof a !== 'object' || Array.isArray(a)) return 'adapter must be null or an object';
    if (typeof a['name'] !== 'string' || typeof a['subject'] !== 'string' || typeof a['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(a['sha256']) || typeof a['attached'] !== 'boolean' || !Number.isInteger(a['bytes'])) {
      return 'adapter must have name, subject, sha256 (64 hex digits), bytes and attached';
    }
  }
  return undefined;
}

/** Stage timings from a peer, kept only if they are what timings are: a few named finite numbers. */
export function cleanTimings(t: unknown): Timings {
  const out: Timings = {};
  if (typeof t !== 'object' || t === null) return out;
  for (const [k, v] of Object.entries(t).slice(0, 32)) {
    if (/^[a-z][a-z0-9_]{0,47}$/.test(k) && typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
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
