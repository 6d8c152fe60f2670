import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OfdmModulator } from './transmitter.js';
import { StreamReceiver } from './receiver.js';
import { Modulation } from './constellation.js';
import { CodeRate } from './convcode.js';
import type { RxFrame } from './demodulator.js';
import { makeLayout } from './params.js';
import { burst, randomPoints, runChannel } from './testkit.js';
import { Rng } from '../channel/rng.js';

const FS = 2e6;

function mixedStream(seed: number) {
  const tx = new OfdmModulator({});
  const rng = new Rng(seed);
  const frames = [
    tx.modulateBytes(rng.bytes(64), { sequence: 1 }),
    tx.modulateSymbols(randomPoints(300, Modulation.QAM16, seed).points, { modulation: Modulation.QAM16, sequence: 2 }),
    tx.modulateBytes(rng.bytes(333), { modulation: Modulation.QAM16, codeRate: CodeRate.R3_4, sequence: 3 }),
    tx.modulateBytes(new Uint8Array(0), { sequence: 4, frameType: 2 }),
  ];
  return burst(frames, 1234).iq;
}

function summary(f: RxFrame): string {
  return JSON.stringify({
    h: f.header,
    s: f.startSample,
    crc: f.crcOk,
    snr: f.snrDb,
    evm: f.evmDb,
    cfo: f.cfoHz,
    b: f.bytes ? Array.from(f.bytes) : null,
    y: f.symbols ? Array.from(f.symbols) : null,
  });
}

test('a stream split at random block boundaries decodes identically to one push', () => {
  const { rx } = runChannel(mixedStream(1), { seed: 2, sampleRateHz: FS, snrDb: 18, cfoPpm: 7, carrierHz: 2.4e9 });
  const whole = new StreamReceiver({});
  const ref = [...whole.push(rx), ...whole.flush()].map(summary);
  assert.equal(ref.length, 4);
  const rng = new Rng(3);
  for (let trial = 0; trial < 4; trial++) {
    const r = new StreamReceiver({});
    const got: string[] = [];
    let off = 0;
    while (off < rx.length) {
      // include odd float counts (half a complex sample) and empty blocks
      const len = Math.min(rx.length - off, trial === 0 ? 1 + (rng.nextU32() % 7) : rng.nextU32() % 20000);
      got.push(...r.push(rx.subarray(off, off + len)).map(summary));
      off += len;
    }
    got.push(...r.flush().map(summary));
    assert.deepEqual(got, ref, `trial ${trial}`);
  }
});

test('payload CRC failures are counted and dropped, not thrown; the next frame still decodes', () => {
  const tx = new OfdmModulator({});
  const a = tx.modulateBytes(new Rng(1).bytes(200), { sequence: 1 });
  const b = tx.modulateBytes(new Rng(2).bytes(200), { sequence: 2 });
  const layout = makeLayout({});
  // wipe a stretch of frame a's payload (after its header)
  const hdrEnd = layout.preambleLength + layout.headerSymbols * layout.symbolLength;
  for (let i = 2 * (hdrEnd + 200); i < 2 * (hdrEnd + 600); i++) a[i] = 0;
  const { rx } = runChannel(burst([a, b], 500).iq, { seed: 5, sampleRateHz: FS, snrDb: 25 });
  const r = new StreamReceiver({});
  const frames = [...r.push(rx), ...r.flush()];
  assert.deepEqual(frames.map((f) => f.header.sequence), [2]);
  assert.equal(r.stats.payloadCrcFailures, 1);
  const r2 = new StreamReceiver({ emitFailedFrames: true });
  const all = [...r2.push(rx), ...r2.flush()];
  assert.deepEqual(all.map((f) => [f.header.sequence, f.crcOk]), [[1, false], [2, true]]);
});

test('a frame cut by the end of the stream is counted as truncated', () => {
  const tx = new OfdmModulator({});
  const f = tx.modulateBytes(new Rng(1).bytes(500), {});
  const { iq } = burst([f], 300);
  const cut = iq.subarray(0, iq.length >> 1);
  const r = new StreamReceiver({});
  assert.equal(r.push(cut).length, 0);
  r.flush();
  assert.equal(r.stats.truncated, 1);
});

test('a frame that starts inside a broken frame is still found', () => {
  const tx = new OfdmModulator({});
  const a = tx.modulateBytes(new Rng(1).bytes(400), { sequence: 1 });
  const b = tx.modulateBytes(new Rng(2).bytes(100), { sequence: 2 });
  const layout = makeLayout({});
  const cutAt = layout.preambleLength + (layout.headerSymbols + 5) * layout.symbolLength; // a dies mid-payload
  const iq = new Float32Array(2 * (300 + cutAt) + b.length + 2 * 3000);
  iq.set(a.subarray(0, 2 * cutAt), 600);
  iq.set(b, 600 + 2 * cutAt);
  const { rx } = runChannel(iq, { seed: 7, sampleRateHz: FS, snrDb: 25 });
  const r = new StreamReceiver({});
  const frames = [...r.push(rx), ...r.flush()];
  assert.deepEqual(frames.map((f) => f.header.sequence), [2]);
  assert.equal(r.stats.payloadCrcFailures, 1);
});

test('no false alarm in 10^6 samples of pure noise (and the detector sees almost nothing)', () => {
  const rng = new Rng(99);
  const r = new StreamReceiver({});
  const block = new Float32Array(2 * 100_000);
  for (let b = 0; b < 10; b++) {
    for (let i = 0; i < block.length; i++) block[i] = rng.gaussian();
    assert.equal(r.push(block).length, 0);
  }
  assert.equal(r.stats.framesDecoded, 0);
  assert.equal(r.stats.headerCrcFailures + r.stats.headerInvalid, r.stats.syncEvents - r.stats.ltsRejects);
  assert.ok(r.stats.syncEvents <= 2, `sync events ${r.stats.syncEvents}`);
});

test('digital silence after a loud burst does not fire the detector (rounding residue)', () => {
  const tx = new OfdmModulator({});
  const f = tx.modulateBytes(new Rng(1).bytes(100), {});
  const loud = Float32Array.from(f, (v) => v * 1e4);
  const iq = new Float32Array(loud.length + 2 * 200_000);
  iq.set(loud, 0);
  const r = new StreamReceiver({ dcBlock: false });
  const frames = [...r.push(iq), ...r.flush()];
  assert.equal(frames.length, 1);
  assert.equal(r.stats.syncEvents, 1);
});

test('back-to-back frames with no gap, the last one ending exactly at the end of the stream, all decode', () => {
  const tx = new OfdmModulator({});
  const rng = new Rng(4);
  const frames = Array.from({ length: 8 }, (_, i) =>
    i % 2 === 0
      ? tx.modulateBytes(rng.bytes(90), { sequence: i })
      : tx.modulateSymbols(randomPoints(200, Modulation.QAM64, i).points, { modulation: Modulation.QAM64, sequence: i }),
  );
  const { iq } = burst(frames, 0);
  const { rx } = runChannel(iq, { seed: 6, sampleRateHz: FS, snrDb: 30 });
  const r = new StreamReceiver({});
  const got = [...r.push(rx), ...r.flush()];
  assert.deepEqual(got.map((f) => f.header.sequence), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(r.stats.truncated, 0);
});
