import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ModelFileError } from '../util/errors.js';
import { ModelStore } from './models.js';
import { modelsDir } from './testing.js';

const tmp = mkdtempSync(join(tmpdir(), 'dekag-models-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
for (const f of ['manifest.json', 'vocab.json', 'text_encoder.onnx']) copyFileSync(join(modelsDir(), f), join(tmp, f));

test('a shipped model passes its sha256 check and loads', async () => {
  const store = ModelStore.open(tmp);
  const s = await store.session('text_encoder.onnx');
  assert.deepEqual([...s.inputNames].sort(), ['metaword', 'token_ids']);
  assert.equal(s.provider, 'cpu');
  await s.release();
});

test('a model file whose sha256 does not match the manifest is refused', () => {
  const dir = mkdtempSync(join(tmp, 'corrupt-'));
  for (const f of ['manifest.json', 'vocab.json']) copyFileSync(join(modelsDir(), f), join(dir, f));
  writeFileSync(join(dir, 'text_encoder.onnx'), 'not a model');
  assert.throws(() => ModelStore.open(dir).verifiedPath('text_encoder.onnx'), (e: unknown) => {
    assert.ok(e instanceof ModelFileError);
    assert.match(e.message, /sha256 .* but manifest\.json expects .*corrupt/);
    return true;
  });
});

test('a missing model file and a missing manifest say what to do', () => {
  assert.throws(() => ModelStore.open(tmp).verifiedPath('cloud_gai.onnx'), /cloud_gai\.onnx is missing; restore it .* or retrain/);
  assert.throws(() => ModelStore.open(join(tmp, 'nowhere')), /no model manifest at .*retrain/);
  assert.throws(() => ModelStore.open(tmp).entry('nonexistent'), /no entry 'nonexistent'/);
});

test('an unavailable execution provider falls back to cpu and says why', async () => {
  const store = ModelStore.open(tmp);
  const s = await store.session('text_encoder.onnx', { provider: 'coreml' });
  assert.equal(s.provider, 'cpu');
  assert.match(s.fallbackReason ?? '', /coreml execution provider unavailable/);
  await s.release();
});
