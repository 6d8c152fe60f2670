/**
 * MAKD adapter files: the fixture was written by the Python trainer's quick mode
 * (python3 -m train.makd --subject shape:star --quick --rank 2 --conv-rank 3 --lora-dtype float32
 * --out models/adapters/test/shape-star.quick.dkga): attention LoRA of rank 2, LoCon of rank 3 on the convolutions;
 * shape-star.quick-f16.dkga holds the same tensors with the LoRA matrices stored as float16, written by
 * train/makd_format.py's write_adapter(..., dtypes={every 'lora.' tensor: 'float16'}) from the first.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adapterFeeds, AdapterError, checkAdapterAgainst, float16ToNumber, loadAdapter, parseAdapter, placeMetaword, type Adapter, type AdapterHeader } from './adapter.js';
import { Generator } from './generate.js';
import { ModelStore } from './models.js';
import { modelsDir, relativeError } from './testing.js';

const store = ModelStore.open(modelsDir());
const fixturePath = join(modelsDir(), 'adapters', 'test', 'shape-star.quick.dkga');
const fixture = readFileSync(fixturePath);
const tmp = mkdtempSync(join(tmpdir(), 'dekag-adapter-'));

/** Test-side writer of the same layout, to build files with one thing wrong and a valid checksum. */
function encode(header: AdapterHeader, tensors: Map<string, { data: Float32Array; dims: number[] }>): Buffer {
  let offset = 0;
  const entries = [...tensors].map(([name, t]) => {
    const e = { name, dtype: 'float32', shape: t.dims, offset, bytes: 4 * t.data.length };
    offset += e.bytes;
    return e;
  });
  let head = Buffer.from(JSON.stringify({ ...header, tensors: entries }));
  head = Buffer.concat([head, Buffer.alloc((4 - (head.length % 4)) % 4, 0x20)]);
  const prefix = Buffer.alloc(16);
  prefix.write('DKGADAPT', 0, 'latin1');
  prefix.writeUInt32LE(1, 8);
  prefix.writeUInt32LE(head.length, 12);
  const data = Buffer.concat([...tensors.values()].map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
  const body = Buffer.concat([prefix, head, data]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

function writeTmp(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

test('the Python-written adapter parses and matches the shipped edge-GAI', () => {
  const a = loadAdapter(fixturePath, store);
  assert.equal(a.bytes, fixture.length);
  assert.equal(a.header.subject, 'shape:star');
  assert.equal(a.header.rank, 2);
  assert.deepEqual(a.header.metaword?.slots, { star: 0, stars: 1 });
  assert.deepEqual(a.tensors.get('metaword')?.dims, [2, 64]);
  assert.equal(a.header.conv_rank, 3);
  const sites = store.entry('edge_gai')['lora_sites'] as Record<string, [number, number]>;
  const convs = store.entry('edge_gai')['conv_sites'] as Record<string, [number, number, number]>;
  assert.equal(a.header.lora_sites.length, Object.keys(sites).length + Object.keys(convs).length);
  for (const site of a.header.lora_sites) {
    if (site.startsWith('conv.')) {
      const [cin, cout, k] = convs[site]!;
      assert.deepEqual(a.tensors.get(`lora.${site}.a`)?.dims, [3, cin, k, k]);
      assert.deepEqual(a.tensors.get(`lora.${site}.b`)?.dims, [cout, 3]);
    } else {
      assert.deepEqual(a.tensors.get(`lora.${site}.a`)?.dims, [2, sites[site]![0]]);
      assert.deepEqual(a.tensors.get(`lora.${site}.b`)?.dims, [sites[site]![1], 2]);
    }
  }
  // re-encoding what was parsed reads back the same: TypeScript and Python agree on the layout
  const again = parseAdapter(encode(a.header, a.tensors), 'again');
  assert.deepEqual(again.header, a.header);
  assert.deepEqual(again.tensors, a.tensors);
});

test('a corrupt byte, a truncated file, bad magic and an unknown version are rejected by name', () => {
  const corrupt = Buffer.from(fixture);
  corrupt[corrupt.length - 100]! ^= 0x01;
  assert.throws(() => loadAdapter(writeTmp('corrupt.dkga', corrupt), store), (e: Error) => e instanceof AdapterError && /checksum mismatch/.test(e.message));
  assert.throws(() => parseAdapter(fixture.subarray(0, fixture.length - 7), 'cut.dkga'), /checksum mismatch.*corrupt or truncated/);
  assert.throws(() => parseAdapter(fixture.subarray(0, 20), 'tiny.dkga'), /too short.*truncated/);
  const magic = Buffer.from(fixture);
  magic.write('PNG', 1, 'latin1');
  assert.throws(() => parseAdapter(magic, 'm.dkga'), /bad magic.*not a MAKD adapter/);
  const version = Buffer.from(fixture);
  version.writeUInt32LE(7, 8);
  assert.throws(() => parseAdapter(version, 'v.dkga'), /unknown adapter format version 7; this build reads version 1/);
  assert.throws(() => loadAdapter(join(tmp, 'missing.dkga'), store), /cannot read adapter.*ENOENT/);
});

test('float16 halves: zero, subnormals, the largest, infinities and NaN decode exactly', () => {
  const cases: [number, number][] = [
    [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504],
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14], [0x7c00, Infinity], [0xfc00, -Infinity],
  ];
  for (const [bits, value] of cases) assert.equal(float16ToNumber(bits), value, `0x${bits.toString(16)}`);
  assert.ok(Object.is(float16ToNumber(0x8000), -0));
  assert.ok(Number.isNaN(float16ToNumber(0x7e00)));
});

test('LoRA matrices stored as float16 by Python read back as its values, in half the bytes', () => {
  const full = parseAdapter(fixture, 'f32');
  const half = loadAdapter(join(modelsDir(), 'adapters', 'test', 'shape-star.quick-f16.dkga'), store);
  assert.deepEqual([...half.tensors.keys()], [...full.tensors.keys()]);
  let loraBytes = 0;
  for (const [name, t] of full.tensors) {
    const h = half.tensors.get(name)!;
    assert.deepEqual(h.dims, t.dims);
    if (!name.startsWith('lora.')) {
      assert.deepEqual(h.data, t.data, `${name} stays float32`);
      continue;
    }
    loraBytes += 2 * t.data.length;
    // within half a float16 step of the float32 value (2^-11 relative; 2^-25 in the subnormal range)
    for (let i = 0; i < t.data.length; i++) {
      const x = t.data[i]!;
      assert.ok(Math.abs(h.data[i]! - x) <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -25), `${name}[${i}]: ${h.data[i]} for ${x}`);
    }
  }
  const dataBytes = (a: Adapter): number => a.header.tensors.reduce((sum, e) => sum + e.bytes, 0);
  assert.ok(loraBytes > 0);
  assert.equal(dataBytes(full) - dataBytes(half), loraBytes, 'the LoRA matrices take half the bytes');
  // a dtype the reader does not know, or a float16 tensor whose byte count does not fit, is refused by name
  const halfFile = readFileSync(join(modelsDir(), 'adapters', 'test', 'shape-star.quick-f16.dkga'));
  const f64 = withFirstTensor(halfFile, (e) => ({ ...e, dtype: 'float64' }));
  assert.throws(() => parseAdapter(f64, 'f64.dkga'), /f64\.dkga: tensor 'lora\..*' is float64 .*expected float32 \(4 bytes per element\) or float16 \(2\)/);
  const long = withFirstTensor(halfFile, (e) => ({ ...e, bytes: e.bytes * 2 }));
  assert.throws(() => parseAdapter(long, 'bytes.dkga'), /bytes\.dkga: tensor .* is float16 .*expected float32 \(4 bytes per element\) or float16/);
});

/** The file with its first tensor-table entry changed, re-padded and re-checksummed (the data unchanged). */
function withFirstTensor(file: Buffer, change: (e: AdapterHeader['tensors'][number]) => object): Buffer {
  const headLength = file.readUInt32LE(12);
  const doc = JSON.parse(file.subarray(16, 16 + headLength).toString('utf8')) as { tensors: AdapterHeader['tensors'] };
  doc.tensors = doc.tensors.map((e, i) => (i === 0 ? change(e) : e)) as AdapterHeader['tensors'];
  let head = Buffer.from(JSON.stringify(doc));
  head = Buffer.concat([head, Buffer.alloc((4 - (head.length % 4)) % 4, 0x20)]);
  const prefix = Buffer.from(file.subarray(0, 16));
  prefix.writeUInt32LE(head.length, 12);
  const body = Buffer.concat([prefix, head, file.subarray(16 + headLength, file.length - 32)]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

test('an adapter for another base model is rejected, naming the file and both hashes', () => {
  const a = parseAdapter(fixture, 'f');
  const header = { ...a.header, base_model: { ...a.header.base_model, 'edge_gai.onnx': 'ab'.repeat(32) } };
  const other = parseAdapter(encode(header, a.tensors), 'other-base.dkga');
  assert.throws(() => checkAdapterAgainst(other, store), /other-base\.dkga: made for edge_gai\.onnx with sha256 abababab.*installed edge_gai\.onnx is/);
});

test('tensors whose shapes do not fit the edge graph are rejected', () => {
  const a = parseAdapter(fixture, 'f');
  const name = [...a.tensors.keys()].find((n) => n.endsWith('cross_attn.to_k.a'))!;
  const t = a.tensors.get(name)!;
  const wrong = new Map(a.tensors);
  wrong.set(name, { data: new Float32Array(2 * (t.dims[1]! + 1)), dims: [2, t.dims[1]! + 1] });
  assert.throws(() => checkAdapterAgainst(parseAdapter(encode(a.header, wrong), 'shape.dkga'), store), /tensor 'lora\..*cross_attn\.to_k\.a' has shape \[2, 65\], but edge_gai\.onnx takes \[2, 64\] at rank 2/);
  const rank = { ...a.header, rank: 3 };
  assert.throws(() => checkAdapterAgainst(parseAdapter(encode(rank, a.tensors), 'rank.dkga'), store), /at rank 3/);
  // the convolutions' LoCon tensors are checked against their own rank, and need one
  const convRank = { ...a.header, conv_rank: 2 };
  assert.throws(() => checkAdapterAgainst(parseAdapter(encode(convRank, a.tensors), 'conv-rank.dkga'), store), /'lora\.conv\..*\.a' has shape \[3, .*\], but edge_gai\.onnx takes \[2, .*\] at conv_rank 2/);
  const { conv_rank: _omitted, ...noConvRank } = a.header;
  assert.throws(() => checkAdapterAgainst(parseAdapter(encode(noConvRank, a.tensors), 'old.dkga'), store), /old\.dkga: tensor 'lora\.conv\..*' needs the header's conv_rank, which is 0/);
  const kernel = new Map(a.tensors);
  kernel.set('lora.conv.down0.conv1.a', { data: new Float32Array(3 * 32), dims: [3, 32, 1, 1] });
  assert.throws(() => checkAdapterAgainst(parseAdapter(encode(a.header, kernel), 'kernel.dkga'), store), /'lora\.conv\.down0\.conv1\.a' has shape \[3, 32, 1, 1\], but edge_gai\.onnx takes \[3, 32, 3, 3\]/);
  const foreign = new Map(a.tensors);
  foreign.set('lora.nowhere.a', { data: new Float32Array(4), dims: [2, 2] });
  assert.throws(() => checkAdapterAgainst(parseAdapter(encode(a.header, foreign), 'foreign.dkga'), store), /'lora\.nowhere\.a' is not a LoRA input/);
  const meta = new Map(a.tensors);
  meta.set('metaword', { data: new Float32Array(63), dims: [1, 63] });
  assert.throws(() => checkAdapterAgainst(parseAdapter(encode(a.header, meta), 'meta.dkga'), store), /metaword has shape \[1, 63\], expected \[2, 64\]/);
});

test('the metaword replaces the subject words as the tokenizer sees them', () => {
  const slots = { star: 0, stars: 1 };
  assert.equal(placeMetaword('A large Star, on snow', slots, store.vocab), 'a large <meta0> on snow');
  assert.equal(placeMetaword('three stars at night', slots, store.vocab), 'three <meta1> at night');
  assert.equal(placeMetaword('a red circle', {}, store.vocab), 'a red circle');
});

function zeroAdapter(template: Adapter): Adapter {
  const tensors = new Map<string, { data: Float32Array; dims: number[] }>();
  for (const [name, t] of template.tensors) if (name !== 'metaword') tensors.set(name, { data: new Float32Array(t.data.length), dims: t.dims });
  const header = { ...template.header, metaword: null, mode: 'lora' as const };
  return parseAdapter(encode(header, tensors), 'zero.dkga');
}

test('with an adapter the edge draws differently; an all-zero adapter changes nothing', async () => {
  const gen = await Generator.load(store, 'edge');
  const opts = { prompt: 'a large red plain star on the left on grass', seed: 3, steps: 6 };
  const base = await gen.generate(opts);
  const a = loadAdapter(fixturePath, store);
  gen.setAdapter(adapterFeeds(a, store.vocab));
  const adapted = await gen.generate(opts);
  assert.ok(relativeError(adapted.latent, base.latent) > 1e-3, 'the adapter must change a prompt that names its subject');
  const zero = zeroAdapter(a);
  checkAdapterAgainst(zero, store);
  gen.setAdapter(adapterFeeds(zero, store.vocab));
  assert.deepEqual((await gen.generate(opts)).latent, base.latent);
  gen.setAdapter(undefined);
  assert.deepEqual((await gen.generate(opts)).latent, base.latent);
});
