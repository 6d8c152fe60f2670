/**
 * The page's form rules (app/renderer/fields.ts), under Node: they are plain functions of strings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPromptText, parseNumberField, plainApiError, readNumberFields } from '../../app/renderer/fields.js';

const freq = { label: 'Frequency (MHz)', min: 0, max: 6000 };

test('an empty number field is an error naming the field, never 0', () => {
  const r = parseNumberField('', freq);
  assert.deepEqual(r, { ok: false, error: 'Frequency (MHz) is empty; enter a number from 0 to 6000' });
  assert.equal(parseNumberField('   ', freq).ok, false);
  // the browser reports '' for text that is not a number: badInput tells them apart
  assert.match((parseNumberField('', freq, true) as { error: string }).error, /^Frequency \(MHz\) is not a number/);
});

test('numbers in range pass; out of range, fractions for whole numbers and junk are refused in plain words', () => {
  assert.deepEqual(parseNumberField('2400.5', freq), { ok: true, value: 2400.5 });
  assert.deepEqual(parseNumberField('0', freq), { ok: true, value: 0 });
  assert.deepEqual(parseNumberField('7000', freq), { ok: false, error: 'Frequency (MHz) must be from 0 to 6000, not 7000' });
  assert.deepEqual(parseNumberField('2.5', { label: 'Images', min: 1, max: 100, integer: true }), { ok: false, error: 'Images must be a whole number from 1 to 100, not 2.5' });
  assert.match((parseNumberField('abc', freq) as { error: string }).error, /Frequency \(MHz\): 'abc' is not a number/);
  assert.match((parseNumberField('Infinity', freq) as { error: string }).error, /is not a number/);
  assert.deepEqual(parseNumberField('-3', { label: 'CFO (Hz)' }), { ok: true, value: -3 });
  assert.match((parseNumberField('-1', { label: 'Seed', min: 0, integer: true }) as { error: string }).error, /Seed must be of at least 0, not -1/);
});

test('a form is read whole: every error, each with its field', () => {
  const r = readNumberFields([
    { key: 'freq', raw: '', spec: freq },
    { key: 'rate', raw: '1', spec: { label: 'Sample rate (Msps)', min: 0.001, max: 100 } },
    { key: 'gain', raw: '99', spec: { label: 'rx gain (dB)', min: 0, max: 40 } },
  ]);
  assert.equal(r.ok, false);
  assert.deepEqual((r as { errors: { key: string }[] }).errors.map((e) => e.key), ['freq', 'gain']);
  const good = readNumberFields([{ key: 'a', raw: '1', spec: { label: 'A' } }, { key: 'b', raw: '2', spec: { label: 'B' } }]);
  assert.deepEqual(good, { ok: true, values: { a: 1, b: 2 } });
});

test('a prompt over the limit is refused before sending, naming the field and both lengths', () => {
  const r = checkPromptText('x'.repeat(100_000), 4000);
  assert.deepEqual(r, { ok: false, error: 'Prompt is 100000 characters long; at most 4000 (one short description per line)' });
  assert.deepEqual(checkPromptText('a red star', 4000), { ok: true, value: 'a red star' });
  assert.equal(checkPromptText('x'.repeat(4000), 4000).ok, true);
  assert.match((checkPromptText(' \n ', 4000) as { error: string }).error, /^Prompt is empty/);
});

test("engine errors that name a request path are given the field's words", () => {
  const labels = { 'startSession.images': { key: 'images', label: 'Images' }, 'startSession.snr': { key: 'snr', label: 'Target SNR (dB)' } };
  assert.deepEqual(plainApiError('startSession.images must be an integer from 1 to 100, got 0', labels), { message: 'Images must be an integer from 1 to 100, got 0', key: 'images' });
  assert.deepEqual(plainApiError('startSession.snr.snrDb must be a finite number, got null', labels), { message: 'Target SNR (dB) must be a finite number, got null', key: 'snr' });
  assert.deepEqual(plainApiError('no radio is connected', labels), { message: 'no radio is connected' });
  assert.deepEqual(plainApiError('startSession.seed must be ...', labels), { message: 'startSession.seed must be ...' });
});
