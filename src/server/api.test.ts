import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_METHODS, ApiError, MAX_PROMPT_CHARS, validateRequest } from './api.js';
import { dispatchText, MAX_REQUEST_BYTES } from './dispatch.js';
import type { DekagApi } from './api.js';

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
  assert.throws(() => validateRequest('state', { all: true }), /takes no parameters/);
});

test('a sweep is bounded in steps', () => {
  assert.doesNotThrow(() => validateRequest('startSession', { ...session, snr: { kind: 'sweep', fromDb: 25, toDb: 5, stepDb: 5, imagesPerStep: 1 } }));
  assert.throws(() => validateRequest('startSession', { ...session, snr: { kind: 'sweep', fromDb: -10, toDb: 60, stepDb: 0.5, imagesPerStep: 1 } }), /141 steps; at most 64/);
});

test('an attenuator is named by its serial port, nothing else', () => {
  assert.doesNotThrow(() => validateRequest('connectAttenuator', { port: '/dev/ttyUSB0' }));
  assert.doesNotThrow(() => validateRequest('connectAttenuator', { port: 'COM3', baudRate: 115200 }));
  assert.throws(() => validateRequest('connectAttenuator', { port: '/etc/passwd\0' }), /a serial port like \/dev\/ttyUSB0/);
  assert.throws(() => validateRequest('connectAttenuator', { port: '../../home/me/file' }), /a serial port like/);
  assert.throws(() => validateRequest('connectAttenuator', { port: '/dev/../home/me/file' }), /a serial port like/);
  assert.throws(() => validateRequest('connectAttenuator', { port: '/dev/ttyUSB0', baudRate: 12.5 }), ApiError);
});

test('every method refuses garbage parameters', () => {
  assert.ok(API_METHODS.length >= 15);
  for (const m of API_METHODS) {
    assert.throws(() => validateRequest(m, 42), ApiError, m);
    assert.throws(() => validateRequest(m, ['a']), ApiError, m);
  }
});

test('one prompt limit, MAX_PROMPT_CHARS (4000), for checking a prompt and for running it', () => {
  assert.equal(MAX_PROMPT_CHARS, 4000);
  const longest = 'a red star on grass\n'.repeat(400).slice(0, MAX_PROMPT_CHARS);
  assert.doesNotThrow(() => validateRequest('checkPrompt', { prompt: longest }));
  assert.doesNotThrow(() => validateRequest('startSession', { ...session, prompt: longest }));
  assert.throws(() => validateRequest('checkPrompt', { prompt: longest + 'x' }), /checkPrompt\.prompt must be a string of 0 to 4000 characters/);
  assert.throws(() => validateRequest('startSession', { ...session, prompt: longest + 'x' }), /startSession\.prompt must be a string of 1 to 4000 characters/);
  // the largest legitimate request, every character escaped in JSON, still fits a request
  assert.ok(JSON.stringify({ id: 1, method: 'startSession', params: { ...session, prompt: '\u0001'.repeat(MAX_PROMPT_CHARS) } }).length < MAX_REQUEST_BYTES);
});

test('an oversized or malformed request gets an error reply, to the call that sent it when its id can be read', async () => {
  const calls: string[] = [];
  const engine = { checkPrompt: async () => (calls.push('checkPrompt'), { ok: true }) } as unknown as DekagApi;
  const big = JSON.stringify({ id: 17, method: 'checkPrompt', params: { prompt: 'x'.repeat(100_000) } });
  const r = await dispatchText(engine, big);
  assert.equal(r.id, 17);
  assert.ok('error' in r && r.error.code === 'E_TOO_LARGE', JSON.stringify(r));
  assert.match('error' in r ? r.error.message : '', /request of 100\d{3} bytes; at most 65536 .*4000 characters/);
  assert.deepEqual(calls, [], 'the engine never saw it');
  // no readable id: answered with id -1
  const noId = await dispatchText(engine, `{"method":"checkPrompt","id":3,"params":{"prompt":"${'y'.repeat(70_000)}"}}`);
  assert.equal(noId.id, -1);
  assert.deepEqual(await dispatchText(engine, 'not json'), { id: -1, error: { code: 'E_API', message: 'request is not JSON' } });
  const ok = await dispatchText(engine, JSON.stringify({ id: 18, method: 'checkPrompt', params: { prompt: 'a red star' } }));
  assert.deepEqual(ok, { id: 18, result: { ok: true } });
});

test('session ids for history and export: only the engine\'s form (no paths), and the three formats', () => {
  assert.deepEqual(validateRequest('exportSession', { sessionId: 'session-mh3k2x-1', format: 'csv' }).params, { sessionId: 'session-mh3k2x-1', format: 'csv' });
  for (const bad of ['../etc', 'session-a/../../b-1', 'session-x-1/..', '']) assert.throws(() => validateRequest('sessionHistory', { sessionId: bad }), /sessionId/);
  assert.throws(() => validateRequest('exportSession', { sessionId: 'session-a-1', format: 'xml' }), /format must be one of/);
});
