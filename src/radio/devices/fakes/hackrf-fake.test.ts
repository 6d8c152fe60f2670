/** The FAKE HackRF's own checks: the virtual clock, the counter pattern and its checker, the streaming model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealClock, VirtualClock } from './fake-clock.js';
import { CounterStreamChecker, FakeHackRf, counterValue, fakeCounterCi8 } from './hackrf-fake.js';

test('VirtualClock (host infinitely fast): jumps to each timer, fires equal times in the order they were set', async () => {
  const clock = new VirtualClock({ hostTime: false });
  const fired: string[] = [];
  await Promise.all([
    clock.at(30).then(() => fired.push(`c@${clock.now()}`)),
    clock.at(10).then(() => fired.push(`a@${clock.now()}`)),
    clock.at(10).then(() => fired.push(`b@${clock.now()}`)),
  ]);
  assert.deepEqual(fired, ['a@10', 'b@10', 'c@30']);
  const t = performance.now();
  await clock.at(60_000);
  assert.equal(clock.now(), 60_000);
  assert.ok(performance.now() - t < 1000, 'a minute of virtual time passes at once');
});

test('RealClock fires in time order, whatever order the timers were set in and however late', async () => {
  const clock = new RealClock();
  const t = clock.now();
  const fired: string[] = [];
  await Promise.all([
    clock.at(t + 4).then(() => fired.push('c')),
    clock.at(t + 2).then(() => fired.push('b')),
    clock.at(t - 5).then(() => fired.push('a')),
    clock.at(t + 4).then(() => fired.push('d')),
  ]);
  assert.deepEqual(fired, ['a', 'b', 'c', 'd']);
  assert.ok(clock.now() >= t + 4);
});

test('VirtualClock with host time: the host work between events costs its real duration', async () => {
  const clock = new VirtualClock();
  await clock.at(5);
  const before = clock.now();
  const t = performance.now();
  while (performance.now() - t < 20); // 20 ms of host work
  assert.ok(clock.now() - before >= 19);
});

test('the counter pattern stamps every sample with its place; the checker finds shifted, reordered and skipped blocks', () => {
  const a = fakeCounterCi8(65530, 20);
  assert.deepEqual([a[0], a[1]], [65530 & 0xff, 65530 >> 8]);
  assert.equal(counterValue(65536), 1, 'period 1 starts with its number');
  assert.equal(counterValue(65537), 0);
  assert.equal(counterValue(65538), 2);
  assert.deepEqual([a[12], a[13], a[14], a[15], a[16], a[17]], [1, 0, 0, 0, 2, 0]);
  const block = (start: number, samples: number, at = start) => ({ raw: fakeCounterCi8(start, samples), samples, sampleIndex: at });
  const ok = new CounterStreamChecker();
  for (let i = 0; i < 10; i++) assert.ok(ok.check(block(i * 50_000, 50_000)));
  assert.equal(ok.mismatchedBlocks, 0);
  // Data lost in the radio: every later block is shifted against the driver's sample index.
  const shifted = new CounterStreamChecker();
  shifted.check(block(0, 50_000));
  assert.equal(shifted.check(block(50_000 + 3, 50_000, 50_000)), false);
  // A shift by whole periods leaves the counter right but not the period stamps.
  const periods = new CounterStreamChecker();
  assert.equal(periods.check(block(65536 * 3, 131072, 65536)), false);
  // Two transfers swapped.
  const swapped = new CounterStreamChecker();
  swapped.check(block(0, 4096));
  assert.equal(swapped.check(block(8192, 4096, 4096)), false);
  assert.equal(swapped.firstMismatchAt, 4096);
  // After a loss the checker follows the stream again: each discontinuity counts once, long ones too.
  const follow = new CounterStreamChecker();
  let at = 0;
  let src = 0;
  for (const lost of [0, 3, 0, 0, 500_000, 0, 0]) {
    src += lost;
    follow.check(block(src, 131072, at));
    src += 131072;
    at += 131072;
  }
  assert.deepEqual([follow.mismatchedBlocks, follow.offset], [2, 500_003]);
  // A block the driver dropped is a gap in sampleIndex, not a mismatch.
  const gap = new CounterStreamChecker();
  gap.check(block(0, 4096));
  gap.check(block(8192, 4096));
  assert.deepEqual([gap.gaps, gap.gapSamples, gap.mismatchedBlocks], [1, 4096, 0]);
});

test('streaming model: transfers fill in submission order at the sample rate and complete 1 ms after their last sample', async () => {
  const clock = new VirtualClock({ hostTime: false });
  const fake = new FakeHackRf({ pattern: 'counter', maxInFlightPerEndpoint: 2, stream: { clock, transferLatencyMs: 1 } });
  await fake.open();
  await fake.claimInterface(0);
  const vendor = { requestType: 'vendor' as const, recipient: 'device' as const };
  const rate = new Uint8Array(8);
  new DataView(rate.buffer).setUint32(0, 2_000_000, true);
  new DataView(rate.buffer).setUint32(4, 1, true);
  await fake.controlTransferOut({ ...vendor, request: 6, value: 0, index: 0 }, rate);
  await fake.controlTransferOut({ ...vendor, request: 1, value: 1, index: 0 });
  const done: number[] = [];
  const a = fake.transferIn(1, 4000).then((r) => (done.push(clock.now()), r));
  const b = fake.transferIn(1, 4000).then((r) => (done.push(clock.now()), r));
  await assert.rejects(fake.transferIn(1, 4000), /endpoint not found/, 'a third one is one too many here');
  const [ra, rb] = await Promise.all([a, b]);
  assert.deepEqual(done, [2000 / 2000 + 1, 4000 / 2000 + 1], '2000 samples take 1 ms at 2 Msps, plus 1 ms latency');
  assert.deepEqual(new Uint8Array(ra.data!.buffer), fakeCounterCi8(0, 2000));
  assert.deepEqual(new Uint8Array(rb.data!.buffer), fakeCounterCi8(2000, 2000));
  // Nothing submitted for 20 ms: 16384 samples wait in the 32 KiB buffer, the rest is lost.
  await clock.at(clock.now() + 20);
  const late = await fake.transferIn(1, 40000);
  const got = new Uint8Array(late.data!.buffer);
  assert.equal(fake.rxModel.overrunEvents, 1);
  assert.ok(fake.rxModel.overrunSamples > 20000);
  assert.deepEqual(got.subarray(0, 2 * 16384), fakeCounterCi8(4000, 16384), 'the buffered samples come first');
  assert.notDeepEqual(got.subarray(2 * 16384, 2 * 16385), fakeCounterCi8(4000 + 16384, 1), 'then a jump');
  const st = fake.bulkStats.get('transferIn:1')!;
  assert.deepEqual([st.submitted, st.refused, st.completed, st.maxInFlight, st.outOfOrder], [3, 1, 3, 2, 0]);
});
