/**
 * `dekag sigmf repair`: make a recording whose writer stopped early (crash, kill, power loss, full disk)
 * valid and consistent with the data actually on disk.
 *
 * What it does, each step reported:
 *   - takes the meta from BASE.sigmf-meta, or from BASE.sigmf-meta.tmp if the final rename never happened,
 *     or builds one from --datatype (and --sample-rate) when there is none;
 *   - trims a partial trailing sample from BASE.sigmf-data;
 *   - drops captures and annotations that start past the data, clips annotations that end past it,
 *     drops malformed ones, sorts both by core:sample_start;
 *   - fills in core:version, declares namespaces that are used but not declared;
 *   - adds core:sha512 (or replaces it when the recording was never finalized or was just trimmed; a
 *     finalized recording whose data no longer matches its checksum is reported, not "fixed", unless
 *     `rehash` is given, because that mismatch means the data changed);
 *   - marks it `dekag:finalized: true` with a `dekag:repaired` note, and removes stale .tmp files.
 * It never deletes sample data other than a partial sample, and never any data whose core:sha512 matches:
 * data that matches its checksum is what the writer wrote, so a meta that does not divide it into whole
 * samples is wrong, not the data. Metadata that cannot describe the data (a channel count beyond
 * MAX_CHANNELS, a non-conforming dataset with core:dataset, core:trailing_bytes or core:header_bytes) is
 * refused with a SigmfFormatError rather than "fixed" by changing the data.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { JsonInputError, parseUntrustedJson } from '../../util/json.js';
import { parseDatatype } from './datatype.js';
import { SigmfFormatError, SigmfArgumentError } from './errors.js';
import { nodeFileSystem, writeFileAtomic, type SigmfFileSystem } from './fs.js';
import {
  DEKAG_FIELDS,
  DEKAG_NAMESPACE,
  DEKAG_NAMESPACE_VERSION,
  SIGMF_VERSION,
  namespacesOf,
  serializeMeta,
  sortSegments,
  toSigmfDatetime,
  type SigmfAnnotation,
  type SigmfCapture,
  type SigmfExtension,
  type SigmfGlobal,
  type SigmfMeta,
} from './meta.js';
import { validateMeta, type MetaValidation } from './validate.js';
import { MAX_CHANNELS, openRegularFile, readMetaFile } from './reader.js';

export interface RepairOptions {
  /** Report what would be done; change nothing. */
  dryRun?: boolean;
  /** Datatype to use when there is no readable meta at all. */
  datatype?: string;
  /** Sample rate to use when the meta has none. */
  sampleRateHz?: number;
  /** Replace a core:sha512 that does not match the data even on a finalized recording. */
  rehash?: boolean;
  fileSystem?: SigmfFileSystem;
  now?: () => number;
}

export interface RepairReport {
  base: string;
  metaPath: string;
  dataPath: string;
  dryRun: boolean;
  /** Whether anything was (or, with dryRun, would be) changed. */
  changed: boolean;
  actions: string[];
  /** Things noticed and left alone. */
  warnings: string[];
  sampleCount: number;
  truncatedBytes: number;
  sha512: string;
  /** The repaired meta's validation (validate.ts). */
  validation: MetaValidation;
}

export async function repairSigmf(path: string, opts: RepairOptions = {}): Promise<RepairReport> {
  if (path.endsWith('.sigmf')) {
    throw new SigmfArgumentError(`${path} is an archive; archives are written only by a finished writer. Repair the BASE files instead`);
  }
  const fs = opts.fileSystem ?? nodeFileSystem;
  const now = opts.now ?? Date.now;
  const base = path.replace(/\.sigmf-(meta|data)$/, '');
  const metaPath = `${base}.sigmf-meta`;
  const dataPath = `${base}.sigmf-data`;
  const actions: string[] = [];
  const warnings: string[] = [];

  if (!existsSync(dataPath)) throw new SigmfFormatError(`nothing to repair: ${dataPath} does not exist`);
  if (!statSync(dataPath).isFile()) throw new SigmfFormatError(`${dataPath} is not a regular file (a device, FIFO or folder); there is nothing to repair`);
  const meta = await loadMeta(metaPath, opts, actions);
  const g = meta.global;

  if (g['core:dataset'] !== undefined) {
    throw new SigmfArgumentError(`${metaPath} describes a non-conforming dataset (core:dataset); repair handles BASE.sigmf-data recordings only`);
  }
  if (g['core:trailing_bytes'] !== undefined || (Array.isArray(meta.captures) && meta.captures.some((c) => c && typeof c === 'object' && c['core:header_bytes'] !== undefined))) {
    throw new SigmfArgumentError(`${metaPath} describes a non-conforming dataset (core:trailing_bytes or core:header_bytes); repair handles BASE.sigmf-data recordings only`);
  }
  const dt = parseDatatype(g['core:datatype']);
  const ch = g['core:num_channels'];
  if (ch !== undefined && !(Number.isInteger(ch) && ch >= 1 && ch <= MAX_CHANNELS)) {
    throw new SigmfFormatError(
      `${metaPath} declares core:num_channels ${typeof ch === 'number' ? ch : JSON.stringify(ch)}, which is not a plausible channel count (1..${MAX_CHANNELS}); ` +
        `repair will not cut the data to fit it. Correct the meta by hand`,
    );
  }
  const numChannels = typeof ch === 'number' ? ch : 1;
  const frameBytes = dt.bytesPerSample * numChannels;

  // --- data: hash it whole and up to its last whole sample (one pass)
  const size = await fs.size(dataPath);
  const sampleCount = Math.floor(size / frameBytes);
  const truncatedBytes = size - sampleCount * frameBytes;
  const hashes = await sha512Of(dataPath, sampleCount * frameBytes, size);
  const old = g['core:sha512'];
  if (typeof old === 'string' && old.toLowerCase() === hashes.whole) {
    // The data is exactly what the checksum was taken of: it is never cut, whatever the meta says.
    if (truncatedBytes > 0) {
      throw new SigmfFormatError(
        `${dataPath} matches its core:sha512 but is not a whole number of ${dt.name} samples of ${numChannels} channel(s) ` +
          `(${size} bytes, ${frameBytes} per sample): the meta is wrong, not the data. Nothing was changed; correct core:datatype or core:num_channels`,
      );
    }
  }
  // --- data: trim a partial sample
  if (truncatedBytes > 0) {
    actions.push(`truncated ${truncatedBytes} bytes of a partial sample from ${dataPath} (${sampleCount} whole samples remain)`);
  }

  // --- global
  if (typeof g['core:version'] !== 'string' || !/^\d+\.\d+\.\d/.test(g['core:version'])) {
    actions.push(`set core:version to ${SIGMF_VERSION}`);
    g['core:version'] = SIGMF_VERSION;
  }
  if (g['core:sample_rate'] === undefined && opts.sampleRateHz !== undefined) {
    g['core:sample_rate'] = opts.sampleRateHz;
    actions.push(`set core:sample_rate to ${opts.sampleRateHz}`);
  }

  // --- captures and annotations
  meta.captures = fixSegments('captures', meta.captures, sampleCount, actions, false);
  meta.annotations = fixSegments('annotations', meta.annotations, sampleCount, actions, true);

  // --- checksum
  const sha512 = hashes.prefix;
  const wasFinalized = g[DEKAG_FIELDS.finalized] !== false && typeof old === 'string';
  if (typeof old !== 'string') {
    actions.push('added core:sha512 of the data');
    g['core:sha512'] = sha512;
  } else if (old.toLowerCase() !== sha512) {
    if (!wasFinalized || truncatedBytes > 0 || opts.rehash) {
      actions.push('replaced core:sha512, which did not match the data');
      g['core:sha512'] = sha512;
    } else {
      warnings.push(
        `core:sha512 does not match the data of this finalized recording: the data changed after it was written. ` +
          `Left as it is; pass --rehash to accept the data as it is now`,
      );
    }
  }

  // --- provenance and namespaces
  if (g[DEKAG_FIELDS.finalized] !== true && actions.length > 0) {
    g[DEKAG_FIELDS.finalized] = true;
    actions.push('marked the recording finalized (dekag:finalized)');
  }
  const note = actions.length > 0 ? { datetime: toSigmfDatetime(now()), actions: [] as string[] } : undefined;
  if (note) g[DEKAG_FIELDS.repaired] = note;
  declareNamespaces(meta, actions);
  if (note) note.actions.push(...actions);

  const validation = validateMeta(meta);
  if (!validation.valid) warnings.push(`still invalid SigMF: ${validation.errors.join('; ')}`);

  const stale = [`${metaPath}.tmp`, `${base}.sigmf.tmp`].filter((p) => existsSync(p));
  for (const p of stale) actions.push(`removed the stale temporary file ${p}`);

  const changed = actions.length > 0;
  if (!opts.dryRun && changed) {
    if (truncatedBytes > 0) await fs.truncate(dataPath, sampleCount * frameBytes);
    await writeFileAtomic(fs, metaPath, serializeMeta(meta));
    for (const p of stale) if (p !== `${metaPath}.tmp`) await fs.unlink(p).catch(() => undefined);
  }
  return { base, metaPath, dataPath, dryRun: opts.dryRun === true, changed, actions, warnings, sampleCount, truncatedBytes, sha512, validation };
}

async function loadMeta(metaPath: string, opts: RepairOptions, actions: string[]): Promise<SigmfMeta> {
  const problems: string[] = [];
  for (const p of [metaPath, `${metaPath}.tmp`]) {
    if (!existsSync(p)) {
      problems.push(`${p} does not exist`);
      continue;
    }
    try {
      let m: SigmfMeta;
      try {
        m = parseUntrustedJson(await readMetaFile(p)) as SigmfMeta;
      } catch (e) {
        // Say where the JSON breaks, never what the file holds.
        if (e instanceof JsonInputError) throw new Error(`it is ${e.message}`);
        throw e;
      }
      if (!m || typeof m !== 'object' || Array.isArray(m) || !m.global || typeof m.global !== 'object' || Array.isArray(m.global)) throw new Error('no "global" object');
      if (typeof m.global['core:datatype'] !== 'string') {
        if (!opts.datatype) throw new Error('no core:datatype');
        m.global['core:datatype'] = opts.datatype;
        actions.push(`set core:datatype to ${opts.datatype}`);
      }
      if (p !== metaPath) actions.push(`recovered the meta from ${p} (its rename into place never happened)`);
      for (const k of Object.keys(m)) {
        if (k !== 'global' && k !== 'captures' && k !== 'annotations') {
          delete (m as unknown as Record<string, unknown>)[k];
          actions.push(`removed the unknown top-level key '${k}'`);
        }
      }
      return m;
    } catch (e) {
      problems.push(`${p}: ${(e as Error).message}`);
    }
  }
  if (!opts.datatype) {
    throw new SigmfFormatError(`no usable meta (${problems.join('; ')}); give --datatype TYPE (and --sample-rate HZ) to rebuild one`);
  }
  parseDatatype(opts.datatype, { strict: true });
  const g: SigmfGlobal = { 'core:datatype': opts.datatype, 'core:version': SIGMF_VERSION };
  actions.push(`rebuilt the meta from --datatype ${opts.datatype} (${problems.join('; ')})`);
  return { global: g, captures: [{ 'core:sample_start': 0 }], annotations: [] };
}

function fixSegments<T extends SigmfCapture | SigmfAnnotation>(
  name: 'captures' | 'annotations',
  xs: unknown,
  sampleCount: number,
  actions: string[],
  clip: boolean,
): T[] {
  if (!Array.isArray(xs)) {
    actions.push(`replaced the missing or malformed ${name} list with an empty one`);
    return name === 'captures' ? ([{ 'core:sample_start': 0 }] as T[]) : [];
  }
  const out: T[] = [];
  let malformed = 0;
  let beyond = 0;
  let clipped = 0;
  for (const x of xs as T[]) {
    const s = x?.['core:sample_start'];
    if (!x || typeof x !== 'object' || !Number.isSafeInteger(s) || s < 0) {
      malformed++;
      continue;
    }
    // A capture may start at sample 0 of an empty recording; otherwise a segment must start inside the data.
    if (s >= sampleCount && !(name === 'captures' && s === 0)) {
      beyond++;
      continue;
    }
    const c = (x as SigmfAnnotation)['core:sample_count'];
    if (clip && typeof c === 'number' && s + c > sampleCount) {
      (x as SigmfAnnotation)['core:sample_count'] = sampleCount - s;
      clipped++;
    }
    out.push(x);
  }
  if (malformed) actions.push(`dropped ${malformed} malformed ${name} (no integer core:sample_start)`);
  if (beyond) actions.push(`dropped ${beyond} ${name} starting at or past the end of the data (sample ${sampleCount})`);
  if (clipped) actions.push(`clipped ${clipped} ${name} that ran past the end of the data`);
  const sorted = sortSegments(out);
  if (sorted.some((x, i) => x !== out[i])) actions.push(`sorted ${name} by core:sample_start`);
  return sorted;
}

function declareNamespaces(meta: SigmfMeta, actions: string[]): void {
  const g = meta.global;
  const used = namespacesOf(g);
  for (const x of [...meta.captures, ...meta.annotations]) namespacesOf(x, used);
  used.delete('core');
  let ext = g['core:extensions'];
  if (ext !== undefined && !Array.isArray(ext)) {
    actions.push('replaced a malformed core:extensions');
    ext = undefined;
  }
  const list: SigmfExtension[] = (ext ?? []).filter(
    (e) => e && typeof e.name === 'string' && typeof e.version === 'string' && typeof e.optional === 'boolean',
  );
  for (const ns of used) {
    if (!list.some((e) => e.name === ns)) {
      list.push({ name: ns, version: ns === DEKAG_NAMESPACE ? DEKAG_NAMESPACE_VERSION : '0.0.0', optional: true });
      actions.push(`declared the namespace '${ns}' in core:extensions`);
    }
  }
  if (list.length > 0 || ext !== undefined) g['core:extensions'] = list;
}

/** sha512 of the first `prefixBytes` of the file and of all its `totalBytes`, read once. */
async function sha512Of(path: string, prefixBytes: number, totalBytes: number): Promise<{ prefix: string; whole: string }> {
  const h = createHash('sha512');
  let prefix: string | undefined;
  const fh = await openRegularFile(path, 'the data file');
  try {
    const buf = new Uint8Array(1 << 20);
    let done = 0;
    while (done < totalBytes) {
      if (done === prefixBytes) prefix = h.copy().digest('hex');
      const until = done < prefixBytes ? prefixBytes : totalBytes;
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, until - done), done);
      if (bytesRead === 0) throw new SigmfFormatError(`${path} shrank while it was read (${done} of ${totalBytes} bytes)`);
      h.update(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
  const whole = h.digest('hex');
  return { prefix: prefix ?? whole, whole };
}
