/**
 * The project's own validator of SigMF metadata: the core namespace of SigMF 1.2 (written against
 * specification 1.2.5), in plain TypeScript, with no schema file and nothing read at run time.
 *
 * What it checks, from the specification:
 * - the top level is an object with exactly `global`, `captures` (array) and `annotations` (array);
 * - every `core:` field of each scope has its type and range (table `CORE_FIELDS`); a `core:` key the
 *   specification does not define in that scope is an error; keys of other namespaces (`dekag:`,
 *   `antenna:`, ...) and keys without a namespace are left alone (whether a namespace is declared in
 *   `core:extensions` is the reader's `problems`, not validity);
 * - `core:datatype` follows the grammar `(r|c)(f32|f64|i32|i16|u32|u16|i8|u8)(_le|_be)?` where multi-byte
 *   types need the suffix and 8-bit types take none (the parser of datatype.ts, strict);
 * - `core:version` is a semantic version `X.Y.Z`; `core:sha512` is exactly 128 hex digits;
 *   `core:datetime` is RFC 3339 in UTC (`YYYY-MM-DDTHH:MM:SS[.fff...]Z`, a real calendar date);
 *   `core:license` is a URI with a scheme; `core:uuid` an RFC 4122 UUID; `core:dataset` a bare file name;
 *   `core:geolocation` a GeoJSON Point (RFC 7946: [longitude, latitude(, altitude)] in WGS84 degrees and
 *   metres, no `geometry`/`properties` members); `core:extensions` a list of exactly {name, version, optional};
 * - sample indices are non-negative integers up to 2^63 - 1; `core:num_channels` a positive integer;
 *   frequencies numbers within +-1e12 Hz, `core:sample_rate` within 1..1e12;
 * - captures and annotations are sorted by `core:sample_start`, and an annotation has both frequency edges
 *   or neither (MUSTs of the specification that a JSON schema cannot express).
 *
 * It is stricter than the official JSON schema where that schema's patterns are looser than the text it
 * accompanies (unanchored patterns for the datatype, version, sha512 and dataset; any ISO-8601 form for
 * datetime; unknown `core:` keys allowed). validate.test.ts compares the two verdicts where both speak.
 *
 * Every error names where and what: `/captures/1/core:sample_start must be a non-negative integer (got -3)`.
 * Paths are JSON pointers into the meta.
 */
import { parseDatatype } from './datatype.js';

export interface MetaValidation {
  valid: boolean;
  /** One message per problem, in document order; empty when valid. */
  errors: string[];
  /** What validated (this module). */
  validator: string;
}

/** The name reported as `validator` (and by `dekag sigmf info` as `schema_validator`). */
export const META_VALIDATOR = 'dekag built-in validator of the SigMF 1.2 core namespace (spec 1.2.5)';

/** 2^63 - 1, the largest sample index SigMF allows (as a double it rounds to 2^63, like any JSON reader's). */
const INDEX_MAX = 9223372036854775807;
const FREQ_LIMIT = 1e12;

type Errors = string[];
/** Checks `v` found at JSON pointer `path`; pushes full messages onto `errs`. */
type Check = (v: unknown, path: string, errs: Errors) => void;

/** A short description of a value for "(got ...)". */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 56)}..."` : s;
  }
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** One JSON-pointer step (RFC 6901 escapes). */
function step(path: string, key: string | number): string {
  return `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** A check that only looks at the value: `why` returns "must be ..." or undefined. */
function simple(why: (v: unknown) => string | undefined): Check {
  return (v, path, errs) => {
    const w = why(v);
    if (w !== undefined) errs.push(`${path} ${w}`);
  };
}

const str = simple((v) => (typeof v === 'string' ? undefined : `must be a string (got ${describeValue(v)})`));
const bool = simple((v) => (typeof v === 'boolean' ? undefined : `must be true or false (got ${describeValue(v)})`));

function isIndex(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= INDEX_MAX;
}

const sampleIndex = simple((v) =>
  isIndex(v)
    ? undefined
    : `must be a non-negative integer (got ${describeValue(v)})`,
);

const positiveInt = simple((v) =>
  Number.isInteger(v) && (v as number) >= 1 && (v as number) <= INDEX_MAX
    ? undefined
    : `must be a positive integer (got ${describeValue(v)})`,
);

function numberIn(lo: number, hi: number, range: string): Check {
  return simple((v) => {
    if (!isNumber(v)) return `must be a number (got ${describeValue(v)})`;
    return v >= lo && v <= hi ? undefined : `must be ${range} (got ${v})`;
  });
}

const frequency = numberIn(-FREQ_LIMIT, FREQ_LIMIT, 'between -1e12 and 1e12 Hz');

const datatype = simple((v) => {
  if (typeof v !== 'string') return `must be a string naming the sample format, e.g. "cf32_le" (got ${describeValue(v)})`;
  try {
    parseDatatype(v, { strict: true });
    return undefined;
  } catch (e) {
    return `is invalid: ${(e as Error).message}`;
  }
});

// semver.org's grammar: no leading zeros; optional pre-release and build parts.
const NUM = '(0|[1-9]\\d*)';
const IDENT = '(0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)';
const SEMVER_RE = new RegExp(`^${NUM}\\.${NUM}\\.${NUM}(-${IDENT}(\\.${IDENT})*)?(\\+[0-9a-zA-Z-]+(\\.[0-9a-zA-Z-]+)*)?$`);
const version = simple((v) =>
  typeof v === 'string' && SEMVER_RE.test(v)
    ? undefined
    : `must be the SigMF version as X.Y.Z, e.g. "1.2.5" (got ${describeValue(v)})`,
);

const sha512 = simple((v) => {
  if (typeof v !== 'string') return `must be a string of 128 hexadecimal digits (got ${describeValue(v)})`;
  const bad = v.search(/[^0-9a-fA-F]/);
  if (bad >= 0) return `must be 128 hexadecimal digits (got ${JSON.stringify(v[bad])} at character ${bad})`;
  return v.length === 128 ? undefined : `must be 128 hexadecimal digits (got ${v.length})`;
});

const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;
function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
const datetime = simple((v) => {
  const want = `must be an RFC 3339 UTC timestamp like "2024-05-01T12:00:00.123Z" (got ${describeValue(v)})`;
  if (typeof v !== 'string') return want;
  const m = DATETIME_RE.exec(v);
  if (!m) return want;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12) return `has no month ${m[2]} (got ${describeValue(v)})`;
  if (d < 1 || d > daysIn(y, mo)) return `has no day ${m[3]} in month ${m[2]} of ${m[1]} (got ${describeValue(v)})`;
  if (h > 23 || mi > 59 || s > 60) return `has an impossible time of day (got ${describeValue(v)})`;
  return undefined;
});

// RFC 3986 URI: a scheme, ':', then no whitespace or control characters.
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\u0000-\u001f\u007f]*$/;
const uri = simple((v) =>
  typeof v === 'string' && URI_RE.test(v)
    ? undefined
    : `must be a URI with a scheme, e.g. "https://creativecommons.org/licenses/by-sa/4.0/" (got ${describeValue(v)})`,
);

const UUID_RE = /^(urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuid = simple((v) =>
  typeof v === 'string' && UUID_RE.test(v)
    ? undefined
    : `must be an RFC 4122 UUID like "f81d4fae-7dec-11d0-a765-00a0c91e6bf6" (got ${describeValue(v)})`,
);

const dataset = simple((v) =>
  typeof v === 'string' && /^[^/\\:*?"<>|\u0000-\u001f]+$/.test(v) && v !== '.' && v !== '..'
    ? undefined
    : `must be a bare file name in the meta's folder, without any of / \\ : * ? " < > | (got ${describeValue(v)})`,
);

/** A GeoJSON Point (RFC 7946 3.1.2) as SigMF uses it; foreign members are allowed except geometry/properties. */
const geolocation: Check = (v, path, errs) => {
  if (!isObject(v)) {
    errs.push(`${path} must be a GeoJSON Point {"type": "Point", "coordinates": [lon, lat(, alt)]} (got ${describeValue(v)})`);
    return;
  }
  for (const k of ['type', 'coordinates']) if (!(k in v)) errs.push(`${path} is missing the required key '${k}'`);
  if ('type' in v && v['type'] !== 'Point') errs.push(`${step(path, 'type')} must be "Point" (got ${describeValue(v['type'])})`);
  if ('coordinates' in v) {
    const c = v['coordinates'];
    const cp = step(path, 'coordinates');
    if (!Array.isArray(c) || c.length < 2 || c.length > 3) {
      errs.push(`${cp} must be [longitude, latitude] or [longitude, latitude, altitude] (got ${describeValue(c)})`);
    } else {
      const what = ['longitude', 'latitude', 'altitude'];
      const limit = [180, 90, Infinity];
      c.forEach((x: unknown, i) => {
        if (!isNumber(x)) errs.push(`${step(cp, i)} (${what[i]}) must be a number (got ${describeValue(x)})`);
        else if (Math.abs(x) > limit[i]!) errs.push(`${step(cp, i)} (${what[i]}) must be between -${limit[i]} and ${limit[i]} degrees (got ${x})`);
      });
    }
  }
  if ('bbox' in v) {
    const b = v['bbox'];
    if (!Array.isArray(b) || b.length < 4 || !b.every(isNumber)) {
      errs.push(`${step(path, 'bbox')} must be an array of at least 4 numbers (got ${describeValue(b)})`);
    }
  }
  for (const k of ['geometry', 'properties']) {
    if (k in v) errs.push(`${step(path, k)} is not allowed: RFC 7946 prohibits '${k}' as a member of a Point`);
  }
};

const EXTENSION_KEYS: Record<string, Check> = { name: str, version: str, optional: bool };
const extensions: Check = (v, path, errs) => {
  if (!Array.isArray(v)) {
    errs.push(`${path} must be an array of {"name", "version", "optional"} objects (got ${describeValue(v)})`);
    return;
  }
  v.forEach((e: unknown, i) => {
    const p = step(path, i);
    if (!isObject(e)) {
      errs.push(`${p} must be an object {"name", "version", "optional"} (got ${describeValue(e)})`);
      return;
    }
    for (const k of Object.keys(EXTENSION_KEYS)) if (!(k in e)) errs.push(`${p} is missing the required key '${k}'`);
    for (const [k, x] of Object.entries(e)) {
      const check = Object.hasOwn(EXTENSION_KEYS, k) ? EXTENSION_KEYS[k] : undefined;
      if (check) check(x, step(p, k), errs);
      else errs.push(`${step(p, k)} is not allowed: an extension object holds only name, version and optional`);
    }
  });
};

export type SigmfScope = 'global' | 'captures' | 'annotations';

/** Every field of the core namespace, per scope, with its check. */
const CORE_CHECKS: Record<SigmfScope, Record<string, Check>> = {
  global: {
    'core:datatype': datatype,
    'core:sample_rate': numberIn(1, FREQ_LIMIT, 'between 1 and 1e12 samples per second'),
    'core:author': str,
    'core:collection': str,
    'core:dataset': dataset,
    'core:data_doi': str,
    'core:description': str,
    'core:hw': str,
    'core:license': uri,
    'core:metadata_only': bool,
    'core:meta_doi': str,
    'core:num_channels': positiveInt,
    'core:offset': sampleIndex,
    'core:recorder': str,
    'core:sha512': sha512,
    'core:trailing_bytes': sampleIndex,
    'core:version': version,
    'core:geolocation': geolocation,
    'core:extensions': extensions,
  },
  captures: {
    'core:sample_start': sampleIndex,
    'core:datetime': datetime,
    'core:frequency': frequency,
    'core:global_index': sampleIndex,
    'core:header_bytes': sampleIndex,
    'core:geolocation': geolocation,
  },
  annotations: {
    'core:sample_start': sampleIndex,
    'core:sample_count': sampleIndex,
    'core:freq_lower_edge': frequency,
    'core:freq_upper_edge': frequency,
    'core:label': str,
    'core:comment': str,
    'core:generator': str,
    'core:uuid': uuid,
  },
};

const REQUIRED: Record<SigmfScope, string[]> = {
  global: ['core:datatype', 'core:version'],
  captures: ['core:sample_start'],
  annotations: ['core:sample_start'],
};

/** The core fields of each scope, and which are required. */
export const CORE_FIELDS: Readonly<Record<SigmfScope, { fields: readonly string[]; required: readonly string[] }>> = {
  global: { fields: Object.keys(CORE_CHECKS.global), required: REQUIRED.global },
  captures: { fields: Object.keys(CORE_CHECKS.captures), required: REQUIRED.captures },
  annotations: { fields: Object.keys(CORE_CHECKS.annotations), required: REQUIRED.annotations },
};

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function unknownCoreField(key: string, scope: SigmfScope, path: string): string {
  const elsewhere = (Object.keys(CORE_CHECKS) as SigmfScope[]).filter((s) => s !== scope && Object.hasOwn(CORE_CHECKS[s], key));
  let hint = '';
  if (elsewhere.length > 0) hint = ` (it belongs in ${elsewhere.join(' or ')})`;
  else {
    let best: [string, number] | undefined;
    for (const k of Object.keys(CORE_CHECKS[scope])) {
      const d = editDistance(key, k);
      if (!best || d < best[1]) best = [k, d];
    }
    if (best && best[1] <= 3) hint = ` (did you mean '${best[0]}'?)`;
  }
  return `${step(path, key)} is not a field of the SigMF core namespace in ${scope}${hint}`;
}

function checkScopeObject(obj: unknown, scope: SigmfScope, path: string, errs: Errors): void {
  if (!isObject(obj)) {
    errs.push(`${path} must be an object (got ${describeValue(obj)})`);
    return;
  }
  for (const k of REQUIRED[scope]) if (!(k in obj)) errs.push(`${path} is missing the required key '${k}'`);
  const checks = CORE_CHECKS[scope];
  for (const [k, v] of Object.entries(obj)) {
    // Own keys only: a meta's key named __proto__ or constructor is not one of the checks.
    const check = Object.hasOwn(checks, k) ? checks[k] : undefined;
    if (check) check(v, step(path, k), errs);
    else if (k.startsWith('core:')) errs.push(unknownCoreField(k, scope, path));
  }
}

function checkSegments(xs: unknown, scope: 'captures' | 'annotations', errs: Errors): void {
  const path = `/${scope}`;
  if (!Array.isArray(xs)) {
    errs.push(`${path} must be an array (got ${describeValue(xs)})`);
    return;
  }
  let last: number | undefined;
  xs.forEach((x: unknown, i) => {
    const p = step(path, i);
    checkScopeObject(x, scope, p, errs);
    if (!isObject(x)) return;
    const s = x['core:sample_start'];
    if (isIndex(s)) {
      if (last !== undefined && s < last) {
        errs.push(`${step(p, 'core:sample_start')} is ${s}, before the previous segment's ${last}: ${scope} must be sorted by core:sample_start`);
      }
      last = s;
    }
    if (scope === 'annotations' && ('core:freq_lower_edge' in x) !== ('core:freq_upper_edge' in x)) {
      const [has, lacks] = 'core:freq_lower_edge' in x ? ['lower', 'upper'] : ['upper', 'lower'];
      errs.push(`${p} has core:freq_${has}_edge without core:freq_${lacks}_edge: give both or neither`);
    }
  });
}

const TOP_LEVEL = ['global', 'captures', 'annotations'] as const;

/** Every problem of `meta` as SigMF 1.2 core metadata; empty when it is valid. Never throws. */
export function metaErrors(meta: unknown): string[] {
  const errs: Errors = [];
  if (!isObject(meta)) {
    return [`/ must be an object with global, captures and annotations (got ${describeValue(meta)})`];
  }
  for (const k of TOP_LEVEL) if (!(k in meta)) errs.push(`/ is missing the required key '${k}'`);
  for (const k of Object.keys(meta)) {
    if (!(TOP_LEVEL as readonly string[]).includes(k)) errs.push(`${step('', k)} is not allowed: a meta holds only global, captures and annotations`);
  }
  if ('global' in meta) checkScopeObject(meta['global'], 'global', '/global', errs);
  if ('captures' in meta) checkSegments(meta['captures'], 'captures', errs);
  if ('annotations' in meta) checkSegments(meta['annotations'], 'annotations', errs);
  return errs;
}

/** Validate a parsed meta object. Always decisive; never throws. */
export function validateMeta(meta: unknown): MetaValidation {
  const errors = metaErrors(meta);
  return { valid: errors.length === 0, errors, validator: META_VALIDATOR };
}
