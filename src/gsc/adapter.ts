/**
 * MAKD adapters (.dkga files written by train/makd_format.py): LoRA matrices for the edge-GAI's
 * attention projections plus a metaword that replaces the subject's words in the edge's prompt.
 *
 * Layout (little-endian): magic "DKGADAPT" | u32 version | u32 header length H | H bytes JSON header
 * (space-padded) | float32 or float16 tensors at the header's offsets | sha256 of everything before it.
 * A file is checked in this order: size, magic, version, checksum, header, tensor table; then against the
 * models it would plug into: base sha256 (edge_gai.onnx, text_encoder.onnx) and the LoRA input shapes.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { DekagError } from '../util/errors.js';
import { JsonInputError, parseUntrustedJson } from '../util/json.js';
import type { AdapterFeeds } from './generate.js';
import type { ModelStore } from './models.js';
import { splitWords } from './tokenizer.js';
import type { Vocab } from './vocab.js';

export const ADAPTER_MAGIC = 'DKGADAPT';
export const ADAPTER_VERSION = 1;
const PREFIX_BYTES = 16;
const CHECKSUM_BYTES = 32;
/** An adapter is a few tens of KB; anything far larger is not one (and is not read whole into memory). */
export const MAX_ADAPTER_BYTES = 64 * 2 ** 20;
/** The adapter modes train/makd.py writes. */
export const ADAPTER_MODES = ['makd', 'lora', 'metaword'] as const;

/**
 * Adapters of further training seeds live beside the shipped ones in `seedN/` folders (`bench makd` measures
 * the spread over seeds with them; the cloud never serves them). Seed 1 is the folder itself.
 */
export const SEED_FOLDER = /^seed([0-9]+)$/;
export const seedFolderName = (seed: number): string => `seed${seed}`;
/** Bounds of a header (the trainer's are far inside them): names, lists, LoRA rank, tensor dimensions. */
const MAX_HEADER_BYTES = 1 << 20;
const MAX_NAME = 200;
const MAX_LIST = 4096;
const MAX_RANK = 1024;
const MAX_DIMS = 4;

/** An adapter file that is corrupt, truncated, from another format version, or made for other models. */
export class AdapterError extends DekagError {
  constructor(message: string) {
    super(message, 'E_ADAPTER');
  }
}

export interface AdapterTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  offset: number;
  bytes: number;
}

export interface AdapterHeader {
  format: string;
  subject: string;
  subject_attributes: Record<string, string>;
  mode: 'makd' | 'lora' | 'metaword';
  base_model: Record<string, string>;
  /** rank of the attention projections' LoRA */
  rank: number;
  /** rank of the convolutions' LoCon update; absent (files made before the edge's graph took one) means 0 */
  conv_rank?: number;
  /** the attention projections' sites, then the convolutions' (conv.<module>) */
  lora_sites: string[];
  metaword: { placement: 'replace'; slots: Record<string, number>; tokens: Record<string, string> } | null;
  training: Record<string, unknown>;
  tensors: AdapterTensorInfo[];
}

export interface Adapter {
  source: string;
  header: AdapterHeader;
  /** file size, what travels from the cloud to the edge */
  bytes: number;
  tensors: Map<string, { data: Float32Array; dims: number[] }>;
}

/** Parse and check the file's own integrity (no model knowledge needed). */
export function parseAdapter(buf: Uint8Array, source = 'adapter'): Adapter {
  if (buf.length < PREFIX_BYTES + CHECKSUM_BYTES) {
    throw new AdapterError(`${source}: ${buf.length} bytes is too short for a MAKD adapter (at least ${PREFIX_BYTES + CHECKSUM_BYTES}); the file is truncated`);
  }
  const magic = Buffer.from(buf.subarray(0, 8)).toString('latin1');
  if (magic !== ADAPTER_MAGIC) {
    throw new AdapterError(`${source}: bad magic '${escape(magic)}', expected '${ADAPTER_MAGIC}': not a MAKD adapter file (.dkga)`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = view.getUint32(8, true);
  if (version !== ADAPTER_VERSION) {
    throw new AdapterError(`${source}: unknown adapter format version ${version}; this build reads version ${ADAPTER_VERSION} (retrain with this repository's train/makd.py)`);
  }
  const body = buf.subarray(0, buf.length - CHECKSUM_BYTES);
  const stored = Buffer.from(buf.subarray(buf.length - CHECKSUM_BYTES)).toString('hex');
  const actual = createHash('sha256').update(body).digest('hex');
  if (stored !== actual) {
    throw new AdapterError(`${source}: checksum mismatch (sha256 of the contents is ${actual.slice(0, 16)}..., the file says ${stored.slice(0, 16)}...): the file is corrupt or truncated`);
  }
  const headerBytes = view.getUint32(12, true);
  if (PREFIX_BYTES + headerBytes > body.length) {
    throw new AdapterError(`${source}: header length ${headerBytes} runs past the end of the file`);
  }
  if (headerBytes > MAX_HEADER_BYTES) throw new AdapterError(`${source}: header of ${headerBytes} bytes; an adapter's header is at most ${MAX_HEADER_BYTES}`);
  let raw: unknown;
  try {
    raw = parseUntrustedJson(Buffer.from(buf.subarray(PREFIX_BYTES, PREFIX_BYTES + headerBytes)).toString('utf8'));
  } catch (e) {
    // The parser's own message would quote the header; say where it breaks instead.
    if (e instanceof JsonInputError) throw new AdapterError(`${source}: header is ${e.message}`);
    throw e;
  }
  const header = checkHeader(raw, source);
  const dataStart = PREFIX_BYTES + headerBytes;
  const dataBytes = body.length - dataStart;
  const tensors = new Map<string, { data: Float32Array; dims: number[] }>();
  for (const t of header.tensors) {
    if (tensors.has(t.name)) throw new AdapterError(`${source}: tensor '${t.name}' appears twice in the tensor table`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const width = Object.hasOwn(TENSOR_DTYPES, t.dtype) ? TENSOR_DTYPES[t.dtype as keyof typeof TENSOR_DTYPES] : undefined;
    if (width === undefined || !t.shape.every((d) => Number.isInteger(d) && d > 0) || t.bytes !== width * count) {
      throw new AdapterError(`${source}: tensor '${t.name}' is ${t.dtype} ${JSON.stringify(t.shape)} in ${t.bytes} bytes; expected float32 (4 bytes per element) or float16 (2)`);
    }
    if (t.offset < 0 || t.offset % width !== 0 || t.offset + t.bytes > dataBytes) {
      throw new AdapterError(`${source}: tensor '${t.name}' at offset ${t.offset} (+${t.bytes}) lies outside the ${dataBytes} bytes of tensor data`);
    }
    // copy out (as float32, what the ONNX graphs take): the Buffer may not be aligned, and the feed must own its data
    const data = new Float32Array(count);
    const dv = new DataView(buf.buffer, buf.byteOffset + dataStart + t.offset, t.bytes);
    if (width === 4) for (let i = 0; i < count; i++) data[i] = dv.getFloat32(4 * i, true);
    else for (let i = 0; i < count; i++) data[i] = float16ToNumber(dv.getUint16(2 * i, true));
    tensors.set(t.name, { data, dims: t.shape });
  }
  return { source, header, bytes: buf.length, tensors };
}

/** Tensor element types an adapter file may hold, and their bytes per element (little-endian IEEE 754). */
const TENSOR_DTYPES = { float32: 4, float16: 2 } as const;

/** An IEEE 754 half-precision value (its 16 bits) as a number: exact, every half is a float32. */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === 'object' ? 'an object' : String(v);
}

/**
 * The header as the trainer writes it (train/makd_format.py), checked field by field before anything
 * uses it: a file whose checksum was recomputed around a hostile header is refused by name, never a
 * TypeError. Unknown top-level fields are refused too (a newer format would bump the version).
 */
function checkHeader(raw: unknown, source: string): AdapterHeader {
  const bad = (what: string): never => {
    throw new AdapterError(`${source}: header ${what}`);
  };
  if (!isRecord(raw)) return bad(`must be a JSON object (got ${shown(raw)})`);
  const known = ['format', 'subject', 'subject_attributes', 'mode', 'base_model', 'rank', 'conv_rank', 'lora_sites', 'metaword', 'training', 'tensors'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) bad(`has an unknown field '${k.slice(0, 40)}'`);
  if (raw['format'] !== 'dekag-makd-adapter' || !Array.isArray(raw['tensors']) || !isRecord(raw['base_model'])) {
    bad(`lacks format 'dekag-makd-adapter', a tensor table or base_model`);
  }
  const name = (v: unknown, where: string): string =>
    typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME ? v : bad(`${where} must be a string of 1 to ${MAX_NAME} characters (got ${shown(v)})`);
  const stringRecord = (v: unknown, where: string): Record<string, string> => {
    if (!isRecord(v)) return bad(`${where} must be an object of strings (got ${shown(v)})`);
    const entries = Object.entries(v);
    if (entries.length > MAX_LIST) bad(`${where} has ${entries.length} entries (at most ${MAX_LIST})`);
    for (const [k, x] of entries) name(x, `${where}.${k.slice(0, 40)}`);
    return v as Record<string, string>;
  };
  const list = (v: unknown, where: string): unknown[] => {
    if (!Array.isArray(v)) return bad(`${where} must be a list (got ${shown(v)})`);
    if (v.length > MAX_LIST) bad(`${where} has ${v.length} entries (at most ${MAX_LIST})`);
    return v;
  };
  const count = (v: unknown, where: string, min: number, max: number): number =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : bad(`${where} must be an integer from ${min} to ${max} (got ${shown(v)})`);

  name(raw['subject'], 'subject');
  stringRecord(raw['subject_attributes'], 'subject_attributes');
  const mode = raw['mode'];
  if (typeof mode !== 'string' || !(ADAPTER_MODES as readonly string[]).includes(mode)) bad(`mode must be one of ${ADAPTER_MODES.join(', ')} (got ${shown(mode)})`);
  stringRecord(raw['base_model'], 'base_model');
  const rank = count(raw['rank'], 'rank', 0, MAX_RANK);
  const sites = list(raw['lora_sites'], 'lora_sites');
  sites.forEach((x, i) => name(x, `lora_sites[${i}]`));
  if (mode !== 'metaword' && rank < 1) bad(`rank must be at least 1 for a ${mode} adapter (got ${rank})`);
  if (raw['conv_rank'] !== undefined) count(raw['conv_rank'], 'conv_rank', 0, MAX_RANK);
  const mw = raw['metaword'];
  if (mw !== null) {
    if (!isRecord(mw)) bad(`metaword must be null or an object (got ${shown(mw)})`);
    const m = mw as Record<string, unknown>;
    for (const k of Object.keys(m)) if (!['placement', 'slots', 'tokens'].includes(k)) bad(`metaword has an unknown field '${k.slice(0, 40)}'`);
    if (m['placement'] !== 'replace') bad(`metaword.placement must be 'replace' (got ${shown(m['placement'])})`);
    if (!isRecord(m['slots'])) bad(`metaword.slots must be an object of word -> slot (got ${shown(m['slots'])})`);
    const slots = Object.entries(m['slots'] as Record<string, unknown>);
    if (slots.length > MAX_LIST) bad(`metaword.slots has ${slots.length} entries (at most ${MAX_LIST})`);
    for (const [w, x] of slots) count(x, `metaword.slots.${w.slice(0, 40)}`, 0, MAX_LIST);
    stringRecord(m['tokens'], 'metaword.tokens');
  }
  if (mode === 'metaword' && mw === null) bad(`metaword is null, but a metaword adapter needs one`);
  if (!isRecord(raw['training'])) bad(`training must be an object (got ${shown(raw['training'])})`);
  (raw['tensors'] as unknown[]).forEach((t, i) => {
    const where = `tensors[${i}]`;
    if (!isRecord(t)) return bad(`${where} must be an object {name, dtype, shape, offset, bytes} (got ${shown(t)})`);
    for (const k of Object.keys(t)) if (!['name', 'dtype', 'shape', 'offset', 'bytes'].includes(k)) bad(`${where} has an unknown field '${k.slice(0, 40)}'`);
    name(t['name'], `${where}.name`);
    if (typeof t['dtype'] !== 'string') bad(`${where}.dtype must be a string (got ${shown(t['dtype'])})`);
    const shape = t['shape'];
    if (!Array.isArray(shape) || shape.length < 1 || shape.length > MAX_DIMS) bad(`${where}.shape must be a list of 1 to ${MAX_DIMS} dimensions (got ${shown(shape)})`);
    (shape as unknown[]).forEach((d, j) => count(d, `${where}.shape[${j}]`, 1, MAX_ADAPTER_BYTES));
    count(t['offset'], `${where}.offset`, 0, MAX_ADAPTER_BYTES);
    count(t['bytes'], `${where}.bytes`, 0, MAX_ADAPTER_BYTES);
  });
  if ((raw['tensors'] as unknown[]).length > MAX_LIST) bad(`tensors has ${(raw['tensors'] as unknown[]).length} entries (at most ${MAX_LIST})`);
  return raw as unknown as AdapterHeader;
}

function escape(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Check that the adapter was made for these models: base sha256 and every tensor's shape. */
export function checkAdapterAgainst(adapter: Adapter, store: ModelStore): void {
  const src = adapter.source;
  for (const file of ['edge_gai.onnx', 'text_encoder.onnx']) {
    const want = store.fileInfo(file).sha256;
    const got = adapter.header.base_model[file];
    if (got !== want) {
      throw new AdapterError(
        `${src}: made for ${file} with sha256 ${String(got).slice(0, 16)}..., but the installed ${file} is ${want.slice(0, 16)}...; retrain the adapter for these models (dekag distill)`,
      );
    }
  }
  const inputs = new Map(store.inputShapes('edge_gai.onnx').map((s) => [s.name, s.shape]));
  // The manifest writes the dynamic axes as strings: 'rank' for the attention projections' LoRA (a: [rank, in],
  // b: [out, rank]), 'conv_rank' for the convolutions' LoCon (a: [conv_rank, in, k, k], b: [out, conv_rank]).
  const ranks: Record<string, number> = { rank: adapter.header.rank, conv_rank: adapter.header.conv_rank ?? 0 };
  for (const [name, t] of adapter.tensors) {
    if (name === 'metaword') continue;
    const shape = inputs.get(name);
    if (!shape) throw new AdapterError(`${src}: tensor '${name}' is not a LoRA input of edge_gai.onnx`);
    const axis = shape.find((d): d is string => typeof d === 'string') ?? 'rank';
    const rank = ranks[axis];
    if (rank === undefined || rank < 1) {
      throw new AdapterError(`${src}: tensor '${name}' needs the header's ${axis}, which is ${rank ?? 'absent'}`);
    }
    const want = shape.map((d) => (typeof d === 'number' ? d : rank));
    if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i])) {
      throw new AdapterError(`${src}: tensor '${name}' has shape [${t.dims.join(', ')}], but edge_gai.onnx takes [${want.join(', ')}] at ${axis} ${rank}`);
    }
  }
  const meta = adapter.tensors.get('metaword');
  const slots = adapter.header.metaword?.slots ?? {};
  if (meta) {
    const dim = contextDim(store);
    const used = Object.values(slots);
    if (meta.dims.length !== 2 || meta.dims[1] !== dim || meta.dims[0] !== used.length) {
      throw new AdapterError(`${src}: metaword has shape [${meta.dims.join(', ')}], expected [${used.length}, ${dim}] (one row per subject word)`);
    }
    const max = store.vocab.metawordSlots;
    if (used.some((s) => !Number.isInteger(s) || s < 0 || s >= max || s >= used.length)) {
      throw new AdapterError(`${src}: metaword slots ${JSON.stringify(slots)} must be 0..${used.length - 1} (the text encoder has ${max})`);
    }
    for (const w of Object.keys(slots)) {
      if (store.vocab.idOf(w) === undefined) throw new AdapterError(`${src}: metaword replaces '${w}', which is not a vocabulary word`);
    }
  } else if (Object.keys(slots).length) {
    throw new AdapterError(`${src}: the header places a metaword but the file has no 'metaword' tensor`);
  }
}

function contextDim(store: ModelStore): number {
  const shape = store.inputShapes('text_encoder.onnx').find((s) => s.name === 'metaword')?.shape;
  const d = shape?.[1];
  return typeof d === 'number' ? d : 64;
}

/** Read, check and return an adapter for the edge-GAI of `store`. */
export function loadAdapter(path: string, store: ModelStore): Adapter {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new AdapterError(`cannot read adapter ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > MAX_ADAPTER_BYTES) throw new AdapterError(`${path}: ${size} bytes is far too large for a MAKD adapter`);
  const adapter = parseAdapter(readFileSync(path), path);
  checkAdapterAgainst(adapter, store);
  return adapter;
}

/**
 * The edge's prompt with an adapter loaded: each subject word is replaced by its <metaN> token
 * (train/makd.py place_metaword does the same). Words are compared as the tokenizer sees them.
 */
export function placeMetaword(prompt: string, slots: Record<string, number>, vocab: Vocab): string {
  if (Object.keys(slots).length === 0) return prompt;
  return splitWords(prompt)
    // Own keys only: a prompt word such as 'constructor' is not a slot.
    .map((w) => (Object.hasOwn(slots, w) ? vocab.tokens[vocab.metawordFirstId + slots[w]!]! : w))
    .join(' ');
}

/** What Generator.setAdapter takes: the LoRA feeds, the [slots x dim] metaword, and the prompt rewrite. */
export function adapterFeeds(adapter: Adapter, vocab: Vocab, contextDimension = 64): AdapterFeeds {
  const lora = new Map<string, { data: Float32Array; dims: number[] }>();
  for (const [name, t] of adapter.tensors) if (name !== 'metaword') lora.set(name, t);
  const feeds: AdapterFeeds = { lora };
  const meta = adapter.tensors.get('metaword');
  const slots = adapter.header.metaword?.slots ?? {};
  if (meta) {
    const full = new Float32Array(vocab.metawordSlots * contextDimension);
    for (const slot of Object.values(slots)) {
      full.set(meta.data.subarray(slot * contextDimension, (slot + 1) * contextDimension), slot * contextDimension);
    }
    feeds.metaword = full;
    feeds.rewritePrompt = (p: string) => placeMetaword(p, slots, vocab);
  }
  return feeds;
}
