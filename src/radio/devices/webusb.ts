/**
 * The part of WebUSB's `USBDevice` that our USB radio drivers use, typed here so that a real device from
 * the `usb` package (3.x: `usb.getDevices()` / `webusb.requestDevice()`, implemented on nusb) and our fakes
 * (`fakes/webusb-fake.ts`) are interchangeable. Keep it a strict subset of both: anything added here must
 * exist on `usb` 3.x's device object too.
 *
 * Facts about `usb` 3.1.0 that the drivers rely on (read from node-usb-rs src/webusb_device.rs and
 * dist/index.js):
 *  - Endpoints are addressed by *number* (1 for 0x81, 2 for 0x02), direction implied by the call.
 *  - Every method takes an extra, non-standard last argument: the timeout in ms (default 1000).
 *  - Failures reject the promise with a plain Error whose message names the call and nusb's error,
 *    e.g. "transferIn error: Disconnected", "transferIn error: Stall",
 *    "controlTransferOut error: endpoint stalled", "controlTransferIn error: device disconnected".
 *    The `status: 'stall'` result of the WebUSB spec never comes back from `usb` 3.x, but browsers use it,
 *    so the drivers treat both forms.
 *  - Each bulk transfer opens the endpoint exclusively for its duration (nusb `Interface::endpoint`):
 *    a second `transferIn` on the same endpoint while one is pending rejects with
 *    "transferIn error: endpoint not found". So `usb` 3.x allows one transfer in flight per endpoint.
 */
import { DeviceIoError } from './types.js';

export type UsbRequestType = 'standard' | 'class' | 'vendor';
export type UsbRecipient = 'device' | 'interface' | 'endpoint' | 'other';
export type UsbTransferStatus = 'ok' | 'stall' | 'babble';

export interface UsbControlSetup {
  requestType: UsbRequestType;
  recipient: UsbRecipient;
  request: number;
  value: number;
  index: number;
}

export interface UsbInResult {
  data?: DataView | undefined;
  status: UsbTransferStatus;
}

export interface UsbOutResult {
  bytesWritten: number;
  status: UsbTransferStatus;
}

/** Bytes a transfer may send: what WebUSB's BufferSource accepts. */
export type UsbBytes = ArrayBuffer | ArrayBufferView;

/** The subset of WebUSB `USBDevice` (plus `usb` 3.x's timeout argument) that the drivers use. */
export interface WebUsbDevice {
  readonly vendorId: number;
  readonly productId: number;
  /** bcdDevice split the WebUSB way: 0x0112 is major 1, minor 1, subminor 2. */
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName?: string | null | undefined;
  readonly productName?: string | null | undefined;
  readonly serialNumber?: string | null | undefined;
  readonly opened: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  controlTransferIn(setup: UsbControlSetup, length: number, timeoutMs?: number): Promise<UsbInResult>;
  controlTransferOut(setup: UsbControlSetup, data?: UsbBytes, timeoutMs?: number): Promise<UsbOutResult>;
  transferIn(endpointNumber: number, length: number, timeoutMs?: number): Promise<UsbInResult>;
  transferOut(endpointNumber: number, data: UsbBytes, timeoutMs?: number): Promise<UsbOutResult>;
  clearHalt?(direction: 'in' | 'out', endpointNumber: number): Promise<void>;
}

/** bcdDevice as one number (0x0112), rebuilt from WebUSB's three fields. */
export function bcdDevice(device: WebUsbDevice): number {
  return ((device.deviceVersionMajor & 0xff) << 8) | ((device.deviceVersionMinor & 0xf) << 4) | (device.deviceVersionSubminor & 0xf);
}

/**
 * Whether an error from a USB call means the device is no longer there. Matches `usb` 3.x (nusb's
 * Disconnected, ENODEV "device not found"/"no such device") and browsers' WebUSB ("NotFoundError",
 * "The device was disconnected").
 */
export function isDisconnectError(err: unknown): boolean {
  // Libraries wrap USB errors (webrtlsdr's RadioError keeps the USB error as `cause`): follow the chain.
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.name === 'NotFoundError') return true;
    if (/disconnected|no such device|device not found|device has been lost|LIBUSB_ERROR_NO_DEVICE/i.test(e.message)) return true;
  }
  return false;
}

/** A view of a transfer result's bytes without copying them. */
export function resultBytes(data: DataView | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** ArrayBuffer copy of `bytes`, for APIs that read `.buffer` from offset 0 (what `usb` 3.x returns). */
export function ownedDataView(bytes: Uint8Array): DataView {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new DataView(copy.buffer);
}

/** An error's message followed by its causes' ("setReg failed ...: controlTransferOut error: device disconnected"). */
export function errorChainMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}

/** Lists the machine's USB devices; replaceable so tests can put fakes on the "bus". */
export type UsbDeviceLister = () => Promise<WebUsbDevice[]>;

async function listSystemUsbDevices(): Promise<WebUsbDevice[]> {
  const m = await import('usb');
  const webusb = new m.WebUSB({ allowAllDevices: true });
  try {
    return (await webusb.getDevices()) as unknown as WebUsbDevice[];
  } catch (e) {
    // usb 3.x rejects on machines and containers without /sys/bus/usb.
    throw new UsbUnavailableError(`cannot list USB devices: ${errorChainMessage(e)} (no USB bus on this machine or container?)`);
  }
}

let lister: UsbDeviceLister = listSystemUsbDevices;

/** Replaces the USB device lister (tests); call with no argument to restore the real one. */
export function setUsbDeviceLister(fn?: UsbDeviceLister): void {
  lister = fn ?? listSystemUsbDevices;
}

export function listUsbDevices(): Promise<WebUsbDevice[]> {
  return lister();
}

/** There is no USB to talk to (no bus, no permission to enumerate). */
export class UsbUnavailableError extends DeviceIoError {}
