import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { PromptError } from '../util/errors.js';
import { modelsDir } from './testing.js';
import { editDistance, namedAttributes, nearestWords, nullTokens, splitWords, tokenize, type Tokenizer } from './tokenizer.js';
import { Vocab } from './vocab.js';

const vocab = Vocab.load(join(modelsDir(), 'vocab.json'));

test('a prompt becomes [bos, words..., pad...] with the ids of vocab.json', () => {
  const ids = tokenize('A red star, on grass.', vocab);
  assert.equal(ids.length, vocab.maxTokens);
  assert.deepEqual(
    Array.from(ids.slice(0, 6)),
    [vocab.bosId, vocab.idOf('a'), vocab.idOf('red'), vocab.idOf('star'), vocab.idOf('on'), vocab.idOf('grass')],
  );
  assert.ok(Array.from(ids.slice(6)).every((id) => id === vocab.padId));
});

test('metaword tokens are words of the vocabulary in their reserved slots', () => {
  const ids = tokenize('a <meta0> star', vocab);
  assert.ok(vocab.isMetaword(ids[2]!));
  assert.equal(vocab.metawordToken(0), '<meta0>');
  assert.equal(vocab.metawordSlots, 8);
});

test('an unknown word is named, with the nearest vocabulary words', () => {
  assert.throws(() => tokenize('a purpel star', vocab), (e: unknown) => {
    assert.ok(e instanceof PromptError);
    assert.match(e.message, /unknown word 'purpel'/);
    assert.match(e.message, /did you mean 'purple'/);
    return true;
  });
  assert.throws(() => tokenize('a zzzzzzzzzz', vocab), /unknown word 'zzzzzzzzzz'.*vocab\.json/);
});

test('empty and over-long prompts are rejected with the limit', () => {
  assert.throws(() => tokenize('   ', vocab), /empty prompt/);
  const long = Array(vocab.maxTokens).fill('red').join(' ');
  assert.throws(() => tokenize(long, vocab), new RegExp(`at most ${vocab.maxTokens - 1}`));
  assert.equal(tokenize(Array(vocab.maxTokens - 1).fill('red').join(' '), vocab).length, vocab.maxTokens);
});

test('the unconditional prompt is bos then padding', () => {
  const ids = nullTokens(vocab);
  assert.equal(ids[0], vocab.bosId);
  assert.ok(Array.from(ids.slice(1)).every((id) => id === vocab.padId));
});

test('named attributes: plural shapes take the number word, singular means one', () => {
  assert.deepEqual(namedAttributes('two purple striped stars at night', vocab), {
    count: 'two', colour: 'purple', texture: 'striped', shape: 'star', background: 'night',
  });
  assert.deepEqual(namedAttributes('a large heart on the left', vocab), { size: 'large', shape: 'heart', count: 'one', position: 'left' });
});

test('edit distance and nearest words', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.deepEqual(nearestWords('sqare', vocab).slice(0, 1), ['square']);
  assert.deepEqual(splitWords('  Two  "Red" stars! '), ['two', 'red', 'stars']);
});

test('the generator reads prompts only through the store\'s Tokenizer: another tokenizer changes what it encodes', async () => {
  const { ModelStore } = await import('./models.js');
  const { Generator } = await import('./generate.js');
  const store = ModelStore.open(modelsDir());
  const word = store.tokenizer;
  assert.deepEqual([...word.encode('a red star on grass')], [...tokenize('a red star on grass', store.vocab)]);
  assert.deepEqual([...word.unconditional()], [...nullTokens(store.vocab)]);
  const gen = await Generator.load(store, 'edge');
  const plain = await gen.encodeText('a red star on grass');
  // A tokenizer that reads 'zzz' (not a word of the world) as that prompt: the generator must follow it.
  const other: Tokenizer = { maxTokens: word.maxTokens, encode: (p) => word.encode(p === 'zzz' ? 'a red star on grass' : p), unconditional: () => word.unconditional() };
  Object.defineProperty(store, 'tokenizer', { get: () => other, configurable: true });
  const viaOther = await gen.encodeText('zzz');
  assert.deepEqual([...(viaOther.data as Float32Array)], [...(plain.data as Float32Array)]);
  Object.defineProperty(store, 'tokenizer', { get: () => word, configurable: true });
  await assert.rejects(gen.encodeText('zzz'), /unknown word 'zzz'/);
});
