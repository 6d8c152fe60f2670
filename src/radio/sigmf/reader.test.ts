import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SigmfFormatError } from './errors.js';
import { SigmfRecording, locateSigmf } from './reader.js';
import { NO_SHARED_SIGMF, OFFICIAL_EXAMPLE, tempDir } from './testing.js';

test('the official SigMF logo example reads with a verified checksum and its three annotations', { skip: NO_SHARED_SIGMF }, async () => {
  for (const path of [OFFICIAL_EXAMPLE, `${OFFICIAL_EXAMPLE}.sigmf-meta`, `${OFFICIAL_EXAMPLE}.sigmf-data`]) {
    const rec = await SigmfRecording.open(path);
    assert.equal(rec.validation.valid, true, rec.validation.errors.join('; '));
    assert.deepEqual(rec.problems, []);
    assert.equal(await rec.verifyChecksum(), true);
    assert.equal(rec.datatype.name, 'ri16_le');
    assert.equal(rec.numChannels, 2);
    assert.equal(rec.sampleRateHz, 48000);
    assert.equal(rec.sampleCount, 1152000 / (2 * 2));
    assert.equal(rec.durationS, 6);
    assert.equal(rec.finalized, undefined);
    assert.deepEqual(
      rec.annotations.map((a) => [a['core:comment'], a['core:sample_start'], a['core:sample_count']]),
      [['logo warmup', 6000, 42000], ['logo spinup', 48000, 138000], ['logo steady', 186000, 96000]],
    );
    assert.equal(rec.captures[0]!['core:datetime'], '2021-06-18T23:17:51.163959Z');
    await rec.close();
  }
});

test('official example samples match an independent decode of the raw bytes, per channel', { skip: NO_SHARED_SIGMF }, async () => {
  const raw = readFileSync(`${OFFICIAL_EXAMPLE}.sigmf-data`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const rec = await SigmfRecording.open(OFFICIAL_EXAMPLE);
  const start = 100000;
  const [ch0, ch1] = await rec.readSamples(start, 64);
  let energy = 0;
  for (let k = 0; k < 64; k++) {
    const i = start + k;
    assert.equal(ch0![k], view.getInt16((i * 2 + 0) * 2, true) / 32768);
    assert.equal(ch1![k], view.getInt16((i * 2 + 1) * 2, true) / 32768);
    energy += ch0![k]! ** 2 + ch1![k]! ** 2;
  }
  assert.ok(energy > 0, 'the logo is not silent there');
  // real data as complex: Q = 0; one channel into a reused buffer
  const out = new Float32Array(2 * 64);
  assert.equal(await rec.readChannelInto(start, 64, 1, out, { asComplex: true }), 64);
  for (let k = 0; k < 64; k++) assert.deepEqual([out[2 * k], out[2 * k + 1]], [ch1![k], 0]);
  await assert.rejects(rec.readChannelInto(0, 1, 2, out), /2 channel/);
  await rec.close();
});

test('an invalid but readable meta opens, with the validation errors reported', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'bad');
  const meta = {
    global: { 'core:datatype': 'ci16_be', 'core:sample_rate': 0, 'x:undeclared': 1 },
    captures: [{ 'core:sample_start': 4 }, { 'core:sample_start': 2 }],
    annotations: [],
  };
  writeFileSync(`${base}.sigmf-meta`, JSON.stringify(meta));
  writeFileSync(`${base}.sigmf-data`, Buffer.from([0x40, 0x00, 0xc0, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05]));
  const rec = await SigmfRecording.open(base);
  assert.equal(rec.validation.valid, false);
  assert.deepEqual(rec.validation.errors, [
    "/global is missing the required key 'core:version'",
    '/global/core:sample_rate must be between 1 and 1e12 samples per second (got 0)',
    "/captures/1/core:sample_start is 2, before the previous segment's 4: captures must be sorted by core:sample_start",
  ]);
  assert.ok(rec.problems.some((p) => /'x' is used but not declared/.test(p)));
  assert.ok(rec.problems.some((p) => /starts at sample 4, beyond/.test(p)));
  assert.equal(rec.sampleCount, 2);
  assert.equal(rec.partialBytes, 1);
  assert.equal(await rec.verifyChecksum(), null);
  const [s] = await rec.readSamples(0, 2);
  assert.deepEqual([...s!], [0.5, -0.5, (0x0102) / 32768, (0x0304) / 32768]); // big-endian decode
  await rec.close();
});

test('unreadable recordings are SigmfFormatErrors that say what to do', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(SigmfRecording.open(join(dir, 'none')), (e: Error) => e instanceof SigmfFormatError && /expected .*none.sigmf-meta/.test(e.message));
  writeFileSync(join(dir, 'j.sigmf-meta'), '{"global": ');
  await assert.rejects(SigmfRecording.open(join(dir, 'j')), /not valid JSON.*repair/);
  writeFileSync(join(dir, 'd.sigmf-meta'), JSON.stringify({ global: { 'core:datatype': 'cq8', 'core:version': '1.2.5' }, captures: [], annotations: [] }));
  await assert.rejects(SigmfRecording.open(join(dir, 'd')), /unknown SigMF datatype 'cq8'/);
  // meta without data: opens for inspection, refuses to read samples
  writeFileSync(join(dir, 'm.sigmf-meta'), JSON.stringify({ global: { 'core:datatype': 'cf32_le', 'core:version': '1.2.5' }, captures: [], annotations: [] }));
  const rec = await SigmfRecording.open(join(dir, 'm'));
  assert.match(rec.unreadableReason ?? '', /missing/);
  await assert.rejects(rec.readSamples(0, 1), /missing/);
  assert.equal(locateSigmf(join(dir, 'm.sigmf-data')).kind, 'files');
});

test('concurrent reads on one recording do not mix their buffers', { skip: NO_SHARED_SIGMF }, async () => {
  const rec = await SigmfRecording.open(OFFICIAL_EXAMPLE);
  const a = new Float32Array(2 * 500);
  const b = new Float32Array(2 * 500);
  const [, , [c0]] = await Promise.all([
    rec.readChannelInto(1000, 500, 0, a, { asComplex: true }),
    rec.readChannelInto(200000, 500, 0, b, { asComplex: true }),
    rec.readSamples(1000, 500),
  ]);
  const [d0] = await rec.readSamples(200000, 500);
  for (let k = 0; k < 500; k++) {
    assert.equal(a[2 * k], c0![k]);
    assert.equal(b[2 * k], d0![k]);
  }
  await rec.close();
});
