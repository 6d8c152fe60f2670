import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelFileError } from '../util/errors.js';
import { ModelStore } from './models.js';
import { parsePipeline, pipelineFiles } from './pipeline.js';
import { DEFAULT_GUIDANCE, DEFAULT_STEPS, SHIPPED_SCHEDULE } from './sampler.js';
import { modelsDir } from './testing.js';

const store = ModelStore.open(modelsDir());
const raw = (): Record<string, unknown> => structuredClone(store.manifest.pipeline) as Record<string, unknown>;

test('the shipped manifest describes the shipped pipeline: 4x8x8 latents, 32x32 images, the trained schedule', () => {
  const p = store.pipeline;
  assert.deepEqual(p.latentShape, [4, 8, 8]);
  assert.equal(p.latentSize, 256);
  assert.deepEqual(p.imageSize, [32, 32, 3]);
  assert.equal(p.latentScale, 1);
  assert.deepEqual(p.schedule, SHIPPED_SCHEDULE);
  assert.deepEqual(p.sampler, { kind: 'ddim', eta: 0, steps: DEFAULT_STEPS, guidance: DEFAULT_GUIDANCE });
  assert.deepEqual(Object.keys(p.noisePredictors).sort(), ['cloud', 'edge']);
  assert.equal(p.noisePredictors['edge']!.loraPrefix, 'lora.');
  assert.equal(p.noisePredictors['cloud']!.loraPrefix, undefined);
  assert.equal(p.textEncoder.metawordInput, 'metaword');
  // every file it names is in the manifest with a sha256, and the decoder's ONNX shapes agree with it
  for (const f of pipelineFiles(p)) assert.match(store.fileInfo(f).sha256, /^[0-9a-f]{64}$/);
  const dec = store.fileInfo(p.latentDecoder.file);
  assert.deepEqual(dec.inputs![0]!.shape.slice(1), [...p.latentShape]);
  assert.deepEqual(dec.outputs![0]!.shape.slice(1), [3, p.imageSize[0], p.imageSize[1]]);
});

test('a malformed pipeline section fails with where and what', () => {
  const bad = (edit: (p: Record<string, unknown>) => void, message: RegExp): void => {
    const p = raw();
    edit(p);
    assert.throws(() => parsePipeline(p, 'x/manifest.json'), (e: unknown) => {
      assert.ok(e instanceof ModelFileError);
      assert.match(e.message, message);
      return true;
    });
  };
  assert.throws(() => parsePipeline(undefined), /no 'pipeline' section.*python3 -m train\.pipeline/);
  bad((p) => (p['latent_shape'] = [4, 8]), /x\/manifest\.json: pipeline\.latent_shape must be a list of 3 sizes/);
  bad((p) => (p['latent_shape'] = [4, 0, 8]), /pipeline\.latent_shape\[1\] must be > 0/);
  bad((p) => (p['image_size'] = [32, 32, 4]), /pipeline\.image_size must be \[height, width, 3\]/);
  bad((p) => delete (p['latent_decoder'] as Record<string, unknown>)['file'], /pipeline\.latent_decoder\.file must be a non-empty string/);
  bad((p) => delete ((p['noise_predictors'] as Record<string, Record<string, unknown>>)['cloud']!['outputs'] as Record<string, unknown>)['eps'], /noise_predictors\.cloud\.outputs\.eps/);
  bad((p) => (p['noise_predictors'] = {}), /noise_predictors must name at least one/);
  bad((p) => ((p['schedule'] as Record<string, unknown>)['kind'] = 'cosine'), /pipeline\.schedule\.kind must be "scaled-linear", got "cosine"/);
  bad((p) => ((p['schedule'] as Record<string, unknown>)['beta_start'] = 0.5), /beta_start <= beta_end/);
  bad((p) => ((p['sampler'] as Record<string, unknown>)['steps'] = 1001), /sampler\.steps must be at most schedule\.train_timesteps \(1000\)/);
  bad((p) => (p['latent_scale'] = 0), /pipeline\.latent_scale must be > 0/);
});

test('a pipeline naming a file the manifest does not list is refused when the store reads it', () => {
  const p = raw();
  (p['latent_decoder'] as Record<string, unknown>)['file'] = 'nowhere.onnx';
  const copy = ModelStore.open(modelsDir());
  copy.manifest.pipeline = p;
  assert.throws(() => copy.pipeline, /nowhere\.onnx is not listed in/);
});
