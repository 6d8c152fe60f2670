/**
 * FAKE USB device: the base of our fake radios. It implements the WebUSB surface of `../webusb.ts` and
 * fails the way `usb` 3.x (node-usb-rs on nusb) fails, so drivers tested against it meet the same errors
 * as on real hardware:
 *  - a stalled control request rejects with "controlTransferOut error: endpoint stalled";
 *  - after unplug(), pending and later transfers reject with "transferIn error: Disconnected" (bulk) or
 *    "controlTransferIn error: device disconnected" (control);
 *  - a second bulk transfer on an endpoint that already has one in flight rejects with
 *    "transferIn error: endpoint not found" (nusb opens endpoints exclusively; `usb` hides the Busy error).
 *    `maxInFlightPerEndpoint` raises the limit to model a WebUSB that queues transfers (or a libusb-style
 *    backend), and `bulkStats` counts what the driver did: transfers submitted, refused, completed, the
 *    most in flight at once, and completions out of submission order (USB completes the transfers of one
 *    endpoint in the order they were submitted; a fake that broke that would be a fake bug).
 * Subclasses say what the device answers (`controlIn`, `controlOut`, `bulkIn`, `bulkOut`); they throw
 * `FakeStall` to refuse a request.
 */
import type { UsbBytes, UsbControlSetup, UsbInResult, UsbOutResult, WebUsbDevice } from '../webusb.js';
import { ownedDataView } from '../webusb.js';

/** Thrown by a fake's handler to refuse a request the way a device does (STALL), with the reason for the log. */
export class FakeStall extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FakeStall';
  }
}

export interface ControlRecord {
  direction: 'in' | 'out';
  requestType: string;
  recipient: string;
  request: number;
  value: number;
  index: number;
  /** IN: the length asked for. OUT: the payload length. */
  length: number;
  /** OUT payload (copied). */
  data: Uint8Array;
  /** Why the fake stalled it, when it did. */
  stalled?: string;
}

export interface FakeUsbIdentity {
  vendorId: number;
  productId: number;
  /** bcdDevice, e.g. 0x0107. */
  bcdDevice: number;
  manufacturerName?: string;
  productName?: string;
  serialNumber?: string;
  /** Configuration values the device has (default [1]). */
  configurations?: number[];
  /** Bulk endpoints by number, per direction. */
  inEndpoints: number[];
  outEndpoints: number[];
  maxInFlightPerEndpoint?: number;
}

interface Pending {
  reject: (e: Error) => void;
  what: 'transferIn' | 'transferOut';
}

/** What the driver did on one bulk endpoint (key `transferIn:1`, `transferOut:2`). */
export interface BulkEndpointStats {
  submitted: number;
  /** Refused because `maxInFlightPerEndpoint` transfers were already in flight. */
  refused: number;
  completed: number;
  failed: number;
  /** The most transfers in flight at once. */
  maxInFlight: number;
  /** Completions that came before an earlier-submitted transfer on the same endpoint completed (should stay 0). */
  outOfOrder: number;
}

function bytesOf(data: UsbBytes | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export abstract class FakeUsbDevice implements WebUsbDevice {
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName: string | null;
  readonly productName: string | null;
  readonly serialNumber: string | null;
  opened = false;
  configurationValue: number | undefined;
  readonly claimed = new Set<number>();
  unplugged = false;
  /** Every control transfer the driver issued, in order (stalled ones too). */
  readonly controlLog: ControlRecord[] = [];
  bulkInTransfers = 0;
  bulkOutTransfers = 0;
  private readonly configurations: number[];
  private readonly inEps: Set<number>;
  private readonly outEps: Set<number>;
  private readonly maxInFlight: number;
  private readonly inFlight = new Map<string, number>();
  /** Per endpoint: what the driver submitted and how it went. */
  readonly bulkStats = new Map<string, BulkEndpointStats>();
  /** Sequence numbers of the transfers in flight per endpoint, in submission order. */
  private readonly inFlightSeqs = new Map<string, number[]>();
  private readonly pending = new Set<Pending>();

  constructor(id: FakeUsbIdentity) {
    this.vendorId = id.vendorId;
    this.productId = id.productId;
    this.deviceVersionMajor = (id.bcdDevice >> 8) & 0xff;
    this.deviceVersionMinor = (id.bcdDevice >> 4) & 0xf;
    this.deviceVersionSubminor = id.bcdDevice & 0xf;
    this.manufacturerName = id.manufacturerName ?? null;
    this.productName = id.productName ?? null;
    this.serialNumber = id.serialNumber ?? null;
    this.configurations = id.configurations ?? [1];
    this.inEps = new Set(id.inEndpoints);
    this.outEps = new Set(id.outEndpoints);
    this.maxInFlight = id.maxInFlightPerEndpoint ?? 1;
  }

  /** Simulates pulling the plug: pending transfers fail now, later calls fail too. */
  unplug(): void {
    if (this.unplugged) return;
    this.unplugged = true;
    for (const p of [...this.pending]) p.reject(new Error(`${p.what} error: Disconnected`));
    this.pending.clear();
    this.onUnplug();
  }

  /** Bulk transfers submitted and not yet completed. */
  get pendingTransfers(): number {
    return this.pending.size;
  }

  /** Control transfers with a given request number (helper for tests). */
  controls(request?: number): ControlRecord[] {
    return request === undefined ? this.controlLog : this.controlLog.filter((c) => c.request === request);
  }

  async open(): Promise<void> {
    if (this.unplugged) throw new Error('open error: device disconnected');
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
    this.claimed.clear();
    this.configurationValue = undefined;
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.requireOpen('selectConfiguration');
    if (!this.configurations.includes(configurationValue)) throw new Error('selectConfiguration error: invalid configuration');
    this.configurationValue = configurationValue;
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.requireOpen('claimInterface');
    if (this.configurationValue === undefined) {
      // usb 3.x/nusb claim on the active configuration; devices come up configured (1) after enumeration.
      this.configurationValue = this.configurations[0];
    }
    if (interfaceNumber !== 0) throw new Error(`claimInterface error: interface ${interfaceNumber} not found`);
    this.claimed.add(interfaceNumber);
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.requireOpen('releaseInterface');
    if (!this.claimed.delete(interfaceNumber)) throw new Error('releaseInterface error: not claimed');
  }

  async controlTransferIn(setup: UsbControlSetup, length: number, _timeoutMs?: number): Promise<UsbInResult> {
    this.requireOpen('controlTransferIn');
    if (this.unplugged) throw new Error('controlTransferIn error: device disconnected');
    const rec: ControlRecord = { direction: 'in', ...setup, length, data: new Uint8Array(0) };
    this.controlLog.push(rec);
    try {
      const answer = this.controlIn(setup, length);
      return { data: ownedDataView(answer.subarray(0, length)), status: 'ok' };
    } catch (e) {
      if (e instanceof FakeStall) {
        rec.stalled = e.message;
        throw new Error('controlTransferIn error: endpoint stalled');
      }
      throw e;
    }
  }

  async controlTransferOut(setup: UsbControlSetup, data?: UsbBytes, _timeoutMs?: number): Promise<UsbOutResult> {
    this.requireOpen('controlTransferOut');
    if (this.unplugged) throw new Error('controlTransferOut error: device disconnected');
    const bytes = bytesOf(data).slice();
    const rec: ControlRecord = { direction: 'out', ...setup, length: bytes.length, data: bytes };
    this.controlLog.push(rec);
    try {
      this.controlOut(setup, bytes);
      return { bytesWritten: bytes.length, status: 'ok' };
    } catch (e) {
      if (e instanceof FakeStall) {
        rec.stalled = e.message;
        throw new Error('controlTransferOut error: endpoint stalled');
      }
      throw e;
    }
  }

  async transferIn(endpointNumber: number, length: number, timeoutMs = 1000): Promise<UsbInResult> {
    const data = await this.bulk('transferIn', endpointNumber, () => this.bulkIn(endpointNumber, length, timeoutMs));
    this.bulkInTransfers++;
    // usb 3.x hands out a fresh buffer per transfer, starting at offset 0 (webrtlsdr reads `.data.buffer`).
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    return { data: whole ? new DataView(data.buffer) : ownedDataView(data), status: 'ok' };
  }

  async transferOut(endpointNumber: number, data: UsbBytes, timeoutMs = 1000): Promise<UsbOutResult> {
    const bytes = bytesOf(data);
    const n = await this.bulk('transferOut', endpointNumber, () => this.bulkOut(endpointNumber, bytes, timeoutMs));
    this.bulkOutTransfers++;
    return { bytesWritten: n, status: 'ok' };
  }

  private async bulk<T>(what: 'transferIn' | 'transferOut', ep: number, run: () => Promise<T>): Promise<T> {
    this.requireOpen(what);
    if (this.unplugged) throw new Error(`${what} error: Disconnected`);
    const eps = what === 'transferIn' ? this.inEps : this.outEps;
    if (!this.claimed.has(0) || !eps.has(ep)) throw new Error(`${what} error: endpoint not found`);
    const key = `${what}:${ep}`;
    const st = this.endpointStats(key);
    const n = this.inFlight.get(key) ?? 0;
    if (n >= this.maxInFlight) {
      st.refused++;
      throw new Error(`${what} error: endpoint not found`);
    }
    this.inFlight.set(key, n + 1);
    st.submitted++;
    st.maxInFlight = Math.max(st.maxInFlight, n + 1);
    const seq = st.submitted;
    const seqs = this.inFlightSeqs.get(key) ?? [];
    this.inFlightSeqs.set(key, seqs);
    seqs.push(seq);
    let pending: Pending | undefined;
    let ok = false;
    try {
      const r = await new Promise<T>((resolve, reject) => {
        pending = { reject, what };
        this.pending.add(pending);
        run().then(resolve, (e: unknown) => {
          if (e instanceof FakeStall) reject(new Error(`${what} error: Stall`));
          else reject(e instanceof Error ? e : new Error(String(e)));
        });
      });
      ok = true;
      return r;
    } finally {
      if (pending) this.pending.delete(pending);
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
      const at = seqs.indexOf(seq);
      if (ok) {
        st.completed++;
        if (at > 0) st.outOfOrder++;
      } else {
        st.failed++;
      }
      seqs.splice(at, 1);
    }
  }

  private endpointStats(key: string): BulkEndpointStats {
    let st = this.bulkStats.get(key);
    if (!st) {
      st = { submitted: 0, refused: 0, completed: 0, failed: 0, maxInFlight: 0, outOfOrder: 0 };
      this.bulkStats.set(key, st);
    }
    return st;
  }

  private requireOpen(what: string): void {
    if (!this.opened) throw new Error(`${what} error: invalid state`);
  }

  protected onUnplug(): void {}
  /** The bytes the device answers to an IN control request (may be longer than asked; it is cut). */
  protected abstract controlIn(setup: UsbControlSetup, length: number): Uint8Array;
  protected abstract controlOut(setup: UsbControlSetup, data: Uint8Array): void;
  /** Bytes for a bulk IN transfer (a fresh array the caller may keep). */
  protected abstract bulkIn(endpointNumber: number, length: number, timeoutMs: number): Promise<Uint8Array>;
  /** Takes a bulk OUT transfer; returns bytes accepted. */
  protected abstract bulkOut(endpointNumber: number, data: Uint8Array, timeoutMs: number): Promise<number>;
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
