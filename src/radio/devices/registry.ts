/**
 * Opening a radio by its id string, and the one place a radio is described: each driver registers one
 * `RadioDescriptor` (name, usage line, USB ids with model names, capabilities, factory), and discovery,
 * the engine API's device list, the CLI help (`radioNamesHelp`) and the udev rules (tested against it)
 * follow from the descriptors.
 *
 *   loopback              the channel-simulator radio (the default)
 *   rtl_tcp:HOST[:PORT]   an rtl_tcp server (ours or rtl_tcp on a dongle's machine)
 *   sigmf:PATH            a SigMF recording, replayed as a receive-only radio
 *   hackrf[:SERIAL]       a HackRF over USB              } registered with registerRadio()
 *   rtlsdr[:INDEX]        an RTL-SDR dongle over USB     } by their own modules
 *   pluto:HOST            an ADALM-Pluto over iiod       } (DRIVER_MODULES)
 *
 * The USB and Pluto drivers live in their own files and call `registerRadio` when imported, so this file
 * never has to change for them; asking for a driver nobody registered is a clear error, not a crash.
 */
import { LOOPBACK_CAPABILITIES, LoopbackDevice, type LoopbackOptions } from './loopback.js';
import { RtlTcpClient, parseHostPort, type RtlTcpClientOptions } from './rtl-tcp-client.js';
import { SigmfReplayDevice, type SigmfReplayDeviceOptions } from './sigmf-replay.js';
import { DeviceConfigError, type DeviceCapabilities, type DeviceConfig, type DeviceInfo, type SdrDevice } from './types.js';

export interface DeviceSpec {
  /** The id as given, e.g. `hackrf:0000000000001234`. */
  id: string;
  /** The part before the first ':' (`hackrf`). */
  driver: string;
  /** The part after it (`0000000000001234`), if any. */
  arg: string | undefined;
}

export interface OpenDeviceOptions {
  /**
   * The configuration to start with, whatever the radio: drivers that start from one (`startsConfigured`:
   * loopback, rtl_tcp) are made with it, `openDevice` configures the others right after opening. A
   * driver's own options below win over it (`loopback.config`, `rtlTcp.freqHz`).
   */
  config?: Partial<DeviceConfig>;
  loopback?: LoopbackOptions;
  rtlTcp?: RtlTcpClientOptions;
  sigmf?: SigmfReplayDeviceOptions;
  /** Passed to registered drivers as they are. */
  driverOptions?: Record<string, unknown>;
  /** What discovery said about the radio, when the caller has it. */
  info?: DeviceInfo;
}

/** Makes an unopened device for `spec`; throw DeviceConfigError for a bad argument. */
export type DriverFactory = (spec: DeviceSpec, options: OpenDeviceOptions) => SdrDevice | Promise<SdrDevice>;

/** One USB vendor/product id a driver accepts, with the model it belongs to. */
export interface UsbModel {
  vendorId: number;
  productId: number;
  /** e.g. "HackRF One", "rad1o". */
  model: string;
  /** false: not a radio in this mode (e.g. a bootloader); udev still lets users open it, discovery does not list it. */
  listed?: boolean;
}

/** Everything the project knows about one radio driver; registered once by the driver's own file. */
export interface RadioDescriptor {
  /** Driver name: the id's prefix (`hackrf`), lower-case letters, digits and '_'. */
  name: string;
  /** What an id of this driver looks like, for help and error messages (`hackrf[:SERIAL]`). */
  usage: string;
  /** USB ids this driver opens (discovery lists them, the udev rules must grant them). */
  usb?: readonly UsbModel[];
  /**
   * How discovery names a USB radio of this driver: `serial` (`hackrf:SERIAL`, bare name without one),
   * `index` (`rtlsdr:0`, `rtlsdr:1`: dongles often share a serial), `bare` (`pluto`). Default `serial`.
   */
  usbIdBy?: 'serial' | 'index' | 'bare';
  /** The capabilities of this kind of radio when they do not depend on the unit (shown before opening). */
  capabilities?: DeviceCapabilities;
  /** The factory hands `options.config` to the device, which opens with it (no configure() after open()). */
  startsConfigured?: boolean;
  /** Makes an unopened device for an id of this driver. */
  factory: DriverFactory;
}

const descriptors = new Map<string, RadioDescriptor>();

/** Plug a radio in (its module calls this on import). Registering a name twice replaces the descriptor. */
export function registerRadio(descriptor: RadioDescriptor): void {
  const { name } = descriptor;
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new DeviceConfigError(`driver name '${name}' must be lower-case letters, digits and '_'`);
  descriptors.delete(name); // a replacement goes to the end, like a new registration
  descriptors.set(name, Object.freeze({ ...descriptor }));
}

/** Plug in a driver with only a factory (tests, quick experiments); `registerRadio` describes it fully. */
export function registerDriver(name: string, factory: DriverFactory): void {
  registerRadio({ name, usage: name, factory });
}

export function unregisterDriver(name: string): void {
  descriptors.delete(name);
}

/** The registered radios, in registration order (built-ins first). */
export function radioDescriptors(): RadioDescriptor[] {
  return [...descriptors.values()];
}

export function radioDescriptor(name: string): RadioDescriptor | undefined {
  return descriptors.get(name);
}

/** Every USB id a registered driver accepts, with its driver. */
export function usbModels(): Array<UsbModel & { driver: string; usbIdBy: 'serial' | 'index' | 'bare' }> {
  return radioDescriptors().flatMap((d) => (d.usb ?? []).map((u) => ({ ...u, driver: d.name, usbIdBy: d.usbIdBy ?? 'serial' })));
}

/** The usage lines of the registered radios, e.g. `'loopback', 'rtl_tcp:HOST:PORT', ... or 'pluto:HOST'`. */
export function radioNamesHelp(): string {
  const names = radioDescriptors().map((d) => `'${d.usage}'`);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : (names[0] ?? '');
}

export function registeredDrivers(): string[] {
  return [...descriptors.keys()].sort();
}

/** Usage lines of the registered drivers, then the names of built-in driver modules not loaded yet. */
function knownUsages(): string {
  const notLoaded = Object.keys(DRIVER_MODULES).filter((n) => !descriptors.has(n));
  return [...radioDescriptors().map((d) => d.usage), ...notLoaded].join(', ');
}

export function parseDeviceId(id: string): DeviceSpec {
  const s = id.trim();
  if (!s) throw new DeviceConfigError(`empty device id; use one of ${knownUsages()}`);
  const i = s.indexOf(':');
  const driver = (i < 0 ? s : s.slice(0, i)).toLowerCase();
  const arg = i < 0 ? undefined : s.slice(i + 1);
  return { id: s, driver, arg: arg === '' ? undefined : arg };
}

registerRadio({
  name: 'loopback',
  usage: 'loopback',
  capabilities: LOOPBACK_CAPABILITIES,
  startsConfigured: true,
  factory: (spec, o) => {
    if (spec.arg !== undefined) throw new DeviceConfigError(`'${spec.id}': the loopback takes no argument; use 'loopback'`);
    return new LoopbackDevice(o.config ? { ...o.loopback, config: { ...o.config, ...o.loopback?.config } } : o.loopback);
  },
});

registerRadio({
  name: 'rtl_tcp',
  usage: 'rtl_tcp:HOST:PORT',
  startsConfigured: true,
  factory: (spec, o) => {
    if (!spec.arg) throw new DeviceConfigError(`'${spec.id}' needs a server address: rtl_tcp:HOST:PORT, e.g. rtl_tcp:127.0.0.1:1234`);
    const { host, port } = parseHostPort(spec.arg);
    const { freqHz, sampleRateHz, ...rest } = o.config ?? {};
    if (Object.values(rest).some((v) => v !== undefined)) {
      throw new DeviceConfigError(`'${spec.id}' starts with a frequency and a sample rate only; set ${Object.keys(rest).join(', ')} with configure() once it is open`);
    }
    return new RtlTcpClient(host, port, { freqHz, sampleRateHz, ...o.rtlTcp });
  },
});

registerRadio({
  name: 'sigmf',
  usage: 'sigmf:PATH',
  factory: (spec, o) => {
    if (!spec.arg) throw new DeviceConfigError(`'${spec.id}' needs a recording: sigmf:PATH (BASE, BASE.sigmf-meta or BASE.sigmf)`);
    return new SigmfReplayDevice(spec.arg, o.sigmf);
  },
});

/** Makes the device for an id, not yet opened. */
export async function createDevice(id: string, options: OpenDeviceOptions = {}): Promise<SdrDevice> {
  const spec = parseDeviceId(id);
  const descriptor = descriptors.get(spec.driver);
  if (!descriptor) {
    if (spec.driver in DRIVER_MODULES) {
      throw new DeviceConfigError(
        `the '${spec.driver}' driver is not registered in this build (import its module, which calls registerRadio({ name: '${spec.driver}', ... })); ` +
          `registered: ${registeredDrivers().join(', ')}`,
      );
    }
    throw new DeviceConfigError(`unknown radio '${id}'; use one of ${knownUsages()} (see 'dekag devices')`);
  }
  return descriptor.factory(spec, options);
}

/** Makes and opens the device for an id, configured with `options.config`. */
export async function openDevice(id: string, options: OpenDeviceOptions = {}): Promise<SdrDevice> {
  const dev = await createDevice(id, options);
  await dev.open();
  if (options.config && !descriptors.get(parseDeviceId(id).driver)?.startsConfigured) {
    try {
      await dev.configure(options.config);
    } catch (e) {
      await dev.close().catch(() => undefined);
      throw e;
    }
  }
  return dev;
}

/**
 * The built-in drivers that live in their own modules (driver name -> module); each calls registerRadio
 * when imported. A new radio is one file plus its line here (see docs/radios.md).
 */
const DRIVER_MODULES: Record<string, string> = { hackrf: './hackrf.js', rtlsdr: './rtlsdr.js', pluto: './pluto.js' };

/**
 * Imports the USB and network driver modules that exist in this build, so their `registerDriver` calls
 * run. A module that is missing is skipped (its driver then reports "not registered"); any other failure
 * while loading one is returned, so a broken driver is visible rather than silently absent.
 */
export async function loadDriverModules(): Promise<string[]> {
  const problems: string[] = [];
  for (const m of Object.values(DRIVER_MODULES)) {
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
