import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_METHODS, ApiError, validateRequest } from './api.js';

const session = { prompt: 'a red star on grass', adapter: 'auto', snr: { kind: 'target', snrDb: 12 }, rate: 0.25, images: 2, seed: 0 };

test('a valid request passes with its parameters', () => {
  const r = validateRequest('startSession', session);
  assert.equal(r.method, 'startSession');
  assert.deepEqual(r.params, session);
  assert.deepEqual(validateRequest('info', undefined).params, undefined);
});

test('unknown calls are refused, naming the calls that exist', () => {
  assert.throws(() => validateRequest('readFile', { path: '/etc/passwd' }), (e: ApiError) => e.code === 'E_API_UNKNOWN' && e.message.includes('listDevices'));
  assert.throws(() => validateRequest('__proto__', {}), /unknown call/);
  assert.throws(() => validateRequest('constructor', {}), /unknown call/);
  assert.throws(() => validateRequest(42, {}), /unknown call/);
});

test('types, ranges and unknown fields are refused with the field named', () => {
  assert.throws(() => validateRequest('startSession', { ...session, images: 0 }), /startSession\.images must be an integer from 1 to 100, got 0/);
  assert.throws(() => validateRequest('startSession', { ...session, images: 2.5 }), /startSession\.images must be an integer/);
  assert.throws(() => validateRequest('startSession', { ...session, rate: 0.3 }), /startSession\.rate must be 'auto' or one of 1\/16/);
  assert.throws(() => validateRequest('startSession', { ...session, snr: { kind: 'target', snrDb: 'high' } }), /startSession\.snr\.snrDb must be a finite number, got 'high'/);
  assert.throws(() => validateRequest('startSession', { ...session, snr: { kind: 'ramp' } }), /startSession\.snr\.kind must be one of 'target', 'sweep'/);
  assert.throws(() => validateRequest('startSession', { ...session, shell: 'rm -rf /' }), /unknown field 'shell'/);
  assert.throws(() => validateRequest('startSession', { ...session, prompt: undefined }), /startSession\.prompt is missing/);
  assert.throws(() => validateRequest('configureDevice', { freqHz: Number.NaN }), /finite number/);
  assert.throws(() => validateRequest('configureDevice', { gainsDb: { 'lna; drop': 3 } }), /gain stage name/);
  assert.throws(() => validateRequest('startRecording', { name: '../../etc/x' }), /letters, digits/);
  assert.throws(() => validateRequest('listDevices', { all: true }), /takes no parameters/);
  assert.throws(() => validateRequest('checkPrompt', { prompt: 'x'.repeat(2001) }), /0 to 2000 characters/);
});

test('a sweep is bounded in steps', () => {
  assert.doesNotThrow(() => validateRequest('startSession', { ...session, snr: { kind: 'sweep', fromDb: 25, toDb: 5, stepDb: 5, imagesPerStep: 1 } }));
  assert.throws(() => validateRequest('startSession', { ...session, snr: { kind: 'sweep', fromDb: -10, toDb: 60, stepDb: 0.5, imagesPerStep: 1 } }), /141 steps; at most 64/);
});

test('every method refuses garbage parameters', () => {
  assert.ok(API_METHODS.length >= 15);
  for (const m of API_METHODS) {
    assert.throws(() => validateRequest(m, 42), ApiError, m);
    assert.throws(() => validateRequest(m, ['a']), ApiError, m);
  }
});
