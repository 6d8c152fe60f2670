import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeRtlSdr, fakeRtlToneCu8 } from './fakes/rtlsdr-fake.js';
import { RtlSdrDevice } from './rtlsdr.js';
import { DeviceConfigError, DeviceGoneError, type IqBlock } from './types.js';

async function opened(fakeOpts = {}, drvOpts = {}): Promise<{ fake: FakeRtlSdr; dev: RtlSdrDevice }> {
  const fake = new FakeRtlSdr(fakeOpts);
  const dev = new RtlSdrDevice(fake, drvOpts);
  await dev.open();
  return { fake, dev };
}

test('webrtlsdr opens the fake RTL2832U + R820T: every register access follows the map, rate and LO decode right', async () => {
  const { fake, dev } = await opened();
  assert.deepEqual(fake.controlLog.filter((c) => c.stalled).map((c) => c.stalled), []);
  assert.equal(fake.demodWritesWithoutReadback, 0);
  assert.ok(fake.controlLog.length > 200, 'the full init sequence went through the fake');
  assert.ok(Math.abs(fake.sampleRateHz! - 2_048_000) < 1, `resampler rate ${fake.sampleRateHz}`);
  assert.ok(Math.abs(fake.tunedFreqHz! - 100e6) < 1000, `tuned ${fake.tunedFreqHz}`);
  assert.equal(fake.gainMode, 'manual');
  assert.equal(fake.i2cRepeaterOpen, false, 'the repeater is closed again after tuner access');
  assert.equal(dev.info.id, 'rtlsdr:00000001');
  assert.equal(dev.capabilities.tx, false);
  assert.deepEqual([dev.capabilities.rxChannels, dev.capabilities.txChannels, dev.capabilities.hardwareTimestamps], [1, 0, false]);
  assert.ok(!('channelSimulator' in dev));
  await dev.close();
});

test('configure tunes the R820T PLL and the RTL2832U resampler; impossible requests are refused with the valid range', async () => {
  const { fake, dev } = await opened();
  const cfg = await dev.configure({ freqHz: 433.92e6, sampleRateHz: 2.4e6 });
  assert.ok(Math.abs(fake.tunedFreqHz! - 433.92e6) < 1000, `tuned ${fake.tunedFreqHz}`);
  assert.ok(Math.abs(fake.sampleRateHz! - 2.4e6) < 1);
  assert.ok(Math.abs(cfg.sampleRateHz - 2.4e6) < 1, 'config reports the rate the resampler makes');
  const before = fake.controlLog.length;
  await assert.rejects(dev.configure({ sampleRateHz: 500e3 }), (e: unknown) => e instanceof DeviceConfigError && /900001\.\.3200000/.test(e.message));
  await assert.rejects(dev.configure({ freqHz: 10e6 }), DeviceConfigError);
  await assert.rejects(dev.configure({ gainsDb: { lna: 10 } }), (e: unknown) => e instanceof DeviceConfigError && /tuner/.test(e.message));
  assert.equal(fake.controlLog.length, before, 'refused requests send nothing');
  await dev.close();
});

test('tuner gain is manual (LNA code from webrtlsdr) and AGC hands it to the tuner; ppm goes to the demodulator', async () => {
  const { fake, dev } = await opened();
  await dev.configure({ gainsDb: { tuner: 40 } });
  assert.equal(fake.gainMode, 'manual');
  assert.equal(fake.lnaGainIndex, 11);
  await dev.setAgc(true);
  assert.equal(fake.gainMode, 'auto');
  assert.equal(dev.agcEnabled, true);
  await dev.configure({ gainsDb: { tuner: 10 } });
  assert.equal(fake.gainMode, 'manual');
  assert.equal(fake.lnaGainIndex, 3, 'floor(10 / 3.5) = 2 full steps plus a half step (10 - 7 >= 2.3)');
  await dev.setPpm(50);
  assert.equal(fake.ppmOffsetWord, -Math.floor((50 * 2 ** 24) / 1e6));
  assert.ok(Math.abs(fake.tunedFreqHz! - 100e6) < 10_000, 'retuned with the corrected crystal');
  await assert.rejects(dev.setPpm(1.5), DeviceConfigError);
  await dev.close();
});

test('RX yields the fake tone as cf32 ((u - 128) / 128) with the raw cu8 kept', async () => {
  const { dev } = await opened();
  const rx = dev.startRx({ blockSamples: 4096 });
  const blocks: IqBlock[] = [];
  for await (const b of rx) {
    blocks.push(b);
    if (blocks.length === 3) break;
  }
  let next = 0;
  for (const b of blocks) {
    assert.equal(b.sampleIndex, next);
    next += b.samples;
    const want = fakeRtlToneCu8(b.sampleIndex, b.samples);
    assert.deepEqual(b.raw, want);
    for (let i = 0; i < b.iq.length; i += 97) assert.equal(b.iq[i], Math.fround((want[i]! - 128) / 128));
  }
  const iq = blocks[2]!.iq;
  let re = 0, im = 0;
  for (let n = 0; n + 1 < 1000; n++) {
    re += iq[2 * n + 2]! * iq[2 * n]! + iq[2 * n + 3]! * iq[2 * n + 1]!;
    im += iq[2 * n + 3]! * iq[2 * n]! - iq[2 * n + 2]! * iq[2 * n + 1]!;
  }
  assert.ok(Math.abs(Math.atan2(im, re) - (2 * Math.PI * 32) / 1024) < 1e-2);
  await dev.close();
});

test('RTL-SDR refuses TX with a clear error', async () => {
  const { dev } = await opened();
  assert.throws(() => dev.startTx(), (e: unknown) => e instanceof DeviceConfigError && /only receive/.test(e.message));
  await dev.close();
});

test('unplug mid-RX ends the iterator with DeviceGoneError, emits gone once, close is idempotent', async () => {
  const { fake, dev } = await opened({ paced: true });
  let gone = 0;
  dev.on('gone', () => gone++);
  const rx = dev.startRx({ blockSamples: 2048 });
  let got = 0;
  await assert.rejects(
    (async () => {
      for await (const _b of rx) if (++got === 2) fake.unplug();
    })(),
    (e: unknown) => e instanceof DeviceGoneError && /Disconnected/.test(e.message),
  );
  await assert.rejects(dev.configure({ freqHz: 200e6 }), DeviceGoneError);
  await dev.close();
  await dev.close();
  assert.equal(gone, 1);
  assert.equal(dev.isOpen, false);
});

test('unplug between reads surfaces on the next control transfer as DeviceGoneError', async () => {
  const { fake, dev } = await opened();
  let gone = 0;
  dev.on('gone', () => gone++);
  fake.unplug();
  await assert.rejects(dev.configure({ freqHz: 200e6 }), (e: unknown) => e instanceof DeviceGoneError && /device disconnected/.test(e.message));
  assert.equal(gone, 1);
  await dev.close();
});
