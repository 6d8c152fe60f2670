/**
 * A SigMF recording as an RX-only radio (`sigmf:PATH`): wraps SigmfReplaySource in the device interface so
 * everything above a device (recorder, rtl_tcp server, sessions) runs on a recording as on a radio.
 *
 * The recording fixes the sample rate and the centre frequency: `configure()` accepts them unchanged and
 * refuses other values (a recording cannot be retuned). The end of the recording ends the RX stream
 * normally (unless `loop`); a recording is never "gone".
 */
import { SigmfRecording } from '../sigmf/reader.js';
import { SigmfReplaySource } from '../sigmf/replay.js';
import { DEFAULT_BLOCK_SAMPLES, RECEIVE_ONLY, rxStreamFrom } from './stream.js';
import { DeviceBase } from './device-base.js';
import {
  DeviceConfigError,
  type DeviceCapabilities,
  type DeviceConfig,
  type DeviceInfo,
  type IqBlock,
  type RxOptions,
  type RxStream,
  type SampleFormat,
  type TxStream,
} from './types.js';

export interface SigmfReplayDeviceOptions {
  /** 'realtime' (default, like a radio) or 'full-speed'. */
  pace?: 'realtime' | 'full-speed';
  loop?: boolean;
  channel?: number;
}

const NATIVE: Record<string, SampleFormat> = { ci8: 'ci8', cu8: 'cu8', ci16_le: 'ci16_le', cf32_le: 'cf32_le' };

export class SigmfReplayDevice extends DeviceBase {
  readonly info: DeviceInfo;
  private recording: SigmfRecording | undefined;
  private caps: DeviceCapabilities | undefined;
  private source: SigmfReplaySource | undefined;

  constructor(
    readonly path: string,
    private readonly opts: SigmfReplayDeviceOptions = {},
  ) {
    super({ freqHz: 0, sampleRateHz: 1, gainsDb: {} });
    this.info = { id: `sigmf:${path}`, driver: 'sigmf', label: `SigMF recording ${path}`, address: path };
  }

  get capabilities(): DeviceCapabilities {
    if (!this.caps) throw new DeviceConfigError(`${this.info.id} is not open; its capabilities come from the recording`);
    return this.caps;
  }

  protected async openHardware(): Promise<void> {
    const rec = await SigmfRecording.open(this.path);
    if (rec.unreadableReason) {
      await rec.close();
      throw new DeviceConfigError(`cannot replay ${this.path}: ${rec.unreadableReason}`);
    }
    const rate = rec.sampleRateHz;
    if (rate === undefined) {
      await rec.close();
      throw new DeviceConfigError(`${rec.metaPath} has no core:sample_rate; a replay radio needs one (add it to the meta)`);
    }
    const freq = rec.captureAt(0)?.['core:frequency'];
    const freqHz = typeof freq === 'number' ? freq : 0;
    this.recording = rec;
    this.cfg = { freqHz, sampleRateHz: rate, gainsDb: {} };
    this.caps = {
      ...RECEIVE_ONLY,
      // A recording waits for its reader, paced or not (the replay delivers one channel of it).
      rxWaitsForConsumer: true,
      freqRangeHz: [freqHz, freqHz],
      sampleRateRangeHz: [rate, rate],
      gains: [],
      nativeFormat: NATIVE[rec.datatype.name] ?? 'cf32_le',
    };
  }

  protected async applyConfig(changes: Partial<DeviceConfig>): Promise<void> {
    if (changes.freqHz !== undefined && changes.freqHz !== this.cfg.freqHz) {
      throw new DeviceConfigError(`${this.info.id} was recorded at ${this.cfg.freqHz} Hz and cannot be retuned to ${changes.freqHz} Hz`);
    }
    if (changes.sampleRateHz !== undefined && changes.sampleRateHz !== this.cfg.sampleRateHz) {
      throw new DeviceConfigError(`${this.info.id} was recorded at ${this.cfg.sampleRateHz} samples/s; it cannot play at ${changes.sampleRateHz}`);
    }
    const names = Object.keys(changes.gainsDb ?? {});
    if (names.length > 0) throw new DeviceConfigError(`${this.info.id} is a recording and has no gain stages (asked for ${names.join(', ')})`);
    // TX settings: only the recording's own values pass (mergeConfig says why others do not).
    if ('txFreqHz' in changes || 'txSampleRateHz' in changes) this.merged({ txFreqHz: changes.txFreqHz, txSampleRateHz: changes.txSampleRateHz });
  }

  startRx(options: RxOptions = {}): RxStream {
    this.requireOpen();
    if (!this.recording) throw new DeviceConfigError(`${this.info.id} is not open; call open() first`);
    if (this.source) throw new DeviceConfigError(`${this.info.id} is already playing; stop the RX stream first`);
    const src = new SigmfReplaySource(this.recording, {
      blockSamples: options.blockSamples ?? DEFAULT_BLOCK_SAMPLES,
      pace: this.opts.pace ?? 'realtime',
      loop: this.opts.loop ?? false,
      channel: this.opts.channel ?? 0,
    });
    this.source = src;
    const it = src[Symbol.asyncIterator]();
    const next = async (): Promise<IqBlock | undefined> => {
      const r = await it.next();
      if (r.done) return undefined;
      this.counters.samplesRx += r.value.samples;
      return { iq: r.value.iq, samples: r.value.samples, sampleIndex: r.value.streamIndex, receivedAtMs: Date.now() };
    };
    return rxStreamFrom(next, () => {
      src.stop();
      if (this.source === src) this.source = undefined;
    }, options.signal);
  }

  startTx(): TxStream {
    throw new DeviceConfigError(`${this.info.id} is a recording and cannot transmit; use the loopback or a TX-capable radio`);
  }

  protected async closeHardware(): Promise<void> {
    this.source?.stop();
    this.source = undefined;
    const rec = this.recording;
    this.recording = undefined;
    await rec?.close();
  }

  /** A recording does not go away while it plays (a read error ends the stream instead). */
  protected endStreams(): void {}
}
