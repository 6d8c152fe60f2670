import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SigmfArgumentError, SigmfStateError } from './errors.js';
import { SigmfReplaySource, type ReplayBlock } from './replay.js';
import { SigmfWriter } from './writer.js';
import { NO_SHARED_SIGMF, OFFICIAL_EXAMPLE, tempDir, testSignal } from './testing.js';

async function record(base: string, samples: number, sampleRateHz: number): Promise<Float32Array> {
  const x = testSignal(samples, 11);
  const w = await SigmfWriter.open(base, { datatype: 'cf32_le', sampleRateHz, freqHz: 100e6, durable: false });
  await w.append(x.subarray(0, samples)); // the first samples/2 samples at 100 MHz, the rest at 101 MHz
  await w.setFrequency(101e6);
  await w.append(x.subarray(samples));
  await w.finalize();
  return x;
}

async function collect(src: AsyncIterable<ReplayBlock>, max = Infinity): Promise<ReplayBlock[]> {
  const out: ReplayBlock[] = [];
  for await (const b of src) {
    out.push(b);
    if (out.length >= max) break;
  }
  return out;
}

test('full speed: fixed-size cf32 blocks in order, a short last block, then end of stream', async (t) => {
  const base = join(tempDir(t), 'r');
  const x = await record(base, 2000, 1e6);
  const src = await SigmfReplaySource.open(base, { blockSamples: 300 });
  const blocks = await collect(src);
  assert.deepEqual(blocks.map((b) => b.samples), [300, 300, 300, 300, 300, 300, 200]);
  assert.deepEqual(blocks.map((b) => b.sampleIndex), [0, 300, 600, 900, 1200, 1500, 1800]);
  assert.deepEqual(blocks.map((b) => b.freqHz), [100e6, 100e6, 100e6, 100e6, 101e6, 101e6, 101e6]);
  const joined = new Float32Array(x.length);
  let o = 0;
  for (const b of blocks) {
    joined.set(b.iq, o);
    o += b.iq.length;
  }
  assert.deepEqual(joined, x);
  assert.throws(() => src[Symbol.asyncIterator](), SigmfStateError);
  await src.close();
});

test('loop restarts at startSample and counts loops; stop() ends the stream', async (t) => {
  const base = join(tempDir(t), 'loop');
  await record(base, 100, 1e6);
  const src = await SigmfReplaySource.open(base, { blockSamples: 40, loop: true, startSample: 20 });
  const seen: ReplayBlock[] = [];
  for await (const b of src) {
    seen.push(b);
    if (seen.length === 7) src.stop();
  }
  assert.equal(seen.length, 7);
  assert.deepEqual(seen.map((b) => [b.sampleIndex, b.samples, b.loop]), [[20, 40], [60, 40], [20, 40], [60, 40], [20, 40], [60, 40], [20, 40]].map(([i, n], k) => [i, n, Math.floor(k / 2)]));
  assert.deepEqual(seen.map((b) => b.streamIndex), [0, 40, 80, 120, 160, 200, 240]);
  await src.close();
});

test('realtime pacing follows the sample rate (and speed); abort ends a wait at once', async (t) => {
  const base = join(tempDir(t), 'paced');
  await record(base, 1000, 10000); // 1000 samples at 10 kS/s: 100 ms
  const t0 = performance.now();
  const src = await SigmfReplaySource.open(base, { blockSamples: 250, pace: 'realtime' });
  const blocks = await collect(src);
  const ms = performance.now() - t0;
  assert.equal(blocks.length, 4);
  assert.ok(ms >= 95 && ms < 1000, `4 blocks of 25 ms took ${ms.toFixed(1)} ms`);
  await src.close();

  const t1 = performance.now();
  const fast = await SigmfReplaySource.open(base, { blockSamples: 250, pace: 'realtime', speed: 4 });
  await collect(fast);
  const msFast = performance.now() - t1;
  assert.ok(msFast >= 22 && msFast < ms, `speed 4 took ${msFast.toFixed(1)} ms`);
  await fast.close();

  const ac = new AbortController();
  const slow = await SigmfReplaySource.open(base, { blockSamples: 1000, pace: 'realtime', speed: 0.01, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  const t2 = performance.now();
  assert.deepEqual(await collect(slow), []);
  assert.ok(performance.now() - t2 < 1000, 'abort interrupted a 10 s wait');
  await slow.close();
});

test('a 2-channel real recording replays the chosen channel as complex with Q = 0', { skip: NO_SHARED_SIGMF }, async () => {
  const src = await SigmfReplaySource.open(OFFICIAL_EXAMPLE, { blockSamples: 4096, channel: 1, startSample: 100000 });
  const [b] = await collect(src, 1);
  assert.equal(b!.samples, 4096);
  let q = 0;
  let i = 0;
  for (let k = 0; k < b!.samples; k++) {
    i += Math.abs(b!.iq[2 * k]!);
    q += Math.abs(b!.iq[2 * k + 1]!);
  }
  assert.equal(q, 0);
  assert.ok(i > 0);
  await src.close();
  await assert.rejects(SigmfReplaySource.open(OFFICIAL_EXAMPLE, { blockSamples: 16, channel: 2 }), SigmfArgumentError);
  await assert.rejects(SigmfReplaySource.open(OFFICIAL_EXAMPLE, { blockSamples: 0 }), /blockSamples/);
});
