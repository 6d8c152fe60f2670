import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consistency, cosine, Evaluator } from './evaluate.js';
import { ModelStore } from './models.js';
import { modelsDir, readFixture, type FixtureTensor } from './testing.js';
import { tensorToRgb } from './image.js';

const store = ModelStore.open(modelsDir());

test('cosine and consistency', () => {
  const a = Float32Array.from([1, 0, 0]);
  const b = Float32Array.from([0, 2, 0]);
  assert.equal(cosine(a, a), 1);
  assert.equal(cosine(a, b), 0);
  assert.ok(Math.abs(cosine(a, Float32Array.from([-3, 0, 0])) + 1) < 1e-12);
  assert.equal(consistency(a, a, b), 1);
});

test('the evaluator reads the attributes of rendered world images', async () => {
  // the evaluator fixture holds two held-out images rendered by train/world.py
  const fx = readFixture<{ inputs: { image: FixtureTensor }; truth: Record<string, string>[] }>('evaluator_image.json');
  const t = Float32Array.from(fx.inputs.image.data);
  const images = [0, 1].map((n) => tensorToRgb(t, n, 32, 32));
  const ev = await Evaluator.load(store);
  const judged = await ev.judgeImages(images);
  assert.equal(judged.length, 2);
  for (const [n, j] of judged.entries()) {
    assert.deepEqual(j.attributes, fx.truth[n], `image ${n}`);
    assert.ok(Math.abs(Math.hypot(...j.embedding) - 1) < 1e-4, 'embeddings are unit norm');
  }
  // a prompt naming what the evaluator predicted agrees; changing one named value disagrees
  const a = judged[0]!.attributes;
  const shapeWord = store.vocab.attributes['shape']![a['shape']!]![a['count'] === 'one' ? 0 : 1]!;
  const countWord = a['count'] === 'one' ? 'a' : a['count']!;
  const prompt = `${countWord} ${a['colour']} ${shapeWord}`;
  assert.equal(ev.agreement(prompt, judged[0]!).agrees, true, prompt);
  const other = a['colour'] === 'red' ? 'blue' : 'red';
  const wrong = ev.agreement(`${countWord} ${other} ${shapeWord}`, judged[0]!);
  assert.equal(wrong.agrees, false);
  assert.deepEqual(wrong.checked['colour'], [other, a['colour']]);
  // the text embedding of a matching prompt is closer than that of a contradicting one
  const match = cosine(judged[0]!.embedding, await ev.embedPrompt(prompt));
  const mismatch = cosine(judged[0]!.embedding, await ev.embedPrompt(`three ${other} ${store.vocab.attributes['shape']![a['shape'] === 'ring' ? 'cross' : 'ring']![1]}`));
  assert.ok(match > mismatch, `${match} <= ${mismatch}`);
});

test('images of another size are refused', async () => {
  const ev = await Evaluator.load(store);
  await assert.rejects(ev.judgeImages([{ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) }]), /32x32/);
});
