/**
 * Which radios are there: the loopback always; USB radios by vendor/product id (the `usb` package, WebUSB
 * API); network radios the user configured (rtl_tcp servers, Plutos). Nothing here opens a radio.
 *
 * A machine without a USB bus (a container: no /sys/bus/usb) is normal: `usb` 3.x then rejects
 * getDevices(), and discovery reports "no USB bus" among its problems and lists the rest.
 */
import type { DeviceDriver, DeviceInfo } from './types.js';

/** USB ids of the radios we drive (from each vendor's host library). */
export const USB_RADIOS: ReadonlyArray<{ vendorId: number; productId: number; driver: DeviceDriver; name: string }> = [
  { vendorId: 0x1d50, productId: 0x6089, driver: 'hackrf', name: 'HackRF One' },
  { vendorId: 0x0bda, productId: 0x2838, driver: 'rtlsdr', name: 'RTL-SDR (RTL2838)' },
  { vendorId: 0x0bda, productId: 0x2832, driver: 'rtlsdr', name: 'RTL-SDR (RTL2832U)' },
  { vendorId: 0x0456, productId: 0xb673, driver: 'pluto', name: 'ADALM-Pluto (USB)' },
];

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

/** DeviceInfo of a USB device, or undefined when it is not a radio we know. `index` numbers RTL-SDRs. */
export function usbRadioInfo(d: UsbDeviceLike, index: number): DeviceInfo | undefined {
  const known = USB_RADIOS.find((r) => r.vendorId === d.vendorId && r.productId === d.productId);
  if (!known) return undefined;
  const serial = d.serialNumber || undefined;
  // RTL-SDR dongles often share one serial ("00000001"), so they are addressed by index like librtlsdr does.
  const id = known.driver === 'rtlsdr' ? `rtlsdr:${index}` : serial ? `${known.driver}:${serial}` : known.driver;
  const label = `${d.productName || known.name}${serial ? ` (serial ${serial})` : ''}`;
  const info: DeviceInfo = { id, driver: known.driver, label, usb: { vendorId: d.vendorId, productId: d.productId } };
  if (serial) info.serial = serial;
  return info;
}

export async function listUsbRadios(usb?: UsbLike): Promise<DiscoveryResult> {
  let devices: UsbDeviceLike[];
  try {
    devices = await (usb ?? (await systemUsb())).getDevices();
  } catch (e) {
    return { devices: [], problems: [`no USB bus (${(e as Error).message}); USB radios cannot be listed here`] };
  }
  const out: DeviceInfo[] = [];
  let rtl = 0;
  for (const d of devices) {
    const info = usbRadioInfo(d, rtl);
    if (!info) continue;
    if (info.driver === 'rtlsdr') rtl++;
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
