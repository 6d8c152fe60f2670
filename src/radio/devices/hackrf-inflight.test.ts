/**
 * The HackRF driver with several bulk transfers in flight, through the FAKE HackRF's streaming model
 * (a radio clock, the firmware's 32 KiB buffer, 1 ms per-transfer latency) in virtual time, with the
 * position-stamped counter pattern so that every dropped, repeated or reordered sample shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from './fakes/fake-clock.js';
import { CounterStreamChecker, FakeHackRf, type FakeHackRfOptions } from './fakes/hackrf-fake.js';
import { HackRfDevice, type HackRfOptions } from './hackrf.js';
import { isConcurrencyRefusal } from './usb-inflight.js';

async function streaming(fakeOpts: FakeHackRfOptions, drvOpts: HackRfOptions, rateHz: number) {
  const clock = new VirtualClock({ hostTime: false });
  const fake = new FakeHackRf({ pattern: 'counter', recordTx: false, ...fakeOpts, stream: { clock, transferLatencyMs: 1 } });
  const log: string[] = [];
  const dev = new HackRfDevice(fake, { log: (l) => log.push(l), ...drvOpts });
  await dev.open();
  await dev.configure({ sampleRateHz: rateHz });
  return { clock, fake, dev, log };
}

async function receive(dev: HackRfDevice, samples: number, checker: CounterStreamChecker): Promise<void> {
  const rx = dev.startRx({ queueBlocks: 64 });
  for await (const b of rx) {
    checker.check(b);
    if (checker.samples >= samples) break;
  }
}

test('RX, 4 transfers in flight, 20 Msps for 30 s (virtual time, 256 KiB transfers, 1 ms latency): every sample, in order, no overrun', async () => {
  const { clock, fake, dev, log } = await streaming({ maxInFlightPerEndpoint: 4 }, {}, 20e6);
  const checker = new CounterStreamChecker();
  const t0 = clock.now();
  await receive(dev, 30 * 20e6, checker);
  const seconds = (clock.now() - t0) / 1000;
  assert.ok(seconds >= 30 && seconds < 30.1, `30 s of radio time, got ${seconds}`);
  assert.equal(checker.mismatchedBlocks, 0, `first mismatch at sample ${checker.firstMismatchAt}`);
  assert.equal(checker.gaps, 0);
  assert.ok(checker.samples >= 600e6);
  assert.equal(fake.rxModel.overrunSamples, 0);
  const bulk = fake.bulkStats.get('transferIn:1')!;
  assert.equal(bulk.maxInFlight, 4);
  assert.equal(bulk.outOfOrder, 0);
  assert.equal(bulk.refused, 0);
  assert.equal(fake.pendingAtModeChange.at(-1), 0, 'mode 0 after the last transfer');
  const st = dev.stats();
  assert.equal(st.transfersInFlight, 4);
  assert.equal(st.transfersInFlightMode, 'concurrent');
  assert.equal(st.transfersInFlightFallback, undefined);
  assert.equal(st.overflows, 0);
  assert.deepEqual(log, []);
  await dev.close();
});

test('RX through a backend that refuses a second transfer (usb 3.x): falls back to 1, says so once, loses nothing', async () => {
  const { fake, dev, log } = await streaming({ maxInFlightPerEndpoint: 1 }, { transferBytes: 65536 }, 2e6);
  const checker = new CounterStreamChecker(512);
  await receive(dev, 2 * 2e6, checker);
  assert.equal(checker.mismatchedBlocks, 0);
  assert.equal(checker.gaps, 0);
  assert.equal(fake.rxModel.overrunSamples, 0, 'one in flight is enough at 2 Msps');
  const bulk = fake.bulkStats.get('transferIn:1')!;
  assert.equal(bulk.refused, 3, 'the 2nd, 3rd and 4th of the first four');
  assert.equal(bulk.maxInFlight, 1);
  const st = dev.stats();
  assert.equal(st.transfersInFlight, 1);
  assert.equal(st.transfersInFlightRequested, 4);
  assert.equal(st.transfersInFlightMode, 'single');
  assert.match(st.transfersInFlightFallback!, /refused a second transfer in flight .*endpoint not found.*using 1 instead of 4/);
  assert.equal(log.length, 1);
  assert.match(log[0]!, /^hackrf:\w+: RX: the USB backend refused a second transfer in flight/);
  // The device remembers: the next stream starts with one, without refusals or another line.
  const again = new CounterStreamChecker(512);
  await receive(dev, 2e6, again);
  assert.equal(again.mismatchedBlocks, 0);
  assert.equal(fake.bulkStats.get('transferIn:1')!.refused, 3);
  assert.equal(log.length, 1);
  await dev.close();
});

test('the model shows why: 1 transfer in flight at 20 Msps with 1 ms latency overruns the 32 KiB buffer, and the checker sees it', async () => {
  const { fake, dev } = await streaming({ maxInFlightPerEndpoint: 1 }, { transfersInFlight: 1 }, 20e6);
  const checker = new CounterStreamChecker();
  await receive(dev, 20e6, checker);
  assert.ok(fake.rxModel.overrunEvents > 10, `overruns: ${JSON.stringify(fake.rxModel)}`);
  assert.ok(checker.mismatchedBlocks > 10);
  assert.equal(checker.gaps, 0, 'the driver itself dropped nothing: the loss is in the radio');
  await dev.close();
});

/** Writes `chunks` chunks of `chunkSamples` whose first sample carries the chunk number (mod 127), the rest a ramp. */
async function transmit(dev: HackRfDevice, chunks: number, chunkSamples: number): Promise<void> {
  const tx = dev.startTx();
  const iq = new Float32Array(chunkSamples * 2);
  for (let k = 2; k < iq.length; k++) iq[k] = ((k % 255) - 127) / 127;
  for (let i = 0; i < chunks; i++) {
    iq[0] = (i % 127) / 127;
    iq[1] = -((i % 127) / 127);
    await tx.write(iq);
  }
  await tx.end();
}

/** Checks each transfer's bytes against what `transmit` wrote, by its offset in the stream. */
function txChecker(chunkSamples: number) {
  const st = { transfers: 0, bytes: 0, errors: 0 };
  const onTx = (data: Uint8Array, off: number): void => {
    st.transfers++;
    const b = new Int8Array(data.buffer, data.byteOffset, data.length);
    if (off !== st.bytes) st.errors++;
    st.bytes += data.length;
    for (let k = 0; k < b.length; k += k < 4 ? 1 : 997) {
      const pos = (off + k) % (chunkSamples * 2);
      const chunk = Math.floor((off + k) / (chunkSamples * 2));
      const want = pos === 0 ? chunk % 127 : pos === 1 ? -(chunk % 127) : (pos % 255) - 127;
      if (b[k] !== want) {
        st.errors++;
        break;
      }
    }
  };
  return { st, onTx };
}

test('TX, 4 transfers in flight, 20 Msps for 10 s (virtual time): every chunk in order, no underrun', async () => {
  const chunkSamples = 131072;
  const { st, onTx } = txChecker(chunkSamples);
  const { fake, dev, log } = await streaming({ maxInFlightPerEndpoint: 4, onTx }, {}, 20e6);
  const chunks = Math.round((10 * 20e6) / chunkSamples);
  await transmit(dev, chunks, chunkSamples);
  assert.equal(st.errors, 0);
  assert.equal(st.bytes, chunks * chunkSamples * 2);
  assert.equal(fake.txModel.underrunSamples, 0, JSON.stringify(fake.txModel));
  const bulk = fake.bulkStats.get('transferOut:2')!;
  assert.equal(bulk.maxInFlight, 4);
  assert.equal(bulk.outOfOrder, 0);
  assert.deepEqual(fake.modeLog, [0, 2, 0]);
  assert.equal(fake.pendingAtModeChange.at(-1), 0);
  const s = dev.stats();
  assert.equal(s.samplesTx, chunks * chunkSamples);
  assert.equal(s.transfersInFlight, 4);
  assert.equal(s.transfersInFlightMode, 'concurrent');
  assert.equal(s.underflows, 0);
  assert.deepEqual(log, []);
  await dev.close();
});

test('TX through a backend that refuses a second transfer: the refused chunk is re-sent in order, 1 in flight, said once', async () => {
  const chunkSamples = 8192;
  const { st, onTx } = txChecker(chunkSamples);
  const { fake, dev, log } = await streaming({ maxInFlightPerEndpoint: 1, onTx, recordTx: true }, { transferBytes: 16384 }, 2e6);
  await transmit(dev, 50, chunkSamples);
  assert.equal(st.errors, 0);
  assert.equal(fake.transmitted().length, 50 * chunkSamples * 2, 'every byte once');
  const bulk = fake.bulkStats.get('transferOut:2')!;
  assert.equal(bulk.refused, 1, 'only the probe');
  assert.equal(bulk.completed, 50);
  const s = dev.stats();
  assert.equal(s.transfersInFlight, 1);
  assert.equal(s.transfersInFlightMode, 'single');
  assert.equal(s.transfersRefused, 1);
  assert.equal(s.samplesTx, 50 * chunkSamples);
  assert.equal(log.length, 1);
  assert.match(log[0]!, /TX: the USB backend refused a second transfer in flight \("transferOut error: endpoint not found"\); using 1 instead of 4/);
  await dev.close();
});

test('transfersInFlight 1 never submits a second transfer; the option is checked', async () => {
  const { fake, dev } = await streaming({ maxInFlightPerEndpoint: 4 }, { transfersInFlight: 1, transferBytes: 16384 }, 2e6);
  await receive(dev, 1e6, new CounterStreamChecker());
  assert.equal(fake.bulkStats.get('transferIn:1')!.maxInFlight, 1);
  assert.equal(dev.stats().transfersInFlightMode, 'single');
  await dev.close();
  assert.throws(() => new HackRfDevice(new FakeHackRf(), { transfersInFlight: 0 }), /transfersInFlight must be an integer 1\.\.64/);
});

test('refusals are recognized by their message (usb 3.x, nusb, browsers); a disconnect is not one', () => {
  assert.ok(isConcurrencyRefusal(new Error('transferIn error: endpoint not found')));
  assert.ok(isConcurrencyRefusal(new Error('endpoint already in use')));
  assert.ok(isConcurrencyRefusal(new Error('InvalidStateError: a transfer is already pending')));
  assert.ok(!isConcurrencyRefusal(new Error('transferIn error: Disconnected')));
  assert.ok(!isConcurrencyRefusal(new Error('transferIn error: Stall')));
});
