/**
 * Opening a radio by its id string, and the plug-in point for drivers written elsewhere.
 *
 *   loopback              the channel-simulator radio (the default)
 *   rtl_tcp:HOST[:PORT]   an rtl_tcp server (ours or rtl_tcp on a dongle's machine)
 *   sigmf:PATH            a SigMF recording, replayed as a receive-only radio
 *   hackrf[:SERIAL]       a HackRF over USB              } drivers registered with
 *   rtlsdr[:INDEX]        an RTL-SDR dongle over USB     } registerDriver(name, factory)
 *   pluto:HOST            an ADALM-Pluto over iiod       } by their own modules
 *
 * The USB and Pluto drivers live in their own files and call `registerDriver` when imported, so this file
 * never has to change for them; asking for a driver nobody registered is a clear error, not a crash.
 */
import { LoopbackDevice, type LoopbackOptions } from './loopback.js';
import { RtlTcpClient, parseHostPort } from './rtl-tcp-client.js';
import { SigmfReplayDevice, type SigmfReplayDeviceOptions } from './sigmf-replay.js';
import { DeviceConfigError, type DeviceInfo, type SdrDevice } from './types.js';

export interface DeviceSpec {
  /** The id as given, e.g. `hackrf:0000000000001234`. */
  id: string;
  /** The part before the first ':' (`hackrf`). */
  driver: string;
  /** The part after it (`0000000000001234`), if any. */
  arg: string | undefined;
}

export interface OpenDeviceOptions {
  loopback?: LoopbackOptions;
  sigmf?: SigmfReplayDeviceOptions;
  /** Passed to registered drivers as they are. */
  driverOptions?: Record<string, unknown>;
  /** What discovery said about the radio, when the caller has it. */
  info?: DeviceInfo;
}

/** Makes an unopened device for `spec`; throw DeviceConfigError for a bad argument. */
export type DriverFactory = (spec: DeviceSpec, options: OpenDeviceOptions) => SdrDevice | Promise<SdrDevice>;

const drivers = new Map<string, DriverFactory>();

/** What each driver's id looks like, for error messages. */
const USAGE: Record<string, string> = {
  loopback: 'loopback',
  rtl_tcp: 'rtl_tcp:HOST:PORT',
  sigmf: 'sigmf:PATH',
  hackrf: 'hackrf[:SERIAL]',
  rtlsdr: 'rtlsdr[:INDEX]',
  pluto: 'pluto:HOST',
};

/** Plug a driver in (its module calls this on import). Registering a name twice replaces the factory. */
export function registerDriver(name: string, factory: DriverFactory): void {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new DeviceConfigError(`driver name '${name}' must be lower-case letters, digits and '_'`);
  drivers.set(name, factory);
}

export function unregisterDriver(name: string): void {
  drivers.delete(name);
}

export function registeredDrivers(): string[] {
  return [...drivers.keys()].sort();
}

export function parseDeviceId(id: string): DeviceSpec {
  const s = id.trim();
  if (!s) throw new DeviceConfigError(`empty device id; use one of ${Object.values(USAGE).join(', ')}`);
  const i = s.indexOf(':');
  const driver = (i < 0 ? s : s.slice(0, i)).toLowerCase();
  const arg = i < 0 ? undefined : s.slice(i + 1);
  return { id: s, driver, arg: arg === '' ? undefined : arg };
}

registerDriver('loopback', (spec, o) => {
  if (spec.arg !== undefined) throw new DeviceConfigError(`'${spec.id}': the loopback takes no argument; use 'loopback'`);
  return new LoopbackDevice(o.loopback);
});

registerDriver('rtl_tcp', (spec) => {
  if (!spec.arg) throw new DeviceConfigError(`'${spec.id}' needs a server address: rtl_tcp:HOST:PORT, e.g. rtl_tcp:127.0.0.1:1234`);
  const { host, port } = parseHostPort(spec.arg);
  return new RtlTcpClient(host, port);
});

registerDriver('sigmf', (spec, o) => {
  if (!spec.arg) throw new DeviceConfigError(`'${spec.id}' needs a recording: sigmf:PATH (BASE, BASE.sigmf-meta or BASE.sigmf)`);
  return new SigmfReplayDevice(spec.arg, o.sigmf);
});

/** Makes the device for an id, not yet opened. */
export async function createDevice(id: string, options: OpenDeviceOptions = {}): Promise<SdrDevice> {
  const spec = parseDeviceId(id);
  const factory = drivers.get(spec.driver);
  if (!factory) {
    const known = USAGE[spec.driver];
    if (known) {
      throw new DeviceConfigError(
        `the '${spec.driver}' driver is not registered in this build (import its module, which calls registerDriver('${spec.driver}', ...)); ` +
          `registered: ${registeredDrivers().join(', ')}`,
      );
    }
    throw new DeviceConfigError(`unknown radio '${id}'; use one of ${Object.values(USAGE).join(', ')} (see 'dekag devices')`);
  }
  return factory(spec, options);
}

/** Makes and opens the device for an id. */
export async function openDevice(id: string, options: OpenDeviceOptions = {}): Promise<SdrDevice> {
  const dev = await createDevice(id, options);
  await dev.open();
  return dev;
}

/** Modules of drivers written elsewhere; each calls registerDriver when imported. */
const DRIVER_MODULES = ['./hackrf.js', './rtlsdr.js', './pluto.js'];

/**
 * Imports the USB and network driver modules that exist in this build, so their `registerDriver` calls
 * run. A module that is missing is skipped (its driver then reports "not registered"); any other failure
 * while loading one is returned, so a broken driver is visible rather than silently absent.
 */
export async function loadDriverModules(): Promise<string[]> {
  const problems: string[] = [];
  for (const m of DRIVER_MODULES) {
    try {
      await import(m);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(m.slice(2))) continue;
      problems.push(`driver module ${m} failed to load: ${(e as Error).message}`);
    }
  }
  return problems;
}
