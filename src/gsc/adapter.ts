/**
 * MAKD adapters (.dkga files written by train/makd_format.py): LoRA matrices for the edge-GAI's
 * attention projections plus a metaword that replaces the subject's words in the edge's prompt.
 *
 * Layout (little-endian): magic "DKGADAPT" | u32 version | u32 header length H | H bytes JSON header
 * (space-padded) | float32 tensors at the header's offsets | sha256 of everything before it.
 * A file is checked in this order: size, magic, version, checksum, header, tensor table; then against the
 * models it would plug into: base sha256 (edge_gai.onnx, text_encoder.onnx) and the LoRA input shapes.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { DekagError } from '../util/errors.js';
import type { AdapterFeeds } from './generate.js';
import type { ModelStore } from './models.js';
import { splitWords } from './tokenizer.js';
import type { Vocab } from './vocab.js';

export const ADAPTER_MAGIC = 'DKGADAPT';
export const ADAPTER_VERSION = 1;
const PREFIX_BYTES = 16;
const CHECKSUM_BYTES = 32;
/** An adapter is a few tens of KB; anything far larger is not one (and is not read whole into memory). */
const MAX_ADAPTER_BYTES = 64 * 2 ** 20;

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
  rank: number;
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
  let header: AdapterHeader;
  try {
    header = JSON.parse(Buffer.from(buf.subarray(PREFIX_BYTES, PREFIX_BYTES + headerBytes)).toString('utf8')) as AdapterHeader;
  } catch (e) {
    throw new AdapterError(`${source}: header is not valid JSON: ${(e as Error).message}`);
  }
  if (header.format !== 'dekag-makd-adapter' || !Array.isArray(header.tensors) || typeof header.base_model !== 'object') {
    throw new AdapterError(`${source}: header lacks format 'dekag-makd-adapter', a tensor table or base_model`);
  }
  const dataStart = PREFIX_BYTES + headerBytes;
  const dataBytes = body.length - dataStart;
  const tensors = new Map<string, { data: Float32Array; dims: number[] }>();
  for (const t of header.tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.dtype !== 'float32' || !t.shape.every((d) => Number.isInteger(d) && d > 0) || t.bytes !== 4 * count) {
      throw new AdapterError(`${source}: tensor '${t.name}' is ${t.dtype} ${JSON.stringify(t.shape)} in ${t.bytes} bytes; expected float32 with 4 bytes per element`);
    }
    if (t.offset < 0 || t.offset % 4 !== 0 || t.offset + t.bytes > dataBytes) {
      throw new AdapterError(`${source}: tensor '${t.name}' at offset ${t.offset} (+${t.bytes}) lies outside the ${dataBytes} bytes of tensor data`);
    }
    // copy out: the Buffer may not be 4-byte aligned, and the feed must own its data
    const data = new Float32Array(count);
    const dv = new DataView(buf.buffer, buf.byteOffset + dataStart + t.offset, t.bytes);
    for (let i = 0; i < count; i++) data[i] = dv.getFloat32(4 * i, true);
    tensors.set(t.name, { data, dims: t.shape });
  }
  return { source, header, bytes: buf.length, tensors };
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
  const rank = adapter.header.rank;
  for (const [name, t] of adapter.tensors) {
    if (name === 'metaword') continue;
    const shape = inputs.get(name);
    if (!shape) throw new AdapterError(`${src}: tensor '${name}' is not a LoRA input of edge_gai.onnx`);
    // a: [rank, in], b: [out, rank]; the manifest writes the dynamic axis as the string 'rank'
    const want = shape.map((d) => (typeof d === 'number' ? d : rank));
    if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i])) {
      throw new AdapterError(`${src}: tensor '${name}' has shape [${t.dims.join(', ')}], but edge_gai.onnx takes [${want.join(', ')}] at rank ${rank}`);
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
    .map((w) => (w in slots ? vocab.tokens[vocab.metawordFirstId + slots[w]!]! : w))
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
