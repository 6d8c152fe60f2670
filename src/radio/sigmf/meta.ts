/**
 * SigMF metadata as this project writes it: types for the three top-level objects, the `dekag` extension
 * namespace, and helpers to build, order and serialize a meta. Pure: no I/O.
 */
import { SigmfArgumentError } from './errors.js';

/** The SigMF specification version the writer claims (validate.ts checks the 1.2 core namespace as of 1.2.5). */
export const SIGMF_VERSION = '1.2.5';

/** Name of this project's extension namespace, declared in `core:extensions` of every recording it writes. */
export const DEKAG_NAMESPACE = 'dekag';
export const DEKAG_NAMESPACE_VERSION = '1.0.0';

/**
 * Fields of the `dekag` namespace (documented in docs/sigmf.md). Annotations of received frames carry the
 * frame fields; the global object carries the writer's state.
 */
export const DEKAG_FIELDS = {
  /** annotation: frame sequence number from the PHY header (integer >= 0) */
  sequence: 'dekag:sequence',
  /** annotation: SNR measured by the receiver for this frame, dB */
  snrDb: 'dekag:snr_db',
  /** annotation: whether the frame's CRC checked */
  crcOk: 'dekag:crc_ok',
  /** annotation: modulation and coding rate of the frame, as the PHY names it (e.g. "qpsk-1/2") */
  rate: 'dekag:rate',
  /** annotation: what the payload carried (e.g. "latent", "prompt", "adapter", "control") */
  payloadKind: 'dekag:payload_kind',
  /** global: false while a writer is recording, true after finalize (or repair) */
  finalized: 'dekag:finalized',
  /** global: what `dekag sigmf repair` did, when it ran: { datetime, actions: string[] } */
  repaired: 'dekag:repaired',
  /** capture: number of samples the radio reported lost just before this segment (overflow) */
  lostSamples: 'dekag:lost_samples',
} as const;

export interface SigmfExtension {
  name: string;
  version: string;
  optional: boolean;
}

export interface GeoJsonPoint {
  type: 'Point';
  /** longitude deg, latitude deg, optional altitude m above the WGS84 ellipsoid (GeoJSON order) */
  coordinates: [number, number] | [number, number, number];
  [foreign: string]: unknown;
}

export type SigmfGlobal = Record<string, unknown> & {
  'core:datatype': string;
  'core:version': string;
  'core:sample_rate'?: number;
  'core:num_channels'?: number;
  'core:sha512'?: string;
  'core:extensions'?: SigmfExtension[];
};

export type SigmfCapture = Record<string, unknown> & {
  'core:sample_start': number;
  'core:frequency'?: number;
  'core:datetime'?: string;
  'core:global_index'?: number;
};

export type SigmfAnnotation = Record<string, unknown> & {
  'core:sample_start': number;
  'core:sample_count'?: number;
  'core:label'?: string;
  'core:comment'?: string;
};

export interface SigmfMeta {
  global: SigmfGlobal;
  captures: SigmfCapture[];
  annotations: SigmfAnnotation[];
}

/** One received frame, as the receiver reports it; becomes one annotation. */
export interface FrameAnnotation {
  sampleStart: number;
  sampleCount: number;
  sequence?: number;
  snrDb?: number;
  crcOk?: boolean;
  rate?: string;
  payloadKind?: string;
  /** Short label for GUIs (SigMF recommends at most 20 characters); default "frame <sequence>". */
  label?: string;
  comment?: string;
  /** Baseband edges of the frame's occupied band, Hz (both or neither). */
  freqLowerEdgeHz?: number;
  freqUpperEdgeHz?: number;
  /** Further namespaced fields (e.g. "dekag:evm_db"); their namespace must be declared. */
  extra?: Record<string, unknown>;
}

/** The annotation object for a received frame, in sample order fields first. */
export function frameToAnnotation(f: FrameAnnotation, generator: string): SigmfAnnotation {
  requireSampleIndex('frame sampleStart', f.sampleStart);
  requireSampleIndex('frame sampleCount', f.sampleCount);
  if ((f.freqLowerEdgeHz === undefined) !== (f.freqUpperEdgeHz === undefined)) {
    throw new SigmfArgumentError('give both freqLowerEdgeHz and freqUpperEdgeHz or neither (SigMF requires the pair)');
  }
  const a: SigmfAnnotation = { 'core:sample_start': f.sampleStart, 'core:sample_count': f.sampleCount };
  a['core:label'] = f.label ?? (f.sequence !== undefined ? `frame ${f.sequence}` : 'frame');
  if (f.comment !== undefined) a['core:comment'] = f.comment;
  a['core:generator'] = generator;
  if (f.freqLowerEdgeHz !== undefined) {
    requireFinite('freqLowerEdgeHz', f.freqLowerEdgeHz);
    requireFinite('freqUpperEdgeHz', f.freqUpperEdgeHz!);
    a['core:freq_lower_edge'] = f.freqLowerEdgeHz;
    a['core:freq_upper_edge'] = f.freqUpperEdgeHz!;
  }
  if (f.sequence !== undefined) {
    requireSampleIndex('frame sequence', f.sequence);
    a[DEKAG_FIELDS.sequence] = f.sequence;
  }
  if (f.snrDb !== undefined) {
    // JSON has no NaN or Infinity: an SNR that could not be measured is left out rather than corrupting the meta
    if (Number.isFinite(f.snrDb)) a[DEKAG_FIELDS.snrDb] = Math.round(f.snrDb * 1000) / 1000;
  }
  if (f.crcOk !== undefined) a[DEKAG_FIELDS.crcOk] = f.crcOk;
  if (f.rate !== undefined) a[DEKAG_FIELDS.rate] = f.rate;
  if (f.payloadKind !== undefined) a[DEKAG_FIELDS.payloadKind] = f.payloadKind;
  for (const [k, v] of Object.entries(f.extra ?? {})) {
    if (!k.includes(':')) throw new SigmfArgumentError(`annotation field '${k}' needs a namespace, e.g. 'dekag:${k}'`);
    a[k] = v;
  }
  return a;
}

export function requireSampleIndex(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new SigmfArgumentError(`${what} must be an integer >= 0, got ${n}`);
}

export function requireFinite(what: string, x: number): void {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new SigmfArgumentError(`${what} must be a finite number, got ${x}`);
}

/**
 * An RFC 3339 UTC timestamp as SigMF wants it (`YYYY-MM-DDTHH:MM:SS.sssZ`). A string is accepted as given
 * (so callers with better than millisecond time, e.g. from GNSS, keep their precision) after a check.
 */
export function toSigmfDatetime(t: Date | string | number): string {
  if (typeof t === 'string') {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(t)) {
      throw new SigmfArgumentError(`datetime '${t}' must be RFC 3339 UTC like 2024-05-01T12:00:00.123Z`);
    }
    return t;
  }
  const d = typeof t === 'number' ? new Date(t) : t;
  if (Number.isNaN(d.getTime())) throw new SigmfArgumentError('datetime is an invalid Date');
  return d.toISOString();
}

/** A GeoJSON point from degrees and metres, checked. */
export function geoPoint(lonDeg: number, latDeg: number, altM?: number): GeoJsonPoint {
  requireFinite('longitude', lonDeg);
  requireFinite('latitude', latDeg);
  if (lonDeg < -180 || lonDeg > 180) throw new SigmfArgumentError(`longitude must be -180..180 deg, got ${lonDeg}`);
  if (latDeg < -90 || latDeg > 90) throw new SigmfArgumentError(`latitude must be -90..90 deg, got ${latDeg}`);
  if (altM === undefined) return { type: 'Point', coordinates: [lonDeg, latDeg] };
  requireFinite('altitude', altM);
  return { type: 'Point', coordinates: [lonDeg, latDeg, altM] };
}

/** Sort captures and annotations by sample_start (stable), as the spec requires. */
export function sortSegments<T extends { 'core:sample_start': number }>(xs: T[]): T[] {
  return xs
    .map((x, i) => [x, i] as const)
    .sort((a, b) => a[0]['core:sample_start'] - b[0]['core:sample_start'] || a[1] - b[1])
    .map(([x]) => x);
}

/** The text of a .sigmf-meta file: global, captures, annotations, 4-space indented like the official examples. */
export function serializeMeta(meta: SigmfMeta): string {
  return JSON.stringify({ global: meta.global, captures: meta.captures, annotations: meta.annotations }, null, 4) + '\n';
}

/** Namespaces used in field names of an object (the part before ':'). */
export function namespacesOf(obj: Record<string, unknown>, into = new Set<string>()): Set<string> {
  for (const k of Object.keys(obj)) {
    const i = k.indexOf(':');
    if (i > 0) into.add(k.slice(0, i));
  }
  return into;
}

/**
 * Consistency beyond validity (validate.ts already reports unsorted segments and a lone frequency edge):
 * namespaces declared, indices within the data. Returns one message per problem (empty when consistent).
 */
export function consistencyProblems(meta: SigmfMeta, sampleCount: number | undefined): string[] {
  const problems: string[] = [];
  const g = meta.global ?? ({} as SigmfGlobal);
  const declared = new Set<string>(['core']);
  for (const e of Array.isArray(g['core:extensions']) ? g['core:extensions'] : []) {
    if (e && typeof e.name === 'string') declared.add(e.name);
  }
  const used = namespacesOf(g);
  const check = (name: string, xs: unknown) => {
    if (!Array.isArray(xs)) return;
    xs.forEach((x: Record<string, unknown>, i) => {
      if (!x || typeof x !== 'object') return;
      namespacesOf(x, used);
      const s = x['core:sample_start'];
      if (typeof s !== 'number') return;
      if (sampleCount !== undefined && name === 'annotations') {
        const c = typeof x['core:sample_count'] === 'number' ? (x['core:sample_count'] as number) : 0;
        if (s + c > sampleCount) problems.push(`annotations[${i}] covers samples ${s}..${s + c} beyond the data (${sampleCount} samples)`);
      }
      if (sampleCount !== undefined && name === 'captures' && s > sampleCount) {
        problems.push(`captures[${i}] starts at sample ${s}, beyond the data (${sampleCount} samples)`);
      }
    });
  };
  check('captures', meta.captures);
  check('annotations', meta.annotations);
  for (const ns of used) {
    if (!declared.has(ns)) problems.push(`namespace '${ns}' is used but not declared in global core:extensions`);
  }
  return problems;
}
