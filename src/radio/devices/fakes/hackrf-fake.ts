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
 * With `pattern: 'counter'` it streams `fakeCounterCi8` instead: every sample says where it is in the
 * stream, so a consumer (`CounterStreamChecker`) sees any dropped, repeated or reordered data.
 * TX: in mode 2 it records every byte written on bulk OUT 2 (0x02).
 *
 * `stream` turns on the streaming model, a radio with a clock (fake-clock.ts: real or virtual time):
 *  - RX: the radio makes samples at the sample rate from the moment mode 1 is set. They go into the
 *    transfers the host has submitted, in submission order; while none is submitted they wait in the
 *    firmware's buffer (`fifoBytes`, 32 KiB like the firmware's `usb_bulk_buffer`), and what does not fit
 *    is lost: an overrun (`rxModel.overrunSamples`, `.overrunEvents`), as a gap in the counter pattern. A
 *    transfer completes `transferLatencyMs` after its last sample was made (USB, kernel and completion
 *    callback together).
 *  - TX: the radio plays samples at the sample rate; a submitted transfer's bytes queue behind earlier ones,
 *    and the transfer completes `transferLatencyMs` after its last byte entered the firmware buffer. When
 *    everything submitted has been played and the next transfer comes late, the radio played silence: an
 *    underrun (`txModel.underrunSamples`, `.underrunEvents`). `onTx` sees every transfer's bytes in
 *    submission order with its byte offset in the stream.
 * With one transfer in flight and 1 ms of latency the model loses samples at 20 Msps (32 KiB is 0.8 ms),
 * as the real radio would; with several in flight it does not.
 */
import type { UsbControlSetup } from '../webusb.js';
import type { FakeClock } from './fake-clock.js';
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
  /** RX data: the tone (default) or the position-stamped counter (`fakeCounterCi8`). */
  pattern?: 'tone' | 'counter';
  /** The streaming model (see the module comment); without it RX is unpaced (or `paced`) and TX instant. */
  stream?: FakeStreamModelOptions;
  /** Called with every TX transfer's bytes, in submission order, and the stream offset of its first byte. */
  onTx?: (data: Uint8Array, streamByteOffset: number) => void;
}

export interface FakeStreamModelOptions {
  clock: FakeClock;
  /** From the last sample of a transfer in the radio to its completion on the host (default 1 ms). */
  transferLatencyMs?: number;
  /** The firmware's sample buffer (default 32768 bytes). */
  fifoBytes?: number;
}

/** What the RX streaming model saw since the last switch into RX. */
export interface FakeRxModelStats {
  /** Samples the radio made and lost because no transfer was there to take them and its buffer was full. */
  overrunSamples: number;
  /** Separate overruns (runs of lost samples). */
  overrunEvents: number;
  /** Transfers that timed out before the radio filled them. */
  timedOut: number;
  /** When the first overrun began, in ms after RX started. */
  firstOverrunMs?: number;
}

export interface FakeTxModelStats {
  /** Samples of silence the radio played because the next transfer came late. */
  underrunSamples: number;
  underrunEvents: number;
  /** When the first underrun began, in ms after TX started. */
  firstUnderrunMs?: number;
  /** From the first sample played to the end of the last one submitted, ms (silence included). */
  playedMs: number;
}

/**
 * The counter pattern, as raw ci8 bytes (2 per sample): sample n carries the 16-bit value n mod 65536 (I the
 * low byte, Q the high byte), except the first two samples of each 65536-sample period, which carry the
 * period number (floor(n / 65536)) low and high 16 bits. A consumer that knows where a sample should be
 * checks it exactly; a stream shifted by any number of samples fails within one period.
 */
export function counterValue(n: number): number {
  const pos = n % 65536;
  if (pos > 1) return pos;
  const period = Math.floor(n / 65536);
  return pos === 0 ? period & 0xffff : Math.floor(period / 65536) & 0xffff;
}

/** The counter pattern's bytes for samples [start, start + count). */
export function fakeCounterCi8(start: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 2);
  writeCounter(out, 0, start, count);
  return out;
}

let counterTable: Uint8Array | undefined;

/** Writes the counter pattern of samples [start, start + count) at out[byteOffset...], a period at a time. */
function writeCounter(out: Uint8Array, byteOffset: number, start: number, count: number): void {
  if (!counterTable) {
    counterTable = new Uint8Array(65536 * 2);
    for (let p = 0; p < 65536; p++) {
      counterTable[2 * p] = p & 0xff;
      counterTable[2 * p + 1] = p >> 8;
    }
  }
  let n = start;
  let o = byteOffset;
  const end = start + count;
  while (n < end) {
    const pos = n % 65536;
    const k = Math.min(65536 - pos, end - n);
    out.set(counterTable.subarray(2 * pos, 2 * (pos + k)), o);
    for (const stamp of [0, 1]) {
      if (pos <= stamp && stamp < pos + k) {
        const v = counterValue(n - pos + stamp);
        out[o + 2 * (stamp - pos)] = v & 0xff;
        out[o + 2 * (stamp - pos) + 1] = v >> 8;
      }
    }
    n += k;
    o += 2 * k;
  }
}

/**
 * Checks RX blocks against the counter pattern at the block's `sampleIndex`: the first and last sample, the
 * period stamps inside, and every `stride`-th sample. Counts blocks that do not match (data dropped in the
 * radio, reordered or repeated transfers), gaps in sampleIndex (blocks the driver dropped) and samples.
 * After a mismatch it follows the stream again from the block's last sample (assuming the data moved
 * forward by less than a period), so each discontinuity counts once, not every block after it.
 */
export class CounterStreamChecker {
  blocks = 0;
  samples = 0;
  /** Blocks whose bytes are not the pattern where they should be: one per discontinuity. */
  mismatchedBlocks = 0;
  /** The sampleIndex of the first such block. */
  firstMismatchAt: number | undefined;
  /** Jumps in sampleIndex (the driver's queue dropped blocks), and the samples they skipped. */
  gaps = 0;
  gapSamples = 0;
  /** Where the radio's stream is relative to the driver's sampleIndex (grows with each loss in the radio). */
  offset = 0;
  private next: number | undefined;

  constructor(private readonly stride = 4096) {}

  check(block: { raw?: Uint8Array | undefined; sampleIndex: number; samples: number }): boolean {
    this.blocks++;
    this.samples += block.samples;
    if (this.next !== undefined && block.sampleIndex !== this.next) {
      this.gaps++;
      this.gapSamples += block.sampleIndex - this.next;
    }
    this.next = block.sampleIndex + block.samples;
    const raw = block.raw;
    if (raw === undefined || raw.length < block.samples * 2) {
      this.mismatch(block.sampleIndex);
      return false;
    }
    const base = block.sampleIndex + this.offset;
    const at = (k: number, n = base + k): boolean => {
      const v = counterValue(n);
      return raw[2 * k] === (v & 0xff) && raw[2 * k + 1] === v >> 8;
    };
    let ok = true;
    if (block.samples > 0) {
      ok = at(0) && at(block.samples - 1);
      for (let k = this.stride; ok && k < block.samples; k += this.stride) ok = at(k);
      const first = 65536 - (base % 65536);
      for (let k = first % 65536; ok && k < block.samples; k += 65536) ok = at(k) && (k + 1 >= block.samples || at(k + 1));
    }
    if (!ok) {
      this.mismatch(block.sampleIndex);
      // Follow the stream again from the last sample: its value is its position mod 65536; the period comes
      // from the stamp it points back to when that is in the block, else the smallest forward move is assumed.
      const k = block.samples - 1;
      const expect = base + k;
      const word = (j: number): number => raw[2 * j]! | (raw[2 * j + 1]! << 8);
      const v = word(k);
      let candidate = expect + ((((v - (expect % 65536)) % 65536) + 65536) % 65536);
      const k0 = k - v;
      if (v > 1 && k0 >= 0 && k0 + 1 < k) candidate = (word(k0) + word(k0 + 1) * 65536) * 65536 + v;
      if (candidate > expect && at(k, candidate)) this.offset += candidate - expect;
    }
    return ok;
  }

  private mismatch(at: number): void {
    this.mismatchedBlocks++;
    this.firstMismatchAt ??= at;
  }
}

interface RxRun {
  start: number;
  count: number;
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
  private readonly opts: Required<Omit<FakeHackRfOptions, 'serialWords' | 'partId' | 'stream' | 'onTx'>> & { serialWords: number[]; partId: number[] };
  private readonly toneTable: Uint8Array;
  private pacedStartMs = 0;
  /** The streaming model's counters (reset when RX / TX starts). */
  readonly rxModel: FakeRxModelStats = { overrunSamples: 0, overrunEvents: 0, timedOut: 0 };
  readonly txModel: FakeTxModelStats = { underrunSamples: 0, underrunEvents: 0, playedMs: 0 };
  private txFirstMs = 0;
  private readonly model: Required<FakeStreamModelOptions> | undefined;
  private readonly onTx: ((data: Uint8Array, streamByteOffset: number) => void) | undefined;
  /** Bumped at every mode change: a transfer of an earlier stream never completes. */
  private modeEpoch = 0;
  private modeChangedAtMs = 0;
  // RX model: stream time origin, the next sample number not yet placed, the buffer's runs.
  private rxT0 = 0;
  private rxAssigned = 0;
  private rxFifo: RxRun[] = [];
  private rxFifoSamples = 0;
  private rxOverrunning = false;
  // TX model: when the radio will have played everything submitted, and bytes submitted.
  private txFrontierMs: number | undefined;
  private txStreamBytes = 0;
  private txT0 = 0;

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
      pattern: options.pattern ?? 'tone',
      serialWords,
      partId: options.partId ?? [0xa000cb3c, 0x00574f4a],
    };
    this.toneTable = new Uint8Array(fakeToneCi8(0, FAKE_TONE_PERIOD, this.opts.toneBin, this.opts.amplitude).buffer);
    this.model = options.stream
      ? { clock: options.stream.clock, transferLatencyMs: options.stream.transferLatencyMs ?? 1, fifoBytes: options.stream.fifoBytes ?? 32768 }
      : undefined;
    this.onTx = options.onTx;
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
        if (this.mode !== value) {
          this.modeEpoch++;
          if (this.model) this.modeChangedAtMs = this.model.clock.now();
          if (value === 1) this.startRxModel();
          if (value === 2) this.startTxModel();
        }
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
    if (this.model) return this.modelBulkIn(length, timeoutMs);
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
    this.writePattern(out, 0, this.rxSamples, samples);
    this.rxSamples += samples;
    return out;
  }

  /** Writes the RX pattern of stream samples [start, start + count) at out[byteOffset...]. */
  private writePattern(out: Uint8Array, byteOffset: number, start: number, count: number): void {
    if (this.opts.pattern === 'counter') {
      writeCounter(out, byteOffset, start, count);
      return;
    }
    // Copy the tone table from the right phase: fast enough that the fake is not what a benchmark measures.
    const period = FAKE_TONE_PERIOD * 2;
    let pos = (start % FAKE_TONE_PERIOD) * 2;
    let o = byteOffset;
    const end = byteOffset + count * 2;
    while (o < end) {
      const n = Math.min(period - pos, end - o);
      out.set(this.toneTable.subarray(pos, pos + n), o);
      o += n;
      pos = 0;
    }
  }

  private startRxModel(): void {
    if (!this.model) return;
    this.rxT0 = this.model.clock.now();
    this.rxAssigned = 0;
    this.rxFifo = [];
    this.rxFifoSamples = 0;
    this.rxOverrunning = false;
    Object.assign(this.rxModel, { overrunSamples: 0, overrunEvents: 0, timedOut: 0 });
    delete this.rxModel.firstOverrunMs;
  }

  private startTxModel(): void {
    if (!this.model) return;
    this.txFrontierMs = undefined;
    this.txStreamBytes = 0;
    this.txT0 = this.model.clock.now();
    this.txModel.underrunSamples = 0;
    this.txModel.underrunEvents = 0;
    this.txModel.playedMs = 0;
    delete this.txModel.firstUnderrunMs;
  }

  /** Samples per millisecond at the configured rate. */
  private get samplesPerMs(): number {
    const r = this.sampleRateHz;
    if (!r) throw new FakeStall('streaming before set_sample_rate_manual');
    return r / 1000;
  }

  /** RX model: places the samples made up to `tMs` that no transfer was waiting for: buffer, then overrun. */
  private advanceRx(tMs: number): void {
    const made = Math.floor((tMs - this.rxT0) * this.samplesPerMs);
    if (made <= this.rxAssigned) return;
    const fresh = made - this.rxAssigned;
    const room = (this.model!.fifoBytes >> 1) - this.rxFifoSamples;
    const keep = Math.min(room, fresh);
    if (keep > 0) {
      const last = this.rxFifo.at(-1);
      if (last && last.start + last.count === this.rxAssigned) last.count += keep;
      else this.rxFifo.push({ start: this.rxAssigned, count: keep });
      this.rxFifoSamples += keep;
    }
    if (fresh > keep) {
      this.rxModel.overrunSamples += fresh - keep;
      if (!this.rxOverrunning) {
        this.rxModel.overrunEvents++;
        this.rxModel.firstOverrunMs ??= (this.rxAssigned + keep) / this.samplesPerMs;
      }
      this.rxOverrunning = true;
    }
    this.rxAssigned = made;
  }

  private async modelBulkIn(length: number, timeoutMs: number): Promise<Uint8Array> {
    const { clock, transferLatencyMs } = this.model!;
    const epoch = this.modeEpoch;
    const submitMs = clock.now();
    if (this.mode !== 1) {
      await clock.at(submitMs + timeoutMs);
      throw new Error('transferIn error: Cancelled');
    }
    const rate = this.samplesPerMs;
    this.advanceRx(submitMs);
    // This transfer takes the buffered samples first, then samples still to be made.
    const want = length >> 1;
    const runs: RxRun[] = [];
    let got = 0;
    while (got < want && this.rxFifo.length > 0) {
      const r = this.rxFifo[0]!;
      const k = Math.min(r.count, want - got);
      runs.push({ start: r.start, count: k });
      got += k;
      this.rxFifoSamples -= k;
      if (k === r.count) this.rxFifo.shift();
      else {
        r.start += k;
        r.count -= k;
      }
    }
    if (got > 0) this.rxOverrunning = false;
    let filledMs = submitMs;
    if (got < want) {
      // The buffer is empty now, so every sample still to be made belongs to the waiting transfers.
      const k = want - got;
      runs.push({ start: this.rxAssigned, count: k });
      this.rxAssigned += k;
      this.rxOverrunning = false;
      filledMs = Math.max(submitMs, this.rxT0 + this.rxAssigned / rate);
    }
    const doneMs = filledMs + transferLatencyMs;
    if (doneMs > submitMs + timeoutMs) {
      await clock.at(submitMs + timeoutMs);
      this.rxModel.timedOut++;
      throw new Error('transferIn error: Cancelled');
    }
    await clock.at(doneMs);
    if (this.unplugged) throw new Error('transferIn error: Disconnected');
    if (epoch !== this.modeEpoch && filledMs > this.modeChangedAtMs) {
      // The radio stopped before it filled this transfer: it never completes.
      await clock.at(submitMs + timeoutMs);
      throw new Error('transferIn error: Cancelled');
    }
    const out = new Uint8Array(want * 2);
    let o = 0;
    for (const r of runs) {
      this.writePattern(out, o, r.start, r.count);
      o += r.count * 2;
    }
    this.rxSamples += want;
    return out;
  }

  protected async bulkOut(_ep: number, data: Uint8Array): Promise<number> {
    if (this.mode !== 2) throw new FakeStall(`bulk OUT while not in TX mode (mode ${this.mode})`);
    if (this.opts.recordTx) this.txParts.push(data.slice());
    this.onTx?.(data, this.txStreamBytes);
    this.txStreamBytes += data.length;
    this.txBytes += data.length;
    if (this.model) {
      const { clock, transferLatencyMs, fifoBytes } = this.model;
      const rate = this.samplesPerMs;
      const now = clock.now();
      if (this.txFrontierMs === undefined) {
        this.txFrontierMs = now;
        this.txFirstMs = now;
      } else if (now > this.txFrontierMs) {
        // Everything submitted was played before this transfer came: silence meanwhile.
        this.txModel.underrunSamples += Math.round((now - this.txFrontierMs) * rate);
        this.txModel.underrunEvents++;
        this.txModel.firstUnderrunMs ??= this.txFrontierMs - this.txT0;
        this.txFrontierMs = now;
      }
      this.txFrontierMs += (data.length >> 1) / rate;
      this.txModel.playedMs = this.txFrontierMs - this.txFirstMs;
      // The last byte enters the firmware buffer once the radio has played all but a buffer's worth before it.
      const inBufferMs = Math.max(now, this.txFrontierMs - (fifoBytes >> 1) / rate);
      await clock.at(inBufferMs + transferLatencyMs);
      if (this.unplugged) throw new Error('transferOut error: Disconnected');
    }
    return data.length;
  }
}
