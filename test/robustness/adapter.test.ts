/**
 * Issue 15, item 13: MAKD adapter files (.dkga) whose checksum was recomputed around a hostile header are
 * refused field by field with an AdapterError; before the fix they crashed with a TypeError (tensors:[null],
 * shape:"abc", base_model:null) or were accepted (mode:5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AdapterError, parseAdapter } from '../../src/gsc/adapter.js';


/** An adapter file around any header (JSON text) and tensor bytes, with a correct checksum. */
function adapterFile(header: unknown, data: Uint8Array = new Uint8Array(0)): Buffer {
  let head = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  head = Buffer.concat([head, Buffer.alloc((4 - (head.length % 4)) % 4, 0x20)]);
  const prefix = Buffer.alloc(16);
  prefix.write('DKGADAPT', 0, 'latin1');
  prefix.writeUInt32LE(1, 8);
  prefix.writeUInt32LE(head.length, 12);
  const body = Buffer.concat([prefix, head, data]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

const GOOD_HEADER = {
  format: 'dekag-makd-adapter',
  subject: 'shape:star',
  subject_attributes: { shape: 'star' },
  mode: 'makd',
  base_model: { 'edge_gai.onnx': 'ab'.repeat(32), 'text_encoder.onnx': 'cd'.repeat(32) },
  rank: 1,
  lora_sites: ['mid.self_attn.to_q'],
  metaword: { placement: 'replace', slots: { star: 0 }, tokens: { star: '<meta0>' } },
  training: {},
  tensors: [{ name: 'metaword', dtype: 'float32', shape: [1, 2], offset: 0, bytes: 8 }],
};

test('adapter: a re-checksummed file with a hostile header is an AdapterError naming the field, never a TypeError', () => {
  assert.equal(parseAdapter(adapterFile(GOOD_HEADER, new Uint8Array(8)), 'good').header.subject, 'shape:star');
  const hostile: Array<[string, Record<string, unknown>, RegExp]> = [
    ['tensors-null', { tensors: [null] }, /tensors\[0\] must be an object/],
    ['shape-string', { tensors: [{ ...GOOD_HEADER.tensors[0], shape: 'abc' }] }, /tensors\[0\]\.shape must be a list/],
    ['base-null', { base_model: null }, /base_model/],
    ['mode-5', { mode: 5 }, /mode must be one of makd, lora, metaword \(got 5\)/],
    ['subject-object', { subject: { toString: 1 } }, /subject must be a string/],
    ['rank-huge', { rank: 1e9 }, /rank must be an integer from 0 to 1024/],
    ['slots-bad', { metaword: { placement: 'replace', slots: { star: 'x' }, tokens: {} } }, /metaword\.slots\.star must be an integer/],
    ['sites-null', { lora_sites: [null] }, /lora_sites\[0\] must be a string/],
    ['dup', { tensors: [GOOD_HEADER.tensors[0], GOOD_HEADER.tensors[0]] }, /appears twice/],
    ['unknown', { extra: 1 }, /unknown field 'extra'/],
  ];
  for (const [name, change, want] of hostile) {
    const file = adapterFile({ ...GOOD_HEADER, ...change }, new Uint8Array(8));
    assert.throws(() => parseAdapter(file, name), (e: Error) => e instanceof AdapterError && want.test(e.message), `${name}`);
  }
  assert.throws(() => parseAdapter(adapterFile('[1]'), 'array'), (e: Error) => e instanceof AdapterError && /must be a JSON object/.test(e.message));
  // a header that is not JSON is reported by position, without quoting it
  assert.throws(() => parseAdapter(adapterFile('root:x:0:0:root'), 'p.dkga'), (e: Error) => e instanceof AdapterError && /not valid JSON/.test(e.message) && !/root/.test(e.message));
});
