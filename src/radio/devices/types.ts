/**
 * The one interface every radio implements: loopback, HackRF, RTL-SDR, rtl_tcp, Pluto and SigMF replay.
 * Everything above a device (recorder, sessions, the UI) works the same on each of them.
 *
 * Life cycle: `open()` → `configure()` (any number of times) → `startRx()` / `startTx()` → stop the
 * streams → `close()`. Samples cross this interface as interleaved cf32 (`Float32Array` [re, im, ...],
 * full scale ±1); the device's native format is named in `capabilities.nativeFormat` so a recorder can
 * also keep the raw bytes (`IqBlock.raw`) without a lossy round trip.
 *
 * Streams and backpressure:
 *  - RX is an async iterable of blocks. The consumer pulls; a device that cannot stop its hardware (USB,
 *    network) keeps at most `queueBlocks` blocks queued and drops the oldest beyond that, counting each
 *    drop in `stats().overflows`. Sources that can wait (loopback, replay) simply wait for the consumer.
 *  - TX is `write()` returning a promise that settles when the device has room for more (backpressure);
 *    a device that ran dry while transmitting counts `stats().underflows`.
 *  - A radio that disappears (USB unplug, socket closed) ends its streams: the RX iterator throws a
 *    `DeviceGoneError`, pending writes reject with it, and the device emits 'gone' exactly once. Nothing
 *    else is thrown from background work; other failures arrive as 'error' events.
 */
import type { EventEmitter } from 'node:events';
import type { ChannelConfig } from '../channel/simulator.js';
import { DekagError } from '../../util/errors.js';

/** SigMF core datatypes a radio may deliver natively (`ci8` HackRF, `cu8` RTL-SDR, `ci16_le` Pluto). */
export type SampleFormat = 'ci8' | 'cu8' | 'ci16_le' | 'cf32_le';

/** A registered driver's name (registry.ts: `RadioDescriptor.name`); the built-in ones are listed for editors. */
export type DeviceDriver = 'loopback' | 'hackrf' | 'rtlsdr' | 'rtl_tcp' | 'pluto' | 'sigmf' | (string & {});

/** What discovery reports about a radio before it is opened. */
export interface DeviceInfo {
  /** Stable name used on the command line and in the UI, e.g. `loopback`, `hackrf:0000000000001234`, `rtl_tcp:127.0.0.1:1234`. */
  id: string;
  driver: DeviceDriver;
  /** Human label, e.g. "HackRF One (serial …1234)". */
  label: string;
  serial?: string;
  /** USB vendor/product IDs, for USB radios. */
  usb?: { vendorId: number; productId: number; busNumber?: number; deviceAddress?: number };
  /** host:port (or URI) for network radios. */
  address?: string;
}

export interface GainStage {
  /** Driver's name for the stage: `lna`, `vga`, `amp`, `tuner`, `tx_vga`, `hardwaregain`, ... */
  name: string;
  minDb: number;
  maxDb: number;
  stepDb: number;
  direction: 'rx' | 'tx';
}

export interface DeviceCapabilities {
  rx: boolean;
  tx: boolean;
  /** Receive and transmit channels (antenna ports that stream at once); `rx` is `rxChannels > 0`, `tx` likewise. */
  rxChannels: number;
  txChannels: number;
  /** RX and TX at the same time (loopback, Pluto); HackRF is half duplex. */
  fullDuplex: boolean;
  /**
   * Which TX settings may differ from RX (`DeviceConfig.txFreqHz`, `txSampleRateHz`): a radio with one
   * synthesizer or one sample clock for both directions has false there and refuses a different value.
   */
  separateTx: { freqHz: boolean; sampleRateHz: boolean };
  /** The radio stamps RX blocks with its own clock (`IqBlock.hardwareTimeNs`). */
  hardwareTimestamps: boolean;
  /**
   * The RX stream never drops: it waits for a slow consumer (a replay; the loopback at full speed). A radio
   * cannot wait, and drops the oldest blocks beyond `queueBlocks`.
   */
  rxWaitsForConsumer: boolean;
  freqRangeHz: [number, number];
  sampleRateRangeHz: [number, number];
  /** Analog filter bandwidths, when the radio has a settable filter. */
  bandwidthRangeHz?: [number, number];
  gains: GainStage[];
  nativeFormat: SampleFormat;
}

export interface DeviceConfig {
  /** Centre frequency of RX, and of TX unless `txFreqHz` says otherwise. */
  freqHz: number;
  /** Sample rate of RX, and of TX unless `txSampleRateHz` says otherwise. */
  sampleRateHz: number;
  /**
   * TX centre frequency where it differs from `freqHz` (only where `capabilities.separateTx.freqHz`);
   * undefined: TX is on `freqHz` and moves with it. `configure({ txFreqHz: undefined })`, or a value equal
   * to `freqHz`, puts TX back on `freqHz`. A radio that cannot tune TX apart refuses any other value.
   */
  txFreqHz?: number;
  /** TX sample rate where it differs from `sampleRateHz`, the same way (`capabilities.separateTx.sampleRateHz`). */
  txSampleRateHz?: number;
  /** Gain per stage name (see `capabilities.gains`); stages not named keep their value. */
  gainsDb: Record<string, number>;
  /** Analog bandwidth; undefined = the driver's choice for the sample rate. */
  bandwidthHz?: number;
}

export interface IqBlock {
  /** Interleaved cf32 [re, im, ...], full scale ±1. The consumer may keep it. */
  iq: Float32Array;
  /** Complex samples in the block. */
  samples: number;
  /** Index of the block's first sample since the stream started (counts dropped samples too, so gaps show). */
  sampleIndex: number;
  /** Host time when the block arrived, ms since the epoch. */
  receivedAtMs: number;
  /**
   * The radio's clock at the block's first sample, in ns of the radio's own time base (not the epoch);
   * present only where `capabilities.hardwareTimestamps` (none of the built-in radios stamps samples).
   */
  hardwareTimeNs?: number;
  /** The same samples in the device's native format, when the device has them (for lossless recording). */
  raw?: Uint8Array;
}

export interface StreamStats {
  samplesRx: number;
  samplesTx: number;
  /** RX blocks dropped because the consumer was slower than the radio. */
  overflows: number;
  /** TX underruns: the radio wanted samples and had none. */
  underflows: number;
}

export interface RxOptions {
  /** Complex samples per block (driver may round to its transfer size). */
  blockSamples?: number;
  /** Blocks kept for a slow consumer before the oldest is dropped (default 16). */
  queueBlocks?: number;
  /** Aborting ends the stream cleanly, like `stop()`. */
  signal?: AbortSignal;
}

export interface RxStream extends AsyncIterable<IqBlock> {
  /** Ends the stream; the iterator finishes after the blocks already delivered. Idempotent. */
  stop(): Promise<void>;
}

export interface TxStream {
  /** Queues interleaved cf32 samples; settles when the device can take more. Rejects with DeviceGoneError on unplug. */
  write(iq: Float32Array): Promise<void>;
  /** Waits until everything written has been sent, then stops transmitting. */
  end(): Promise<void>;
}

/** The loopback's channel: the simulator's settings less the ones the device owns (rate, seed, carrier). */
export type LoopbackChannel = Omit<ChannelConfig, 'sampleRateHz' | 'seed' | 'carrierHz'>;

/**
 * What a simulated radio offers that a real one does not: its TX comes back on its own RX through a
 * channel the caller sets (the loopback). Sessions set the SNR here, `record` transmits test frames when a
 * radio has it, the engine shows and edits it.
 */
export interface ChannelSimulatorControl {
  /** The channel as it is now. */
  readonly channel: LoopbackChannel;
  /** Changes the channel while running (SNR sweeps); applies from the next segment of samples. */
  setChannel(changes: Partial<LoopbackChannel>): LoopbackChannel;
  /** Attenuation of the signal before the channel (dB); the noise floor stays, so SNR = snrDb - attenuationDb. */
  readonly attenuationDb: number;
  setAttenuation(db: number): number;
}

/** Events: 'gone' (DeviceGoneError, once), 'error' (Error), 'config' (DeviceConfig after each change). */
export interface SdrDevice extends EventEmitter {
  readonly info: DeviceInfo;
  readonly capabilities: DeviceCapabilities;
  /** The simulated channel between this radio's TX and RX; undefined on every real radio. */
  readonly channelSimulator?: ChannelSimulatorControl | undefined;
  /** The configuration actually applied (rates and frequencies as the hardware rounded them). */
  readonly config: DeviceConfig;
  readonly isOpen: boolean;
  open(): Promise<void>;
  /** Applies the fields given and returns the whole applied configuration. Validates against capabilities. */
  configure(changes: Partial<DeviceConfig>): Promise<DeviceConfig>;
  startRx(options?: RxOptions): RxStream;
  startTx(): TxStream;
  stats(): StreamStats;
  /** Stops any stream and releases the radio. Idempotent; safe after 'gone'. */
  close(): Promise<void>;
}

/** The radio went away mid-session (unplugged, socket closed by the peer, server died). */
export class DeviceGoneError extends DekagError {
  constructor(readonly deviceId: string, reason: string) {
    super(`radio ${deviceId} is gone: ${reason}`, 'E_DEVICE_GONE');
  }
}

/** A request the radio cannot honour: frequency, rate or gain out of range, TX on an RX-only radio, ... */
export class DeviceConfigError extends DekagError {
  constructor(message: string) {
    super(message, 'E_DEVICE_CONFIG');
  }
}

/** The radio answered wrongly or not at all (USB transfer failed, protocol violation, timeout). */
export class DeviceIoError extends DekagError {
  constructor(message: string) {
    super(message, 'E_DEVICE_IO');
  }
}
