/**
 * FAKE HackRF One at the USB boundary, for tests and benchmarks of the HackRF driver.
 *
 * It checks every control transfer against the documented protocol (request number, direction,
 * vendor/device type, wValue/wIndex encodings, payload layout and length; table in
 * shared/design/radio-protocols.md, from libhackrf hackrf.c and the firmware's request handlers) and
 * stalls anything else, as the firmware does. It is written from the protocol table, not from the
 * driver, so a driver bug shows up as a stall.
 *
 * RX: in mode 1 it streams a deterministic complex tone as ci8 on bulk IN 1 (0x81): sample n is
 * (round(A cos 2πmn/1024), round(A sin 2πmn/1024)) with `toneBin` m and `amplitude` A, counted from the
 * start of the stream. With `paced`, it delivers at the configured sample rate (2 bytes per sample).
 * TX: in mode 2 it records every byte written on bulk OUT 2 (0x02).
 */
import type { UsbControlSetup } from '../webusb.js';
import { FakeStall, FakeUsbDevice, sleepMs } from './webusb-fake.js';

export const FAKE_TONE_PERIOD = 1024;

/** The protocol's bandwidth table (MAX2837), for validating request 7. */
const MAX2837_TABLE = new Set([
  1750000, 2500000, 3500000, 5000000, 5500000, 6000000, 7000000, 8000000, 9000000, 10000000, 12000000, 14000000,
  15000000, 20000000, 24000000, 28000000,
]);

export interface FakeHackRfOptions {
  /** 4 words of the serial number (default 0, 0, 0x12345678, 0x9abcdef0). */
  serialWords?: [number, number, number, number];
  partId?: [number, number];
  /** 2 = HackRF One. */
  boardId?: number;
  version?: string;
  /** USB API version reported as bcdDevice (default 0x0106: no GET_BUFFER_SIZE). */
  apiVersion?: number;
  toneBin?: number;
  amplitude?: number;
  /** Deliver RX bytes no faster than the configured sample rate. */
  paced?: boolean;
  maxInFlightPerEndpoint?: number;
  /** Keep TX bytes (default true; benchmarks turn it off). */
  recordTx?: boolean;
}

/** The ci8 bytes of the fake's tone for samples [start, start + count). Independent of the fake's fast path. */
export function fakeToneCi8(start: number, count: number, toneBin = 64, amplitude = 100): Int8Array {
  const out = new Int8Array(count * 2);
  for (let k = 0; k < count; k++) {
    const ph = (2 * Math.PI * toneBin * ((start + k) % FAKE_TONE_PERIOD)) / FAKE_TONE_PERIOD;
    out[2 * k] = Math.round(amplitude * Math.cos(ph));
    out[2 * k + 1] = Math.round(amplitude * Math.sin(ph));
  }
  return out;
}

export class FakeHackRf extends FakeUsbDevice {
  /** Decoded state, as the firmware would hold it. */
  mode = 0;
  freqHz: number | undefined;
  sampleRate: { freqHz: number; divider: number } | undefined;
  filterBandwidthHz: number | undefined;
  lnaGainDb: number | undefined;
  vgaGainDb: number | undefined;
  txVgaGainDb: number | undefined;
  ampEnabled: boolean | undefined;
  antennaPower: boolean | undefined;
  /** Every mode set, in order. */
  readonly modeLog: number[] = [];
  /** Bulk transfers that were pending at each mode change (0 = the host waited for its last transfer). */
  readonly pendingAtModeChange: number[] = [];
  /** TX bytes received in mode 2, concatenated on demand. */
  private readonly txParts: Uint8Array[] = [];
  txBytes = 0;
  /** Samples streamed since the last switch into RX. */
  rxSamples = 0;
  private readonly opts: Required<Omit<FakeHackRfOptions, 'serialWords' | 'partId'>> & { serialWords: number[]; partId: number[] };
  private readonly toneTable: Uint8Array;
  private pacedStartMs = 0;

  constructor(options: FakeHackRfOptions = {}) {
    const serialWords = options.serialWords ?? [0, 0, 0x12345678, 0x9abcdef0];
    super({
      vendorId: 0x1d50,
      productId: 0x6089,
      bcdDevice: options.apiVersion ?? 0x0106,
      manufacturerName: 'Great Scott Gadgets',
      productName: 'HackRF One',
      serialNumber: serialWords.map((w) => w.toString(16).padStart(8, '0')).join(''),
      inEndpoints: [1],
      outEndpoints: [2],
      maxInFlightPerEndpoint: options.maxInFlightPerEndpoint ?? 1,
    });
    this.opts = {
      boardId: options.boardId ?? 2,
      version: options.version ?? '2024.02.1',
      apiVersion: options.apiVersion ?? 0x0106,
      toneBin: options.toneBin ?? 64,
      amplitude: options.amplitude ?? 100,
      paced: options.paced ?? false,
      maxInFlightPerEndpoint: options.maxInFlightPerEndpoint ?? 1,
      recordTx: options.recordTx ?? true,
      serialWords,
      partId: options.partId ?? [0xa000cb3c, 0x00574f4a],
    };
    this.toneTable = new Uint8Array(fakeToneCi8(0, FAKE_TONE_PERIOD, this.opts.toneBin, this.opts.amplitude).buffer);
  }

  /** Everything transmitted, as ci8. */
  transmitted(): Int8Array {
    const out = new Int8Array(this.txBytes);
    let o = 0;
    for (const p of this.txParts) {
      out.set(new Int8Array(p.buffer, p.byteOffset, p.length), o);
      o += p.length;
    }
    return out;
  }

  get sampleRateHz(): number | undefined {
    return this.sampleRate ? this.sampleRate.freqHz / this.sampleRate.divider : undefined;
  }

  private checkVendor(setup: UsbControlSetup): void {
    if (setup.requestType !== 'vendor' || setup.recipient !== 'device') {
      throw new FakeStall(`request ${setup.request}: expected a vendor request to the device, got ${setup.requestType}/${setup.recipient}`);
    }
  }

  protected controlOut(setup: UsbControlSetup, data: Uint8Array): void {
    this.checkVendor(setup);
    const { request, value, index } = setup;
    const noData = (): void => {
      if (data.length !== 0) throw new FakeStall(`request ${request} takes no data stage, got ${data.length} bytes`);
    };
    const zeroIndex = (): void => {
      if (index !== 0) throw new FakeStall(`request ${request}: wIndex must be 0, got ${index}`);
    };
    switch (request) {
      case 1: // set_transceiver_mode
        noData();
        zeroIndex();
        if (value > 5) throw new FakeStall(`set_transceiver_mode: unknown mode ${value}`);
        if (this.mode !== value && value === 1) {
          this.rxSamples = 0;
          this.pacedStartMs = performance.now();
        }
        this.mode = value;
        this.modeLog.push(value);
        this.pendingAtModeChange.push(this.pendingTransfers);
        return;
      case 6: { // set_sample_rate_manual {u32 freq_hz, u32 divider}
        zeroIndex();
        if (value !== 0) throw new FakeStall(`set_sample_rate_manual: wValue must be 0, got ${value}`);
        if (data.length !== 8) throw new FakeStall(`set_sample_rate_manual: payload must be 8 bytes, got ${data.length}`);
        const dv = new DataView(data.buffer, data.byteOffset, 8);
        const freqHz = dv.getUint32(0, true);
        const divider = dv.getUint32(4, true);
        if (divider < 1 || divider > 31) throw new FakeStall(`set_sample_rate_manual: divider ${divider} outside 1..31`);
        if (freqHz === 0) throw new FakeStall('set_sample_rate_manual: zero frequency');
        this.sampleRate = { freqHz, divider };
        return;
      }
      case 7: { // set_baseband_filter_bandwidth: wValue low 16 bits, wIndex high 16 bits
        noData();
        const bw = (value & 0xffff) | ((index & 0xffff) << 16);
        if (!MAX2837_TABLE.has(bw)) throw new FakeStall(`set_baseband_filter_bandwidth: ${bw} Hz is not a MAX2837 setting`);
        this.filterBandwidthHz = bw;
        return;
      }
      case 16: { // set_freq {u32 MHz, u32 Hz remainder}
        zeroIndex();
        if (value !== 0) throw new FakeStall(`set_freq: wValue must be 0, got ${value}`);
        if (data.length !== 8) throw new FakeStall(`set_freq: payload must be 8 bytes, got ${data.length}`);
        const dv = new DataView(data.buffer, data.byteOffset, 8);
        const mhz = dv.getUint32(0, true);
        const hz = dv.getUint32(4, true);
        if (hz >= 1_000_000) throw new FakeStall(`set_freq: Hz remainder ${hz} must be below 1000000`);
        if (mhz > 7250) throw new FakeStall(`set_freq: ${mhz} MHz is above the firmware's 7250 MHz`);
        this.freqHz = mhz * 1_000_000 + hz;
        return;
      }
      case 17: // amp_enable
        noData();
        zeroIndex();
        if (value > 1) throw new FakeStall(`amp_enable: wValue must be 0 or 1, got ${value}`);
        this.ampEnabled = value === 1;
        return;
      case 23: // antenna_enable
        noData();
        zeroIndex();
        if (value > 1) throw new FakeStall(`antenna_enable: wValue must be 0 or 1, got ${value}`);
        this.antennaPower = value === 1;
        return;
      default:
        throw new FakeStall(`OUT request ${request} is not a HackRF OUT request`);
    }
  }

  protected controlIn(setup: UsbControlSetup, length: number): Uint8Array {
    this.checkVendor(setup);
    const { request, value, index } = setup;
    const zeroValue = (): void => {
      if (value !== 0) throw new FakeStall(`request ${request}: wValue must be 0, got ${value}`);
    };
    const need = (n: number): void => {
      if (length < n) throw new FakeStall(`request ${request}: asks ${length} bytes, the answer has ${n}`);
    };
    switch (request) {
      case 14: // board_id_read
        zeroValue();
        need(1);
        return Uint8Array.of(this.opts.boardId);
      case 15: // version_string_read
        zeroValue();
        return new TextEncoder().encode(this.opts.version);
      case 18: { // board_partid_serialno_read: u32 part_id[2], u32 serial_no[4]
        zeroValue();
        need(24);
        const out = new Uint8Array(24);
        const dv = new DataView(out.buffer);
        this.opts.partId.forEach((w, i) => dv.setUint32(i * 4, w, true));
        this.opts.serialWords.forEach((w, i) => dv.setUint32(8 + i * 4, w, true));
        return out;
      }
      case 19: // set_lna_gain: value in wIndex; firmware answers 1 when it took it
        zeroValue();
        need(1);
        if (index <= 40 && index % 8 === 0) {
          this.lnaGainDb = index;
          return Uint8Array.of(1);
        }
        return Uint8Array.of(0);
      case 20: // set_vga_gain
        zeroValue();
        need(1);
        if (index <= 62 && index % 2 === 0) {
          this.vgaGainDb = index;
          return Uint8Array.of(1);
        }
        return Uint8Array.of(0);
      case 21: // set_txvga_gain
        zeroValue();
        need(1);
        if (index <= 47) {
          this.txVgaGainDb = index;
          return Uint8Array.of(1);
        }
        return Uint8Array.of(0);
      case 61: { // get_buffer_size (API >= 0x0112)
        if (this.opts.apiVersion < 0x0112) throw new FakeStall(`get_buffer_size needs API 0x0112, this firmware is 0x${this.opts.apiVersion.toString(16)}`);
        zeroValue();
        need(4);
        const out = new Uint8Array(4);
        new DataView(out.buffer).setUint32(0, 262144, true);
        return out;
      }
      default:
        throw new FakeStall(`IN request ${request} is not a HackRF IN request`);
    }
  }

  protected async bulkIn(_ep: number, length: number, timeoutMs: number): Promise<Uint8Array> {
    if (this.mode !== 1) {
      // Not streaming: the device sends nothing and the host's transfer times out.
      await sleepMs(Math.min(timeoutMs, 50));
      throw new Error('transferIn error: Cancelled');
    }
    const samples = length >> 1;
    if (this.opts.paced && this.sampleRateHz) {
      const dueMs = this.pacedStartMs + ((this.rxSamples + samples) / this.sampleRateHz) * 1000;
      const wait = dueMs - performance.now();
      if (wait > 0) await sleepMs(wait);
      if (this.unplugged) throw new Error('transferIn error: Disconnected');
    } else {
      // A real completion arrives as a new event-loop task; resolving in a microtask would starve timers.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const out = new Uint8Array(samples * 2);
    // Copy the tone table from the right phase: fast enough that the fake is not what a benchmark measures.
    const period = FAKE_TONE_PERIOD * 2;
    let pos = (this.rxSamples % FAKE_TONE_PERIOD) * 2;
    let o = 0;
    while (o < out.length) {
      const n = Math.min(period - pos, out.length - o);
      out.set(this.toneTable.subarray(pos, pos + n), o);
      o += n;
      pos = 0;
    }
    this.rxSamples += samples;
    return out;
  }

  protected async bulkOut(_ep: number, data: Uint8Array): Promise<number> {
    if (this.mode !== 2) throw new FakeStall(`bulk OUT while not in TX mode (mode ${this.mode})`);
    if (this.opts.recordTx) this.txParts.push(data.slice());
    this.txBytes += data.length;
    return data.length;
  }
}
