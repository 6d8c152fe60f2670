/**
 * The cloud role: for each prompt it generates the reference image with the cloud-GAI, picks the MAKD
 * adapter for the prompt's subject from its catalogue (models/adapters/**.dkga, checked against the
 * installed models), and sends prompt + adapter to the edge (the adapter file once per edge link). It is
 * also the session's recorder: the edge's result comes back, the evaluator scores every image against
 * the cloud's, and one JSON line per image goes to DIR/session.jsonl (flushed line by line, so the
 * record survives any crash), with the images as PNG files next to it. Every prompt ends in the record:
 * received, lost (with the reason: on the air, no user, the edge went away) or failed (with the error).
 *
 * State: the adapter catalogue, which adapters each edge link already has, the session's sequence
 * counter and its records.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadAdapter, SEED_FOLDER, type Adapter } from '../gsc/adapter.js';
import { consistency, type Evaluator } from '../gsc/evaluate.js';
import type { Generator } from '../gsc/generate.js';
import { decodePng, encodePng, pngInfo, type RgbImage } from '../gsc/image.js';
import type { ModelStore } from '../gsc/models.js';
import { namedAttributes, tokenize } from '../gsc/tokenizer.js';
import { DekagError } from '../util/errors.js';
import { LinkClosedError, nextMessage, type Link } from './link.js';
import { unpackPart, type JobErrorMsg, type JobMsg, type ResultMsg } from './protocol.js';

export interface CatalogEntry {
  name: string;
  path: string;
  subject: string;
  attributes: Record<string, string>;
  sha256: string;
  file: Uint8Array;
  adapter: Adapter;
}

export interface AdapterCatalog {
  entries: CatalogEntry[];
  /** Files that were not usable, and why (made for other models, corrupt...). */
  skipped: { path: string; reason: string }[];
}

/**
 * Every .dkga under `dir` (recursively) that loads against `store`, except the other training seeds' folders
 * (SEED_FOLDER: the same subjects again, for `bench makd`; served, they would compete with the shipped ones).
 */
export function loadAdapterCatalog(store: ModelStore, dir = join(store.dir, 'adapters')): AdapterCatalog {
  const cat: AdapterCatalog = { entries: [], skipped: [] };
  if (!existsSync(dir)) return cat;
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? (SEED_FOLDER.test(e.name) ? [] : walk(join(d, e.name))) : e.name.endsWith('.dkga') ? [join(d, e.name)] : [],
    );
  for (const path of walk(dir).sort()) {
    try {
      const adapter = loadAdapter(path, store);
      const file = readFileSync(path);
      cat.entries.push({
        name: relative(dir, path),
        path,
        subject: adapter.header.subject,
        attributes: adapter.header.subject_attributes ?? {},
        sha256: createHash('sha256').update(file).digest('hex'),
        file,
        adapter,
      });
    } catch (e) {
      cat.skipped.push({ path, reason: (e as Error).message });
    }
  }
  return cat;
}

/** The adapter whose subject attributes the prompt names, the most specific first; undefined if none. */
export function pickAdapter(cat: AdapterCatalog, prompt: string, store: ModelStore): CatalogEntry | undefined {
  const named = namedAttributes(prompt, store.vocab);
  const fits = cat.entries.filter((e) => Object.keys(e.attributes).length > 0 && Object.entries(e.attributes).every(([k, v]) => named[k] === v));
  // Prefer more specific subjects; among equals, MAKD over its ablations (LoRA only, metaword only), and
  // full trainings over '.quick' smoke runs.
  const modeRank = (e: CatalogEntry): number => ['makd', 'lora', 'metaword'].indexOf(e.adapter.header.mode);
  fits.sort((a, b) => Object.keys(b.attributes).length - Object.keys(a.attributes).length
    || Number(a.name.includes('.quick')) - Number(b.name.includes('.quick'))
    || modeRank(a) - modeRank(b));
  return fits[0];
}

/** Image PSNR in dB (8-bit peak 255); Infinity for identical images. */
export function psnrDb(a: RgbImage, b: RgbImage): number {
  if (a.data.length !== b.data.length) throw new Error(`PSNR of images of different sizes (${a.width}x${a.height}, ${b.width}x${b.height})`);
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!;
    se += d * d;
  }
  const mse = se / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

export interface ImageRecord {
  sequence: number;
  prompt: string;
  seed: number;
  /** received: the user decoded the frame; lost: the edge sent it and no report came back (lost_reason). */
  status: 'received' | 'lost';
  adapter: string | null;
  adapter_available: boolean;
  adapter_bytes: number;
  received: boolean;
  lost_reason?: string;
  /** Why a frame was lost: 'timeout' (no report in time: the air), 'no-user', 'user-gone'. */
  lost_cause?: string;
  images: { cloud: string; edge_base: string | null; edge_adapter: string | null; received: string | null };
  /** cos(img, cloud img) + cos(img, prompt), 2 = identical to the cloud's and on-prompt. */
  consistency: { edge_base: number | null; edge_adapter: number | null; received: number | null };
  follows_prompt: { cloud: boolean; edge_base: boolean | null; edge_adapter: boolean | null; received: boolean | null };
  /** received vs the edge's transmitted (adapter) image. */
  psnr_db: number | null;
  snr: { configured_db: number | null; measured_db: number | null; encoder_db: number; encoder_source: string };
  rate: number;
  rate_reason: string;
  /** How the latent went out (the hybrid choice): JSCC at `rate`, or the digital latent with an MCS. */
  link: { kind: 'jscc' | 'digital'; mcs: string | null; payload_bytes: number | null; predicted_latent_psnr_db: number | null; reason: string };
  air: { symbols: number; bits: number; payload_bytes: number; frame_samples: number; png_bytes: number; fraction_of_png: number };
  crc_ok: boolean | null;
  evm_db: number | null;
  timings_ms: Record<string, number>;
}

/** The edge's account of the link, checked field by field (it may come from another process). */
function linkOf(l: unknown): ImageRecord['link'] {
  const o = (typeof l === 'object' && l !== null ? l : {}) as Record<string, unknown>;
  const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  return {
    kind: o['kind'] === 'digital' ? 'digital' : 'jscc',
    mcs: typeof o['mcs'] === 'string' ? o['mcs'].slice(0, 32) : null,
    payload_bytes: num(o['payloadBytes']),
    predicted_latent_psnr_db: num(o['predictedLatentPsnrDb']),
    reason: typeof o['reason'] === 'string' ? o['reason'].slice(0, 200) : '',
  };
}

/**
 * A prompt that produced no edge result: lost (the edge went away or never answered, so the frame's fate is
 * unknown) or failed (the edge could not run the job, the cloud could not, or it never ran: no edge).
 */
export interface PromptFailureRecord {
  sequence: number;
  prompt: string;
  seed: number;
  status: 'lost' | 'failed';
  reason: string;
  adapter: string | null;
  images: { cloud: string | null };
  timings_ms: Record<string, number>;
}

/** runPrompt's error: the prompt is already in the record (`record`). */
export class PromptFailedError extends DekagError {
  constructor(readonly record: PromptFailureRecord) {
    super(`${record.status}: ${record.reason}`, 'E_PROMPT_FAILED');
  }
}

/** The edge reported that it could not run the job. */
class JobFailedError extends DekagError {
  constructor(message: string) {
    super(message, 'E_JOB_FAILED');
  }
}

/** The edge's images must be the cloud's size; anything larger is refused before it is decoded. */
const MAX_PEER_PNG_PIXELS = 256 * 256;

export interface CloudOptions {
  store: ModelStore;
  generator: Generator;
  evaluator: Evaluator;
  catalog: AdapterCatalog;
  outDir: string;
  sessionId: number;
  seed?: number;
  /** How long to wait for the edge's result of one job (default 30 s). */
  resultTimeoutMs?: number;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r4 = (x: number): number => Math.round(x * 10000) / 10000;

export class CloudRole {
  readonly records: ImageRecord[] = [];
  readonly failures: PromptFailureRecord[] = [];
  private readonly sentAdapters = new WeakMap<Link, Set<string>>();
  private sequence = 0;
  readonly jsonlPath: string;

  constructor(private readonly o: CloudOptions) {
    mkdirSync(join(o.outDir, 'images'), { recursive: true });
    this.jsonlPath = join(o.outDir, 'session.jsonl');
    writeFileSync(this.jsonlPath, '');
  }

  /** Checks every prompt before anything runs: a bad word fails the session at once, naming it. */
  checkPrompts(prompts: readonly string[]): void {
    for (const p of prompts) tokenize(p, this.o.store.vocab);
  }

  /**
   * One prompt through the whole chain; the record is appended to session.jsonl. A prompt that yields no
   * edge result is recorded too (lost or failed, with the reason) and rejects with PromptFailedError.
   */
  async runPrompt(edge: Link, prompt: string): Promise<ImageRecord> {
    const seq = this.sequence++;
    const seed = (this.o.seed ?? 0) + seq;
    const timings: Record<string, number> = {};
    let cloudImg: RgbImage | undefined;
    let entry: CatalogEntry | undefined;
    try {
      return await this.attempt(edge, prompt, seq, seed, timings, (img, e) => {
        cloudImg = img;
        entry = e;
      });
    } catch (e) {
      // Waiting on the edge failed (it went away, or never answered): the frame's fate is unknown, so lost.
      // Anything else (the edge's job error, a bad result, the cloud's own failure) is a failure.
      const lost = e instanceof LinkClosedError;
      const reason = lost ? `no result from the edge: ${(e as Error).message}` : (e as Error).message;
      throw new PromptFailedError(this.recordFailure(prompt, seq, seed, lost ? 'lost' : 'failed', reason, cloudImg, entry, timings));
    }
  }

  /** A prompt that never ran (no edge, interrupted): recorded as failed with the reason. */
  recordNotRun(prompt: string, reason: string): PromptFailureRecord {
    const seq = this.sequence++;
    return this.recordFailure(prompt, seq, (this.o.seed ?? 0) + seq, 'failed', reason, undefined, undefined, {});
  }

  private recordFailure(prompt: string, sequence: number, seed: number, status: 'lost' | 'failed', reason: string, cloudImg: RgbImage | undefined, entry: CatalogEntry | undefined, timings: Record<string, number>): PromptFailureRecord {
    let cloudPath: string | null = null;
    if (cloudImg) {
      cloudPath = join('images', `${String(sequence).padStart(4, '0')}-cloud.png`);
      try {
        writeFileSync(join(this.o.outDir, cloudPath), encodePng(cloudImg));
      } catch {
        cloudPath = null;
      }
    }
    const rec: PromptFailureRecord = {
      sequence,
      prompt,
      seed,
      status,
      reason,
      adapter: entry?.name ?? null,
      images: { cloud: cloudPath },
      timings_ms: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, r3(v)])),
    };
    this.failures.push(rec);
    appendFileSync(this.jsonlPath, JSON.stringify(rec) + '\n');
    return rec;
  }

  private async attempt(edge: Link, prompt: string, seq: number, seed: number, timings: Record<string, number>, got: (cloud: RgbImage, entry: CatalogEntry | undefined) => void): Promise<ImageRecord> {
    tokenize(prompt, this.o.store.vocab);
    let t = performance.now();
    const cloud = await this.o.generator.generate({ prompt, seed });
    timings['cloud_generate'] = performance.now() - t;
    const entry = pickAdapter(this.o.catalog, prompt, this.o.store);
    got(cloud.image, entry);
    let sent = this.sentAdapters.get(edge);
    if (!sent) this.sentAdapters.set(edge, (sent = new Set()));
    const attach = !!entry && !sent.has(entry.sha256);
    const job: JobMsg = {
      type: 'job',
      sessionId: this.o.sessionId,
      sequence: seq,
      prompt,
      seed,
      adapter: entry ? { name: entry.name, subject: entry.subject, sha256: entry.sha256, bytes: entry.file.length, attached: attach } : null,
      compareBase: true,
    };
    const resultP = nextMessage(edge, (e) => (e.msg.type === 'result' || e.msg.type === 'job-error') && e.msg['sequence'] === seq, this.o.resultTimeoutMs ?? 30_000);
    resultP.catch(() => undefined);
    t = performance.now();
    await edge.send(job as unknown as { type: string }, attach ? entry.file : undefined);
    if (attach) sent.add(entry.sha256);
    const { msg, data } = await resultP;
    timings['edge_round_trip'] = performance.now() - t;
    if (msg.type === 'job-error') throw new JobFailedError(`the edge could not run the job: ${String((msg as unknown as JobErrorMsg).error).slice(0, 500)}`);
    const res = msg as unknown as ResultMsg;
    return this.record(prompt, seed, cloud.image, res, data, timings, entry);
  }

  private async record(prompt: string, seed: number, cloudImg: RgbImage, res: ResultMsg, data: Uint8Array | undefined, timings: Record<string, number>, entry: CatalogEntry | undefined): Promise<ImageRecord> {
    const png = (name: string): RgbImage | null => {
      const bytes = unpackPart(data, typeof res.parts === 'object' && res.parts !== null ? res.parts : {}, name);
      if (!bytes) return null;
      const what = `${name} image of frame ${res.sequence}`;
      // Look at the declared size before decoding anything a peer sent (a small PNG can decode to gigabytes).
      const { width, height } = pngInfo(Buffer.from(bytes), what, MAX_PEER_PNG_PIXELS);
      if (width !== cloudImg.width || height !== cloudImg.height) throw new JobFailedError(`${what} is ${width}x${height}, not the cloud's ${cloudImg.width}x${cloudImg.height}`);
      return decodePng(Buffer.from(bytes), what, { maxPixels: MAX_PEER_PNG_PIXELS });
    };
    const base = png('edgeBase');
    const adapted = png('edgeAdapter');
    const received = png('received');
    let t = performance.now();
    const imgs = [cloudImg, base, adapted, received];
    const present = imgs.filter((x): x is RgbImage => x !== null);
    const judged = await this.o.evaluator.judgeImages(present);
    const text = await this.o.evaluator.embedPrompt(prompt);
    const jOf = (img: RgbImage | null) => (img ? judged[present.indexOf(img)]! : null);
    const cons = (img: RgbImage | null): number | null => {
      const j = jOf(img);
      return j ? r4(consistency(j.embedding, judged[0]!.embedding, text)) : null;
    };
    const follows = (img: RgbImage | null): boolean | null => {
      const j = jOf(img);
      return j ? this.o.evaluator.agreement(prompt, j).agrees : null;
    };
    timings['evaluate'] = performance.now() - t;
    const seq = res.sequence;
    const stem = String(seq).padStart(4, '0');
    const save = (img: RgbImage | null, what: string): string | null => {
      if (!img) return null;
      const rel = join('images', `${stem}-${what}.png`);
      writeFileSync(join(this.o.outDir, rel), encodePng(img));
      return rel;
    };
    const pngBytes = adapted ? encodePng(adapted).length : 0;
    const bits = res.symbols * res.bitsPerSymbol;
    const all: Record<string, number> = { ...timings, ...res.timings };
    const rec: ImageRecord = {
      sequence: seq,
      prompt,
      seed,
      status: res.received === true ? 'received' : 'lost',
      adapter: res.adapter,
      adapter_available: res.adapterAvailable,
      adapter_bytes: entry?.file.length ?? 0,
      received: res.received === true,
      ...(res.lostReason ? { lost_reason: String(res.lostReason) } : {}),
      ...(res.lostCause ? { lost_cause: String(res.lostCause) } : {}),
      images: { cloud: save(cloudImg, 'cloud')!, edge_base: save(base, 'edge-base'), edge_adapter: save(adapted, 'edge-adapter'), received: save(received, 'received') },
      consistency: { edge_base: cons(base), edge_adapter: cons(adapted), received: cons(received) },
      follows_prompt: { cloud: follows(cloudImg)!, edge_base: follows(base), edge_adapter: follows(adapted), received: follows(received) },
      psnr_db: received && adapted ? r3(Math.min(99, psnrDb(received, adapted))) : null,
      snr: {
        configured_db: res.configuredSnrDb,
        measured_db: res.measuredSnrDb === null ? null : r3(res.measuredSnrDb),
        encoder_db: r3(res.encoderSnrDb),
        encoder_source: res.encoderSnrSource,
      },
      rate: res.rate,
      rate_reason: res.rateReason,
      link: linkOf(res.link),
      air: { symbols: res.symbols, bits, payload_bytes: bits / 8, frame_samples: res.frameSamples, png_bytes: pngBytes, fraction_of_png: pngBytes ? r4(bits / 8 / pngBytes) : 0 },
      crc_ok: res.crcOk,
      evm_db: res.evmDb === null ? null : r3(res.evmDb),
      timings_ms: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, r3(v)])),
    };
    this.records.push(rec);
    appendFileSync(this.jsonlPath, JSON.stringify(rec) + '\n');
    return rec;
  }
}
