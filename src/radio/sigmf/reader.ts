/**
 * Reading SigMF recordings: BASE (.sigmf-meta + .sigmf-data), either file's path, or a .sigmf archive.
 *
 * Opening never throws for a meta that is readable but invalid: validation errors (validate.ts, the
 * project's own SigMF 1.2 core validator) and consistency problems are reported in `validation` and `problems`. It throws SigmfFormatError only when the samples cannot be
 * interpreted at all (no file, not JSON, no datatype, unknown datatype).
 *
 * Samples are read on demand from the file (an archive is read in place), so a recording larger than
 * memory works. A data file that ends mid-sample (a writer crashed mid-write) yields its whole samples;
 * `partialBytes` says how many bytes were left over.
 */
import { createHash } from 'node:crypto';
import { constants, existsSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { JsonInputError, parseUntrustedJson } from '../../util/json.js';
import { decodeComponents, parseDatatype, type SigmfDatatype } from './datatype.js';
import { SigmfArgumentError, SigmfFormatError } from './errors.js';
import { DEKAG_FIELDS, consistencyProblems, type SigmfAnnotation, type SigmfCapture, type SigmfGlobal, type SigmfMeta } from './meta.js';
import { validateMeta, type MetaValidation } from './validate.js';
import { listTar } from './tar.js';

export type SigmfLocation =
  | { kind: 'files'; base: string; metaPath: string; dataPath: string }
  | { kind: 'archive'; archivePath: string };

/** Where a recording named by BASE, BASE.sigmf-meta, BASE.sigmf-data or BASE.sigmf lives. */
export function locateSigmf(path: string): SigmfLocation {
  if (path.endsWith('.sigmf')) {
    if (!existsSync(path)) throw new SigmfFormatError(`no SigMF archive at ${path}`);
    return { kind: 'archive', archivePath: path };
  }
  const base = path.replace(/\.sigmf-(meta|data)$/, '');
  const metaPath = `${base}.sigmf-meta`;
  const dataPath = `${base}.sigmf-data`;
  if (existsSync(metaPath)) return { kind: 'files', base, metaPath, dataPath };
  if (base === path && existsSync(`${path}.sigmf`)) return { kind: 'archive', archivePath: `${path}.sigmf` };
  if (existsSync(dataPath)) {
    throw new SigmfFormatError(
      `${dataPath} has no ${metaPath}; rebuild it with 'dekag sigmf repair ${base} --datatype TYPE --sample-rate HZ'`,
    );
  }
  throw new SigmfFormatError(`no SigMF recording at ${path}: expected ${metaPath}, ${dataPath} or ${base}.sigmf`);
}

export interface OpenSigmfOptions {
  /** Validate the meta (validate.ts; default true). */
  validate?: boolean;
}

/** `validation` of a recording opened with `validate: false`. */
export interface NotValidated {
  valid: null;
  errors: string[];
  validator: null;
}

export interface ReadOptions {
  /** Return real datatypes as complex with zero imaginary part (default false; complex types are always complex). */
  asComplex?: boolean;
}

/**
 * Limits on what a recording may declare. A meta is a few KB to a few MB (one annotation per frame); a
 * file far larger is not one and is not read into memory. Channels beyond a few hundred are not a radio's,
 * and every read allocates a whole frame per sample.
 */
export const MAX_META_BYTES = 64 * 2 ** 20;
export const MAX_CHANNELS = 1024;

/**
 * Open `path` for reading only if it is a regular file: O_NONBLOCK so that a FIFO or a device node named
 * as a recording does not block the open, then fstat on the handle (no window between check and use).
 */
export async function openRegularFile(path: string, what: string): Promise<FileHandle> {
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SigmfFormatError(`${what} ${path} is not a regular file (a device, FIFO or folder); a recording is made of files`);
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The text of a meta file: a regular file of at most MAX_META_BYTES, read through one bounded buffer. */
export async function readMetaFile(path: string): Promise<string> {
  const fh = await openRegularFile(path, 'the meta');
  try {
    const size = (await fh.stat()).size;
    if (size > MAX_META_BYTES) throw new SigmfFormatError(`${path} is ${size} bytes; a SigMF meta this build reads is at most ${MAX_META_BYTES} bytes`);
    const buf = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(buf, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.toString('utf8', 0, done);
  } finally {
    await fh.close();
  }
}

/**
 * Parse meta text, with a message that points at repair when it is not JSON. Errors say where the JSON
 * breaks, never what the file holds (a meta named by a peer may be any file).
 */
export function parseMetaText(text: string, where: string): SigmfMeta {
  let meta: unknown;
  try {
    meta = parseUntrustedJson(text);
  } catch (e) {
    if (!(e instanceof JsonInputError)) throw e;
    const hint = e.message.startsWith('not valid JSON') ? "; if its writer crashed, try 'dekag sigmf repair'" : '';
    throw new SigmfFormatError(`${where} is ${e.message}${hint}`);
  }
  const g = (meta as { global?: unknown } | null)?.global as Record<string, unknown> | undefined;
  if (!g || typeof g !== 'object' || Array.isArray(g) || typeof g['core:datatype'] !== 'string') {
    throw new SigmfFormatError(`${where} has no global "core:datatype"; cannot interpret its samples`);
  }
  return meta as SigmfMeta;
}

/** Why a meta's layout fields cannot describe `dataBytes` of data (channels, trailing bytes), or undefined. */
export function layoutProblem(g: SigmfGlobal, dataBytes: number | undefined): string | undefined {
  const ch = g['core:num_channels'];
  if (ch !== undefined && !(Number.isInteger(ch) && ch >= 1 && ch <= MAX_CHANNELS)) {
    return `core:num_channels ${describe(ch)} is not a channel count this build reads (1..${MAX_CHANNELS})`;
  }
  const tr = g['core:trailing_bytes'];
  if (tr !== undefined) {
    if (!(Number.isSafeInteger(tr) && (tr as number) >= 0)) return `core:trailing_bytes ${describe(tr)} must be a non-negative integer`;
    if (dataBytes !== undefined && (tr as number) > dataBytes) return `core:trailing_bytes ${tr} is more than the ${dataBytes} bytes of data`;
  }
  return undefined;
}

function describe(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeof v === 'string' ? JSON.stringify(v.slice(0, 20)) : v === null ? 'null' : `(a ${Array.isArray(v) ? 'list' : typeof v})`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** SigMF's rule for core:dataset: a bare file name in the meta's folder, never a path. */
export function isBareFileName(name: string): boolean {
  return /^[^/\\:*?"<>|\u0000-\u001f]+$/.test(name) && name !== '.' && name !== '..';
}

export class SigmfRecording {
  readonly datatype: SigmfDatatype;
  readonly numChannels: number;
  /** Bytes of one sample over all channels. */
  readonly frameBytes: number;
  /** Whole samples (per channel) in the dataset. */
  readonly sampleCount: number;
  /** Bytes after the last whole sample (non-zero after a crash mid-write; repair trims them). */
  readonly partialBytes: number;
  /** Whether the meta is valid SigMF 1.2 core metadata, and why not (`valid: null` only with `validate: false`). */
  readonly validation: MetaValidation | NotValidated;
  /** Problems beyond validity: undeclared namespaces, indices past the data, a partial last sample. */
  readonly problems: string[];
  /** Why samples cannot be read, if they cannot (metadata-only, data file missing, header_bytes). */
  readonly unreadableReason: string | undefined;

  private handle: FileHandle | undefined;
  private scratch = new Uint8Array(0);
  private scratchLock: Promise<unknown> = Promise.resolve();
  private opening: Promise<FileHandle> | undefined;

  private constructor(
    readonly location: SigmfLocation,
    readonly metaPath: string,
    readonly meta: SigmfMeta,
    /** File holding the samples (the archive itself for an archive), or null. */
    readonly dataPath: string | null,
    /** Where the samples start in `dataPath`. */
    readonly dataOffset: number,
    /** Bytes of the dataset (what core:sha512 covers), including any partial trailing sample. */
    readonly dataBytes: number,
    opts: OpenSigmfOptions,
    unreadable: string | undefined,
  ) {
    this.datatype = parseDatatype(meta.global['core:datatype']);
    // Layout fields that cannot be right make the samples unreadable; they never turn into a sample count.
    const layout = layoutProblem(meta.global, dataPath === null ? undefined : dataBytes);
    unreadable ??= layout;
    const ch = meta.global['core:num_channels'];
    this.numChannels = layout === undefined && typeof ch === 'number' ? ch : 1;
    this.frameBytes = this.datatype.bytesPerSample * this.numChannels;
    const trailing = layout === undefined ? ((meta.global['core:trailing_bytes'] as number | undefined) ?? 0) : 0;
    const sampleBytes = layout === undefined ? Math.max(0, dataBytes - trailing) : 0;
    this.sampleCount = Math.floor(sampleBytes / this.frameBytes);
    this.partialBytes = sampleBytes - this.sampleCount * this.frameBytes;
    this.validation =
      opts.validate === false ? { valid: null, errors: ['not validated'], validator: null } : validateMeta(meta);
    this.problems = consistencyProblems(meta, unreadable ? undefined : this.sampleCount);
    if (this.partialBytes > 0) {
      this.problems.push(`data ends with ${this.partialBytes} bytes of a partial sample (a writer stopped mid-write; 'dekag sigmf repair' trims it)`);
    }
    const headers = this.captures.some((c) => Number(c['core:header_bytes'] ?? 0) > 0);
    this.unreadableReason =
      unreadable ?? (headers ? 'captures with core:header_bytes (a non-conforming dataset) are not supported' : undefined);
  }

  static async open(path: string, opts: OpenSigmfOptions = {}): Promise<SigmfRecording> {
    const loc = locateSigmf(path);
    if (loc.kind === 'archive') return SigmfRecording.openArchive(loc, opts);
    const meta = parseMetaText(await readMetaFile(loc.metaPath), loc.metaPath);
    const g = meta.global;
    if (g['core:metadata_only'] === true && typeof g['core:dataset'] !== 'string') {
      return new SigmfRecording(loc, loc.metaPath, meta, null, 0, 0, opts, 'the recording is metadata-only (core:metadata_only)');
    }
    // A non-conforming dataset names its file; it lives next to the meta, by a bare name (never a path).
    const dataset = g['core:dataset'];
    if (dataset !== undefined && (typeof dataset !== 'string' || !isBareFileName(dataset))) {
      return new SigmfRecording(loc, loc.metaPath, meta, null, 0, 0, opts, 'core:dataset must be a bare file name in the meta\'s folder, not a path');
    }
    const dataPath = typeof dataset === 'string' ? join(dirname(loc.metaPath), dataset) : loc.dataPath;
    if (!existsSync(dataPath)) {
      return new SigmfRecording(loc, loc.metaPath, meta, null, 0, 0, opts, `the data file ${dataPath} is missing`);
    }
    const st = statSync(dataPath);
    if (!st.isFile()) {
      return new SigmfRecording(loc, loc.metaPath, meta, null, 0, 0, opts, `the data file ${dataPath} is not a regular file (a device, FIFO or folder)`);
    }
    return new SigmfRecording(loc, loc.metaPath, meta, dataPath, 0, st.size, opts, undefined);
  }

  private static async openArchive(loc: { kind: 'archive'; archivePath: string }, opts: OpenSigmfOptions): Promise<SigmfRecording> {
    const members = await listTar(loc.archivePath);
    const metaMember = members.find((m) => m.name.endsWith('.sigmf-meta'));
    if (!metaMember) throw new SigmfFormatError(`${loc.archivePath} holds no .sigmf-meta member`);
    if (metaMember.size > MAX_META_BYTES) {
      throw new SigmfFormatError(`${loc.archivePath}: its meta member is ${metaMember.size} bytes; a SigMF meta this build reads is at most ${MAX_META_BYTES} bytes`);
    }
    const fh = await openRegularFile(loc.archivePath, 'the archive');
    let text: string;
    try {
      const buf = Buffer.alloc(metaMember.size);
      await fh.read(buf, 0, metaMember.size, metaMember.offset);
      text = buf.toString('utf8');
    } finally {
      await fh.close();
    }
    const where = `${loc.archivePath}:${metaMember.name}`;
    const meta = parseMetaText(text, where);
    const dataName = metaMember.name.replace(/\.sigmf-meta$/, '.sigmf-data');
    const dataMember = members.find((m) => m.name === dataName);
    if (!dataMember) {
      return new SigmfRecording(loc, where, meta, null, 0, 0, opts, `${loc.archivePath} has no member ${dataName}`);
    }
    return new SigmfRecording(loc, where, meta, loc.archivePath, dataMember.offset, dataMember.size, opts, undefined);
  }

  get global(): SigmfGlobal {
    return this.meta.global;
  }
  /** The meta's captures that are objects (a malformed list or entry is the validator's to report). */
  get captures(): SigmfCapture[] {
    return Array.isArray(this.meta.captures) ? (this.meta.captures.filter(isObject) as SigmfCapture[]) : [];
  }
  /** The meta's annotations that are objects. */
  get annotations(): SigmfAnnotation[] {
    return Array.isArray(this.meta.annotations) ? (this.meta.annotations.filter(isObject) as SigmfAnnotation[]) : [];
  }
  get sampleRateHz(): number | undefined {
    const r = this.meta.global['core:sample_rate'];
    return typeof r === 'number' && r > 0 ? r : undefined;
  }
  /** Seconds of signal, when the sample rate is known. */
  get durationS(): number | undefined {
    const r = this.sampleRateHz;
    return r ? this.sampleCount / r : undefined;
  }
  /** Whether this project's writer finished the recording (undefined for recordings made elsewhere). */
  get finalized(): boolean | undefined {
    const f = this.meta.global[DEKAG_FIELDS.finalized];
    return typeof f === 'boolean' ? f : undefined;
  }

  /** The capture segment that holds sample `index` (the last one starting at or before it). */
  captureAt(index: number): SigmfCapture | undefined {
    let found: SigmfCapture | undefined;
    for (const c of this.captures) {
      if (c['core:sample_start'] <= index) found = c;
      else break;
    }
    return found;
  }

  /** true/false when the meta has core:sha512 and the data matches or not; null without a checksum or data. */
  async verifyChecksum(): Promise<boolean | null> {
    const expected = this.meta.global['core:sha512'];
    if (typeof expected !== 'string' || this.dataPath === null) return null;
    const h = createHash('sha512');
    const fh = await openRegularFile(this.dataPath, 'the data file');
    try {
      const buf = new Uint8Array(1 << 20);
      let done = 0;
      while (done < this.dataBytes) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, this.dataBytes - done), this.dataOffset + done);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        done += bytesRead;
      }
    } finally {
      await fh.close();
    }
    return h.digest('hex') === expected.toLowerCase();
  }

  /**
   * Read samples [start, start + count) of every channel: complex as interleaved [re, im, ...] Float32Array,
   * real as one value per sample (or complex with zero imaginary part with `asComplex`). Reading past the
   * end returns fewer samples.
   */
  async readSamples(start: number, count: number, opts: ReadOptions = {}): Promise<Float32Array[]> {
    const n = this.clampCount(start, count);
    const width = this.datatype.complex || opts.asComplex ? 2 : 1;
    const out: Float32Array[] = [];
    for (let c = 0; c < this.numChannels; c++) out.push(new Float32Array(n * width));
    if (n === 0) return out;
    // A buffer of its own: concurrent reads must not share the scratch buffer while a read is in flight.
    const raw = await this.readRaw(start, n, new Uint8Array(n * this.frameBytes));
    for (let c = 0; c < this.numChannels; c++) this.decodeChannel(raw, n, c, out[c]!, width === 2);
    return out;
  }

  /**
   * Read up to `count` samples of one channel into `out` (interleaved complex when the datatype is complex
   * or `asComplex`), reusing an internal byte buffer: no allocation per call once warm. Returns samples read.
   */
  async readChannelInto(start: number, count: number, channel: number, out: Float32Array, opts: ReadOptions = {}): Promise<number> {
    if (!Number.isInteger(channel) || channel < 0 || channel >= this.numChannels) {
      throw new SigmfArgumentError(`channel ${channel} does not exist; the recording has ${this.numChannels} channel(s)`);
    }
    const width = this.datatype.complex || opts.asComplex ? 2 : 1;
    const n = Math.min(this.clampCount(start, count), Math.floor(out.length / width));
    if (n === 0) return 0;
    // Reads into the shared scratch buffer are serialized so a second call cannot overwrite it mid-decode.
    const run = this.scratchLock.then(async () => {
      const bytes = n * this.frameBytes;
      if (this.scratch.length < bytes) this.scratch = new Uint8Array(bytes);
      const raw = await this.readRaw(start, n, this.scratch);
      this.decodeChannel(raw, n, channel, out, width === 2);
      return n;
    });
    this.scratchLock = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const h = this.handle ?? (await this.opening?.catch(() => undefined));
    this.handle = undefined;
    this.opening = undefined;
    await h?.close();
  }

  private clampCount(start: number, count: number): number {
    if (this.unreadableReason) throw new SigmfFormatError(`cannot read samples of ${this.metaPath}: ${this.unreadableReason}`);
    if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(count) || count < 0) {
      throw new SigmfArgumentError(`sample range start=${start} count=${count} must be integers >= 0`);
    }
    return Math.max(0, Math.min(count, this.sampleCount - start));
  }

  private async readRaw(start: number, n: number, buf: Uint8Array): Promise<DataView> {
    const bytes = n * this.frameBytes;
    this.handle ??= await (this.opening ??= openRegularFile(this.dataPath!, 'the data file'));
    let done = 0;
    while (done < bytes) {
      const { bytesRead } = await this.handle.read(buf, done, bytes - done, this.dataOffset + start * this.frameBytes + done);
      if (bytesRead === 0) throw new SigmfFormatError(`${this.dataPath} shrank while reading (at sample ${start})`);
      done += bytesRead;
    }
    return new DataView(buf.buffer, buf.byteOffset, bytes);
  }

  private decodeChannel(raw: DataView, n: number, channel: number, out: Float32Array, complexOut: boolean): void {
    const dt = this.datatype;
    const base = channel * dt.bytesPerSample;
    if (dt.complex) {
      decodeComponents(raw, base, this.frameBytes, dt, n, out, 0, 2);
      decodeComponents(raw, base + dt.bytesPerComponent, this.frameBytes, dt, n, out, 1, 2);
    } else if (complexOut) {
      decodeComponents(raw, base, this.frameBytes, dt, n, out, 0, 2);
      for (let k = 1; k < 2 * n; k += 2) out[k] = 0;
    } else {
      decodeComponents(raw, base, this.frameBytes, dt, n, out, 0, 1);
    }
  }
}

/** Open a recording (see SigmfRecording.open). */
export function openSigmf(path: string, opts?: OpenSigmfOptions): Promise<SigmfRecording> {
  return SigmfRecording.open(path, opts);
}
