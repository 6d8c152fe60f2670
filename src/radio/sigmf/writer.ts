/**
 * Streaming, crash-safe SigMF writer.
 *
 * Crash safety rests on three rules:
 *   1. Samples are appended to BASE.sigmf-data in order and fsynced every `fsyncIntervalBytes` or
 *      `fsyncIntervalMs`, whichever comes first.
 *   2. BASE.sigmf-meta is only ever replaced atomically (write BASE.sigmf-meta.tmp, fsync, rename, fsync the
 *      folder), so at every moment it is a complete, schema-valid meta.
 *   3. A meta only mentions samples that are already durable: before a meta is written the data is fsynced,
 *      and captures/annotations that reach past the durable samples wait for a later meta.
 * After a crash, the meta on disk therefore describes a prefix of the data; the data may hold more samples
 * (and a partial last sample). `dekag sigmf repair BASE` (repair.ts) trims the partial sample, adds the
 * checksum and marks the recording finalized. Readers can use a crashed recording as it is.
 *
 * All I/O runs on one internal queue, in call order; each method returns a promise that settles when its
 * work is on disk. Samples are converted (and copied) when `append` is called, so the caller may reuse its
 * buffer at once; `pendingBytes` tells a producer how far the disk is behind (backpressure).
 */
import { createHash, type Hash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { parseDatatype, toFileBytes, type SampleArray, type SigmfDatatype } from './datatype.js';
import { SigmfArgumentError, SigmfStateError, SigmfWriteError, errnoOf } from './errors.js';
import { nodeFileSystem, writeAll, writeFileAtomic, type SigmfFileHandle, type SigmfFileSystem } from './fs.js';
import {
  DEKAG_FIELDS,
  DEKAG_NAMESPACE,
  DEKAG_NAMESPACE_VERSION,
  SIGMF_VERSION,
  frameToAnnotation,
  requireFinite,
  requireSampleIndex,
  serializeMeta,
  sortSegments,
  toSigmfDatetime,
  type FrameAnnotation,
  type GeoJsonPoint,
  type SigmfAnnotation,
  type SigmfCapture,
  type SigmfExtension,
  type SigmfGlobal,
  type SigmfMeta,
} from './meta.js';
import { writeTar } from './tar.js';

export const RECORDER_NAME = 'dekag-testbed';

export interface SigmfWriterOptions {
  /** `ci8`, `cu8`, `ci16_le`, `cf32_le`, or any other SigMF datatype (see datatype.ts). */
  datatype: string;
  sampleRateHz: number;
  /** Centre frequency of the first capture segment, Hz. */
  freqHz?: number;
  /** Interleaved channels in each appended block (default 1). */
  numChannels?: number;
  description?: string;
  /** `core:hw`: the radio, antenna, cabling. */
  hardware?: string;
  author?: string;
  /** `core:recorder` (default "dekag-testbed"). */
  recorder?: string;
  /** `core:license`, a URL. */
  license?: string;
  /** Fixed position of the recording system (`core:geolocation` in global); see also `newCapture`. */
  geolocation?: GeoJsonPoint;
  /** Time of the first sample (default: when `open` runs). */
  startDatetime?: Date | string;
  /** Further extension namespaces to declare (the `dekag` namespace is always declared). */
  extensions?: SigmfExtension[];
  /** Further global fields, namespaced (e.g. "dekag:session": "abc"); their namespace must be declared. */
  globalFields?: Record<string, unknown>;
  /** Also write BASE.sigmf (a SigMF archive) on finalize. */
  archive?: boolean;
  /** Replace an existing recording at this base path (default: refuse). */
  overwrite?: boolean;
  /** fsync the data after this many bytes (default 8 MiB). */
  fsyncIntervalBytes?: number;
  /** ...or after this long since the last fsync (default 1000 ms). */
  fsyncIntervalMs?: number;
  /**
   * Least time between meta rewrites (default 0: whenever captures or annotations change). The writer also
   * keeps meta rewrites under ~10% of wall time by waiting 10x the last rewrite's duration, so a recording
   * with many thousands of annotations does not spend its time rewriting JSON.
   */
  metaMinIntervalMs?: number;
  /** fsync at all (default true). Turn off only for throwaway recordings. */
  durable?: boolean;
  /** File-system seam (tests inject failures here). */
  fileSystem?: SigmfFileSystem;
  /** Clock for datetimes and intervals, ms since the epoch (default Date.now). */
  now?: () => number;
}

export interface CaptureFields {
  freqHz?: number;
  datetime?: Date | string;
  /** Samples the radio lost just before this segment (an overflow); moves `core:global_index`. */
  lostSamples?: number;
  geolocation?: GeoJsonPoint;
  /** Further namespaced capture fields. */
  extra?: Record<string, unknown>;
}

export interface FinalizeResult {
  metaPath: string;
  dataPath: string;
  archivePath?: string;
  sampleCount: number;
  dataBytes: number;
  sha512: string;
  /** Annotations dropped because they reached past the last sample written. */
  droppedAnnotations: number;
}

type State = 'open' | 'finalized' | 'closed';

export class SigmfWriter {
  readonly metaPath: string;
  readonly dataPath: string;
  readonly datatype: SigmfDatatype;
  readonly numChannels: number;
  /** Bytes of one sample across all channels. */
  readonly frameBytes: number;

  private readonly fs: SigmfFileSystem;
  private readonly now: () => number;
  private readonly global: SigmfGlobal;
  private readonly captures: SigmfCapture[] = [];
  private readonly annotations: SigmfAnnotation[] = [];
  private readonly hash: Hash = createHash('sha512');
  private readonly fsyncIntervalBytes: number;
  private readonly fsyncIntervalMs: number;
  private readonly metaMinIntervalMs: number;
  private readonly durable: boolean;
  private readonly archive: boolean;

  private state: State = 'open';
  private failure: SigmfWriteError | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private samplesQueued = 0;
  private samplesWritten = 0;
  private samplesDurable = 0;
  /** The durable sample count the meta on disk was built with. */
  private metaSamples = 0;
  /** Smallest end sample of a capture/annotation waiting for durable samples (Infinity: none). */
  private waitingMinEnd = Infinity;
  private dataBytes = 0;
  private bytesSinceSync = 0;
  private lastSyncMs: number;
  private lostTotal = 0;
  private queuedBytes = 0;
  private lastMetaText = '';
  private lastMetaEndMs = 0;
  private lastMetaDurationMs = 0;
  private metaPending: Promise<void> | undefined;
  private metaTimer: NodeJS.Timeout | undefined;
  private metaFire: (() => void) | undefined;

  private constructor(
    readonly basePath: string,
    private readonly handle: SigmfFileHandle,
    opts: SigmfWriterOptions,
    datatype: SigmfDatatype,
    fs: SigmfFileSystem,
  ) {
    this.metaPath = `${basePath}.sigmf-meta`;
    this.dataPath = `${basePath}.sigmf-data`;
    this.fs = fs;
    this.now = opts.now ?? Date.now;
    this.datatype = datatype;
    this.numChannels = opts.numChannels ?? 1;
    this.frameBytes = datatype.bytesPerSample * this.numChannels;
    this.fsyncIntervalBytes = opts.fsyncIntervalBytes ?? 8 << 20;
    this.fsyncIntervalMs = opts.fsyncIntervalMs ?? 1000;
    this.metaMinIntervalMs = opts.metaMinIntervalMs ?? 0;
    this.durable = opts.durable ?? true;
    this.archive = opts.archive ?? false;
    this.lastSyncMs = this.now();
    this.global = buildGlobal(opts);
    const first: SigmfCapture = { 'core:sample_start': 0 };
    if (opts.freqHz !== undefined) first['core:frequency'] = opts.freqHz;
    first['core:datetime'] = toSigmfDatetime(opts.startDatetime ?? this.now());
    this.captures.push(first);
  }

  /** Create BASE.sigmf-data and a valid BASE.sigmf-meta describing an empty recording. */
  static async open(basePath: string, opts: SigmfWriterOptions): Promise<SigmfWriter> {
    const datatype = parseDatatype(opts.datatype, { strict: true });
    checkOptions(opts);
    const fs = opts.fileSystem ?? nodeFileSystem;
    // The folder may not exist yet; in a multi-process session it may be another process's --out,
    // created on that process's schedule.
    try {
      await fs.mkdirp(dirname(basePath));
    } catch (e) {
      throw new SigmfWriteError(`cannot create the folder ${dirname(basePath)}: ${(e as Error).message}`, errnoOf(e), 0, e);
    }
    let handle: SigmfFileHandle;
    try {
      handle = await fs.open(`${basePath}.sigmf-data`, opts.overwrite ? 'w' : 'wx');
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') {
        throw new SigmfArgumentError(`${basePath}.sigmf-data already exists; choose another base path or pass overwrite`);
      }
      throw new SigmfWriteError(`cannot create ${basePath}.sigmf-data: ${(e as Error).message}`, errnoOf(e), 0, e);
    }
    const w = new SigmfWriter(basePath, handle, opts, datatype, fs);
    try {
      await w.enqueue(() => w.writeMetaNow());
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
    return w;
  }

  /** Samples accepted so far (including those still queued for the disk). */
  get sampleCount(): number {
    return this.samplesQueued;
  }

  /** Samples on disk (written, maybe not yet fsynced). */
  get samplesOnDisk(): number {
    return this.samplesWritten;
  }

  /** Bytes accepted by `append` and not yet written: a producer can drop or slow down when this grows. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  get failed(): SigmfWriteError | undefined {
    return this.failure;
  }

  /**
   * Append one block: interleaved I/Q (and channels) as raw codes of the datatype (Int8Array for ci8,
   * Uint8Array for cu8, Int16Array for ci16_le...) or as floats (Float32Array/Float64Array, full scale ±1).
   * Resolves when the block is written (not necessarily fsynced). The block is converted and copied before
   * this returns its promise. Errors (bad block, writer finalized or failed) reject the promise.
   */
  async append(samples: SampleArray): Promise<void> {
    this.requireOpen('append');
    const perFrame = this.datatype.componentsPerSample * this.numChannels;
    if (samples.length % perFrame !== 0) {
      throw new SigmfArgumentError(
        `block of ${samples.length} values is not a whole number of samples (${perFrame} values per sample: ` +
          `${this.datatype.complex ? 'I and Q' : 'one value'} x ${this.numChannels} channel(s))`,
      );
    }
    const bytes = toFileBytes(samples, this.datatype);
    this.samplesQueued += samples.length / perFrame;
    this.queuedBytes += bytes.length;
    return this.enqueue(async () => {
      this.queuedBytes -= bytes.length;
      await this.writeSamples(bytes);
    });
  }

  /**
   * Start a new capture segment at the next sample: a retune, a discontinuity, a new position. A segment
   * with no samples yet is merged into rather than followed by another one.
   */
  async newCapture(fields: CaptureFields): Promise<void> {
    this.requireOpen('newCapture');
    const c: SigmfCapture = { 'core:sample_start': this.samplesQueued };
    const prev = this.captures[this.captures.length - 1]!;
    const freq = fields.freqHz ?? prev['core:frequency'];
    if (fields.freqHz !== undefined) requireFinite('freqHz', fields.freqHz);
    if (freq !== undefined) c['core:frequency'] = freq;
    c['core:datetime'] = toSigmfDatetime(fields.datetime ?? this.now());
    if (fields.lostSamples !== undefined) {
      requireSampleIndex('lostSamples', fields.lostSamples);
      this.lostTotal += fields.lostSamples;
      c[DEKAG_FIELDS.lostSamples] = fields.lostSamples;
    }
    if (this.lostTotal > 0) c['core:global_index'] = this.samplesQueued + this.lostTotal;
    if (fields.geolocation) c['core:geolocation'] = fields.geolocation;
    for (const [k, v] of Object.entries(fields.extra ?? {})) {
      if (!k.includes(':')) throw new SigmfArgumentError(`capture field '${k}' needs a namespace, e.g. 'dekag:${k}'`);
      c[k] = v;
    }
    if (prev['core:sample_start'] === c['core:sample_start']) {
      const lost = (prev[DEKAG_FIELDS.lostSamples] as number | undefined) ?? 0;
      Object.assign(prev, c);
      if (lost + (fields.lostSamples ?? 0) > 0) prev[DEKAG_FIELDS.lostSamples] = lost + (fields.lostSamples ?? 0);
    } else {
      this.captures.push(c);
    }
    this.noteWaiting(c['core:sample_start']);
    return this.scheduleMeta();
  }

  /**
   * Set (or move) the recording system's position, global `core:geolocation`, after `open` (e.g. when a
   * GNSS receiver gets its first fix mid-recording). Resolves when a meta holding it is on disk.
   */
  async setGeolocation(point: GeoJsonPoint): Promise<void> {
    this.requireOpen('setGeolocation');
    checkGeolocation(point);
    this.global['core:geolocation'] = point;
    return this.scheduleMeta();
  }

  /** Retune: a new capture segment with `core:frequency` (no-op when the frequency does not change). */
  async setFrequency(freqHz: number, datetime?: Date | string): Promise<void> {
    const prev = this.captures[this.captures.length - 1]!;
    if (prev['core:frequency'] === freqHz) return;
    return this.newCapture(datetime === undefined ? { freqHz } : { freqHz, datetime });
  }

  /** The radio dropped samples (overflow): a new capture segment whose `core:global_index` counts them. */
  async markDiscontinuity(lostSamples: number, datetime?: Date | string): Promise<void> {
    return this.newCapture(datetime === undefined ? { lostSamples } : { lostSamples, datetime });
  }

  /**
   * Annotate a received frame (one annotation in the `dekag` namespace). Resolves when a meta holding it is
   * on disk, or at once when its samples have not been appended yet (it is written once they are).
   */
  async annotateFrame(frame: FrameAnnotation): Promise<void> {
    return this.annotate(frameToAnnotation(frame, RECORDER_NAME));
  }

  /** Add any annotation object (must have core:sample_start; other namespaces must be declared). */
  async annotate(a: SigmfAnnotation): Promise<void> {
    this.requireOpen('annotate');
    requireSampleIndex('core:sample_start', a['core:sample_start']);
    if (a['core:sample_count'] !== undefined) requireSampleIndex('core:sample_count', a['core:sample_count']);
    this.annotations.push(a);
    this.noteWaiting(this.annotationEnd(a));
    if (this.annotationEnd(a) <= this.samplesQueued) await this.scheduleMeta();
  }

  /**
   * Make everything appended so far durable and described: fsync the data and rewrite the meta now
   * (without waiting for the rate limit). For checkpoints, e.g. before a risky operation.
   */
  async flush(): Promise<void> {
    this.requireOpen('flush');
    this.cancelMetaTimer();
    await this.enqueue(async () => {
      await this.syncData();
      await this.writeMetaNow();
    });
  }

  /**
   * Finish: fsync, write `core:sha512` and `dekag:finalized: true` into the meta, and the archive if asked.
   * Annotations reaching past the last sample are dropped (counted in the result).
   */
  async finalize(): Promise<FinalizeResult> {
    this.requireOpen('finalize');
    this.state = 'finalized';
    this.cancelMetaTimer();
    return this.enqueue(async () => {
      await this.syncData();
      try {
        await this.handle.close();
      } catch (e) {
        await this.fail('closing the data file', e);
      }
      const sha512 = this.hash.digest('hex');
      const before = this.annotations.length;
      const keep = this.annotations.filter((a) => this.annotationEnd(a) <= this.samplesWritten);
      this.global['core:sha512'] = sha512;
      this.global[DEKAG_FIELDS.finalized] = true;
      await this.writeMetaNow(keep);
      const result: FinalizeResult = {
        metaPath: this.metaPath,
        dataPath: this.dataPath,
        sampleCount: this.samplesWritten,
        dataBytes: this.dataBytes,
        sha512,
        droppedAnnotations: before - keep.length,
      };
      if (this.archive) result.archivePath = await this.writeArchive();
      return result;
    });
  }

  /**
   * Stop without finalizing (an error path): write what is pending, close the file. Never throws; the
   * recording stays valid and can be finalized later with `dekag sigmf repair`.
   */
  async close(): Promise<void> {
    if (this.state !== 'open') {
      await this.tail;
      return;
    }
    this.state = 'closed';
    this.cancelMetaTimer();
    await this.enqueue(async () => {
      await this.syncData();
      await this.writeMetaNow();
    }).catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }

  /** The meta as it would be written now (for inspection and tests). */
  snapshotMeta(): SigmfMeta {
    return this.buildMeta(this.samplesDurable, this.annotations);
  }

  // --- internals -------------------------------------------------------------------------------------

  private requireOpen(what: string): void {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') throw new SigmfStateError(`cannot ${what}: the SigMF writer for ${this.basePath} is ${this.state}`);
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.failure) throw this.failure;
      return op();
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private annotationEnd(a: SigmfAnnotation): number {
    return a['core:sample_start'] + (a['core:sample_count'] ?? 0);
  }

  private async writeSamples(bytes: Uint8Array): Promise<void> {
    const start = this.dataBytes;
    try {
      await writeAll(this.handle, bytes, start, (n) => {
        this.dataBytes = start + n;
      });
    } catch (e) {
      await this.fail('writing samples', e);
    }
    this.hash.update(bytes);
    this.samplesWritten = this.dataBytes / this.frameBytes;
    this.bytesSinceSync += bytes.length;
    if (this.bytesSinceSync >= this.fsyncIntervalBytes || this.now() - this.lastSyncMs >= this.fsyncIntervalMs) {
      await this.syncData();
      // Periodic meta: things that waited for these samples (captures, annotations) can now be written.
      if (this.hasWaitingSegments()) void this.scheduleMeta().catch(() => undefined);
    } else if (this.hasWaitingSegments()) {
      void this.scheduleMeta().catch(() => undefined);
    }
  }

  /** Captures or annotations covered by written samples but not yet in a meta on disk (O(1) per append). */
  private hasWaitingSegments(): boolean {
    return this.waitingMinEnd <= this.samplesWritten;
  }

  /** Note a capture/annotation ending at sample `end` that the meta on disk does not hold yet. */
  private noteWaiting(end: number): void {
    if (end > this.metaSamples && end < this.waitingMinEnd) this.waitingMinEnd = end;
  }

  /** Recompute `waitingMinEnd` after a meta covering `durable` samples was written (a scan; metas are O(n) anyway). */
  private recomputeWaiting(durable: number): void {
    let m = Infinity;
    for (const c of this.captures) if (c['core:sample_start'] > durable) m = Math.min(m, c['core:sample_start']);
    for (const a of this.annotations) {
      const end = this.annotationEnd(a);
      if (end > durable) m = Math.min(m, end);
    }
    this.waitingMinEnd = m;
  }

  private async syncData(): Promise<void> {
    if (this.bytesSinceSync > 0 && this.durable) {
      try {
        await this.handle.sync();
      } catch (e) {
        await this.fail('syncing samples', e);
      }
    }
    this.bytesSinceSync = 0;
    this.lastSyncMs = this.now();
    this.samplesDurable = this.samplesWritten;
  }

  /**
   * Coalesce meta rewrites: at most one queued; it runs after `metaMinIntervalMs` (and 10x the last
   * rewrite's duration) since the last one ended.
   */
  private scheduleMeta(): Promise<void> {
    if (this.metaPending) return this.metaPending;
    const wait = Math.max(0, this.lastMetaEndMs + Math.max(this.metaMinIntervalMs, 10 * this.lastMetaDurationMs) - this.now());
    const p = new Promise<void>((resolve, reject) => {
      const go = () => {
        this.metaTimer = undefined;
        this.metaFire = undefined;
        this.enqueue(async () => {
          this.metaPending = undefined;
          await this.syncData();
          await this.writeMetaNow();
        }).then(resolve, reject);
      };
      if (wait <= 0) go();
      else {
        this.metaTimer = setTimeout(go, wait);
        this.metaFire = go;
      }
    });
    p.catch(() => undefined); // failures also surface through `failed` and the next call
    this.metaPending = p;
    return p;
  }

  /** Run a rewrite that waits on its timer now, so whoever awaits it is not left hanging by finalize/close. */
  private cancelMetaTimer(): void {
    if (this.metaTimer) {
      clearTimeout(this.metaTimer);
      this.metaFire?.();
    }
  }

  private buildMeta(durableSamples: number, annotations: SigmfAnnotation[]): SigmfMeta {
    const captures = this.captures.filter((c, i) => i === 0 || c['core:sample_start'] <= durableSamples);
    const anns = annotations.filter((a) => this.annotationEnd(a) <= durableSamples);
    return { global: { ...this.global }, captures: captures.map((c) => ({ ...c })), annotations: sortSegments(anns) };
  }

  private async writeMetaNow(annotations: SigmfAnnotation[] = this.annotations): Promise<void> {
    const durable = this.samplesDurable;
    const text = serializeMeta(this.buildMeta(durable, annotations));
    if (text === this.lastMetaText) {
      this.metaSamples = durable;
      this.recomputeWaiting(durable);
      return;
    }
    const t0 = Date.now();
    try {
      await writeFileAtomic(this.fs, this.metaPath, text, this.durable);
    } catch (e) {
      await this.fail('writing the meta', e);
    }
    this.lastMetaText = text;
    this.metaSamples = durable;
    this.recomputeWaiting(durable);
    this.lastMetaEndMs = this.now();
    this.lastMetaDurationMs = Date.now() - t0;
  }

  private async writeArchive(): Promise<string> {
    const archivePath = `${this.basePath}.sigmf`;
    const tmp = `${archivePath}.tmp`;
    const name = basename(this.basePath);
    try {
      const out = await this.fs.open(tmp, 'w');
      try {
        await writeTar(out, name, [
          { name: `${name}/${name}.sigmf-meta`, data: Buffer.from(this.lastMetaText, 'utf8') },
          { name: `${name}/${name}.sigmf-data`, file: { path: this.dataPath, size: this.dataBytes } },
        ]);
        if (this.durable) await out.sync();
      } finally {
        await out.close();
      }
      await this.fs.rename(tmp, archivePath);
      if (this.durable) await this.fs.syncDir(dirname(archivePath));
    } catch (e) {
      await this.fs.unlink(tmp).catch(() => undefined);
      // The recording itself is complete; only the archive copy failed.
      throw new SigmfWriteError(
        `writing the archive ${archivePath} failed (${(e as Error).message}); BASE.sigmf-meta and BASE.sigmf-data are complete`,
        errnoOf(e),
        this.samplesWritten,
        e,
      );
    }
    return archivePath;
  }

  /**
   * Turn an I/O error into the writer's terminal SigmfWriteError. Best effort first: cut a partial sample
   * off the data and write a meta for what is durable, so the recording stays readable.
   */
  private async fail(what: string, e: unknown): Promise<never> {
    const errno = errnoOf(e);
    const whole = Math.floor(this.dataBytes / this.frameBytes);
    if (whole * this.frameBytes !== this.dataBytes) {
      try {
        await this.handle.truncate(whole * this.frameBytes);
        this.dataBytes = whole * this.frameBytes;
      } catch {
        // repair will trim it
      }
    }
    this.samplesWritten = whole;
    try {
      if (this.durable) await this.handle.sync();
      this.samplesDurable = whole;
      await writeFileAtomic(this.fs, this.metaPath, serializeMeta(this.buildMeta(whole, this.annotations)), this.durable);
    } catch {
      // the previous meta is still in place and valid
    }
    const hint = errno === 'ENOSPC' ? ' (disk full)' : '';
    this.failure = new SigmfWriteError(
      `SigMF recording ${this.basePath}: ${what} failed${hint}: ${(e as Error).message}; ` +
        `${whole} whole samples are on disk and readable; run 'dekag sigmf repair ${this.basePath}' to finalize them`,
      errno,
      whole,
      e,
    );
    throw this.failure;
  }
}

function checkOptions(o: SigmfWriterOptions): void {
  requireFinite('sampleRateHz', o.sampleRateHz);
  if (o.sampleRateHz < 1 || o.sampleRateHz > 1e12) throw new SigmfArgumentError(`sampleRateHz must be 1..1e12, got ${o.sampleRateHz}`);
  if (o.freqHz !== undefined) requireFinite('freqHz', o.freqHz);
  const ch = o.numChannels ?? 1;
  if (!Number.isInteger(ch) || ch < 1) throw new SigmfArgumentError(`numChannels must be an integer >= 1, got ${ch}`);
  for (const e of o.extensions ?? []) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(e.name) || e.name === 'core') {
      throw new SigmfArgumentError(`extension name '${e.name}' must be an identifier other than 'core'`);
    }
  }
  const declared = new Set(['core', DEKAG_NAMESPACE, ...(o.extensions ?? []).map((e) => e.name)]);
  for (const k of Object.keys(o.globalFields ?? {})) {
    const ns = k.split(':')[0]!;
    if (!k.includes(':') || !declared.has(ns)) {
      throw new SigmfArgumentError(`global field '${k}' needs a declared namespace (one of ${[...declared].join(', ')})`);
    }
  }
  if (o.geolocation) checkGeolocation(o.geolocation);
}

function checkGeolocation(p: GeoJsonPoint): void {
  const c = p.coordinates;
  if (p.type !== 'Point' || !Array.isArray(c) || c.length < 2 || c.length > 3 || !c.every(Number.isFinite)) {
    throw new SigmfArgumentError('geolocation must be a GeoJSON Point with [lon, lat] or [lon, lat, alt] (use geoPoint())');
  }
}

function buildGlobal(o: SigmfWriterOptions): SigmfGlobal {
  const g: SigmfGlobal = {
    'core:datatype': o.datatype,
    'core:version': SIGMF_VERSION,
    'core:sample_rate': o.sampleRateHz,
  };
  if ((o.numChannels ?? 1) !== 1) g['core:num_channels'] = o.numChannels!;
  if (o.description !== undefined) g['core:description'] = o.description;
  if (o.author !== undefined) g['core:author'] = o.author;
  if (o.hardware !== undefined) g['core:hw'] = o.hardware;
  if (o.license !== undefined) g['core:license'] = o.license;
  g['core:recorder'] = o.recorder ?? RECORDER_NAME;
  if (o.geolocation) g['core:geolocation'] = o.geolocation;
  const ext: SigmfExtension[] = [{ name: DEKAG_NAMESPACE, version: DEKAG_NAMESPACE_VERSION, optional: true }];
  for (const e of o.extensions ?? []) if (e.name !== DEKAG_NAMESPACE) ext.push({ name: e.name, version: e.version, optional: e.optional });
  g['core:extensions'] = ext;
  g[DEKAG_FIELDS.finalized] = false;
  Object.assign(g, o.globalFields ?? {});
  return g;
}
