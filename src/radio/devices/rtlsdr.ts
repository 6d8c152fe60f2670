/**
 * RTL-SDR (RTL2832U + R820T/R828D) receive over WebUSB, through the maintained @jtarrio/webrtlsdr
 * driver: it owns the demodulator and tuner register sequences; this file adapts it to SdrDevice
 * (cu8 -> cf32 with the raw bytes kept, gains, ppm, unplug -> DeviceGoneError).
 *
 * webrtlsdr is written for the browser's navigator.usb, but `RTL2832U.open(device)` only needs a
 * USBDevice, and it uses nothing beyond our WebUsbDevice surface (claim/releaseInterface, vendor control
 * transfers with request 0, transferIn on endpoint 1, clearHalt, close), so a `usb` 3.x device or our
 * fake fits.
 */
import { RTL2832U, type RtlDevice } from '@jtarrio/webrtlsdr/rtlsdr.js';
import { CU8_SCALE, cu8ToCf32 } from '../iq/format.js';
import { BlockQueue, RECEIVE_ONLY, rxStreamFrom } from './stream.js';
import { DeviceBase } from './device-base.js';
import {
  DeviceConfigError,
  DeviceGoneError,
  DeviceIoError,
  type DeviceCapabilities,
  type DeviceConfig,
  type DeviceInfo,
  type RxOptions,
  type RxStream,
  type TxStream,
} from './types.js';
import { errorChainMessage, isDisconnectError, listUsbDevices, type WebUsbDevice } from './webusb.js';
import { registerRadio } from './registry.js';

export const RTLSDR_USB_IDS: ReadonlyArray<{ vendorId: number; productId: number; model: string }> = [
  { vendorId: 0x0bda, productId: 0x2838, model: 'RTL-SDR (RTL2838)' },
  { vendorId: 0x0bda, productId: 0x2832, model: 'RTL-SDR (RTL2832U)' },
];

/** cu8 -> float: (u - 128) / 128, the engine's one cu8 convention (src/radio/iq/format.ts, SigMF's). */
export const RTLSDR_RX_SCALE = CU8_SCALE;

export const RTLSDR_CAPABILITIES: DeviceCapabilities = Object.freeze({
  ...RECEIVE_ONLY,
  rxWaitsForConsumer: false,
  // R820T tuning range.
  freqRangeHz: [24_000_000, 1_766_000_000] as [number, number],
  // The RTL2832U resampler; 300001..900000 Hz is not usable (checked in configure).
  sampleRateRangeHz: [225_001, 3_200_000] as [number, number],
  // webrtlsdr maps a dB value onto the R820T's LNA and mixer gain codes itself: no fixed step here.
  gains: [{ name: 'tuner', minDb: 0, maxDb: 49.6, stepDb: 0, direction: 'rx' as const }],
  nativeFormat: 'cu8' as const,
});

export const RTLSDR_DEFAULT_CONFIG: DeviceConfig = Object.freeze({
  freqHz: 100_000_000,
  sampleRateHz: 2_048_000,
  gainsDb: Object.freeze({ tuner: 30 }) as Record<string, number>,
}) as DeviceConfig;

export interface RtlSdrOptions {
  id?: string;
  /** Crystal correction in parts per million (default 0). */
  ppm?: number;
  /** Tuner AGC instead of the manual `tuner` gain (default false). */
  agc?: boolean;
  /** Samples per bulk read (default 65536 = 128 KiB, a multiple of the 512-byte USB packet). */
  blockSamples?: number;
}

interface RxState {
  running: boolean;
  queue: BlockQueue;
  done: Promise<void>;
}

export class RtlSdrDevice extends DeviceBase {
  readonly capabilities: DeviceCapabilities = RTLSDR_CAPABILITIES;
  /** The USB handle is spent once closed. */
  protected override readonly reopenable = false;
  private rtl: RtlDevice | undefined;
  private agc: boolean;
  private ppm: number;
  private stream: RxState | undefined;
  private readonly blockSamples: number;

  constructor(readonly usb: WebUsbDevice, private readonly options: RtlSdrOptions = {}) {
    super(RTLSDR_DEFAULT_CONFIG);
    this.agc = options.agc ?? false;
    this.ppm = options.ppm ?? 0;
    this.blockSamples = options.blockSamples ?? 65536;
    if (!Number.isInteger(this.ppm) || Math.abs(this.ppm) > 500) throw new DeviceConfigError(`ppm must be an integer within ±500, got ${this.ppm}`);
  }

  get info(): DeviceInfo {
    const serial = this.usb.serialNumber ?? undefined;
    return {
      id: this.options.id ?? `rtlsdr:${serial ?? 'unknown'}`,
      driver: 'rtlsdr',
      label: `RTL-SDR ${this.usb.productName ?? ''}${serial ? ` (serial ${serial})` : ''}`.replace(/\s+/g, ' ').trim(),
      ...(serial ? { serial } : {}),
      usb: { vendorId: this.usb.vendorId, productId: this.usb.productId },
    };
  }

  get agcEnabled(): boolean {
    return this.agc;
  }

  get ppmCorrection(): number {
    return this.ppm;
  }

  protected async openHardware(): Promise<void> {
    try {
      await this.usb.open();
      // webrtlsdr types its argument as the DOM's USBDevice; it calls only what WebUsbDevice declares.
      this.rtl = await RTL2832U.open(this.usb as unknown as Parameters<typeof RTL2832U.open>[0]);
    } catch (e) {
      await this.usb.close().catch(() => undefined);
      throw this.usbError('open', e);
    }
    await this.guard('initial settings', async () => {
      const rtl = this.rtl!;
      if (this.ppm !== 0) await rtl.setFrequencyCorrection(this.ppm);
      this.cfg.sampleRateHz = await rtl.setSampleRate(this.cfg.sampleRateHz);
      await rtl.setCenterFrequency(this.cfg.freqHz);
      await rtl.setGain(this.agc ? null : this.cfg.gainsDb.tuner!);
    });
  }

  protected async applyConfig(changes: Partial<DeviceConfig>): Promise<void> {
    const rtl = this.requireRtl();
    const next = this.merged(changes);
    if (changes.sampleRateHz !== undefined && changes.sampleRateHz > 300_000 && changes.sampleRateHz <= 900_000) {
      throw new DeviceConfigError(`${this.info.id}: the RTL2832U cannot sample at ${changes.sampleRateHz} Hz; use 225001..300000 or 900001..3200000 Hz (2.4 Msps is the highest without lost samples)`);
    }
    await this.guard('configure', async () => {
      if (next.sampleRateHz !== this.cfg.sampleRateHz) this.cfg.sampleRateHz = await rtl.setSampleRate(next.sampleRateHz);
      if (next.freqHz !== this.cfg.freqHz) {
        await rtl.setCenterFrequency(next.freqHz);
        this.cfg.freqHz = next.freqHz;
      }
      const g = next.gainsDb.tuner;
      if (changes.gainsDb?.tuner !== undefined && g !== undefined) {
        // Naming a gain means manual gain.
        await rtl.setGain(g);
        this.agc = false;
        this.cfg.gainsDb.tuner = g;
      }
    });
  }

  /** Tuner AGC on (gain chosen by the R820T) or off (back to the configured `tuner` gain). */
  async setAgc(enabled: boolean): Promise<void> {
    const rtl = this.requireRtl();
    await this.guard('setAgc', () => rtl.setGain(enabled ? null : this.cfg.gainsDb.tuner!));
    this.agc = enabled;
  }

  /** Crystal correction in ppm; webrtlsdr retunes with the corrected crystal frequency. */
  async setPpm(ppm: number): Promise<void> {
    const rtl = this.requireRtl();
    if (!Number.isInteger(ppm) || Math.abs(ppm) > 500) throw new DeviceConfigError(`ppm must be an integer within ±500, got ${ppm}`);
    await this.guard('setPpm', async () => {
      await rtl.setFrequencyCorrection(ppm);
      // The resampler ratio depends on the crystal: set the rate again so it stays what was asked.
      this.cfg.sampleRateHz = await rtl.setSampleRate(this.cfg.sampleRateHz);
    });
    this.ppm = ppm;
  }

  startRx(options: RxOptions = {}): RxStream {
    const rtl = this.requireRtl();
    if (this.stream) throw new DeviceConfigError(`${this.info.id} already has an RX stream; stop() it before starting another`);
    const samples = options.blockSamples ?? this.blockSamples;
    if (!Number.isInteger(samples) || samples < 256) throw new DeviceConfigError(`blockSamples must be an integer >= 256, got ${samples}`);
    // Whole 512-byte USB packets per read.
    const blockSamples = Math.ceil(samples / 256) * 256;
    const state: RxState = { running: true, queue: new BlockQueue(options.queueBlocks ?? 16), done: Promise.resolve() };
    this.stream = state;
    state.done = this.runRx(rtl, state, blockSamples);
    return rxStreamFrom(() => state.queue.next(), async () => {
      state.running = false;
      await state.done;
    }, options.signal);
  }

  private async runRx(rtl: RtlDevice, state: RxState, blockSamples: number): Promise<void> {
    let sampleIndex = 0;
    try {
      await rtl.resetBuffer();
      while (state.running) {
        const block = await rtl.readSamples(blockSamples);
        const raw = new Uint8Array(block.data);
        const samples = raw.length >> 1;
        if (samples === 0) continue;
        const iq = new Float32Array(samples * 2);
        cu8ToCf32(raw.length === samples * 2 ? raw : raw.subarray(0, samples * 2), RTLSDR_RX_SCALE, iq);
        this.counters.samplesRx += samples;
        if (!state.queue.push({ iq, samples, sampleIndex, receivedAtMs: Date.now(), raw })) this.counters.overflows++;
        sampleIndex += samples;
      }
      state.queue.end();
    } catch (e) {
      state.queue.end(this.markGone(`RX transfer failed: ${errorChainMessage(e)}`));
    } finally {
      state.running = false;
      if (this.stream === state) this.stream = undefined;
    }
  }

  startTx(): TxStream {
    throw new DeviceConfigError(`${this.info.id} is an RTL-SDR: it can only receive; use a HackRF, Pluto or the loopback to transmit`);
  }

  protected async closeHardware(): Promise<void> {
    const s = this.stream;
    if (s) {
      s.running = false;
      await s.done;
    }
    const rtl = this.rtl;
    if (rtl && !this.goneError) {
      try {
        await rtl.close(); // tuner power-down, release interface, close
      } catch (e) {
        if (!isDisconnectError(e)) this.reportBackground(e);
      }
    }
    if (this.usb.opened) await this.usb.close().catch(() => undefined);
  }

  private requireRtl(): RtlDevice {
    this.requireOpen();
    return this.rtl!;
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.usbError(what, e);
    }
  }

  private usbError(what: string, e: unknown): Error {
    if (e instanceof DeviceGoneError || e instanceof DeviceConfigError) return e;
    const msg = errorChainMessage(e);
    if (isDisconnectError(e)) return this.markGone(`${what}: ${msg}`);
    return new DeviceIoError(`RTL-SDR ${what} failed: ${msg}`);
  }

  /** The radio went away: the RX stream ends with `err`. */
  protected endStreams(err: DeviceGoneError): void {
    if (this.stream) {
      this.stream.running = false;
      this.stream.queue.end(err);
    }
  }
}

/**
 * `rtlsdr[:INDEX]`: the INDEX-th RTL-SDR in USB enumeration order (default 0), as librtlsdr and discovery
 * number them (dongles often share the serial 00000001). Driver options are RtlSdrOptions.
 */
registerRadio({
  name: 'rtlsdr',
  usage: 'rtlsdr[:INDEX]',
  usb: RTLSDR_USB_IDS,
  usbIdBy: 'index',
  capabilities: RTLSDR_CAPABILITIES,
  factory: async (spec, o) => {
    const all = (await listUsbDevices()).filter((d) => RTLSDR_USB_IDS.some((k) => k.vendorId === d.vendorId && k.productId === d.productId));
    const index = spec.arg === undefined ? 0 : Number(spec.arg);
    if (!Number.isInteger(index) || index < 0) throw new DeviceConfigError(`'${spec.id}': the RTL-SDR index must be a number 0, 1, ...`);
    const d = all[index];
    if (!d) throw new DeviceConfigError(`no RTL-SDR number ${index} is plugged in (found ${all.length}); see dekag devices`);
    return new RtlSdrDevice(d, { id: `rtlsdr:${index}`, ...(o.driverOptions as RtlSdrOptions | undefined) });
  },
});
