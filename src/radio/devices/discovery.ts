/**
 * Which radios are there: the loopback always; USB radios by vendor/product id (the `usb` package, WebUSB
 * API); network radios the user configured (rtl_tcp servers, Plutos). Nothing here opens a radio.
 * Which USB ids are radios comes from the drivers' descriptors (registry.ts: `RadioDescriptor.usb`), so
 * the driver modules are loaded first.
 *
 * A machine without a USB bus (a container: no /sys/bus/usb) is normal: `usb` 3.x then rejects
 * getDevices(), and discovery reports "no USB bus" among its problems and lists the rest.
 */
import { loadDriverModules, usbModels } from './registry.js';
import type { DeviceInfo } from './types.js';

/** USB ids of the radios we drive, from the registered drivers' descriptors (ids that are no radio left out). */
export function usbRadios(): Array<{ vendorId: number; productId: number; driver: string; name: string }> {
  return usbModels()
    .filter((m) => m.listed !== false)
    .map((m) => ({ vendorId: m.vendorId, productId: m.productId, driver: m.driver, name: m.model }));
}

export interface NetworkRadioConfig {
  driver: 'rtl_tcp' | 'pluto';
  host: string;
  port?: number;
  label?: string;
}

export interface DiscoveryConfig {
  network?: NetworkRadioConfig[];
}

/** The slice of a WebUSB device discovery reads (the `usb` package's USBDevice has these). */
export interface UsbDeviceLike {
  vendorId: number;
  productId: number;
  serialNumber?: string | undefined;
  productName?: string | undefined;
}

/** The slice of the WebUSB object discovery uses; tests pass a fake here. */
export interface UsbLike {
  getDevices(): Promise<UsbDeviceLike[]>;
  addEventListener?(type: 'connect' | 'disconnect', listener: (ev: { device: UsbDeviceLike }) => void): void;
  removeEventListener?(type: 'connect' | 'disconnect', listener: (ev: { device: UsbDeviceLike }) => void): void;
}

export interface DiscoveryResult {
  devices: DeviceInfo[];
  /** Things that limited the search, e.g. "no USB bus (...)"; not errors. */
  problems: string[];
}

export const LOOPBACK_INFO: DeviceInfo = Object.freeze({ id: 'loopback', driver: 'loopback', label: 'Loopback (TX -> channel simulator -> RX)' }) as DeviceInfo;

let usbPromise: Promise<UsbLike> | undefined;

/** The `usb` package's WebUSB object allowing every device (we filter by id ourselves). */
export async function systemUsb(): Promise<UsbLike> {
  usbPromise ??= import('usb').then((m) => new m.WebUSB({ allowAllDevices: true }) as unknown as UsbLike);
  return usbPromise;
}

/**
 * DeviceInfo of a USB device, or undefined when it is not a radio a registered driver knows. `index`
 * numbers the radios of drivers addressed by index (RTL-SDR).
 */
export function usbRadioInfo(d: UsbDeviceLike, index: number): DeviceInfo | undefined {
  const known = usbModels().find((r) => r.vendorId === d.vendorId && r.productId === d.productId && r.listed !== false);
  if (!known) return undefined;
  const serial = d.serialNumber || undefined;
  // RTL-SDR dongles often share one serial ("00000001"), so they are addressed by index like librtlsdr does.
  const id =
    known.usbIdBy === 'index' ? `${known.driver}:${index}` : known.usbIdBy === 'serial' && serial ? `${known.driver}:${serial}` : known.driver;
  const label = `${d.productName || known.model}${serial ? ` (serial ${serial})` : ''}`;
  const info: DeviceInfo = { id, driver: known.driver, label, usb: { vendorId: d.vendorId, productId: d.productId } };
  if (serial) info.serial = serial;
  return info;
}

export async function listUsbRadios(usb?: UsbLike): Promise<DiscoveryResult> {
  await loadDriverModules(); // a driver module that fails to load is reported by whoever asks for it (dekag devices)
  let devices: UsbDeviceLike[];
  try {
    devices = await (usb ?? (await systemUsb())).getDevices();
  } catch (e) {
    return { devices: [], problems: [`no USB bus (${(e as Error).message}); USB radios cannot be listed here`] };
  }
  const out: DeviceInfo[] = [];
  const counts = new Map<string, number>();
  for (const d of devices) {
    const n = usbModels().find((r) => r.vendorId === d.vendorId && r.productId === d.productId)?.driver;
    const info = usbRadioInfo(d, n === undefined ? 0 : (counts.get(n) ?? 0));
    if (!info) continue;
    counts.set(info.driver, (counts.get(info.driver) ?? 0) + 1);
    out.push(info);
  }
  return { devices: out, problems: [] };
}

export function networkRadios(config: DiscoveryConfig = {}): DeviceInfo[] {
  return (config.network ?? []).map((n) => {
    if (n.driver === 'rtl_tcp') {
      const address = `${n.host}:${n.port ?? 1234}`;
      return { id: `rtl_tcp:${address}`, driver: 'rtl_tcp', label: n.label ?? `rtl_tcp server at ${address}`, address };
    }
    const address = n.port ? `${n.host}:${n.port}` : n.host;
    return { id: `pluto:${address}`, driver: 'pluto', label: n.label ?? `ADALM-Pluto at ${address}`, address };
  });
}

/** Every radio: loopback, USB radios, configured network radios. */
export async function discoverDevices(config: DiscoveryConfig = {}, usb?: UsbLike): Promise<DiscoveryResult> {
  const fromUsb = await listUsbRadios(usb);
  return { devices: [LOOPBACK_INFO, ...fromUsb.devices, ...networkRadios(config)], problems: fromUsb.problems };
}

/**
 * Hotplug: calls `onChange` with 'connect' or 'disconnect' and the radio when a known USB radio comes or
 * goes. Returns a function that stops watching, or undefined (with the reason in `problems`) when this
 * machine has no USB events.
 */
export async function watchUsbRadios(
  onChange: (kind: 'connect' | 'disconnect', info: DeviceInfo) => void,
  usb?: UsbLike,
): Promise<{ stop: () => void } | { stop: undefined; problem: string }> {
  let u: UsbLike;
  try {
    await loadDriverModules();
    u = usb ?? (await systemUsb());
    // Without a USB bus the `usb` package's event watcher fails in the background (an unhandled
    // rejection): ask for the device list first, which fails here instead.
    await u.getDevices();
  } catch (e) {
    return { stop: undefined, problem: `no USB bus, so no USB hotplug events (${(e as Error).message})` };
  }
  if (!u.addEventListener || !u.removeEventListener) return { stop: undefined, problem: 'USB hotplug unavailable: no connect/disconnect events' };
  const make = (kind: 'connect' | 'disconnect') => (ev: { device: UsbDeviceLike }) => {
    const info = usbRadioInfo(ev.device, 0);
    if (info) onChange(kind, info);
  };
  const onConnect = make('connect');
  const onDisconnect = make('disconnect');
  try {
    u.addEventListener('connect', onConnect);
    u.addEventListener('disconnect', onDisconnect);
  } catch (e) {
    return { stop: undefined, problem: `USB hotplug unavailable: ${(e as Error).message}` };
  }
  return {
    stop: () => {
      u.removeEventListener!('connect', onConnect);
      u.removeEventListener!('disconnect', onDisconnect);
    },
  };
}
