/** `dekag bench usb`: the command line of the USB drivers' benchmarks (src/radio/devices/hackrf-bench.ts). */
import { benchHackRfSustained, benchUsbDrivers, type SustainedResult, type UsbBenchResult } from '../radio/devices/hackrf-bench.js';
import { UsageError } from '../util/errors.js';
import { parse } from './options.js';

/**
 * `dekag bench usb [--seconds S] [--in-flight N] [--latency-ms MS] [--clock virtual|real] [--quick] [--json]`:
 * host-side costs of the USB drivers against the fake devices, then HackRF RX and TX sustained at 20 Msps
 * through the fake's streaming model, with N transfers in flight and with 1.
 */
export async function runUsbBench(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    json: { type: 'boolean' },
    quick: { type: 'boolean' },
    seconds: { type: 'string' },
    'in-flight': { type: 'string' },
    'latency-ms': { type: 'string' },
    'transfer-bytes': { type: 'string' },
    rate: { type: 'string' },
    clock: { type: 'string' },
  });
  const num = (name: string, dflt: number, ok: (x: number) => boolean, what: string): number => {
    const v = values[name];
    if (v === undefined) return dflt;
    const x = Number(v);
    if (typeof v !== 'string' || !Number.isFinite(x) || !ok(x)) throw new UsageError(`--${name} must be ${what}, got '${String(v)}'`);
    return x;
  };
  const quick = values['quick'] === true;
  const seconds = num('seconds', quick ? 3 : 30, (x) => x > 0 && x <= 3600, 'seconds of radio time, 0 < S <= 3600');
  const inFlight = num('in-flight', 4, (x) => Number.isInteger(x) && x >= 1 && x <= 64, 'an integer 1..64');
  const latencyMs = num('latency-ms', 1, (x) => x >= 0 && x <= 1000, 'milliseconds, 0..1000');
  const transferBytes = num('transfer-bytes', 262144, (x) => Number.isInteger(x) && x >= 512 && x % 512 === 0, 'a positive multiple of 512');
  const rateHz = num('rate', 20e6, (x) => x >= 2e6 && x <= 20e6, 'a sample rate 2e6..20e6');
  const clock = values['clock'] ?? 'virtual';
  if (clock !== 'virtual' && clock !== 'real') throw new UsageError(`--clock must be virtual or real, got '${String(clock)}'`);
  const host: UsbBenchResult = await benchUsbDrivers(quick ? 0.2 : 0.6);
  const sustained: SustainedResult[] = [];
  for (const direction of ['rx', 'tx'] as const) {
    for (const n of inFlight === 1 ? [1] : [inFlight, 1]) {
      sustained.push(await benchHackRfSustained({ direction, transfersInFlight: n, seconds, latencyMs, transferBytes, sampleRateHz: rateHz, clock }));
    }
  }
  if (values['json'] === true) {
    process.stdout.write(JSON.stringify({ ...host, sustained }) + '\n');
    return 0;
  }
  process.stdout.write(`ci8 -> cf32: ${host.ci8_to_cf32_msps.toFixed(0)} Msps (one core)\n`);
  process.stdout.write(`cu8 -> cf32: ${host.cu8_to_cf32_msps.toFixed(0)} Msps (one core)\n`);
  for (const x of host.rx) {
    process.stdout.write(`HackRF RX via fake, unpaced, ${x.transfer_kib} KiB transfers, 1 in flight: ${x.msps.toFixed(1)} Msps, ${x.per_transfer_us.toFixed(0)} us fixed cost per transfer (${x.transfers} transfers)\n`);
  }
  for (const r of sustained) {
    process.stdout.write(
      `HackRF ${r.direction.toUpperCase()} sustained, ${r.rate_msps} Msps, ${r.transfer_bytes} B transfers, ${r.latency_ms} ms latency, ` +
        `${r.transfers_in_flight} in flight (asked ${r.transfers_in_flight_requested}): ${r.msps.toFixed(2)} Msps over ${r.seconds.toFixed(1)} s (${r.clock} time), ` +
        `${r.dropped_transfers} dropped transfers, ${r.lost_samples} samples lost, ${r.pattern_errors} pattern errors; host ${r.host_msps_per_cpu_s.toFixed(0)} Msps per CPU-s\n`,
    );
  }
  return 0;
}
