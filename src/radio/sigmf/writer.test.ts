import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { ALL_DATATYPES, fullScale, parseDatatype } from './datatype.js';
import { SigmfArgumentError, SigmfStateError, SigmfWriteError } from './errors.js';
import { DEKAG_FIELDS, geoPoint } from './meta.js';
import { SigmfRecording } from './reader.js';
import { SigmfWriter } from './writer.js';
import { assertMetaOnDiskValid, tempDir, testSignal } from './testing.js';

test('round trip for every datatype: values within quantization, meta valid, checksum verified', async (t) => {
  const dir = tempDir(t);
  const x = testSignal(300, 7);
  for (const name of ALL_DATATYPES) {
    const dt = parseDatatype(name);
    const base = join(dir, name);
    const w = await SigmfWriter.open(base, { datatype: name, sampleRateHz: 1e6, freqHz: 915e6, durable: false });
    // complex types take I/Q pairs; real types take the same values as one real stream
    await w.append(x.subarray(0, 200));
    await w.append(x.subarray(200));
    const res = await w.finalize();
    const samples = dt.complex ? 300 : 600;
    assert.equal(res.sampleCount, samples, name);
    assertMetaOnDiskValid(base, `after finalize (${name})`);
    const rec = await SigmfRecording.open(base);
    assert.equal(rec.validation.valid, true, name);
    assert.equal(await rec.verifyChecksum(), true, name);
    assert.equal(rec.sampleCount, samples);
    const [back] = await rec.readSamples(0, samples);
    const tol = dt.kind === 'f' ? 1e-7 : 0.5 / fullScale(dt) + 1e-6;
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(back![i]! - x[i]!));
    assert.ok(worst <= tol, `${name}: worst error ${worst} > ${tol}`);
    await rec.close();
  }
});

test('the meta on disk is schema-valid after every step, and only mentions samples on disk', async (t) => {
  const base = join(tempDir(t), 'steps');
  const w = await SigmfWriter.open(base, {
    datatype: 'ci8',
    sampleRateHz: 2e6,
    freqHz: 433.92e6,
    description: 'step test',
    hardware: 'HackRF One + 10 dB pad',
    author: 'test',
    geolocation: geoPoint(11.5, 48.1, 520),
    startDatetime: '2024-05-01T12:00:00.000001Z',
    fsyncIntervalBytes: 1, // every append is durable at once
  });
  let meta = assertMetaOnDiskValid(base, 'after open');
  assert.equal(meta['global'][DEKAG_FIELDS.finalized], false);
  assert.deepEqual(meta['global']['core:extensions'], [{ name: 'dekag', version: '1.0.0', optional: true }]);
  assert.equal(meta['captures'][0]['core:datetime'], '2024-05-01T12:00:00.000001Z');
  const block = new Int8Array(2 * 1000).map((_, i) => (i % 200) - 100);

  await w.append(block);
  assertMetaOnDiskValid(base, 'after append 1');
  // an annotation whose samples are already on disk is in the meta when the promise settles
  await w.annotateFrame({ sampleStart: 100, sampleCount: 400, sequence: 1, snrDb: 12.3456, crcOk: true, rate: 'qpsk-1/2', payloadKind: 'latent' });
  meta = assertMetaOnDiskValid(base, 'after annotation 1');
  assert.equal(meta['annotations'].length, 1);
  const a = meta['annotations'][0];
  assert.deepEqual(
    [a['core:sample_start'], a['core:sample_count'], a['core:label'], a['dekag:sequence'], a['dekag:snr_db'], a['dekag:crc_ok'], a['dekag:rate'], a['dekag:payload_kind']],
    [100, 400, 'frame 1', 1, 12.346, true, 'qpsk-1/2', 'latent'],
  );
  // an annotation reaching past the samples written waits for them
  await w.annotateFrame({ sampleStart: 900, sampleCount: 300, sequence: 2, snrDb: Number.NaN, crcOk: false });
  meta = assertMetaOnDiskValid(base, 'after annotation 2 (pending)');
  assert.equal(meta['annotations'].length, 1);
  await w.setFrequency(434e6, '2024-05-01T12:00:01.000Z');
  await w.append(block);
  assertMetaOnDiskValid(base, 'after append 2');
  // the rewrite this append triggered may wait out the rate limit; flush forces it
  await w.flush();
  meta = assertMetaOnDiskValid(base, 'after flush');
  assert.equal(meta['annotations'].length, 2);
  assert.equal('dekag:snr_db' in meta['annotations'][1], false, 'NaN SNR is left out, not written as null');
  assert.deepEqual(
    meta['captures'].map((c: any) => [c['core:sample_start'], c['core:frequency']]),
    [[0, 433.92e6], [1000, 434e6]],
  );
  await w.markDiscontinuity(5000);
  assertMetaOnDiskValid(base, 'after discontinuity 1');
  await w.append(block);
  assertMetaOnDiskValid(base, 'after append 3');
  await w.markDiscontinuity(70);
  assertMetaOnDiskValid(base, 'after discontinuity 2');
  await w.append(block.subarray(0, 200));
  assertMetaOnDiskValid(base, 'after append 4');
  const res = await w.finalize();
  meta = assertMetaOnDiskValid(base, 'after finalize');
  assert.equal(res.sampleCount, 3100);
  const caps = meta['captures'].map((c: any) => [c['core:sample_start'], c['core:global_index'], c['dekag:lost_samples'], c['core:frequency']]);
  assert.deepEqual(caps, [[0, undefined, undefined, 433.92e6], [1000, undefined, undefined, 434e6], [2000, 7000, 5000, 434e6], [3000, 8070, 70, 434e6]]);
  assert.equal(meta['global']['core:sha512'], createHash('sha512').update(readFileSync(`${base}.sigmf-data`)).digest('hex'));
  assert.equal(meta['global'][DEKAG_FIELDS.finalized], true);
  assert.deepEqual(meta['global']['core:geolocation'], { type: 'Point', coordinates: [11.5, 48.1, 520] });
  assert.equal(existsSync(`${base}.sigmf-meta.tmp`), false);
  // raw Int8Array codes were stored bit-exactly
  assert.deepEqual(new Int8Array(readFileSync(`${base}.sigmf-data`).buffer.slice(0, 2000)), block);
});

test('annotations past the last sample are dropped at finalize and counted', async (t) => {
  const base = join(tempDir(t), 'drop');
  const w = await SigmfWriter.open(base, { datatype: 'cf32_le', sampleRateHz: 1000, durable: false });
  await w.append(testSignal(100));
  await w.annotateFrame({ sampleStart: 10, sampleCount: 20, sequence: 0 });
  await w.annotateFrame({ sampleStart: 90, sampleCount: 20, sequence: 1 });
  const res = await w.finalize();
  assert.equal(res.droppedAnnotations, 1);
  const meta = assertMetaOnDiskValid(base, 'after finalize');
  assert.equal(meta['annotations'].length, 1);
});

test('multi-channel writes interleave channels; reader splits them', async (t) => {
  const base = join(tempDir(t), 'two');
  const w = await SigmfWriter.open(base, { datatype: 'ci16_le', sampleRateHz: 48000, numChannels: 2, durable: false });
  // sample k: channel 0 = (k, -k), channel 1 = (100 + k, 7) in codes
  const raw = new Int16Array(4 * 50);
  for (let k = 0; k < 50; k++) raw.set([k, -k, 100 + k, 7], 4 * k);
  await w.append(raw);
  await assert.rejects(w.append(new Int16Array(6)), SigmfArgumentError); // 1.5 samples of 2 channels
  await w.finalize();
  const meta = assertMetaOnDiskValid(base, 'two channels');
  assert.equal(meta['global']['core:num_channels'], 2);
  const rec = await SigmfRecording.open(base);
  assert.equal(rec.sampleCount, 50);
  const [c0, c1] = await rec.readSamples(10, 2);
  assert.deepEqual([...c0!].map((v) => v * 32768), [10, -10, 11, -11]);
  assert.deepEqual([...c1!].map((v) => v * 32768), [110, 7, 111, 7]);
  await rec.close();
});

test('writer refuses bad options, existing files, and use after finalize, with typed errors', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'x');
  await assert.rejects(SigmfWriter.open(base, { datatype: 'ci12', sampleRateHz: 1 }), /unknown SigMF datatype/);
  await assert.rejects(SigmfWriter.open(base, { datatype: 'ci8', sampleRateHz: 0 }), SigmfArgumentError);
  await assert.rejects(SigmfWriter.open(base, { datatype: 'ci8', sampleRateHz: 1, globalFields: { 'foo:bar': 1 } }), /declared namespace/);
  const w = await SigmfWriter.open(base, { datatype: 'ci8', sampleRateHz: 1, durable: false });
  await assert.rejects(SigmfWriter.open(base, { datatype: 'ci8', sampleRateHz: 1 }), /already exists/);
  await w.finalize();
  await assert.rejects(w.append(new Int8Array(2)), SigmfStateError);
  await assert.rejects(w.annotateFrame({ sampleStart: 0, sampleCount: 1 }), SigmfStateError);
  const w2 = await SigmfWriter.open(base, { datatype: 'ci8', sampleRateHz: 1, overwrite: true, durable: false });
  await w2.close();
  await assert.rejects(w2.append(new Int8Array(2)), /closed/);
});

test('the recording\'s folder is created when missing; a folder path through a file is a typed write error', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'not', 'yet', 'there', 'rx');
  const w = await SigmfWriter.open(base, { datatype: 'cf32_le', sampleRateHz: 1e6, durable: false });
  await w.append(testSignal(16, 1));
  await w.finalize();
  assert.ok(existsSync(`${base}.sigmf-data`) && existsSync(`${base}.sigmf-meta`));
  writeFileSync(join(dir, 'plain-file'), '');
  await assert.rejects(SigmfWriter.open(join(dir, 'plain-file', 'rx'), { datatype: 'ci8', sampleRateHz: 1 }),
    (e: unknown) => e instanceof SigmfWriteError && /cannot create the folder .*plain-file: /.test(e.message));
});

test('independent check: numpy reads the ci16_le and cf32_le data as the SigMF spec lays it out', async (t) => {
  const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip('python3 with numpy not available');
    return;
  }
  const dir = tempDir(t);
  const x = testSignal(64, 3);
  for (const name of ['ci16_le', 'cf32_le', 'cu8']) {
    const base = join(dir, name);
    const w = await SigmfWriter.open(base, { datatype: name, sampleRateHz: 1e6, durable: false });
    await w.append(x);
    await w.finalize();
  }
  const py = `
import numpy as np, json, sys
d = sys.argv[1]
a = np.fromfile(d + '/ci16_le.sigmf-data', dtype='<i2').astype(np.float64) / 32768
b = np.fromfile(d + '/cf32_le.sigmf-data', dtype='<f4').astype(np.float64)
c = (np.fromfile(d + '/cu8.sigmf-data', dtype='u1').astype(np.float64) - 128) / 128
print(json.dumps([a[:4].tolist(), b[:4].tolist(), c[:4].tolist(), len(b) // 2]))`;
  const r = spawnSync('python3', ['-c', py, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [a, b, c, n] = JSON.parse(r.stdout) as [number[], number[], number[], number];
  assert.equal(n, 64);
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(a[i]! - x[i]!) <= 0.5 / 32768 + 1e-7);
    assert.equal(b[i], x[i]);
    assert.ok(Math.abs(c[i]! - x[i]!) <= 0.5 / 128 + 1e-7);
  }
});
