import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_DATATYPES } from './datatype.js';
import { geoPoint } from './meta.js';
import { SigmfWriter } from './writer.js';
import { CORE_FIELDS, META_VALIDATOR, metaErrors, validateMeta, type SigmfScope } from './validate.js';
import { NO_SHARED_SIGMF, OFFICIAL_EXAMPLE, OFFICIAL_SCHEMA, officialSchemaErrors, tempDir, testSignal } from './testing.js';

type Meta = Record<string, any>;

const SHA = 'a'.repeat(64) + 'F0'.repeat(32);

function minimal(): Meta {
  return { global: { 'core:datatype': 'cf32_le', 'core:version': '1.2.5' }, captures: [], annotations: [] };
}

/** Every core field of every scope with a valid value, plus fields of other namespaces. */
function full(): Meta {
  return {
    global: {
      'core:datatype': 'ri16_le',
      'core:version': '1.2.5',
      'core:sample_rate': 48000,
      'core:author': 'Bruce (K3X)',
      'core:collection': 'bench',
      'core:data_doi': '10.1000/182',
      'core:description': 'every core field',
      'core:hw': 'HackRF One',
      'core:license': 'https://creativecommons.org/licenses/by-sa/4.0/',
      'core:metadata_only': false,
      'core:meta_doi': '10.1000/183',
      'core:num_channels': 2,
      'core:offset': 0,
      'core:recorder': 'dekag-testbed',
      'core:sha512': SHA,
      'core:geolocation': { type: 'Point', coordinates: [-107.6183682, 34.0787916, 2120.0], bbox: [-108, 34, -107, 35], 'gnss:sats': 9 },
      'core:extensions': [
        { name: 'dekag', version: '1.0.0', optional: true },
        { name: 'antenna', version: '1.0.0', optional: false },
      ],
      'dekag:finalized': true,
      'antenna:gain': 3,
      unnamespaced: 'left alone',
    },
    captures: [
      { 'core:sample_start': 0, 'core:datetime': '2024-02-29T23:59:60.123456789Z', 'core:frequency': 2.4e9, 'core:global_index': 0 },
      { 'core:sample_start': 500, 'core:global_index': 1000, 'core:header_bytes': 0, 'core:frequency': -1e12, 'core:geolocation': geoPoint(11.5, 48.1) },
      { 'core:sample_start': 500, 'dekag:lost_samples': 0 },
    ],
    annotations: [
      {
        'core:sample_start': 10,
        'core:sample_count': 20,
        'core:freq_lower_edge': -22000,
        'core:freq_upper_edge': 22000.5,
        'core:label': 'frame 1',
        'core:comment': 'a comment',
        'core:generator': 'dekag-testbed',
        'core:uuid': 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
        'dekag:sequence': 1,
      },
      { 'core:sample_start': 10 },
      { 'core:sample_start': 600, 'core:sample_count': 0 },
    ],
  };
}

/**
 * Mutations of a valid meta, each with the one error our validator must report, and what the official
 * JSON schema says of it: 'rejects' (it agrees) or 'accepts' (the schema's pattern is looser than the
 * specification's text, which our validator follows; the note says where).
 */
interface Case {
  name: string;
  mutate: (m: Meta) => unknown;
  error: string;
  official: 'rejects' | 'accepts';
}

const G = (f: (g: Meta) => void) => (m: Meta) => (f(m['global']), m);
const C = (i: number, f: (c: Meta) => void) => (m: Meta) => (f(m['captures'][i]), m);
const A = (i: number, f: (a: Meta) => void) => (m: Meta) => (f(m['annotations'][i]), m);

const CASES: Case[] = [
  // structure
  { name: 'meta not an object', mutate: () => [], error: '/ must be an object with global, captures and annotations (got an array of 0)', official: 'rejects' },
  { name: 'no annotations', mutate: (m) => (delete m['annotations'], m), error: "/ is missing the required key 'annotations'", official: 'rejects' },
  { name: 'extra top-level key', mutate: (m) => ((m['collection'] = {}), m), error: '/collection is not allowed: a meta holds only global, captures and annotations', official: 'rejects' },
  { name: 'global an array', mutate: (m) => ((m['global'] = []), m), error: '/global must be an object (got an array of 0)', official: 'rejects' },
  { name: 'captures an object', mutate: (m) => ((m['captures'] = {}), m), error: '/captures must be an array (got an object)', official: 'rejects' },
  { name: 'capture not an object', mutate: (m) => ((m['captures'][1] = 5), m), error: '/captures/1 must be an object (got 5)', official: 'rejects' },
  { name: 'no core:version', mutate: G((g) => delete g['core:version']), error: "/global is missing the required key 'core:version'", official: 'rejects' },
  { name: 'no core:datatype', mutate: G((g) => delete g['core:datatype']), error: "/global is missing the required key 'core:datatype'", official: 'rejects' },
  { name: 'capture without sample_start', mutate: C(2, (c) => delete c['core:sample_start']), error: "/captures/2 is missing the required key 'core:sample_start'", official: 'rejects' },
  { name: 'annotation without sample_start', mutate: A(1, (a) => delete a['core:sample_start']), error: "/annotations/1 is missing the required key 'core:sample_start'", official: 'rejects' },
  // sample indices
  { name: 'negative sample_start', mutate: C(1, (c) => (c['core:sample_start'] = -3)), error: '/captures/1/core:sample_start must be a non-negative integer (got -3)', official: 'rejects' },
  { name: 'fractional sample_start', mutate: A(2, (a) => (a['core:sample_start'] = 600.5)), error: '/annotations/2/core:sample_start must be a non-negative integer (got 600.5)', official: 'rejects' },
  { name: 'sample_start as a string', mutate: C(0, (c) => (c['core:sample_start'] = '0')), error: '/captures/0/core:sample_start must be a non-negative integer (got "0")', official: 'rejects' },
  { name: 'sample_count negative', mutate: A(0, (a) => (a['core:sample_count'] = -1)), error: '/annotations/0/core:sample_count must be a non-negative integer (got -1)', official: 'rejects' },
  { name: 'global_index fractional', mutate: C(1, (c) => (c['core:global_index'] = 0.5)), error: '/captures/1/core:global_index must be a non-negative integer (got 0.5)', official: 'rejects' },
  { name: 'header_bytes null', mutate: C(1, (c) => (c['core:header_bytes'] = null)), error: '/captures/1/core:header_bytes must be a non-negative integer (got null)', official: 'rejects' },
  { name: 'offset negative', mutate: G((g) => (g['core:offset'] = -1)), error: '/global/core:offset must be a non-negative integer (got -1)', official: 'rejects' },
  { name: 'trailing_bytes a string', mutate: G((g) => (g['core:trailing_bytes'] = '4')), error: '/global/core:trailing_bytes must be a non-negative integer (got "4")', official: 'rejects' },
  { name: 'sample index past 2^63', mutate: C(0, (c) => (c['core:sample_start'] = 2 ** 64)), error: '/captures/0/core:sample_start must be a non-negative integer (got 18446744073709552000)', official: 'rejects' },
  { name: 'num_channels 0', mutate: G((g) => (g['core:num_channels'] = 0)), error: '/global/core:num_channels must be a positive integer (got 0)', official: 'rejects' },
  { name: 'num_channels 1.5', mutate: G((g) => (g['core:num_channels'] = 1.5)), error: '/global/core:num_channels must be a positive integer (got 1.5)', official: 'rejects' },
  // numbers
  { name: 'sample_rate 0', mutate: G((g) => (g['core:sample_rate'] = 0)), error: '/global/core:sample_rate must be between 1 and 1e12 samples per second (got 0)', official: 'rejects' },
  { name: 'sample_rate a string', mutate: G((g) => (g['core:sample_rate'] = '48000')), error: '/global/core:sample_rate must be a number (got "48000")', official: 'rejects' },
  { name: 'frequency above 1e12', mutate: C(0, (c) => (c['core:frequency'] = 2e12)), error: '/captures/0/core:frequency must be between -1e12 and 1e12 Hz (got 2000000000000)', official: 'rejects' },
  { name: 'lower edge a string', mutate: A(0, (a) => (a['core:freq_lower_edge'] = '-22k')), error: '/annotations/0/core:freq_lower_edge must be a number (got "-22k")', official: 'rejects' },
  // strings, booleans
  { name: 'author a number', mutate: G((g) => (g['core:author'] = 7)), error: '/global/core:author must be a string (got 7)', official: 'rejects' },
  { name: 'collection an object', mutate: G((g) => (g['core:collection'] = {})), error: '/global/core:collection must be a string (got an object)', official: 'rejects' },
  { name: 'label an array', mutate: A(0, (a) => (a['core:label'] = ['x'])), error: '/annotations/0/core:label must be a string (got an array of 1)', official: 'rejects' },
  { name: 'metadata_only "true"', mutate: G((g) => (g['core:metadata_only'] = 'true')), error: '/global/core:metadata_only must be true or false (got "true")', official: 'rejects' },
  // datatype
  { name: 'datatype unknown', mutate: G((g) => (g['core:datatype'] = 'cq8')), error: "/global/core:datatype is invalid: unknown SigMF datatype 'cq8'; expected c or r, then f32, f64, i32, i16, u32, u16, i8 or u8, then _le or _be for multi-byte types (e.g. 'cf32_le', 'ci16_le', 'cu8')", official: 'rejects' },
  { name: 'datatype a number', mutate: G((g) => (g['core:datatype'] = 8)), error: '/global/core:datatype must be a string naming the sample format, e.g. "cf32_le" (got 8)', official: 'rejects' },
  { name: 'multi-byte datatype without endianness', mutate: G((g) => (g['core:datatype'] = 'ci16')), error: "/global/core:datatype is invalid: SigMF datatype 'ci16' needs an endianness suffix: 'ci16_le' or 'ci16_be'", official: 'accepts' },
  { name: '8-bit datatype with endianness', mutate: G((g) => (g['core:datatype'] = 'cu8_le')), error: "/global/core:datatype is invalid: SigMF datatype 'cu8_le' is 8-bit and takes no endianness suffix: 'cu8'", official: 'accepts' },
  { name: 'datatype with a tail', mutate: G((g) => (g['core:datatype'] = 'cf32_lex')), error: "/global/core:datatype is invalid: unknown SigMF datatype 'cf32_lex'; expected c or r, then f32, f64, i32, i16, u32, u16, i8 or u8, then _le or _be for multi-byte types (e.g. 'cf32_le', 'ci16_le', 'cu8')", official: 'accepts' },
  // version
  { name: 'version X.Y', mutate: G((g) => (g['core:version'] = '1.2')), error: '/global/core:version must be the SigMF version as X.Y.Z, e.g. "1.2.5" (got "1.2")', official: 'rejects' },
  { name: 'version with a v', mutate: G((g) => (g['core:version'] = 'v1.0.0')), error: '/global/core:version must be the SigMF version as X.Y.Z, e.g. "1.2.5" (got "v1.0.0")', official: 'rejects' },
  { name: 'version with a tail', mutate: G((g) => (g['core:version'] = '1.2.5x')), error: '/global/core:version must be the SigMF version as X.Y.Z, e.g. "1.2.5" (got "1.2.5x")', official: 'accepts' },
  // sha512
  { name: 'sha512 127 digits', mutate: G((g) => (g['core:sha512'] = SHA.slice(1))), error: '/global/core:sha512 must be 128 hexadecimal digits (got 127)', official: 'rejects' },
  { name: 'sha512 non-hex', mutate: G((g) => (g['core:sha512'] = 'g' + SHA.slice(1))), error: '/global/core:sha512 must be 128 hexadecimal digits (got "g" at character 0)', official: 'rejects' },
  { name: 'sha512 129 digits', mutate: G((g) => (g['core:sha512'] = SHA + '0')), error: '/global/core:sha512 must be 128 hexadecimal digits (got 129)', official: 'accepts' },
  // datetime
  { name: 'datetime a number', mutate: C(0, (c) => (c['core:datetime'] = 1714564800)), error: '/captures/0/core:datetime must be an RFC 3339 UTC timestamp like "2024-05-01T12:00:00.123Z" (got 1714564800)', official: 'rejects' },
  { name: 'datetime not a date', mutate: C(0, (c) => (c['core:datetime'] = 'yesterday')), error: '/captures/0/core:datetime must be an RFC 3339 UTC timestamp like "2024-05-01T12:00:00.123Z" (got "yesterday")', official: 'rejects' },
  { name: 'datetime with an offset', mutate: C(0, (c) => (c['core:datetime'] = '2024-05-01T12:00:00+02:00')), error: '/captures/0/core:datetime must be an RFC 3339 UTC timestamp like "2024-05-01T12:00:00.123Z" (got "2024-05-01T12:00:00+02:00")', official: 'accepts' },
  { name: 'datetime date only', mutate: C(0, (c) => (c['core:datetime'] = '2024-05-01')), error: '/captures/0/core:datetime must be an RFC 3339 UTC timestamp like "2024-05-01T12:00:00.123Z" (got "2024-05-01")', official: 'accepts' },
  { name: 'datetime Feb 29 of a common year', mutate: C(0, (c) => (c['core:datetime'] = '2023-02-29T00:00:00Z')), error: '/captures/0/core:datetime has no day 29 in month 02 of 2023 (got "2023-02-29T00:00:00Z")', official: 'accepts' },
  { name: 'datetime month 13', mutate: C(0, (c) => (c['core:datetime'] = '2024-13-01T00:00:00Z')), error: '/captures/0/core:datetime has no month 13 (got "2024-13-01T00:00:00Z")', official: 'accepts' },
  { name: 'datetime hour 24', mutate: C(0, (c) => (c['core:datetime'] = '2024-05-01T24:30:00Z')), error: '/captures/0/core:datetime has an impossible time of day (got "2024-05-01T24:30:00Z")', official: 'accepts' },
  // license, uuid, dataset
  { name: 'license not a URI', mutate: G((g) => (g['core:license'] = 'CC BY-SA 4.0')), error: '/global/core:license must be a URI with a scheme, e.g. "https://creativecommons.org/licenses/by-sa/4.0/" (got "CC BY-SA 4.0")', official: 'rejects' },
  { name: 'uuid malformed', mutate: A(0, (a) => (a['core:uuid'] = 'f81d4fae-7dec-11d0-a765')), error: '/annotations/0/core:uuid must be an RFC 4122 UUID like "f81d4fae-7dec-11d0-a765-00a0c91e6bf6" (got "f81d4fae-7dec-11d0-a765")', official: 'rejects' },
  { name: 'dataset starting with a slash', mutate: G((g) => (g['core:dataset'] = '/tmp/x.dat')), error: '/global/core:dataset must be a bare file name in the meta\'s folder, without any of / \\ : * ? " < > | (got "/tmp/x.dat")', official: 'rejects' },
  { name: 'dataset in a folder', mutate: G((g) => (g['core:dataset'] = 'dir/x.dat')), error: '/global/core:dataset must be a bare file name in the meta\'s folder, without any of / \\ : * ? " < > | (got "dir/x.dat")', official: 'accepts' },
  // geolocation
  { name: 'geolocation a string', mutate: G((g) => (g['core:geolocation'] = '48.1,11.5')), error: '/global/core:geolocation must be a GeoJSON Point {"type": "Point", "coordinates": [lon, lat(, alt)]} (got "48.1,11.5")', official: 'rejects' },
  { name: 'geolocation type lower case', mutate: G((g) => (g['core:geolocation'].type = 'point')), error: '/global/core:geolocation/type must be "Point" (got "point")', official: 'rejects' },
  { name: 'geolocation without coordinates', mutate: C(1, (c) => delete c['core:geolocation'].coordinates), error: "/captures/1/core:geolocation is missing the required key 'coordinates'", official: 'rejects' },
  { name: 'geolocation one coordinate', mutate: C(1, (c) => (c['core:geolocation'].coordinates = [1])), error: '/captures/1/core:geolocation/coordinates must be [longitude, latitude] or [longitude, latitude, altitude] (got an array of 1)', official: 'rejects' },
  { name: 'geolocation coordinate a string', mutate: C(1, (c) => (c['core:geolocation'].coordinates = [11.5, '48.1'])), error: '/captures/1/core:geolocation/coordinates/1 (latitude) must be a number (got "48.1")', official: 'rejects' },
  { name: 'geolocation bbox of 3', mutate: G((g) => (g['core:geolocation'].bbox = [1, 2, 3])), error: '/global/core:geolocation/bbox must be an array of at least 4 numbers (got an array of 3)', official: 'rejects' },
  { name: 'geolocation longitude 200', mutate: C(1, (c) => (c['core:geolocation'].coordinates = [200, 0])), error: '/captures/1/core:geolocation/coordinates/0 (longitude) must be between -180 and 180 degrees (got 200)', official: 'accepts' },
  { name: 'geolocation with properties', mutate: G((g) => (g['core:geolocation'].properties = {})), error: "/global/core:geolocation/properties is not allowed: RFC 7946 prohibits 'properties' as a member of a Point", official: 'accepts' },
  // extensions
  { name: 'extensions an object', mutate: G((g) => (g['core:extensions'] = { name: 'dekag' })), error: '/global/core:extensions must be an array of {"name", "version", "optional"} objects (got an object)', official: 'rejects' },
  { name: 'extension without optional', mutate: G((g) => delete g['core:extensions'][1].optional), error: "/global/core:extensions/1 is missing the required key 'optional'", official: 'rejects' },
  { name: 'extension optional "yes"', mutate: G((g) => (g['core:extensions'][0].optional = 'yes')), error: '/global/core:extensions/0/optional must be true or false (got "yes")', official: 'rejects' },
  { name: 'extension with another key', mutate: G((g) => (g['core:extensions'][0].url = 'https://x')), error: '/global/core:extensions/0/url is not allowed: an extension object holds only name, version and optional', official: 'rejects' },
  // unknown core fields (the official schema allows any key here)
  { name: 'misspelt core field', mutate: G((g) => (g['core:samplerate'] = 48000)), error: "/global/core:samplerate is not a field of the SigMF core namespace in global (did you mean 'core:sample_rate'?)", official: 'accepts' },
  { name: 'capture field in global', mutate: G((g) => (g['core:frequency'] = 1e9)), error: '/global/core:frequency is not a field of the SigMF core namespace in global (it belongs in captures)', official: 'accepts' },
  { name: 'made-up core field', mutate: A(2, (a) => (a['core:colour'] = 'red')), error: '/annotations/2/core:colour is not a field of the SigMF core namespace in annotations', official: 'accepts' },
  // rules of the specification's text that a JSON schema cannot express
  { name: 'captures out of order', mutate: C(2, (c) => (c['core:sample_start'] = 499)), error: "/captures/2/core:sample_start is 499, before the previous segment's 500: captures must be sorted by core:sample_start", official: 'accepts' },
  { name: 'annotations out of order', mutate: A(1, (a) => (a['core:sample_start'] = 9)), error: "/annotations/1/core:sample_start is 9, before the previous segment's 10: annotations must be sorted by core:sample_start", official: 'accepts' },
  { name: 'one frequency edge', mutate: A(0, (a) => delete a['core:freq_upper_edge']), error: '/annotations/0 has core:freq_lower_edge without core:freq_upper_edge: give both or neither', official: 'accepts' },
];

test('valid metas: minimal, every core field, foreign namespaces, every datatype', () => {
  const v = validateMeta(minimal());
  assert.deepEqual(v, { valid: true, errors: [], validator: META_VALIDATOR });
  assert.deepEqual(metaErrors(full()), []);
  for (const dt of ALL_DATATYPES) assert.deepEqual(metaErrors({ ...minimal(), global: { 'core:datatype': dt, 'core:version': '1.2.0' } }), [], dt);
  // versions: any X.Y.Z with optional pre-release and build
  for (const ver of ['0.0.1', '1.0.0', '1.2.5', '1.2.5-rc.1', '1.2.5+build.7']) {
    assert.deepEqual(metaErrors({ ...minimal(), global: { 'core:datatype': 'cu8', 'core:version': ver } }), [], ver);
  }
  // datetimes: any number of fractional digits, none, a leap day, a leap second
  for (const dt of ['2021-06-18T23:17:51.163959Z', '2024-05-01T12:00:00Z', '2000-02-29T00:00:00.0Z', '2016-12-31T23:59:60Z']) {
    const m = minimal();
    m['captures'] = [{ 'core:sample_start': 0, 'core:datetime': dt }];
    assert.deepEqual(metaErrors(m), [], dt);
  }
  // keys of other namespaces anywhere are left alone, however they look
  const m = full();
  m['global']['x:anything'] = { deep: [1, 2] };
  m['captures'][0]['antenna:model'] = null;
  m['annotations'][0]['signal:detail'] = { 'core:nonsense': 1 };
  assert.deepEqual(metaErrors(m), []);
});

test('each invalid meta fails with exactly the one error that says where and what', () => {
  for (const c of CASES) {
    const errors = metaErrors(c.mutate(full()));
    assert.deepEqual(errors, [c.error], c.name);
    assert.equal(validateMeta(c.mutate(full())).valid, false, c.name);
  }
});

test('several problems are all reported, in document order; nothing throws on odd input', () => {
  const m = full();
  m['global']['core:num_channels'] = -2;
  m['captures'][0]['core:sample_start'] = -3;
  m['annotations'][2]['core:sample_count'] = 'all';
  assert.deepEqual(metaErrors(m), [
    '/global/core:num_channels must be a positive integer (got -2)',
    '/captures/0/core:sample_start must be a non-negative integer (got -3)',
    '/annotations/2/core:sample_count must be a non-negative integer (got "all")',
  ]);
  for (const odd of [null, undefined, 'meta', 3, { global: null, captures: null, annotations: [null] }]) {
    const v = validateMeta(odd);
    assert.equal(v.valid, false);
    assert.ok(v.errors.length > 0);
  }
  // keys that need JSON-pointer escapes
  assert.deepEqual(metaErrors({ ...minimal(), 'a/b~c': 1 }), ['/a~1b~0c is not allowed: a meta holds only global, captures and annotations']);
});

/** Metas our writer leaves on disk (open, annotated, retuned, with a gap, finalized). */
async function writerMetas(dir: string): Promise<Meta[]> {
  const base = join(dir, 'w');
  const w = await SigmfWriter.open(base, {
    datatype: 'ci16_le',
    sampleRateHz: 2e6,
    freqHz: 915e6,
    description: 'differential',
    license: 'https://creativecommons.org/licenses/by/4.0/',
    geolocation: geoPoint(11.5, 48.1, 520),
    startDatetime: '2024-05-01T12:00:00.000001Z',
    durable: false,
  });
  const read = () => JSON.parse(readFileSync(`${base}.sigmf-meta`, 'utf8')) as Meta;
  const metas = [read()];
  await w.append(testSignal(1000));
  await w.annotateFrame({ sampleStart: 10, sampleCount: 500, sequence: 1, snrDb: 7, crcOk: true, freqLowerEdgeHz: -1e5, freqUpperEdgeHz: 1e5 });
  await w.setFrequency(916e6, '2024-05-01T12:00:01Z');
  await w.markDiscontinuity(100);
  await w.append(testSignal(1000, 2));
  await w.flush();
  metas.push(read());
  await w.finalize();
  metas.push(read());
  const u8 = join(dir, 'u8');
  const w2 = await SigmfWriter.open(u8, { datatype: 'cu8', sampleRateHz: 2.048e6, numChannels: 2, durable: false });
  await w2.append(new Uint8Array(64));
  await w2.finalize();
  metas.push(JSON.parse(readFileSync(`${u8}.sigmf-meta`, 'utf8')) as Meta);
  return metas;
}

test('the metas our writer produces are valid', async (t) => {
  const metas = await writerMetas(tempDir(t));
  for (const [i, m] of metas.entries()) assert.deepEqual(metaErrors(m), [], `writer meta ${i}`);
});

/** Wrong-typed values for every core field of every scope, made mechanically. */
function typeMutations(): Array<{ name: string; meta: Meta }> {
  const out: Array<{ name: string; meta: Meta }> = [];
  const odd: unknown[] = [null, true, -1, 0, 1.5, 'x', [], {}, [1, 2], { type: 'Point', coordinates: [0, 0] }];
  for (const scope of ['global', 'captures', 'annotations'] as SigmfScope[]) {
    for (const field of CORE_FIELDS[scope].fields) {
      for (const v of odd) {
        const meta = full();
        const target = scope === 'global' ? meta['global'] : meta[scope][0];
        target[field] = structuredClone(v);
        out.push({ name: `${scope} ${field} = ${JSON.stringify(v)}`, meta });
      }
    }
  }
  return out;
}

test('differential: our verdicts equal the official schema\'s (ajv) where the schema speaks', { skip: NO_SHARED_SIGMF }, async (t) => {
  const valid: Array<[string, unknown]> = [
    ['minimal', minimal()],
    ['every core field', full()],
    ['official example', JSON.parse(readFileSync(`${OFFICIAL_EXAMPLE}.sigmf-meta`, 'utf8'))],
    ...(await writerMetas(tempDir(t))).map((m, i): [string, unknown] => [`writer meta ${i}`, m]),
  ];
  for (const [name, m] of valid) {
    assert.deepEqual(officialSchemaErrors(m), [], `${name}: official`);
    assert.deepEqual(metaErrors(m), [], `${name}: ours`);
  }
  // the hand-made cases: the table says what the official schema does, and where it rejects we agree
  for (const c of CASES) {
    const official = officialSchemaErrors(c.mutate(full()))!;
    assert.equal(official.length > 0 ? 'rejects' : 'accepts', c.official, `${c.name}: the official schema ${official.join('; ')}`);
    assert.equal(metaErrors(c.mutate(full())).length > 0, true, c.name);
  }
  // and a mechanical sweep: wrong-typed values in every field; every verdict agrees
  let agreed = 0;
  let rejected = 0;
  for (const { name, meta } of typeMutations()) {
    const official = officialSchemaErrors(meta)!.length === 0;
    const ours = metaErrors(meta);
    assert.equal(ours.length === 0, official, `${name}: official ${official ? 'accepts' : 'rejects'}, ours: ${ours.join('; ') || 'accepts'}`);
    agreed++;
    if (!official) rejected++;
  }
  assert.ok(agreed > 300 && rejected > 200, `${agreed} compared, ${rejected} rejected`);
  t.diagnostic(`${agreed} mechanical mutations compared, ${rejected} rejected by both, the rest accepted by both`);
});

test('differential: the core fields and required keys are those of the official schema', { skip: NO_SHARED_SIGMF }, () => {
  const schema = JSON.parse(readFileSync(OFFICIAL_SCHEMA, 'utf8'));
  assert.deepEqual([...schema.required].sort(), ['annotations', 'captures', 'global']);
  for (const scope of ['global', 'captures', 'annotations'] as SigmfScope[]) {
    const s = scope === 'global' ? schema.properties.global : schema.properties[scope].items;
    assert.deepEqual(Object.keys(s.properties).sort(), [...CORE_FIELDS[scope].fields].sort(), scope);
    assert.deepEqual([...s.required].sort(), [...CORE_FIELDS[scope].required].sort(), scope);
  }
});
