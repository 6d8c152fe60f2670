import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoopbackDevice } from './loopback.js';
import { DeviceConfigError, DeviceGoneError, type IqBlock } from './types.js';
import { OfdmModulator } from '../phy/transmitter.js';
import { StreamReceiver } from '../phy/receiver.js';
import type { RxFrame } from '../phy/demodulator.js';
import { noiseVarianceFor } from '../channel/awgn.js';

function payload(seq: number, n = 120): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (seq * 31 + i * 7) & 0xff;
  return p;
}

/** Sends `count` frames (sequence first..) with zero gaps through TX, and decodes RX until all arrive. */
async function roundTrip(dev: LoopbackDevice, first: number, count: number, rx: AsyncIterator<IqBlock>, receiver: StreamReceiver): Promise<RxFrame[]> {
  const mod = new OfdmModulator();
  const tx = dev.startTx();
  const sending = (async () => {
    for (let s = first; s < first + count; s++) {
      await tx.write(new Float32Array(2 * 500));
      await tx.write(mod.modulateBytes(payload(s), { sequence: s }));
    }
    await tx.write(new Float32Array(2 * 2000));
    await tx.end();
  })();
  const frames: RxFrame[] = [];
  let blocks = 0;
  while (frames.length < count && blocks < 200) {
    const r = await rx.next();
    assert.equal(r.done, false);
    frames.push(...receiver.push(r.value!.iq));
    blocks++;
  }
  await sending;
  return frames;
}

test('loopback: frames sent through TX decode at RX, at the configured SNR, and an SNR change applies while running', async () => {
  const dev = new LoopbackDevice({ pace: 'full-speed', channel: { snrDb: 20, cfoHz: 3000 }, seed: 7 });
  await dev.open();
  const stream = dev.startRx({ blockSamples: 4096 });
  const it = stream[Symbol.asyncIterator]();
  const receiver = new StreamReceiver();
  const a = await roundTrip(dev, 0, 4, it, receiver);
  assert.deepEqual(a.map((f) => f.header.sequence), [0, 1, 2, 3]);
  for (const f of a) {
    assert.equal(f.crcOk, true);
    assert.deepEqual(f.bytes, payload(f.header.sequence));
    assert.ok(Math.abs(f.snrDb - 20) < 1.5, `measured ${f.snrDb.toFixed(2)} dB, configured 20 dB`);
    assert.ok(Math.abs(f.cfoHz - 3000) < 200, `cfo ${f.cfoHz}`);
  }
  dev.setChannel({ snrDb: 12 });
  const b = await roundTrip(dev, 10, 3, it, receiver);
  assert.deepEqual(b.map((f) => f.header.sequence), [10, 11, 12]);
  for (const f of b) assert.ok(Math.abs(f.snrDb - 12) < 1.5, `measured ${f.snrDb.toFixed(2)} dB after the change to 12 dB`);
  await stream.stop();
  assert.equal((await it.next()).done, true);
  const s = dev.stats();
  assert.equal(s.overflows, 0);
  assert.ok(s.samplesTx > 7 * 500 && s.samplesRx >= s.samplesTx, JSON.stringify(s));
  await dev.close();
});

test('loopback: the receiver never stops: idle air is noise at the configured level', async () => {
  const dev = new LoopbackDevice({ pace: 'full-speed', channel: { snrDb: 10 } });
  await dev.open();
  const stream = dev.startRx({ blockSamples: 50000 });
  let power = 0;
  for await (const b of stream) {
    for (let i = 0; i < b.iq.length; i++) power += b.iq[i]! * b.iq[i]!;
    power /= b.samples;
    break;
  }
  const expected = noiseVarianceFor(10, { occupiedFraction: 52 / 64 });
  assert.ok(Math.abs(power / expected - 1) < 0.03, `noise power ${power} vs ${expected}`);
  await dev.close();
});

test('loopback: a slow consumer in real time loses the oldest blocks, counted, with memory bounded by queueBlocks', async () => {
  const dev = new LoopbackDevice({ pace: 'realtime', config: { sampleRateHz: 1e6 } });
  await dev.open();
  const blockSamples = 1000; // 1 ms per block
  const stream = dev.startRx({ blockSamples, queueBlocks: 4 });
  let expectIndex = 0;
  let gapSamples = 0;
  let got = 0;
  const t0 = performance.now();
  for await (const b of stream) {
    assert.equal(b.samples, blockSamples);
    gapSamples += b.sampleIndex - expectIndex;
    expectIndex = b.sampleIndex + b.samples;
    got++;
    // Drop-oldest: every block dropped so far is older than the one just taken, so the counts agree exactly.
    assert.equal(dev.stats().overflows * blockSamples, gapSamples);
    await sleep(40); // far slower than 1 block per ms
    if (performance.now() - t0 > 400) break;
  }
  const s = dev.stats();
  assert.ok(s.overflows > 50, `overflows ${s.overflows}`);
  // Every lost sample shows as a gap in sampleIndex, and the delivered blocks are few: the queue held at most 4.
  assert.ok(gapSamples > 0);
  assert.ok(got < 20, `got ${got} blocks`);
  await dev.close();
});

test('loopback: unplug ends RX with DeviceGoneError, rejects TX writes, emits gone once', async () => {
  const dev = new LoopbackDevice({ pace: 'full-speed' });
  await dev.open();
  let gone = 0;
  dev.on('gone', (e) => {
    assert.ok(e instanceof DeviceGoneError);
    gone++;
  });
  const stream = dev.startRx({ blockSamples: 256 });
  const tx = dev.startTx();
  const it = stream[Symbol.asyncIterator]();
  // lock step: RX waits for the transmitter
  await tx.write(new Float32Array(2 * 256));
  assert.equal((await it.next()).done, false);
  const waiting = it.next();
  dev.unplug('USB cable pulled');
  dev.unplug('again');
  await assert.rejects(waiting, (e: unknown) => e instanceof DeviceGoneError && /USB cable pulled/.test((e as Error).message));
  await assert.rejects(tx.write(new Float32Array(2)), DeviceGoneError);
  assert.equal(gone, 1);
  await dev.close(); // safe after gone
  await assert.rejects(dev.open(), DeviceGoneError);
});

test('loopback: configuration is validated against the capabilities', async () => {
  const dev = new LoopbackDevice();
  await assert.rejects(dev.configure({ freqHz: 1e9 }), /not open/);
  await dev.open();
  await assert.rejects(dev.configure({ sampleRateHz: -5 }), (e: unknown) => e instanceof DeviceConfigError && /1000\.\.100000000/.test((e as Error).message));
  await assert.rejects(dev.configure({ gainsDb: { lna: 3 } }), /no gain stage 'lna'; use one of rx/);
  const c = await dev.configure({ freqHz: 915e6, gainsDb: { rx: 3.3 } });
  assert.equal(c.freqHz, 915e6);
  assert.equal(c.gainsDb['rx'], 3.5);
  // One simulated channel at one carrier and rate: TX cannot be tuned or clocked apart.
  await assert.rejects(dev.configure({ txFreqHz: 916e6 }), /one frequency for RX and TX/);
  await assert.rejects(dev.configure({ txSampleRateHz: 1e6 }), /one sample rate for RX and TX/);
  assert.equal((await dev.configure({ txFreqHz: 915e6 })).txFreqHz, undefined);
  const caps = dev.capabilities;
  assert.deepEqual([caps.rxChannels, caps.txChannels, caps.fullDuplex, caps.hardwareTimestamps, caps.rxWaitsForConsumer], [1, 1, true, false, false]);
  assert.equal(new LoopbackDevice({ pace: 'full-speed' }).capabilities.rxWaitsForConsumer, true, 'at full speed RX waits for its consumer');
  await dev.close();
});

test('loopback: its channel is reached through the channelSimulator hook, the same object real radios lack', async () => {
  const dev = new LoopbackDevice({ channel: { snrDb: 12 } });
  const sim = dev.channelSimulator;
  assert.ok(sim);
  assert.equal(sim.channel.snrDb, 12);
  sim.setChannel({ snrDb: 7 });
  sim.setAttenuation(3);
  assert.deepEqual([dev.channel.snrDb, dev.attenuationDb], [7, 3]);
  assert.throws(() => sim.setAttenuation(-1), DeviceConfigError);
});

test('loopback: attenuation lowers the received signal like a step attenuator; the noise floor stays', async () => {
  const dev = new LoopbackDevice({ pace: 'full-speed', channel: { snrDb: 20 }, seed: 3 });
  await dev.open();
  const stream = dev.startRx({ blockSamples: 4096 });
  const it = stream[Symbol.asyncIterator]();
  const noise = noiseVarianceFor(20, { occupiedFraction: 52 / 64 });
  /** Sends a unit-power tone and sorts the received blocks into signal (with noise) and noise only. */
  const measure = async (): Promise<{ signal: number; floor: number }> => {
    const n = 20 * 4096;
    const tone = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      tone[2 * i] = Math.cos(0.01 * i);
      tone[2 * i + 1] = Math.sin(0.01 * i);
    }
    const tx = dev.startTx();
    const sending = (async () => {
      await tx.write(tone);
      await tx.end(); // drains as RX takes the samples
    })();
    const sig: number[] = [];
    const idle: number[] = [];
    for (let k = 0; k < 200 && (sig.length < 15 || idle.length < 15); k++) {
      const r = await it.next();
      let p = 0;
      for (let i = 0; i < r.value!.iq.length; i++) p += r.value!.iq[i]! ** 2;
      p /= r.value!.samples;
      if (p > 3 * noise) sig.push(p);
      else if (sig.length > 0) idle.push(p); // after the tone: the air is quiet again
    }
    // whole blocks of tone only (the first and last may be partly noise)
    await sending;
    const inner = sig.slice(1, -1);
    const mean = (x: number[]): number => x.reduce((a, b) => a + b, 0) / x.length;
    return { signal: mean(inner) - noise, floor: mean(idle) };
  };
  assert.equal(dev.attenuationDb, 0);
  const a0 = await measure();
  dev.setAttenuation(10);
  assert.equal(dev.attenuationDb, 10);
  assert.equal(dev.channel.snrDb, 20, 'the channel (its noise floor) is untouched');
  const a10 = await measure();
  assert.ok(Math.abs(a0.signal - 1) < 0.05, `signal at 0 dB: ${a0.signal}`);
  assert.ok(Math.abs(a10.signal / a0.signal - 0.1) < 0.01, `signal dropped by ${(10 * Math.log10(a0.signal / a10.signal)).toFixed(2)} dB, not 10`);
  for (const f of [a0.floor, a10.floor]) assert.ok(Math.abs(f / noise - 1) < 0.05, `noise floor ${f} vs ${noise}`);
  // the receiver measures the SNR the attenuation leaves: 20 - 10 dB
  const receiver = new StreamReceiver();
  const frames = await roundTrip(dev, 0, 3, it, receiver);
  for (const f of frames) assert.ok(Math.abs(f.snrDb - 10) < 1.5, `measured ${f.snrDb.toFixed(2)} dB with 10 dB attenuation at 20 dB`);
  assert.throws(() => dev.setAttenuation(-1), DeviceConfigError);
  await stream.stop();
  await dev.close();
});
