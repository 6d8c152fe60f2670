/**
 * Every shipped ONNX graph reproduces its PyTorch outputs in onnxruntime-node (relative error <= 1e-4),
 * on inputs and outputs that the training scripts saved as fixtures.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type * as ort from 'onnxruntime-node';
import { ModelStore } from './models.js';
import { floatTensor, int64Tensor } from './onnx.js';
import { modelsDir, readFixture, relativeError, type FixtureTensor } from './testing.js';

interface ModelFixture {
  model: string;
  note: string;
  inputs: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
}

const store = ModelStore.open(modelsDir());
const fixtures = readdirSync(join(modelsDir(), 'fixtures'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, readFixture<ModelFixture>(f)] as const)
  .filter(([, fx]) => typeof fx.model === 'string');

const EXPECTED_MODELS = [
  'autoencoder_encoder.onnx', 'autoencoder_decoder.onnx', 'text_encoder.onnx', 'cloud_gai.onnx',
  'edge_gai.onnx', 'evaluator_image.onnx', 'evaluator_text.onnx',
];

function toTensor(t: FixtureTensor): ort.Tensor {
  return t.type === 'int64' ? int64Tensor(t.data, t.dims) : floatTensor(Float32Array.from(t.data), t.dims);
}

test('every shipped model has a parity fixture', () => {
  const covered = new Set(fixtures.map(([, fx]) => fx.model));
  for (const m of EXPECTED_MODELS) assert.ok(covered.has(m), `no fixture for ${m}`);
});

for (const [file, fx] of fixtures) {
  test(`parity: ${fx.model} (${file}${fx.note ? `, ${fx.note}` : ''})`, async () => {
    const session = await store.session(fx.model);
    const feeds = Object.fromEntries(Object.entries(fx.inputs).map(([k, v]) => [k, toTensor(v)]));
    const out = await session.run(feeds);
    for (const [name, expected] of Object.entries(fx.outputs)) {
      const got = out[name];
      assert.ok(got, `output ${name} missing`);
      assert.deepEqual(Array.from(got.dims), expected.dims);
      const err = relativeError(got.data as Float32Array, expected.data);
      assert.ok(err <= 1e-4, `${fx.model}:${name} relative error ${err.toExponential(2)} > 1e-4`);
    }
    await session.release();
  });
}
