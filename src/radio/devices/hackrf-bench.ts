/**
 * Micro-benchmark of the USB radio drivers' host side (no hardware), measurement only; `dekag bench usb
 * [--json]` (src/cli/bench-usb.ts) runs and prints it.
 *
 * ci8_to_cf32_msps   conversion of HackRF bytes to cf32 (iq/format.ts ci8ToCf32), complex Msps on one core
 * cu8_to_cf32_msps   the same for RTL-SDR bytes
 * rx_<N>k_msps       HackRF driver RX through the FAKE HackRF, unpaced, one transfer in flight (usb 3.x),
 *                    N KiB transfers: everything the host does per transfer (driver, queue, conversion,
 *                    consumer) plus the fake's copy and one event-loop turn per transfer, like a real
 *                    completion callback
 * per_transfer_us    (time per transfer) - (conversion time of its bytes): the fixed cost per transfer
 * The USB wire, the kernel and nusb's thread hop are not in these numbers (see docs/radios-usb.md).
 *
 * sustained          `benchHackRfSustained`: the driver streaming through the FAKE HackRF's streaming model
 *                    (hackrf-fake.ts: the radio makes or plays samples at the sample rate, a 32 KiB firmware
 *                    buffer, `latencyMs` from a transfer's last sample to its completion on the host) for
 *                    `seconds` of radio time, RX and TX, with N transfers in flight (a backend that queues
 *                    them) and with 1 (`usb` 3.x). Virtual time by default (fake-clock.ts: idle waits are
 *                    skipped, the host's own work costs its real duration), or real time.
 */
import { ci8ToCf32, cu8ToCf32 } from '../iq/format.js';
import { RealClock, VirtualClock, type FakeClock } from './fakes/fake-clock.js';
import { CounterStreamChecker, FakeHackRf } from './fakes/hackrf-fake.js';
import { HackRfDevice, HACKRF_TRANSFER_BYTES } from './hackrf.js';

function bestOf(n: number, fn: () => number): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) best = Math.min(best, fn());
  return best;
}

/** Seconds per call of `fn`, over `iters` calls. */
function timeLoop(iters: number, fn: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) fn();
  return (performance.now() - t0) / 1000 / iters;
}

export interface UsbBenchResult {
  ci8_to_cf32_msps: number;
  cu8_to_cf32_msps: number;
  rx: Array<{ transfer_kib: number; msps: number; per_transfer_us: number; transfers: number }>;
}

async function rxThroughput(transferBytes: number, seconds: number): Promise<{ msps: number; transfers: number; secondsPerTransfer: number }> {
  const fake = new FakeHackRf();
  const dev = new HackRfDevice(fake, { transferBytes, transfersInFlight: 1 });
  await dev.open();
  await dev.configure({ sampleRateHz: 20e6 });
  const rx = dev.startRx({ queueBlocks: 64 });
  let samples = 0;
  let checksum = 0;
  let transfers = 0;
  const t0 = performance.now();
  for await (const b of rx) {
    samples += b.samples;
    checksum += b.iq[0]!; // the consumer touches the block, as a real one would
    transfers++;
    if (performance.now() - t0 > seconds * 1000) break;
  }
  const dt = (performance.now() - t0) / 1000;
  await dev.close();
  if (!Number.isFinite(checksum)) throw new Error('bad samples');
  return { msps: samples / dt / 1e6, transfers, secondsPerTransfer: dt / transfers };
}

export async function benchUsbDrivers(seconds = 0.6): Promise<UsbBenchResult> {
  const bytes = 262144;
  const ci8 = new Int8Array(bytes);
  const cu8 = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    ci8[i] = ((i * 37) % 256) - 128;
    cu8[i] = (i * 37) % 256;
  }
  const out = new Float32Array(bytes);
  const sCi8 = bestOf(3, () => timeLoop(100, () => ci8ToCf32(ci8, 128, out)));
  const sCu8 = bestOf(3, () => timeLoop(100, () => cu8ToCf32(cu8, 127.5, out)));
  const perByteCi8 = sCi8 / bytes;
  const rx: UsbBenchResult['rx'] = [];
  for (const kib of [16, 64, 256]) {
    const r = await rxThroughput(kib * 1024, seconds);
    rx.push({
      transfer_kib: kib,
      msps: r.msps,
      transfers: r.transfers,
      per_transfer_us: (r.secondsPerTransfer - perByteCi8 * kib * 1024) * 1e6,
    });
  }
  return { ci8_to_cf32_msps: bytes / 2 / sCi8 / 1e6, cu8_to_cf32_msps: bytes / 2 / sCu8 / 1e6, rx };
}

export interface SustainedOptions {
  direction: 'rx' | 'tx';
  /** Transfers in flight the driver asks for (the fake allows as many). */
  transfersInFlight: number;
  /** Radio time to stream (default 30 s). */
  seconds?: number;
  sampleRateHz?: number;
  transferBytes?: number;
  /** From a transfer's last sample in the radio to its completion on the host (default 1 ms). */
  latencyMs?: number;
  clock?: 'virtual' | 'real';
}

export interface SustainedResult {
  direction: 'rx' | 'tx';
  clock: 'virtual' | 'real';
  rate_msps: number;
  transfer_bytes: number;
  latency_ms: number;
  transfers_in_flight_requested: number;
  /** What the driver reports in stats() at the end (the most the fake saw at once in brackets). */
  transfers_in_flight: number;
  max_in_flight_seen: number;
  /** Radio time streamed, s. */
  seconds: number;
  /**
   * Sustained rate: RX, samples delivered from the second transfer on per second of radio time between the
   * first and the last completion; TX, samples per second of what the radio played (silence included).
   */
  msps: number;
  /** Samples over the whole run's radio time, start-up latency included. */
  msps_overall: number;
  samples: number;
  transfers: number;
  /** RX: overruns in the radio plus blocks the driver's queue dropped; TX: transfers that came too late (underruns). */
  dropped_transfers: number;
  /** RX: samples the radio lost; TX: samples of silence it played. */
  lost_samples: number;
  /** Blocks or transfers whose content was not the pattern at their place (reordered, repeated, shifted). */
  pattern_errors: number;
  /** When the first loss began, s of radio time from the start (absent when nothing was lost). */
  first_loss_s?: number;
  /** Completions out of submission order at the fake's USB layer. */
  out_of_order: number;
  /** Host CPU seconds (user + system) for the whole stream, and samples per CPU second. */
  cpu_s: number;
  host_msps_per_cpu_s: number;
  /** Wall seconds the run took. */
  wall_s: number;
}

/** Streams through the fake's streaming model and counts what was lost (see the module comment). */
export async function benchHackRfSustained(o: SustainedOptions): Promise<SustainedResult> {
  const seconds = o.seconds ?? 30;
  const rateHz = o.sampleRateHz ?? 20e6;
  const transferBytes = o.transferBytes ?? HACKRF_TRANSFER_BYTES;
  const latencyMs = o.latencyMs ?? 1;
  const clockKind = o.clock ?? 'virtual';
  const clock: FakeClock = clockKind === 'real' ? new RealClock() : new VirtualClock();
  const chunkSamples = transferBytes >> 1;
  const tx = { transfers: 0, bytes: 0, errors: 0 };
  const fake = new FakeHackRf({
    pattern: 'counter',
    recordTx: false,
    maxInFlightPerEndpoint: Math.max(o.transfersInFlight, 1),
    stream: { clock, transferLatencyMs: latencyMs },
    onTx: (data, off) => {
      // Each chunk's first sample carries its number (mod 127): a reordered or repeated transfer shows.
      tx.transfers++;
      const chunk = Math.floor(off / transferBytes);
      if (off !== tx.bytes || (off % transferBytes === 0 && data[0] !== chunk % 127)) tx.errors++;
      tx.bytes += data.length;
    },
  });
  const dev = new HackRfDevice(fake, { transfersInFlight: o.transfersInFlight, transferBytes, log: () => undefined });
  await dev.open();
  await dev.configure({ sampleRateHz: rateHz });
  const total = Math.round(seconds * rateHz);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const t0 = clock.now();
  let samples = 0;
  let transfers = 0;
  let patternErrors = 0;
  let dropped = 0;
  let lost = 0;
  let sustainedMsps = 0;
  if (o.direction === 'rx') {
    const checker = new CounterStreamChecker();
    const rx = dev.startRx({ queueBlocks: 64 });
    let firstMs = 0;
    let firstSamples = 0;
    let lastMs = 0;
    for await (const b of rx) {
      lastMs = clock.now();
      if (checker.blocks === 0) {
        firstMs = lastMs;
        firstSamples = b.samples;
      }
      checker.check(b);
      if (checker.samples >= total) break;
    }
    sustainedMsps = (checker.samples - firstSamples) / (lastMs - firstMs) / 1e3;
    samples = checker.samples;
    transfers = checker.blocks;
    patternErrors = checker.mismatchedBlocks;
    dropped = fake.rxModel.overrunEvents + dev.stats().overflows;
    lost = fake.rxModel.overrunSamples + checker.gapSamples;
  } else {
    const stream = dev.startTx();
    const iq = new Float32Array(chunkSamples * 2);
    for (let k = 2; k < iq.length; k++) iq[k] = ((k % 255) - 127) / 127;
    const chunks = Math.ceil(total / chunkSamples);
    for (let i = 0; i < chunks; i++) {
      iq[0] = (i % 127) / 127;
      await stream.write(iq);
    }
    await stream.end();
    samples = tx.bytes >> 1;
    transfers = tx.transfers;
    patternErrors = tx.errors;
    dropped = fake.txModel.underrunEvents;
    sustainedMsps = samples / fake.txModel.playedMs / 1e3;
    lost = fake.txModel.underrunSamples;
  }
  const firstLossMs = o.direction === 'rx' ? fake.rxModel.firstOverrunMs : fake.txModel.firstUnderrunMs;
  const radioSeconds = (clock.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - wall0) / 1000;
  const st = dev.stats();
  const bulk = fake.bulkStats.get(o.direction === 'rx' ? 'transferIn:1' : 'transferOut:2');
  await dev.close();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    direction: o.direction,
    clock: clockKind,
    rate_msps: rateHz / 1e6,
    transfer_bytes: transferBytes,
    latency_ms: latencyMs,
    transfers_in_flight_requested: o.transfersInFlight,
    transfers_in_flight: st.transfersInFlight,
    max_in_flight_seen: bulk?.maxInFlight ?? 0,
    seconds: radioSeconds,
    msps: sustainedMsps,
    msps_overall: samples / radioSeconds / 1e6,
    samples,
    transfers,
    dropped_transfers: dropped,
    lost_samples: lost,
    pattern_errors: patternErrors,
    ...(firstLossMs !== undefined ? { first_loss_s: firstLossMs / 1000 } : {}),
    out_of_order: bulk?.outOfOrder ?? 0,
    cpu_s: cpuS,
    host_msps_per_cpu_s: samples / cpuS / 1e6,
    wall_s: wall,
  };
}
