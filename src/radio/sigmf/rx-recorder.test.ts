import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IqBlock } from '../devices/types.js';
import { OfdmModulator } from '../phy/transmitter.js';
import { StreamReceiver } from '../phy/receiver.js';
import { PayloadKind } from '../phy/header.js';
import type { RxFrame } from '../phy/demodulator.js';
import { SigmfRecording } from './reader.js';
import { RxRecorder, rxFrameAnnotation } from './rx-recorder.js';
import { assertMetaOnDiskValid, tempDir, testSignal } from './testing.js';

const block = (sampleIndex: number, samples = 1000, raw?: Uint8Array): IqBlock => ({
  iq: testSignal(samples, sampleIndex + 1, 0.5),
  samples,
  sampleIndex,
  receivedAtMs: Date.now(),
  ...(raw ? { raw } : {}),
});

test('gaps in the stream index become discontinuities (global_index, lost samples), counted; a restart is no gap', async (t) => {
  const dir = tempDir(t, 'rxrec');
  const rec = await RxRecorder.open(join(dir, 'gaps'), { sampleRateHz: 1e6, freqHz: 915e6, streamStart: 0, durable: false });
  assert.equal(await rec.write(block(500)), 1000); // the stream started at 0: 500 lost before the first block
  await rec.write(block(1500));
  await rec.write(block(4500)); // 2000 lost
  await rec.write(block(0)); // a restarted stream: no gap
  const s = await rec.finish();
  assert.deepEqual([s.samples, s.droppedSamples, s.gaps, s.droppedByWriter, s.datatype], [4000, 2500, 2, 0, 'cf32_le']);
  assertMetaOnDiskValid(join(dir, 'gaps'), 'after finish');
  const r = await SigmfRecording.open(join(dir, 'gaps'));
  assert.deepEqual(
    r.captures.map((c) => [c['core:sample_start'], c['core:global_index'], c['dekag:lost_samples']]),
    [
      [0, 500, 500],
      [2000, 4500, 2000],
    ],
  );
  assert.equal(await r.verifyChecksum(), true);
  await r.close();

  // a tap joining a running stream: its first block is where it starts, not a gap
  const tap = await RxRecorder.open(join(dir, 'tap'), { sampleRateHz: 1e6, freqHz: 915e6, whenBehind: 'drop', durable: false });
  tap.tap(block(70000), { freqHz: 915e6, sampleRateHz: 1e6, gainsDb: {} });
  tap.tap(block(71000), { freqHz: 916e6, sampleRateHz: 1e6, gainsDb: {} }); // a retune: a new capture segment
  const ts = await tap.finish();
  assert.deepEqual([ts.samples, ts.droppedSamples, ts.gaps], [2000, 0, 0]);
  const tr = await SigmfRecording.open(join(dir, 'tap'));
  assert.deepEqual(tr.captures.map((c) => [c['core:sample_start'], c['core:frequency']]), [[0, 915e6], [1000, 916e6]]);
  await tr.close();
});

test('native bytes are written as received when the datatype is the radio format; otherwise the floats are converted', async (t) => {
  const dir = tempDir(t, 'rxrec');
  // the raw bytes deliberately differ from the floats: the file must hold the bytes
  const raw = Uint8Array.from({ length: 200 }, (_, i) => (i * 7) & 0xff);
  const native = await RxRecorder.open(join(dir, 'native'), { datatype: 'cu8', nativeFormat: 'cu8', sampleRateHz: 1e6, streamStart: 0, durable: false });
  await native.write(block(0, 100, raw));
  await native.finish();
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'native.sigmf-data'))), raw);

  const ci8 = await RxRecorder.open(join(dir, 'ci8'), { datatype: 'ci8', nativeFormat: 'ci8', sampleRateHz: 1e6, streamStart: 0, maxSamples: 60, durable: false });
  assert.equal(await ci8.write(block(0, 100, raw)), 60); // cut at maxSamples
  assert.equal(ci8.full, true);
  assert.equal(await ci8.write(block(100, 100, raw)), 0);
  await ci8.finish();
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'ci8.sigmf-data'))), raw.subarray(0, 120));

  // asked for another format than the radio's: converted from the floats, not the bytes
  const conv = await RxRecorder.open(join(dir, 'conv'), { datatype: 'ci8', nativeFormat: 'cu8', sampleRateHz: 1e6, streamStart: 0, durable: false });
  const b = block(0, 100, raw);
  await conv.write(b);
  await conv.finish();
  const r = await SigmfRecording.open(join(dir, 'conv'));
  const x = (await r.readSamples(0, 100))[0]!;
  await r.close();
  for (let i = 0; i < 200; i++) assert.ok(Math.abs(x[i]! - b.iq[i]!) < 0.01, `sample value ${i}`);
});

test('one annotation per decoded frame, with the same fields; sample indices are the recording’s', async (t) => {
  const dir = tempDir(t, 'rxrec');
  const rate = 250e3;
  const mod = new OfdmModulator({ sampleRateHz: rate });
  const frame = mod.modulateBytes(new TextEncoder().encode('recorder test'), { sequence: 7 });
  const lead = 3000;
  const stream = new Float32Array(2 * lead + frame.length + 2 * 3000);
  stream.set(frame, 2 * lead);
  for (let i = 0; i < stream.length; i++) stream[i]! += 1e-3 * Math.sin(i * 1.7); // not exactly zero
  const rec = await RxRecorder.open(join(dir, 'frames'), { sampleRateHz: rate, streamStart: 0, durable: false });
  const rx = new StreamReceiver({ params: { sampleRateHz: rate } });
  const n = stream.length / 2;
  for (let at = 0; at < n; at += 1024) {
    const k = Math.min(1024, n - at);
    const b: IqBlock = { iq: stream.subarray(2 * at, 2 * (at + k)), samples: k, sampleIndex: at, receivedAtMs: 0 };
    const w = await rec.write(b);
    for (const f of rx.push(b.iq.subarray(0, 2 * w))) rec.annotateFrame(f, 'a test frame');
  }
  for (const f of rx.flush()) rec.annotateFrame(f, 'a test frame');
  const s = await rec.finish();
  assert.equal(s.frames, 1);
  const meta = assertMetaOnDiskValid(join(dir, 'frames'), 'after finish');
  assert.equal(meta.annotations.length, 1);
  const a = meta.annotations[0];
  assert.ok(Math.abs(a['core:sample_start'] - lead) < 64, `frame found at ${a['core:sample_start']}, sent at ${lead}`);
  assert.deepEqual(
    [a['core:label'], a['dekag:sequence'], a['dekag:crc_ok'], a['dekag:rate'], a['dekag:payload_kind'], a['core:comment'], typeof a['dekag:snr_db']],
    ['frame 7', 7, true, 'qpsk 1/2', 'bytes', 'a test frame', 'number'],
  );

  // a symbols frame: the rate is the modulation alone; an unmeasurable SNR is left out
  const sym = { header: { payloadKind: PayloadKind.Symbols, modulation: 4, codeRate: 0, sequence: 3 }, startSample: 10, lengthSamples: 20, snrDb: NaN, crcOk: false } as unknown as RxFrame;
  assert.deepEqual(rxFrameAnnotation(sym), { sampleStart: 10, sampleCount: 20, sequence: 3, snrDb: NaN, crcOk: false, rate: '256qam', payloadKind: 'symbols' });
});

test('a write error stops the recording once, leaves it valid and closed, and write rejects with it', async (t) => {
  const dir = tempDir(t, 'rxrec');
  const errors: Error[] = [];
  const rec = await RxRecorder.open(join(dir, 'fail'), { sampleRateHz: 1e6, streamStart: 0, durable: false, onError: (e) => errors.push(e) });
  await rec.write(block(0));
  // a block that is not a whole number of samples for the writer: the writer rejects it
  const bad: IqBlock = { iq: new Float32Array(3), samples: 1, sampleIndex: 1000, receivedAtMs: 0 };
  await rec.write(bad).catch(() => undefined);
  await new Promise((r) => setImmediate(r));
  assert.equal(errors.length, 1);
  await assert.rejects(rec.write(block(2000)));
  const s = await rec.finish();
  assert.ok(s.error);
  assert.equal(s.final, undefined);
  assert.equal(s.samples, 1000);
  assertMetaOnDiskValid(join(dir, 'fail'), 'after a write error');
});
