/** `dekag bench usb`: the command line of the USB drivers' micro-benchmark (src/radio/devices/hackrf-bench.ts). */
import { benchUsbDrivers } from '../radio/devices/hackrf-bench.js';
import { parse } from './options.js';

/** `dekag bench usb [--json]`: host-side costs of the USB drivers, measured against the fake devices. */
export async function runUsbBench(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' } });
  const r = await benchUsbDrivers();
  if (values['json'] === true) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  }
  process.stdout.write(`ci8 -> cf32: ${r.ci8_to_cf32_msps.toFixed(0)} Msps (one core)\n`);
  process.stdout.write(`cu8 -> cf32: ${r.cu8_to_cf32_msps.toFixed(0)} Msps (one core)\n`);
  for (const x of r.rx) {
    process.stdout.write(`HackRF RX via fake, ${x.transfer_kib} KiB transfers, 1 in flight: ${x.msps.toFixed(1)} Msps, ${x.per_transfer_us.toFixed(0)} us fixed cost per transfer (${x.transfers} transfers)\n`);
  }
  return 0;
}
