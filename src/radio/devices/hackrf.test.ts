import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeHackRf, fakeToneCi8 } from './fakes/hackrf-fake.js';
import { HackRfDevice, HACKRF_TX_SCALE, max2837FilterHz, sampleRateFraction } from './hackrf.js';
import { DeviceConfigError, DeviceGoneError, type IqBlock } from './types.js';

async function opened(fakeOpts = {}, drvOpts = {}): Promise<{ fake: FakeHackRf; dev: HackRfDevice }> {
  const fake = new FakeHackRf(fakeOpts);
  // The fake refuses a second transfer in flight like usb 3.x unless told otherwise: the driver's one line about
  // falling back to one is checked in hackrf-inflight.test.ts, not printed here.
  const dev = new HackRfDevice(fake, { transferBytes: 16384, log: () => undefined, ...drvOpts });
  await dev.open();
  return { fake, dev };
}

function le32(...words: number[]): number[] {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return [...b];
}

test('open reads identity and sends every setting once, all accepted by the protocol-checking fake', async () => {
  const { fake, dev } = await opened();
  assert.deepEqual(fake.controlLog.filter((c) => c.stalled), []);
  assert.deepEqual(
    fake.controlLog.map((c) => `${c.direction}:${c.request}`),
    ['in:14', 'in:15', 'in:18', 'out:1', 'out:16', 'out:6', 'out:7', 'in:19', 'in:20', 'in:21', 'out:17'],
  );
  assert.equal(dev.boardId, 2);
  assert.equal(dev.firmwareVersion, '2024.02.1');
  assert.equal(dev.serial, '0000000000000000123456789abcdef0');
  assert.equal(dev.info.id, 'hackrf:0000000000000000123456789abcdef0');
  assert.equal(dev.apiVersion, 0x0106);
  assert.equal(dev.firmwareBufferBytes, undefined);
  assert.equal(fake.freqHz, 915_000_000);
  assert.equal(fake.sampleRateHz, 2_000_000);
  assert.equal(fake.filterBandwidthHz, 1_750_000);
  assert.equal(fake.lnaGainDb, 16);
  assert.equal(fake.vgaGainDb, 20);
  assert.equal(fake.ampEnabled, false);
  assert.equal(dev.config.bandwidthHz, 1_750_000);
  await dev.close();
});

test('API 0x0112 firmware is asked for its buffer size; older firmware is not', async () => {
  const { fake, dev } = await opened({ apiVersion: 0x0112 });
  assert.equal(dev.firmwareBufferBytes, 262144);
  assert.equal(fake.controls(61).length, 1);
  await dev.close();
});

test('set_freq 2.4 GHz is request 16 with {2400, 0} little-endian, and nothing else', async () => {
  const { fake, dev } = await opened();
  const before = fake.controlLog.length;
  const cfg = await dev.configure({ freqHz: 2.4e9 });
  const sent = fake.controlLog.slice(before);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.direction, 'out');
  assert.equal(sent[0]!.request, 16);
  assert.equal(sent[0]!.value, 0);
  assert.equal(sent[0]!.index, 0);
  assert.deepEqual([...sent[0]!.data], le32(2400, 0));
  assert.equal(cfg.freqHz, 2.4e9);
  await dev.configure({ freqHz: 915_500_123 });
  assert.deepEqual([...fake.controlLog.at(-1)!.data], le32(915, 500_123));
  assert.equal(fake.freqHz, 915_500_123);
  await dev.close();
});

test('sample rate 10 Msps: request 6 {10000000, 1}, then filter 7 MHz (0.75 x rate rounded down the MAX2837 table)', async () => {
  const { fake, dev } = await opened();
  const before = fake.controlLog.length;
  const cfg = await dev.configure({ sampleRateHz: 10e6 });
  const sent = fake.controlLog.slice(before);
  assert.deepEqual(sent.map((c) => c.request), [6, 7]);
  assert.deepEqual([...sent[0]!.data], le32(10_000_000, 1));
  assert.equal(sent[1]!.value, 7_000_000 & 0xffff);
  assert.equal(sent[1]!.index, 7_000_000 >>> 16);
  assert.equal(cfg.sampleRateHz, 10e6);
  assert.equal(cfg.bandwidthHz, 7e6);
  assert.equal((await dev.configure({ sampleRateHz: 20e6 })).bandwidthHz, 15e6);
  // A rate that is not an integer goes out as a fraction.
  const third = await dev.configure({ sampleRateHz: 10e6 / 3 });
  assert.deepEqual([...fake.controls(6).at(-1)!.data], le32(10_000_000, 3));
  assert.equal(third.sampleRateHz, 10e6 / 3);
  assert.equal(fake.sampleRateHz, 10e6 / 3);
  await dev.close();
});

test('filter choice follows libhackrf: largest table entry not above the request, smallest below the table', () => {
  assert.equal(max2837FilterHz(7.5e6), 7e6);
  assert.equal(max2837FilterHz(8e6), 8e6);
  assert.equal(max2837FilterHz(1e6), 1.75e6);
  assert.equal(max2837FilterHz(40e6), 28e6);
  assert.deepEqual(sampleRateFraction(8e6), { freqHz: 8e6, divider: 1 });
});

test('an explicit bandwidth is rounded to the table and kept across rate changes until cleared', async () => {
  const { fake, dev } = await opened();
  assert.equal((await dev.configure({ bandwidthHz: 6.3e6 })).bandwidthHz, 6e6);
  assert.equal(fake.filterBandwidthHz, 6e6);
  assert.equal((await dev.configure({ sampleRateHz: 16e6 })).bandwidthHz, 6e6);
  assert.equal((await dev.configure({ bandwidthHz: undefined })).bandwidthHz, 12e6);
  assert.equal(fake.filterBandwidthHz, 12e6);
  await assert.rejects(dev.configure({ bandwidthHz: 40e6 }), (e: unknown) => e instanceof DeviceConfigError && /1750000\.\.28000000/.test(e.message));
  await dev.close();
});

test('gains round to their steps, go out in wIndex, and out-of-range values are refused with the range', async () => {
  const { fake, dev } = await opened();
  let before = fake.controlLog.length;
  const cfg = await dev.configure({ gainsDb: { lna: 29, vga: 33, tx_vga: 47, amp: 10 } });
  const sent = fake.controlLog.slice(before);
  assert.deepEqual(sent.map((c) => [c.direction, c.request, c.value, c.index]), [
    ['in', 19, 0, 32],
    ['in', 20, 0, 34],
    ['in', 21, 0, 47],
    ['out', 17, 1, 0],
  ]);
  assert.deepEqual(cfg.gainsDb, { lna: 32, vga: 34, amp: 14, tx_vga: 47 });
  assert.equal(fake.ampEnabled, true);
  before = fake.controlLog.length;
  await assert.rejects(dev.configure({ gainsDb: { lna: 41 } }), (e: unknown) => e instanceof DeviceConfigError && /'lna' 41 dB.*0\.\.40/.test(e.message));
  await assert.rejects(dev.configure({ gainsDb: { vga: -2 } }), DeviceConfigError);
  await assert.rejects(dev.configure({ gainsDb: { tuner: 10 } }), (e: unknown) => e instanceof DeviceConfigError && /lna, vga, amp, tx_vga/.test(e.message));
  await assert.rejects(dev.configure({ freqHz: 7e9 }), DeviceConfigError);
  assert.equal(fake.controlLog.length, before, 'a refused configuration sends nothing');
  await dev.close();
});

test('the fake stalls requests that break the protocol, the way the firmware does', async () => {
  const fake = new FakeHackRf();
  await fake.open();
  const vendor = { requestType: 'vendor' as const, recipient: 'device' as const };
  await assert.rejects(fake.controlTransferOut({ ...vendor, request: 16, value: 0, index: 0 }, new Uint8Array(4)), /endpoint stalled/);
  await assert.rejects(fake.controlTransferOut({ ...vendor, request: 7, value: 1234, index: 0 }), /endpoint stalled/);
  await assert.rejects(fake.controlTransferOut({ requestType: 'standard', recipient: 'device', request: 1, value: 1, index: 0 }), /endpoint stalled/);
  await assert.rejects(fake.controlTransferIn({ ...vendor, request: 16, value: 0, index: 0 }, 8), /endpoint stalled/);
  await assert.rejects(fake.controlTransferIn({ ...vendor, request: 61, value: 0, index: 0 }, 4), /endpoint stalled/);
  const r = await fake.controlTransferIn({ ...vendor, request: 19, value: 0, index: 12 }, 1);
  assert.equal(r.data!.getUint8(0), 0, 'LNA gain off the 8 dB step is refused with 0');
  assert.deepEqual(fake.controlLog.map((c) => Boolean(c.stalled)), [true, true, true, true, true, false]);
});

test('RX yields the fake tone as cf32 (ci8 / 128) with the raw ci8 bytes kept and contiguous sample indices', async () => {
  const { fake, dev } = await opened();
  const rx = dev.startRx({ blockSamples: 4096 });
  const blocks: IqBlock[] = [];
  for await (const b of rx) {
    blocks.push(b);
    if (blocks.length === 3) break;
  }
  assert.equal(fake.mode, 0, 'breaking out stops the stream: mode 0');
  assert.deepEqual(fake.modeLog, [0, 1, 0]);
  let expectIndex = 0;
  for (const b of blocks) {
    assert.equal(b.samples, 4096);
    assert.equal(b.sampleIndex, expectIndex);
    expectIndex += b.samples;
    const want = fakeToneCi8(b.sampleIndex, b.samples);
    assert.deepEqual(new Int8Array(b.raw!.buffer, b.raw!.byteOffset, b.raw!.length), want);
    for (let i = 0; i < b.iq.length; i++) assert.equal(b.iq[i], want[i]! / 128);
  }
  // The tone's phase advances 2*pi*64/1024 per sample: I/Q order and sign survive the conversion.
  const iq = blocks[1]!.iq;
  let re = 0, im = 0;
  for (let n = 0; n + 1 < 1000; n++) {
    const [a, b, c, d] = [iq[2 * n]!, iq[2 * n + 1]!, iq[2 * n + 2]!, iq[2 * n + 3]!];
    re += c * a + d * b;
    im += d * a - c * b;
  }
  assert.ok(Math.abs(Math.atan2(im, re) - (2 * Math.PI * 64) / 1024) < 1e-3);
  assert.equal(dev.stats().samplesRx >= 3 * 4096, true);
  await dev.close();
});

test('stop() sets mode 0 only after the last transfer completed, and the iterator then ends', async () => {
  const { fake, dev } = await opened({ paced: true, maxInFlightPerEndpoint: 4 }, { transfersInFlight: 4 });
  await dev.configure({ sampleRateHz: 4e6 });
  const rx = dev.startRx({ blockSamples: 2048 });
  const it = rx[Symbol.asyncIterator]();
  await it.next();
  await rx.stop();
  const transfersAtStop = fake.bulkInTransfers;
  assert.equal(fake.mode, 0);
  assert.deepEqual(fake.modeLog, [0, 1, 0]);
  assert.equal(fake.pendingAtModeChange.at(-1), 0, 'no transfer was pending when mode 0 went out');
  let rest = 0;
  for (let r = await it.next(); !r.done; r = await it.next()) rest++;
  assert.ok(rest <= 16 + 4, `only queued and in-flight blocks arrive after stop, got ${rest}`);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.bulkInTransfers, transfersAtStop, 'no transfer after mode 0');
  await dev.close();
});

test('several transfers in flight (where the USB stack allows it) still deliver blocks in order', async () => {
  const { dev } = await opened({ maxInFlightPerEndpoint: 4 }, { transfersInFlight: 4 });
  const rx = dev.startRx({ blockSamples: 1024, queueBlocks: 64 });
  let next = 0;
  let n = 0;
  for await (const b of rx) {
    assert.equal(b.sampleIndex, next);
    assert.deepEqual(new Int8Array(b.raw!.buffer), fakeToneCi8(b.sampleIndex, 1024));
    next += b.samples;
    if (++n === 20) break;
  }
  await dev.close();
});

test('with usb 3.x semantics (one transfer per endpoint) a second concurrent transfer is refused', async () => {
  const fake = new FakeHackRf();
  await fake.open();
  await fake.claimInterface(0);
  await fake.controlTransferOut({ requestType: 'vendor', recipient: 'device', request: 1, value: 1, index: 0 });
  const first = fake.transferIn(1, 512);
  await assert.rejects(fake.transferIn(1, 512), /transferIn error: endpoint not found/);
  assert.equal((await first).data!.byteLength, 512);
});

test('a consumer slower than the radio loses the oldest blocks, counted as overflows, with gaps in sampleIndex', async () => {
  const { dev } = await opened();
  const rx = dev.startRx({ blockSamples: 512, queueBlocks: 2 });
  await new Promise((r) => setTimeout(r, 30));
  const it = rx[Symbol.asyncIterator]();
  const a = (await it.next()).value as IqBlock;
  const b = (await it.next()).value as IqBlock;
  await rx.stop();
  assert.ok(dev.stats().overflows > 0);
  assert.ok(a.sampleIndex > 0, 'the first blocks were dropped');
  assert.equal(b.sampleIndex, a.sampleIndex + 512);
  await dev.close();
});

test('TX writes arrive in the fake as ci8 (x 127, rounded, clipped), padded with zeros to whole USB packets', async () => {
  const { fake, dev } = await opened({}, { transferBytes: 1024 });
  const tx = dev.startTx();
  const iq = new Float32Array(1300);
  for (let i = 0; i < iq.length; i++) iq[i] = Math.sin(i / 7) * 1.2; // some samples beyond full scale
  await tx.write(iq.subarray(0, 700));
  await tx.write(iq.subarray(700));
  await tx.end();
  const got = fake.transmitted();
  assert.equal(got.length, 1536, 'one full 1024-byte transfer and 276 bytes padded to 512');
  for (let i = 0; i < iq.length; i++) {
    assert.equal(got[i], Math.max(-128, Math.min(127, Math.round(iq[i]! * HACKRF_TX_SCALE))) | 0);
  }
  assert.ok(got.subarray(1300).every((v) => v === 0));
  assert.deepEqual(fake.modeLog, [0, 2, 0]);
  assert.equal(dev.stats().samplesTx, 768);
  await dev.close();
});

test('TX that runs dry between writes counts one underflow per dry spell', async () => {
  const { dev } = await opened({}, { transferBytes: 512 });
  const tx = dev.startTx();
  await tx.write(new Float32Array(512).fill(0.5));
  await new Promise((r) => setTimeout(r, 20));
  await tx.write(new Float32Array(512).fill(0.5));
  await tx.end();
  assert.equal(dev.stats().underflows, 1);
  await dev.close();
});

test('HackRF: one channel each way, one synthesizer and clock: TX settings apart are refused before reaching the radio', async () => {
  const { fake, dev } = await opened();
  const c = dev.capabilities;
  assert.deepEqual([c.rxChannels, c.txChannels, c.fullDuplex, c.hardwareTimestamps, c.rxWaitsForConsumer], [1, 1, false, false, false]);
  assert.deepEqual(c.separateTx, { freqHz: false, sampleRateHz: false });
  assert.ok(!('channelSimulator' in dev), 'a real radio has no simulated channel');
  const before = fake.controlLog.length;
  await assert.rejects(dev.configure({ txFreqHz: 2.45e9 }), (e: unknown) => e instanceof DeviceConfigError && /one frequency for RX and TX; leave txFreqHz unset/.test((e as Error).message));
  await assert.rejects(dev.configure({ txSampleRateHz: 10e6 }), /one sample rate for RX and TX/);
  assert.equal(fake.controlLog.length, before, 'refused requests send nothing');
  // The same value as RX is no request at all: accepted, and the config keeps TX on freqHz.
  const cfg = await dev.configure({ freqHz: 2.4e9, txFreqHz: 2.4e9, txSampleRateHz: 2e6 });
  assert.deepEqual([cfg.freqHz, cfg.txFreqHz, cfg.txSampleRateHz], [2.4e9, undefined, undefined]);
  assert.equal(fake.freqHz, 2.4e9);
  await dev.close();
});

test('HackRF is half duplex: TX during RX (and RX during TX) is refused with a clear error', async () => {
  const { dev } = await opened();
  const rx = dev.startRx({ blockSamples: 512 });
  assert.throws(() => dev.startTx(), (e: unknown) => e instanceof DeviceConfigError && /half duplex.*stop\(\) the RX stream/.test(e.message));
  await rx.stop();
  const tx = dev.startTx();
  assert.throws(() => dev.startRx(), (e: unknown) => e instanceof DeviceConfigError && /half duplex.*end\(\) the TX stream/.test(e.message));
  await tx.end();
  await dev.close();
});

test('unplug mid-RX: queued blocks arrive, then DeviceGoneError; gone is emitted once; close is idempotent', async () => {
  const { fake, dev } = await opened({ paced: true }, { transferBytes: 4096 });
  await dev.configure({ sampleRateHz: 8e6 });
  let goneCount = 0;
  dev.on('gone', (e) => {
    assert.ok(e instanceof DeviceGoneError);
    goneCount++;
  });
  const rx = dev.startRx();
  let got = 0;
  await assert.rejects(
    (async () => {
      for await (const _b of rx) {
        if (++got === 3) fake.unplug();
      }
    })(),
    (e: unknown) => e instanceof DeviceGoneError && /Disconnected/.test(e.message) && e.code === 'E_DEVICE_GONE',
  );
  assert.ok(got >= 3);
  await assert.rejects(dev.configure({ freqHz: 100e6 }), DeviceGoneError);
  assert.throws(() => dev.startRx(), DeviceGoneError);
  await dev.close();
  await dev.close();
  assert.equal(goneCount, 1);
  assert.equal(dev.isOpen, false);
});

test('unplug mid-TX: the pending write rejects with DeviceGoneError', async () => {
  const { fake, dev } = await opened({}, { transferBytes: 512, txQueueTransfers: 1 });
  let gone = 0;
  dev.on('gone', () => gone++);
  const tx = dev.startTx();
  fake.unplug();
  const writes = [tx.write(new Float32Array(512)), tx.write(new Float32Array(512)), tx.write(new Float32Array(512))];
  const results = await Promise.allSettled(writes);
  assert.ok(results.some((r) => r.status === 'rejected' && r.reason instanceof DeviceGoneError));
  await assert.rejects(tx.end(), DeviceGoneError);
  assert.equal(gone, 1);
  await dev.close();
});

test('close() while streaming stops the stream and releases the interface; open after close is refused', async () => {
  const { fake, dev } = await opened();
  const rx = dev.startRx({ blockSamples: 512 });
  const it = rx[Symbol.asyncIterator]();
  await it.next();
  await Promise.all([dev.close(), dev.close()]);
  assert.equal(fake.mode, 0);
  assert.equal(fake.opened, false);
  await assert.rejects(dev.open(), DeviceConfigError);
});
