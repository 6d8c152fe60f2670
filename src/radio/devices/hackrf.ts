/**
 * HackRF One over WebUSB (the `usb` package's 3.x API, or a fake with the same surface).
 *
 * Protocol facts (greatscottgadgets/hackrf host/libhackrf/src/hackrf.c, summarized in
 * shared/design/radio-protocols.md): vendor control requests on configuration 1 / interface 0, RX on
 * bulk IN 0x81 and TX on bulk OUT 0x02 as interleaved signed 8-bit I/Q (`ci8`), half duplex.
 *
 * Transfers in flight: like libhackrf the driver keeps 4 in flight (`transfersInFlight`) when the USB
 * backend queues them (browsers' WebUSB, a libusb-style backend, the fakes). `usb` 3.x opens an endpoint
 * exclusively for each transfer, so a second concurrent `transferIn` on 0x81 is refused ("endpoint not
 * found"): the driver then falls back to one, says so once (`log` option, a 'notice' event, else stderr)
 * and reports it in `stats()` (usb-inflight.ts; docs/radios-usb.md for what one means at 20 Msps).
 */
import { ci8ToCf32, cf32ToCi8 } from '../iq/format.js';
import { BlockQueue, rxStreamFrom } from './stream.js';
import { DeviceBase } from './device-base.js';
import {
  DeviceConfigError,
  DeviceGoneError,
  DeviceIoError,
  type DeviceCapabilities,
  type DeviceConfig,
  type DeviceInfo,
  type IqBlock,
  type RxOptions,
  type RxStream,
  type StreamStats,
  type TxStream,
} from './types.js';
import { bcdDevice, isDisconnectError, listUsbDevices, resultBytes, type UsbInResult, type UsbOutResult, type WebUsbDevice } from './webusb.js';
import { registerRadio } from './registry.js';
import { InFlightPolicy, isConcurrencyRefusal, type InFlightStats } from './usb-inflight.js';

export const HACKRF_VENDOR_ID = 0x1d50;
export const HACKRF_ONE_PRODUCT_ID = 0x6089;
export const HACKRF_JAWBREAKER_PRODUCT_ID = 0x604b;
export const HACKRF_RAD1O_PRODUCT_ID = 0xcc15;
export const HACKRF_PRODUCT_IDS: readonly number[] = [HACKRF_ONE_PRODUCT_ID, HACKRF_JAWBREAKER_PRODUCT_ID, HACKRF_RAD1O_PRODUCT_ID];

/** Vendor request numbers (bRequest) of the HackRF firmware. */
export const HackrfRequest = {
  SET_TRANSCEIVER_MODE: 1,
  SAMPLE_RATE_SET: 6,
  BASEBAND_FILTER_BANDWIDTH_SET: 7,
  BOARD_ID_READ: 14,
  VERSION_STRING_READ: 15,
  SET_FREQ: 16,
  AMP_ENABLE: 17,
  BOARD_PARTID_SERIALNO_READ: 18,
  SET_LNA_GAIN: 19,
  SET_VGA_GAIN: 20,
  SET_TXVGA_GAIN: 21,
  ANTENNA_ENABLE: 23,
  GET_BUFFER_SIZE: 61,
} as const;

export const TransceiverMode = { OFF: 0, RX: 1, TX: 2 } as const;

/** RX endpoint 0x81 and TX endpoint 0x02, as WebUSB endpoint numbers. */
export const HACKRF_RX_ENDPOINT = 1;
export const HACKRF_TX_ENDPOINT = 2;
/** libhackrf's transfer size. */
export const HACKRF_TRANSFER_BYTES = 262144;
/** libhackrf's transfers in flight. */
export const HACKRF_TRANSFERS_IN_FLIGHT = 4;
const USB_PACKET_BYTES = 512;
/** First firmware API that answers GET_BUFFER_SIZE. */
const API_WITH_BUFFER_SIZE = 0x0112;

/** MAX2837 baseband filter bandwidths (Hz), ascending. */
export const MAX2837_BANDWIDTHS_HZ: readonly number[] = [
  1_750_000, 2_500_000, 3_500_000, 5_000_000, 5_500_000, 6_000_000, 7_000_000, 8_000_000, 9_000_000, 10_000_000,
  12_000_000, 14_000_000, 15_000_000, 20_000_000, 24_000_000, 28_000_000,
];

/**
 * The filter libhackrf would pick for a requested bandwidth: the largest table entry not above it
 * (the smallest entry when the request is below the table). hackrf_transfer asks for 0.75 x rate.
 */
export function max2837FilterHz(requestedHz: number): number {
  let chosen = MAX2837_BANDWIDTHS_HZ[0]!;
  for (const bw of MAX2837_BANDWIDTHS_HZ) if (bw <= requestedHz) chosen = bw;
  return chosen;
}

/** The bandwidth chosen for a sample rate when the user did not name one. */
export function defaultFilterHzForRate(sampleRateHz: number): number {
  return max2837FilterHz(Math.floor(0.75 * sampleRateHz));
}

/**
 * set_sample_rate_manual takes an integer frequency and a divider (1..31); the rate is freq / divider.
 * Integer rates use divider 1; others take the smallest divider that makes rate x divider an integer
 * to within a millihertz, else the divider with the least error.
 */
export function sampleRateFraction(sampleRateHz: number): { freqHz: number; divider: number } {
  let best = { freqHz: Math.round(sampleRateHz), divider: 1 };
  let bestErr = Math.abs(best.freqHz - sampleRateHz);
  for (let d = 1; d <= 31 && bestErr > 1e-3; d++) {
    const f = Math.round(sampleRateHz * d);
    const err = Math.abs(f / d - sampleRateHz);
    if (err < bestErr - 1e-12) {
      best = { freqHz: f, divider: d };
      bestErr = err;
    }
  }
  return best;
}

export function boardName(boardId: number): string {
  switch (boardId) {
    case 0: return 'Jellybean';
    case 1: return 'Jawbreaker';
    case 2: return 'HackRF One';
    case 3: return 'rad1o';
    case 4: return 'HackRF One r9';
    default: return `unknown board ${boardId}`;
  }
}

export const HACKRF_CAPABILITIES: DeviceCapabilities = Object.freeze({
  rx: true,
  tx: true,
  rxChannels: 1,
  txChannels: 1,
  fullDuplex: false,
  // One synthesizer and one sample clock serve both directions; this driver tunes them once for both.
  separateTx: Object.freeze({ freqHz: false, sampleRateHz: false }),
  hardwareTimestamps: false,
  rxWaitsForConsumer: false,
  freqRangeHz: [1_000_000, 6_000_000_000] as [number, number],
  sampleRateRangeHz: [2_000_000, 20_000_000] as [number, number],
  bandwidthRangeHz: [MAX2837_BANDWIDTHS_HZ[0]!, MAX2837_BANDWIDTHS_HZ[MAX2837_BANDWIDTHS_HZ.length - 1]!] as [number, number],
  gains: [
    { name: 'lna', minDb: 0, maxDb: 40, stepDb: 8, direction: 'rx' as const },
    { name: 'vga', minDb: 0, maxDb: 62, stepDb: 2, direction: 'rx' as const },
    // The RF amplifier sits in both paths; it is either off or on (about 14 dB).
    { name: 'amp', minDb: 0, maxDb: 14, stepDb: 14, direction: 'rx' as const },
    { name: 'tx_vga', minDb: 0, maxDb: 47, stepDb: 1, direction: 'tx' as const },
  ],
  nativeFormat: 'ci8' as const,
});

export const HACKRF_DEFAULT_CONFIG: DeviceConfig = Object.freeze({
  freqHz: 915_000_000,
  // The lowest rate: the safest when the USB backend allows one transfer in flight (see the module comment).
  sampleRateHz: 2_000_000,
  gainsDb: Object.freeze({ lna: 16, vga: 20, amp: 0, tx_vga: 0 }) as Record<string, number>,
}) as DeviceConfig;

/** ci8 -> cf32 divides by 128 (what SigMF readers and GNU Radio's osmosdr source do); TX multiplies by 127 so +1.0 does not clip. */
export const HACKRF_RX_SCALE = 128;
export const HACKRF_TX_SCALE = 127;

export interface HackRfOptions {
  /** Overrides the id (default `hackrf:<serial>`). */
  id?: string;
  /** Bytes per bulk transfer (a multiple of 512; default 262144 like libhackrf). RxOptions.blockSamples overrides it for RX. */
  transferBytes?: number;
  /**
   * Bulk transfers kept in flight per direction (default 4, like libhackrf). A backend that refuses a second
   * one (`usb` 3.x) gets 1, with a log line and `stats().transfersInFlightFallback`.
   */
  transfersInFlight?: number;
  /** Where the driver's few log lines go (the in-flight fallback); default: a 'notice' event, or stderr when nobody listens. */
  log?: (line: string) => void;
  /** Timeout of each bulk transfer in ms (default 1000). */
  transferTimeoutMs?: number;
  /** Timeout of each control transfer in ms (default 500). */
  controlTimeoutMs?: number;
  /** TX chunks queued before write() waits (default 4). */
  txQueueTransfers?: number;
}

/** `stats()` of a HackRF: the stream counters and the transfers in flight (usb-inflight.ts). */
export type HackRfStats = StreamStats & InFlightStats;

interface RxState {
  kind: 'rx';
  running: boolean;
  queue: BlockQueue;
  done: Promise<void>;
}

interface TxState {
  kind: 'tx';
  chunks: Uint8Array[];
  fill: Uint8Array | undefined;
  fillPos: number;
  ended: boolean;
  /** Set when the stream cannot go on (gone or failed); writes reject with it. */
  failure: Error | undefined;
  wakePump: (() => void) | undefined;
  wakeWriters: Array<() => void>;
  done: Promise<void>;
}

/** A transfer's outcome, never a rejection (so a ring of them can be awaited in order). */
type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

interface InFlightEntry<T> {
  result: Promise<Settled<T>>;
  settled: boolean;
  /** Another transfer was pending at some point while this one was: a refusal then means "too many". */
  overlapped: boolean;
  /** Submitted while probing with another pending: its success shows the backend queues transfers. */
  probe: boolean;
}

function settle<T>(p: Promise<T>, entry: { settled: boolean }): Promise<Settled<T>> {
  return p.then(
    (value) => {
      entry.settled = true;
      return { ok: true as const, value };
    },
    (e: unknown) => {
      entry.settled = true;
      return { ok: false as const, error: e instanceof Error ? e : new Error(String(e)) };
    },
  );
}

/** Rounds a byte count up to whole USB packets. */
function roundUpPackets(bytes: number): number {
  return Math.max(USB_PACKET_BYTES, Math.ceil(bytes / USB_PACKET_BYTES) * USB_PACKET_BYTES);
}

export class HackRfDevice extends DeviceBase {
  readonly capabilities: DeviceCapabilities = HACKRF_CAPABILITIES;
  /** Filled in by open(). */
  boardId: number | undefined;
  firmwareVersion: string | undefined;
  /** bcdDevice, e.g. 0x0106. */
  apiVersion: number;
  partId: [number, number] | undefined;
  /** 32 hex digits, as hackrf_info prints it. */
  serial: string | undefined;
  /** Firmware's transfer buffer size (API >= 0x0112 only). */
  firmwareBufferBytes: number | undefined;

  /** The USB handle is spent once closed. */
  protected override readonly reopenable = false;
  private bandwidthAuto = true;
  private stream: RxState | TxState | undefined;
  private readonly transferBytes: number;
  private readonly rxInFlight: InFlightPolicy;
  private readonly txInFlight: InFlightPolicy;
  private lastDirection: 'rx' | 'tx' = 'rx';
  private readonly log: ((line: string) => void) | undefined;
  private readonly transferTimeoutMs: number;
  private readonly controlTimeoutMs: number;
  private readonly txQueueTransfers: number;
  private readonly fixedId: string | undefined;

  constructor(readonly usb: WebUsbDevice, options: HackRfOptions = {}) {
    super(HACKRF_DEFAULT_CONFIG);
    const tb = options.transferBytes ?? HACKRF_TRANSFER_BYTES;
    if (!Number.isInteger(tb) || tb < USB_PACKET_BYTES || tb % USB_PACKET_BYTES !== 0) {
      throw new DeviceConfigError(`transferBytes must be a positive multiple of ${USB_PACKET_BYTES}, got ${tb}`);
    }
    const n = options.transfersInFlight ?? HACKRF_TRANSFERS_IN_FLIGHT;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new DeviceConfigError(`transfersInFlight must be an integer 1..64, got ${n}`);
    this.transferBytes = tb;
    this.log = options.log;
    this.rxInFlight = new InFlightPolicy(n, (why) => this.notice(`RX: ${why}`));
    this.txInFlight = new InFlightPolicy(n, (why) => this.notice(`TX: ${why}`));
    this.transferTimeoutMs = options.transferTimeoutMs ?? 1000;
    this.controlTimeoutMs = options.controlTimeoutMs ?? 500;
    this.txQueueTransfers = Math.max(1, options.txQueueTransfers ?? 4);
    this.fixedId = options.id;
    this.apiVersion = bcdDevice(usb);
  }

  get info(): DeviceInfo {
    const serial = this.serial ?? this.usb.serialNumber ?? undefined;
    const name = this.boardId === undefined ? 'HackRF' : boardName(this.boardId);
    return {
      id: this.fixedId ?? `hackrf:${serial ?? 'unknown'}`,
      driver: 'hackrf',
      label: serial ? `${name} (serial …${serial.slice(-8)})` : name,
      ...(serial ? { serial } : {}),
      usb: { vendorId: this.usb.vendorId, productId: this.usb.productId },
    };
  }

  /** The counters, and the transfers in flight of the stream running now (or of the last one). */
  override stats(): HackRfStats {
    const p = this.lastDirection === 'tx' ? this.txInFlight : this.rxInFlight;
    return { ...super.stats(), ...p.stats() };
  }

  /** One line about the driver's own choices (the in-flight fallback). */
  private notice(line: string): void {
    const text = `${this.info.id}: ${line}`;
    if (this.log) this.log(text);
    else if (this.listenerCount('notice') > 0) this.emit('notice', text);
    else process.stderr.write(`dekag: ${text}\n`);
  }

  protected async openHardware(): Promise<void> {
    try {
      await this.usb.open();
      await this.usb.selectConfiguration(1);
      await this.usb.claimInterface(0);
    } catch (e) {
      throw this.ioError('open (configuration 1, interface 0)', e);
    }
    try {
      this.boardId = (await this.controlIn(HackrfRequest.BOARD_ID_READ, 0, 0, 1, 'board_id_read', 1))[0]!;
      const v = await this.controlIn(HackrfRequest.VERSION_STRING_READ, 0, 0, 255, 'version_string_read');
      const nul = v.indexOf(0);
      this.firmwareVersion = Buffer.from(v.subarray(0, nul < 0 ? v.length : nul)).toString('latin1');
      const ps = await this.controlIn(HackrfRequest.BOARD_PARTID_SERIALNO_READ, 0, 0, 24, 'board_partid_serialno_read', 24);
      const dv = new DataView(ps.buffer, ps.byteOffset, 24);
      this.partId = [dv.getUint32(0, true), dv.getUint32(4, true)];
      this.serial = [8, 12, 16, 20].map((o) => dv.getUint32(o, true).toString(16).padStart(8, '0')).join('');
      if (this.apiVersion >= API_WITH_BUFFER_SIZE) {
        const b = await this.controlIn(HackrfRequest.GET_BUFFER_SIZE, 0, 0, 4, 'get_buffer_size', 4);
        this.firmwareBufferBytes = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
      }
      await this.setMode(TransceiverMode.OFF);
      // Put the hardware in a known state: every setting sent once.
      await this.apply(this.cfg, true);
    } catch (e) {
      await this.usb.close().catch(() => undefined);
      throw e;
    }
  }

  protected async applyConfig(changes: Partial<DeviceConfig>): Promise<void> {
    const next = this.merged(changes);
    if ('bandwidthHz' in changes) this.bandwidthAuto = changes.bandwidthHz === undefined;
    await this.apply(next, false);
  }

  /** Sends what differs between `next` and the applied configuration (everything when `all`). */
  private async apply(next: DeviceConfig, all: boolean): Promise<void> {
    const cur = this.cfg;
    if (all || next.freqHz !== cur.freqHz) {
      const freqHz = Math.round(next.freqHz);
      const payload = new Uint8Array(8);
      const dv = new DataView(payload.buffer);
      dv.setUint32(0, Math.floor(freqHz / 1e6), true);
      dv.setUint32(4, freqHz % 1_000_000, true);
      await this.controlOut(HackrfRequest.SET_FREQ, 0, 0, payload, 'set_freq');
      cur.freqHz = freqHz;
    }
    let rateChanged = false;
    if (all || next.sampleRateHz !== cur.sampleRateHz) {
      const { freqHz, divider } = sampleRateFraction(next.sampleRateHz);
      const payload = new Uint8Array(8);
      const dv = new DataView(payload.buffer);
      dv.setUint32(0, freqHz, true);
      dv.setUint32(4, divider, true);
      await this.controlOut(HackrfRequest.SAMPLE_RATE_SET, 0, 0, payload, 'set_sample_rate_manual');
      cur.sampleRateHz = freqHz / divider;
      rateChanged = true;
    }
    const wantBw = this.bandwidthAuto ? defaultFilterHzForRate(cur.sampleRateHz) : max2837FilterHz(next.bandwidthHz ?? defaultFilterHzForRate(cur.sampleRateHz));
    if (all || rateChanged || wantBw !== cur.bandwidthHz) {
      await this.controlOut(HackrfRequest.BASEBAND_FILTER_BANDWIDTH_SET, wantBw & 0xffff, wantBw >>> 16, undefined, 'set_baseband_filter_bandwidth');
      cur.bandwidthHz = wantBw;
    }
    const g = next.gainsDb;
    const cg = cur.gainsDb;
    if (g.lna !== undefined && (all || g.lna !== cg.lna)) {
      await this.gainRequest(HackrfRequest.SET_LNA_GAIN, g.lna, 'set_lna_gain');
      cg.lna = g.lna;
    }
    if (g.vga !== undefined && (all || g.vga !== cg.vga)) {
      await this.gainRequest(HackrfRequest.SET_VGA_GAIN, g.vga, 'set_vga_gain');
      cg.vga = g.vga;
    }
    if (g.tx_vga !== undefined && (all || g.tx_vga !== cg.tx_vga)) {
      await this.gainRequest(HackrfRequest.SET_TXVGA_GAIN, g.tx_vga, 'set_txvga_gain');
      cg.tx_vga = g.tx_vga;
    }
    if (g.amp !== undefined && (all || g.amp !== cg.amp)) {
      await this.controlOut(HackrfRequest.AMP_ENABLE, g.amp > 0 ? 1 : 0, 0, undefined, 'amp_enable');
      cg.amp = g.amp > 0 ? 14 : 0;
    }
  }

  /** Gain requests are IN transfers carrying the value in wIndex; the firmware answers one byte, nonzero = accepted. */
  private async gainRequest(request: number, db: number, what: string): Promise<void> {
    const r = await this.controlIn(request, 0, db, 1, what, 1);
    if (r[0] === 0) throw new DeviceIoError(`HackRF refused ${what} ${db} dB (the firmware answered 0)`);
  }

  /** Bias tee (antenna port power): off by default; a safety-relevant switch, so never set implicitly. */
  async setAntennaPower(enabled: boolean): Promise<void> {
    this.requireOpen();
    await this.controlOut(HackrfRequest.ANTENNA_ENABLE, enabled ? 1 : 0, 0, undefined, 'antenna_enable');
  }

  startRx(options: RxOptions = {}): RxStream {
    this.checkCanStream('RX');
    const queue = new BlockQueue(options.queueBlocks ?? 16);
    const bytes = options.blockSamples !== undefined ? this.blockBytes(options.blockSamples) : this.transferBytes;
    const state: RxState = { kind: 'rx', running: true, queue, done: Promise.resolve() };
    this.stream = state;
    this.lastDirection = 'rx';
    state.done = this.runRx(state, bytes);
    return rxStreamFrom(() => queue.next(), () => this.stopRx(state), options.signal);
  }

  private blockBytes(blockSamples: number): number {
    if (!Number.isInteger(blockSamples) || blockSamples < 1) throw new DeviceConfigError(`blockSamples must be a positive integer, got ${blockSamples}`);
    return roundUpPackets(blockSamples * 2);
  }

  private async runRx(state: RxState, bytes: number): Promise<void> {
    try {
      await this.setMode(TransceiverMode.RX);
    } catch (e) {
      state.running = false;
      state.queue.end(e instanceof Error ? e : new Error(String(e)));
      if (this.stream === state) this.stream = undefined;
      return;
    }
    // A ring of pending transfers, awaited in submission order (the order USB completes them).
    const policy = this.rxInFlight;
    const ring: InFlightEntry<UsbInResult>[] = [];
    const submit = (): void => {
      const entry: InFlightEntry<UsbInResult> = { settled: false, overlapped: ring.length > 0, probe: ring.length > 0, result: undefined as unknown as Promise<Settled<UsbInResult>> };
      for (const other of ring) other.overlapped = true;
      entry.result = settle(this.usb.transferIn(HACKRF_RX_ENDPOINT, bytes, this.transferTimeoutMs), entry);
      ring.push(entry);
    };
    const fill = (): void => {
      while (state.running && ring.length < policy.rxLimit()) submit();
    };
    fill();
    let sampleIndex = 0;
    let failure: Error | undefined;
    while (ring.length > 0) {
      const entry = ring[0]!;
      const s = await entry.result;
      ring.shift();
      if (!s.ok && entry.overlapped && isConcurrencyRefusal(s.error)) {
        // Refused for being one too many: no data moved; carry on with one in flight.
        policy.refuse(s.error);
        fill();
        continue;
      }
      let r: UsbInResult;
      try {
        if (!s.ok) throw s.error;
        r = s.value;
        if (r.status !== 'ok') throw new Error(`transferIn status ${r.status}`);
      } catch (e) {
        failure = e instanceof Error ? e : new Error(String(e));
        break;
      }
      if (entry.probe) policy.confirm();
      fill();
      const raw = resultBytes(r.data);
      const samples = raw.length >> 1;
      if (samples === 0) continue;
      const rawEven = raw.length === samples * 2 ? raw : raw.subarray(0, samples * 2);
      const iq = new Float32Array(samples * 2);
      ci8ToCf32(new Int8Array(rawEven.buffer, rawEven.byteOffset, samples * 2), HACKRF_RX_SCALE, iq);
      const block: IqBlock = { iq, samples, sampleIndex, receivedAtMs: Date.now(), raw: rawEven };
      sampleIndex += samples;
      this.counters.samplesRx += samples;
      if (!state.queue.push(block)) this.counters.overflows++;
    }
    state.running = false;
    if (failure) {
      // Outstanding transfers fail the same way; wait for them so nothing settles after we report.
      await Promise.all(ring.map((e) => e.result));
      const gone = this.markGone(`RX transfer failed: ${failure.message}`);
      state.queue.end(gone);
    } else {
      // Stop = mode 0 after the last transfer (WebUSB cannot cancel a transfer; all have completed).
      try {
        await this.setMode(TransceiverMode.OFF);
      } catch (e) {
        this.reportBackground(e);
      }
      state.queue.end();
    }
    if (this.stream === state) this.stream = undefined;
  }

  private async stopRx(state: RxState): Promise<void> {
    state.running = false;
    await state.done;
  }

  startTx(): TxStream {
    this.checkCanStream('TX');
    const state: TxState = {
      kind: 'tx',
      chunks: [],
      fill: undefined,
      fillPos: 0,
      ended: false,
      failure: undefined,
      wakePump: undefined,
      wakeWriters: [],
      done: Promise.resolve(),
    };
    this.stream = state;
    this.lastDirection = 'tx';
    state.done = this.runTx(state);
    return {
      write: (iq) => this.txWrite(state, iq),
      end: () => this.txEnd(state),
    };
  }

  private async txWrite(state: TxState, iq: Float32Array): Promise<void> {
    if (state.failure) throw state.failure;
    if (state.ended) throw new DeviceConfigError(`${this.info.id}: write() after end(); start a new TX stream`);
    if (iq.length % 2 !== 0) throw new DeviceConfigError(`TX samples must be interleaved I/Q pairs; got an odd length ${iq.length}`);
    let off = 0;
    while (off < iq.length) {
      if (!state.fill) {
        state.fill = new Uint8Array(this.transferBytes);
        state.fillPos = 0;
      }
      const n = Math.min(iq.length - off, this.transferBytes - state.fillPos);
      cf32ToCi8(iq.subarray(off, off + n), HACKRF_TX_SCALE, new Int8Array(state.fill.buffer as ArrayBuffer, state.fillPos, n));
      state.fillPos += n;
      off += n;
      if (state.fillPos === this.transferBytes) {
        state.chunks.push(state.fill);
        state.fill = undefined;
        state.wakePump?.();
      }
    }
    // Backpressure: settle once the queue has room.
    while (state.chunks.length >= this.txQueueTransfers && !state.failure) {
      await new Promise<void>((resolve) => state.wakeWriters.push(resolve));
    }
    if (state.failure) throw state.failure;
  }

  private async txEnd(state: TxState): Promise<void> {
    if (!state.ended) {
      if (state.fill && state.fillPos > 0) {
        // A partial transfer goes out padded with zeros (silence) to whole USB packets.
        state.chunks.push(state.fill.subarray(0, roundUpPackets(state.fillPos)));
      }
      state.fill = undefined;
      state.ended = true;
      state.wakePump?.();
    }
    await state.done;
    if (state.failure) throw state.failure;
  }

  private async runTx(state: TxState): Promise<void> {
    const wakeWriters = (): void => {
      const ws = state.wakeWriters.splice(0);
      for (const w of ws) w();
    };
    const policy = this.txInFlight;
    // Transfers in flight, oldest first, each with its chunk (re-sent if the backend refused it).
    const ring: Array<InFlightEntry<UsbOutResult> & { chunk: Uint8Array }> = [];
    /** Chunks the backend refused, to go out again before any new one. */
    const resend: Uint8Array[] = [];
    const submit = (chunk: Uint8Array): void => {
      const probe = policy.mode === 'probing' && ring.length > 0;
      const entry = { settled: false, overlapped: ring.length > 0, probe, chunk, result: undefined as unknown as Promise<Settled<UsbOutResult>> };
      for (const other of ring) other.overlapped = true;
      entry.result = settle(this.usb.transferOut(HACKRF_TX_ENDPOINT, chunk, this.transferTimeoutMs), entry);
      ring.push(entry);
    };
    try {
      await this.setMode(TransceiverMode.TX);
      let sent = false;
      let dry = false;
      for (;;) {
        if (state.failure) break;
        // Submit what is waiting, up to the limit; refused chunks first, in their order.
        while (ring.length < policy.txLimit(ring.some((e) => e.probe)) && (resend.length > 0 || state.chunks.length > 0)) {
          submit(resend.length > 0 ? resend.shift()! : state.chunks.shift()!);
          dry = false;
          wakeWriters();
        }
        if (ring.length === 0) {
          if (state.ended && state.chunks.length === 0) break;
          // The radio is transmitting and we have nothing for it: an underflow (once per dry spell).
          if (sent && !dry) {
            this.counters.underflows++;
            dry = true;
          }
          await new Promise<void>((resolve) => (state.wakePump = resolve));
          state.wakePump = undefined;
          continue;
        }
        const head = ring[0]!;
        const canTakeMore = ring.length < policy.txLimit(ring.some((e) => e.probe)) && !state.ended;
        if (canTakeMore && !head.settled) {
          // Room for another transfer: wake on whichever comes first, a completion or a new chunk.
          let wake: () => void = () => undefined;
          const woken = new Promise<void>((resolve) => (wake = resolve));
          state.wakePump = wake;
          await Promise.race([head.result, woken]);
          state.wakePump = undefined;
          if (!head.settled) continue;
        }
        const s = await head.result;
        ring.shift();
        if (!s.ok && head.overlapped && isConcurrencyRefusal(s.error)) {
          policy.refuse(s.error);
          // Re-send it, and every later refused chunk, in order, before anything new.
          resend.push(head.chunk);
          continue;
        }
        let r: UsbOutResult;
        try {
          if (!s.ok) throw s.error;
          r = s.value;
          if (r.status !== 'ok') throw new Error(`transferOut status ${r.status}`);
        } catch (e) {
          throw this.markGone(`TX transfer failed: ${e instanceof Error ? e.message : String(e)}`);
        }
        if (head.probe) policy.confirm();
        sent = true;
        this.counters.samplesTx += r.bytesWritten >> 1;
        const probe = ring.find((e) => e.probe);
        if (policy.mode === 'probing' && probe && !probe.settled) {
          // The first transfer completed and the probe is still pending: give a refusal one more turn to
          // arrive; if none does, the backend accepted it (see usb-inflight.ts).
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (!probe.settled) policy.confirm();
        }
      }
      // Wait for what is still in flight (WebUSB cannot cancel), then mode 0.
      const rest = await Promise.all(ring.map((e) => e.result));
      ring.length = 0;
      for (const x of rest) {
        if (x.ok) this.counters.samplesTx += x.value.bytesWritten >> 1;
        else if (!state.failure) throw this.markGone(`TX transfer failed: ${x.error.message}`);
      }
      if (!this.goneError) await this.setMode(TransceiverMode.OFF);
    } catch (e) {
      state.failure ??= e instanceof Error ? e : new Error(String(e));
      if (!(e instanceof DeviceGoneError)) this.reportBackground(e);
    } finally {
      if (ring.length > 0) await Promise.all(ring.map((e) => e.result));
      state.ended = true;
      state.chunks.length = 0;
      wakeWriters();
      if (this.stream === state) this.stream = undefined;
    }
  }

  protected async closeHardware(): Promise<void> {
    const s = this.stream;
    if (s?.kind === 'rx') await this.stopRx(s);
    if (s?.kind === 'tx') {
      s.failure ??= new DeviceConfigError(`${this.info.id} was closed while transmitting`);
      s.wakePump?.();
      await s.done;
    }
    if (this.hasOpened && !this.goneError) {
      try {
        await this.usb.releaseInterface(0);
      } catch (e) {
        if (!isDisconnectError(e)) this.reportBackground(e);
      }
    }
    if (this.usb.opened) await this.usb.close().catch(() => undefined);
  }

  private checkCanStream(what: 'RX' | 'TX'): void {
    this.requireOpen('call open() before startRx()/startTx()');
    if (this.stream) {
      const other = this.stream.kind === 'rx' ? 'RX' : 'TX';
      throw new DeviceConfigError(
        `HackRF One is half duplex: a ${other} stream is active, so ${what} cannot start; ` +
          `${other === 'RX' ? 'stop() the RX stream' : 'end() the TX stream'} first`,
      );
    }
  }

  private setMode(mode: number): Promise<void> {
    return this.controlOut(HackrfRequest.SET_TRANSCEIVER_MODE, mode, 0, undefined, `set_transceiver_mode(${mode})`);
  }

  private async controlOut(request: number, value: number, index: number, data: Uint8Array | undefined, what: string): Promise<void> {
    let r: UsbOutResult;
    try {
      r = await this.usb.controlTransferOut({ requestType: 'vendor', recipient: 'device', request, value, index }, data ?? new Uint8Array(0), this.controlTimeoutMs);
    } catch (e) {
      throw this.ioError(what, e);
    }
    if (r.status !== 'ok') throw new DeviceIoError(`HackRF ${what} (request ${request}) failed: status ${r.status}; the firmware refused the request`);
  }

  private async controlIn(request: number, value: number, index: number, length: number, what: string, exact?: number): Promise<Uint8Array> {
    let r: UsbInResult;
    try {
      r = await this.usb.controlTransferIn({ requestType: 'vendor', recipient: 'device', request, value, index }, length, this.controlTimeoutMs);
    } catch (e) {
      throw this.ioError(what, e);
    }
    if (r.status !== 'ok') throw new DeviceIoError(`HackRF ${what} (request ${request}) failed: status ${r.status}; the firmware refused the request`);
    const bytes = resultBytes(r.data);
    if (exact !== undefined && bytes.length !== exact) {
      throw new DeviceIoError(`HackRF ${what} (request ${request}) answered ${bytes.length} bytes; expected ${exact}`);
    }
    return bytes;
  }

  /** A USB failure as the right typed error; a disconnect also marks the device gone. */
  private ioError(what: string, e: unknown): Error {
    if (e instanceof DeviceGoneError || e instanceof DeviceIoError) return e;
    const msg = e instanceof Error ? e.message : String(e);
    if (isDisconnectError(e)) return this.markGone(`${what}: ${msg}`);
    return new DeviceIoError(`HackRF ${what} failed: ${msg}`);
  }

  /** The radio went away: the RX stream ends with `err`, writes reject with it. */
  protected endStreams(err: DeviceGoneError): void {
    const s = this.stream;
    if (s?.kind === 'rx') {
      s.running = false;
      s.queue.end(err);
    } else if (s?.kind === 'tx') {
      s.failure = err;
      s.wakePump?.();
      for (const w of s.wakeWriters.splice(0)) w();
    }
  }
}

/**
 * `hackrf[:SERIAL]`: the HackRF on USB whose serial ends with SERIAL (any suffix, case-insensitive), or the
 * first one. Driver options are HackRfOptions.
 */
registerRadio({
  name: 'hackrf',
  usage: 'hackrf[:SERIAL]',
  usb: [
    { vendorId: HACKRF_VENDOR_ID, productId: HACKRF_ONE_PRODUCT_ID, model: 'HackRF One' },
    { vendorId: HACKRF_VENDOR_ID, productId: HACKRF_JAWBREAKER_PRODUCT_ID, model: 'HackRF Jawbreaker' },
    { vendorId: HACKRF_VENDOR_ID, productId: HACKRF_RAD1O_PRODUCT_ID, model: 'rad1o' },
  ],
  usbIdBy: 'serial',
  capabilities: HACKRF_CAPABILITIES,
  factory: async (spec, o) => {
    const all = (await listUsbDevices()).filter((d) => d.vendorId === HACKRF_VENDOR_ID && HACKRF_PRODUCT_IDS.includes(d.productId));
    const want = spec.arg?.toLowerCase();
    const d = want ? all.find((x) => (x.serialNumber ?? '').toLowerCase().endsWith(want)) : all[0];
    if (!d) {
      const seen = all.map((x) => x.serialNumber ?? '?').join(', ');
      throw new DeviceConfigError(
        want ? `no HackRF with serial ending '${spec.arg}' is plugged in${seen ? `; found ${seen}` : ''}` : 'no HackRF is plugged in (USB 1d50:6089); see dekag devices',
      );
    }
    return new HackRfDevice(d, { ...(o.driverOptions as HackRfOptions | undefined) });
  },
});
