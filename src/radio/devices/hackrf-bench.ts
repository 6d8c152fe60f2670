/**
 * Micro-benchmark of the USB radio drivers' host side (no hardware), measurement only; `dekag bench usb
 * [--json]` (src/cli/bench-usb.ts) runs and prints it.
 *
 * ci8_to_cf32_msps   conversion of HackRF bytes to cf32 (iqformat.ci8ToCf32), complex Msps on one core
 * cu8_to_cf32_msps   the same for RTL-SDR bytes
 * rx_<N>k_msps       HackRF driver RX through the FAKE HackRF, unpaced, one transfer in flight (usb 3.x),
 *                    N KiB transfers: everything the host does per transfer (driver, queue, conversion,
 *                    consumer) plus the fake's copy and one event-loop turn per transfer, like a real
 *                    completion callback
 * per_transfer_us    (time per transfer) - (conversion time of its bytes): the fixed cost per transfer
 * The USB wire, the kernel and nusb's thread hop are not in these numbers (see docs/radios-usb.md).
 */
import { ci8ToCf32, cu8ToCf32 } from '../channel/iqformat.js';
import { FakeHackRf } from './fakes/hackrf-fake.js';
import { HackRfDevice } from './hackrf.js';

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
  const dev = new HackRfDevice(fake, { transferBytes });
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
