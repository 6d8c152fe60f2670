/**
 * A pipeline of another size, described only by its manifest: test/fixtures/toy-pipeline/ (written by
 * python3 -m train.toy_pipeline: tiny random graphs, a 4x16x16 latent, 64x64 images, latent scale 0.18215,
 * Stable Diffusion's tensor names). It loads through ModelStore as models/ does and runs end to end.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { LatentDecoder } from './decoder.js';
import { Generator } from './generate.js';
import { ModelStore } from './models.js';
import { floatTensor, OnnxModel, tensorData } from './onnx.js';
import { modelsDir, relativeError } from './testing.js';

const dir = join(dirname(modelsDir()), 'test', 'fixtures', 'toy-pipeline');
const store = ModelStore.open(dir);
const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as { prompt: string; seed: number; steps: number; guidance: number; latent: number[]; image_rgb: number[] };

test('the toy manifest describes a 4x16x16 latent and 64x64 images', () => {
  const p = store.pipeline;
  assert.deepEqual(p.latentShape, [4, 16, 16]);
  assert.deepEqual(p.imageSize, [64, 64, 3]);
  assert.equal(p.latentScale, 0.18215);
  assert.deepEqual(p.sampler, { kind: 'ddim', eta: 0, steps: ref.steps, guidance: ref.guidance });
});

test('prompt -> latent [4, 16, 16] -> 64x64 image, deterministic for a seed, matching PyTorch', async () => {
  const gen = await Generator.load(store, 'cloud');
  const steps: number[] = [];
  const a = await gen.generate({ prompt: ref.prompt, seed: ref.seed, onStep: (s) => steps.push(s) });
  assert.equal(a.latent.length, 4 * 16 * 16);
  assert.ok(a.latent.every(Number.isFinite));
  assert.deepEqual([a.image.width, a.image.height, a.image.data.length], [64, 64, 64 * 64 * 3]);
  assert.equal(a.noisePredictorEvals, ref.steps); // the manifest's sampler default
  assert.deepEqual(steps, [1, 2, 3, 4, 5]);
  const b = await gen.generate({ prompt: ref.prompt, seed: ref.seed });
  assert.deepEqual(b.latent, a.latent);
  assert.deepEqual(b.image.data, a.image.data);
  assert.notDeepEqual((await gen.generate({ prompt: ref.prompt, seed: ref.seed + 1 })).latent, a.latent);
  assert.notDeepEqual((await gen.generate({ prompt: 'a blue circle', seed: ref.seed })).latent, a.latent);
  // train/toy_pipeline.py drew the same sample with PyTorch
  const err = relativeError(a.latent, ref.latent);
  assert.ok(err < 1e-4, `latent relative error ${err.toExponential(2)}`);
  let maxDiff = 0;
  for (let i = 0; i < ref.image_rgb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.image.data[i]! - ref.image_rgb[i]!));
  assert.ok(maxDiff <= 1, `image differs by up to ${maxDiff} levels`);
});

test("the user role's decoder gives the generator's image, dividing by the latent scale", async () => {
  const gen = await Generator.load(store, 'cloud');
  const { latent, image } = await gen.generate({ prompt: ref.prompt, seed: ref.seed, steps: 2 });
  const decoder = await LatentDecoder.load(store);
  assert.deepEqual(decoder.latentShape, [4, 16, 16]);
  assert.deepEqual((await decoder.decode(latent)).data, image.data);
  // the graph itself, fed latent / 0.18215 under its own input name
  const raw = await OnnxModel.open(join(dir, 'toy_decoder.onnx'));
  const out = tensorData((await raw.run({ z: floatTensor(latent.map((v) => v / 0.18215), [1, 4, 16, 16]) }))['x'], 'x');
  assert.deepEqual(await decoder.decodeTensor(latent), out);
  // two latents at once, and a latent of the wrong size says what the decoder takes
  assert.equal((await decoder.decodeImages(new Float32Array(2 * 1024))).length, 2);
  await assert.rejects(decoder.decode(new Float32Array(256)), /not a multiple of 1024 .*\[n, 4, 16, 16\]/);
  await Promise.all([decoder.release(), raw.release()]);
});

test('a role the manifest has no noise predictor for is refused by name', async () => {
  await assert.rejects(Generator.load(store, 'edge'), /pipeline has no noise predictor for the edge \(has: cloud\)/);
});
