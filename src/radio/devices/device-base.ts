/**
 * The device life cycle every driver shares (loopback, HackRF, RTL-SDR, rtl_tcp client, Pluto, SigMF
 * replay), written once:
 *
 *   new → open() → open ⇄ configure() / streams → close() → closed
 *                     └─ markGone() (unplug, socket closed) → gone: 'gone' emitted once, streams ended
 *
 *  - `open()` is idempotent; a gone device refuses to open again. A driver that cannot re-open its
 *    hardware after close (USB handles) sets `reopenable = false`, and open() after close() says so.
 *  - `configure()` checks the device is open and not gone, lets the driver apply the change
 *    (`applyConfig`, which updates `cfg` with what the hardware took), emits 'config' and returns a copy.
 *  - `close()` runs the driver's `closeHardware()` once, however often it is called; afterwards the
 *    device is not open. It is safe after 'gone'.
 *  - `markGone()` records the first `DeviceGoneError`, lets the driver end its streams (`endStreams`) and
 *    emits 'gone' exactly once; later calls return the first error.
 *  - `config` and `stats()` hand out copies of `cfg` and `counters`.
 */
import { EventEmitter } from 'node:events';
import { BlockQueue, DEFAULT_BLOCK_SAMPLES, DEFAULT_QUEUE_BLOCKS, mergeConfig } from './stream.js';
import {
  DeviceConfigError,
  DeviceGoneError,
  type DeviceCapabilities,
  type DeviceConfig,
  type DeviceInfo,
  type RxOptions,
  type RxStream,
  type SdrDevice,
  type StreamStats,
  type TxStream,
} from './types.js';

export abstract class DeviceBase extends EventEmitter implements SdrDevice {
  abstract readonly info: DeviceInfo;
  abstract readonly capabilities: DeviceCapabilities;
  /** The applied configuration; drivers keep it up to date, `config` hands out copies. */
  protected cfg: DeviceConfig;
  /** Stream counters; `stats()` hands out copies. */
  protected readonly counters: StreamStats = { samplesRx: 0, samplesTx: 0, overflows: 0, underflows: 0 };
  /** The first DeviceGoneError (set by markGone). */
  protected goneError: DeviceGoneError | undefined;
  /** Whether open() may run again after close() (false for drivers whose hardware handle is spent). */
  protected readonly reopenable: boolean = true;
  private opened = false;
  private closing: Promise<void> | undefined;

  constructor(initial: DeviceConfig) {
    super();
    this.cfg = { ...initial, gainsDb: { ...initial.gainsDb } };
  }

  get config(): DeviceConfig {
    return { ...this.cfg, gainsDb: { ...this.cfg.gainsDb } };
  }

  get isOpen(): boolean {
    return this.opened && !this.goneError && !this.closing;
  }

  /** open() succeeded (and close() has not finished since); true also after 'gone' until close(). */
  protected get hasOpened(): boolean {
    return this.opened;
  }

  /** close() has been called (and open() not since). */
  protected get isClosing(): boolean {
    return this.closing !== undefined;
  }

  stats(): StreamStats {
    return { ...this.counters };
  }

  async open(): Promise<void> {
    if (this.opened && !this.closing) return;
    this.throwIfGone();
    if (this.closing) {
      if (!this.reopenable) throw new DeviceConfigError(`${this.info.id} was closed; create a new device object to open it again`);
      await this.closing;
      this.closing = undefined;
    }
    await this.openHardware();
    this.opened = true;
  }

  async configure(changes: Partial<DeviceConfig>): Promise<DeviceConfig> {
    this.requireOpen();
    await this.applyConfig(changes);
    const cfg = this.config;
    this.emit('config', cfg);
    return cfg;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.closeHardware();
      } finally {
        this.opened = false;
      }
    })();
    return this.closing;
  }

  abstract startRx(options?: RxOptions): RxStream;
  abstract startTx(): TxStream;

  /** Opens the hardware (connection, USB interface, file); throw to leave the device closed. */
  protected abstract openHardware(): Promise<void>;
  /** Applies `changes` (validated against the capabilities, e.g. with `merged`) and updates `cfg`. */
  protected abstract applyConfig(changes: Partial<DeviceConfig>): Promise<void>;
  /** Stops the streams and releases the hardware. Runs once per open. */
  protected abstract closeHardware(): Promise<void>;
  /** Ends the streams with `err` when the radio goes away (RX iterators throw it, writes reject with it). */
  protected abstract endStreams(err: DeviceGoneError): void;

  /** `changes` on top of the applied configuration, checked against the capabilities. */
  protected merged(changes: Partial<DeviceConfig>): DeviceConfig {
    return mergeConfig(this.info.id, this.capabilities, this.cfg, changes);
  }

  /**
   * The checks an RX start makes: open, not already receiving (`busy`), a valid block size. Returns the
   * block size and the bounded queue for the stream.
   */
  protected rxStart(busy: boolean, options: RxOptions): { blockSamples: number; queue: BlockQueue } {
    this.requireOpen();
    if (busy) throw new DeviceConfigError(`${this.info.id} is already receiving; stop the RX stream first`);
    const blockSamples = options.blockSamples ?? DEFAULT_BLOCK_SAMPLES;
    if (!Number.isInteger(blockSamples) || blockSamples < 1) throw new DeviceConfigError(`blockSamples must be an integer >= 1, got ${blockSamples}`);
    return { blockSamples, queue: new BlockQueue(options.queueBlocks ?? DEFAULT_QUEUE_BLOCKS) };
  }

  /** Records that the radio went away (once), ends the streams and emits 'gone'; returns the first error. */
  protected markGone(reason: string | DeviceGoneError): DeviceGoneError {
    if (this.goneError) return this.goneError;
    const err = typeof reason === 'string' ? new DeviceGoneError(this.info.id, reason) : reason;
    this.goneError = err;
    this.endStreams(err);
    this.emit('gone', err);
    return err;
  }

  protected throwIfGone(): void {
    if (this.goneError) throw this.goneError;
  }

  /** Throws the gone error, or a DeviceConfigError when the device is not open (or closing). */
  protected requireOpen(what = 'call open() first'): void {
    this.throwIfGone();
    if (!this.opened || this.closing) throw new DeviceConfigError(`${this.info.id} is not open; ${what}`);
  }

  /** A failure in background work: an 'error' event when someone listens (never an unhandled throw). */
  protected reportBackground(e: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', e instanceof Error ? e : new Error(String(e)));
  }
}
