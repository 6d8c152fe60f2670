/**
 * Opening the radio a role names on its command line:
 *   loopback              TX -> channel simulator -> RX in this process (full duplex; the default)
 *   rtl_tcp:HOST:PORT     an rtl_tcp server, RX only: how the user reaches an edge's loopback in another
 *                         process (`dekag edge --radio loopback --serve-rx PORT`), or a real rtl_tcp dongle
 *   anything else         through the device registry (hackrf[:SERIAL], rtlsdr[:N], pluto:HOST, sigmf:PATH),
 *                         then configured to the session's frequency and rate
 * An unknown name fails with the list of names that work. The names come from the registered drivers'
 * descriptors (registry.ts), so the driver modules are loaded when this module is.
 */
import { UsageError } from '../util/errors.js';
import { loadDriverModules, openDevice, parseDeviceId, radioNamesHelp, registeredDrivers } from '../radio/devices/registry.js';
import { LoopbackDevice, type LoopbackChannel } from '../radio/devices/loopback.js';
import { RtlTcpClient, parseHostPort } from '../radio/devices/rtl-tcp-client.js';
import type { SdrDevice } from '../radio/devices/types.js';

export { radioNamesHelp };

await loadDriverModules();

/** The radio names for help texts, from the drivers registered when this module loaded (`radioNamesHelp()` is live). */
export const RADIO_NAMES_HELP = radioNamesHelp();

export interface OpenRadioOptions {
  sampleRateHz?: number;
  freqHz?: number;
  /** Loopback only. */
  channel?: LoopbackChannel;
  seed?: number;
  pace?: 'realtime' | 'full-speed';
  /** Loopback only: digital RX gain (backoff for an 8-bit rtl_tcp stream). */
  rxGainDb?: number;
}

/** Opens (and configures) the named radio. */
export async function openRadio(name: string, opts: OpenRadioOptions = {}): Promise<SdrDevice> {
  const sampleRateHz = opts.sampleRateHz ?? 1e6;
  const freqHz = opts.freqHz ?? 2.4e9;
  if (name === 'loopback') {
    const dev = new LoopbackDevice({
      channel: opts.channel ?? { snrDb: 20 },
      seed: opts.seed ?? 1,
      pace: opts.pace ?? 'realtime',
      config: { sampleRateHz, freqHz, gainsDb: { rx: opts.rxGainDb ?? 0 } },
    });
    await dev.open();
    return dev;
  }
  if (name.startsWith('rtl_tcp:')) {
    const { host, port } = parseHostPort(name.slice('rtl_tcp:'.length));
    const dev = new RtlTcpClient(host, port, { sampleRateHz, freqHz: Math.min(freqHz, 1.7e9) });
    await dev.open();
    return dev;
  }
  await loadDriverModules();
  const driver = parseDeviceId(name).driver;
  if (!registeredDrivers().includes(driver)) {
    throw new UsageError(`unknown radio '${name}'; use ${radioNamesHelp()}, or one of the drivers ${registeredDrivers().join(', ')}`);
  }
  const dev = await openDevice(name);
  await dev.configure({ sampleRateHz, freqHz });
  return dev;
}
