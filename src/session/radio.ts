/**
 * Opening the radio a role names on its command line, through the device registry like every radio:
 *   loopback              TX -> channel simulator -> RX in this process (full duplex; the default)
 *   rtl_tcp:HOST:PORT     an rtl_tcp server, RX only: how the user reaches an edge's loopback in another
 *                         process (`dekag edge --radio loopback --serve-rx PORT`), or a real rtl_tcp dongle
 *   hackrf[:SERIAL], rtlsdr[:N], pluto:HOST, sigmf:PATH, and any other registered driver
 * Each starts at the session's frequency and rate (`OpenDeviceOptions.config`); the loopback and rtl_tcp
 * get their own options besides. An unknown name fails with the list of names that work. The names come
 * from the registered drivers' descriptors (registry.ts), so the driver modules are loaded when this
 * module is.
 */
import { UsageError } from '../util/errors.js';
import { loadDriverModules, openDevice, parseDeviceId, radioNamesHelp, registeredDrivers } from '../radio/devices/registry.js';
import type { LoopbackChannel, SdrDevice } from '../radio/devices/types.js';

export { radioNamesHelp };

await loadDriverModules();

/** The radio names for help texts, from the drivers registered when this module loaded (`radioNamesHelp()` is live). */
export const RADIO_NAMES_HELP = radioNamesHelp();

/** rtl_tcp cannot say what its tuner covers; an RTL2832U with an R820T tunes up to about 1.7 GHz. */
const RTL_TCP_MAX_FREQ_HZ = 1.7e9;

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
  await loadDriverModules();
  const driver = parseDeviceId(name).driver;
  if (!registeredDrivers().includes(driver)) {
    throw new UsageError(`unknown radio '${name}'; use ${radioNamesHelp()}, or one of the drivers ${registeredDrivers().join(', ')}`);
  }
  return openDevice(name, {
    config: { sampleRateHz, freqHz },
    loopback: { channel: opts.channel ?? { snrDb: 20 }, seed: opts.seed ?? 1, pace: opts.pace ?? 'realtime', config: { gainsDb: { rx: opts.rxGainDb ?? 0 } } },
    rtlTcp: { freqHz: Math.min(freqHz, RTL_TCP_MAX_FREQ_HZ) },
  });
}
