/**
 * A radio with one receive stream shared by everyone who listens: the engine wraps each connected radio in
 * a TappedDevice. The radio's RX runs once (`startStreaming()`, called when a receiver is connected, so the
 * spectrum, the waterfall and a recording see what it receives with no session running), and
 *  - taps (the spectrum monitor, the SigMF recorder, the live view's constellation receiver) see every
 *    block as the pump takes it from the radio;
 *  - `startRx()` (a session's user role, a replay) subscribes a bounded queue to the same stream; its
 *    `stop()` only unsubscribes, so stopping a session never stops the idle stream.
 * A source that only streams for a subscriber (a replay) starts on the first `startRx()` instead.
 *
 * A tap runs synchronously on each block; taps must be quick (the spectrum monitor is a few FFTs, the
 * recorder only queues a copy for its writer). A tap that throws is removed and reported through
 * `onTapError`, never breaking the stream. A subscriber slower than the radio loses its oldest blocks
 * (counted in `stats().overflows` and `subscriberDrops`), never the radio's stream or the other listeners.
 */
import { EventEmitter } from 'node:events';
import { BlockQueue } from '../radio/devices/stream.js';
import { rxStreamFrom } from '../radio/devices/stream.js';
import type { DeviceConfig, IqBlock, RxOptions, RxStream, SdrDevice, StreamStats, TxStream } from '../radio/devices/types.js';

export type RxTap = (block: IqBlock, config: DeviceConfig) => void;

/** The shared stream's block size: what the user role asks for, about 4 ms at 1 Msps. */
const SHARED_BLOCK_SAMPLES = 4096;
/** Blocks the radio's driver may queue behind the pump (the pump drains it at once; this is slack). */
const SHARED_QUEUE_BLOCKS = 256;

/** What the shared stream has seen: gaps in the radio's sample index are samples the radio (or its driver) lost. */
export interface SharedRxStats {
  streaming: boolean;
  blocks: number;
  samples: number;
  /** Discontinuities in the radio's sample index (its driver dropped blocks). */
  gaps: number;
  /** Samples lost in those gaps. */
  lostSamples: number;
}

export class TappedDevice extends EventEmitter implements SdrDevice {
  private readonly taps = new Set<RxTap>();
  private readonly subscribers = new Set<BlockQueue>();
  private readonly forward: Record<string, (...args: unknown[]) => void> = {};
  private stream: RxStream | undefined;
  private pumping: Promise<void> | undefined;
  private nextIndex: number | undefined;
  private closed = false;
  private readonly shared: SharedRxStats = { streaming: false, blocks: 0, samples: 0, gaps: 0, lostSamples: 0 };
  /** Blocks subscribers lost because they fell behind. */
  subscriberDrops = 0;
  private pumpWaiter: (() => void) | undefined;

  constructor(
    readonly inner: SdrDevice,
    private readonly onTapError: (e: Error) => void = () => {},
  ) {
    super();
    // Re-emit the device's events so listeners on the wrapper hear 'gone', 'error' and 'config'.
    for (const name of ['gone', 'error', 'config']) {
      const f = (...args: unknown[]): void => {
        if (name === 'error' && this.listenerCount('error') === 0) return; // an unheard 'error' would throw
        this.emit(name, ...args);
      };
      this.forward[name] = f;
      inner.on(name, f);
    }
  }

  get info() {
    return this.inner.info;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  get channelSimulator() {
    return this.inner.channelSimulator;
  }
  get config() {
    return this.inner.config;
  }
  get isOpen() {
    return this.inner.isOpen;
  }
  /** True while the radio's one RX stream runs. */
  get streaming(): boolean {
    return this.stream !== undefined;
  }

  rxStats(): SharedRxStats {
    return { ...this.shared, streaming: this.streaming };
  }

  addTap(tap: RxTap): () => void {
    this.taps.add(tap);
    return () => this.taps.delete(tap);
  }

  open(): Promise<void> {
    return this.inner.open();
  }
  configure(changes: Partial<DeviceConfig>): Promise<DeviceConfig> {
    return this.inner.configure(changes);
  }
  startTx(): TxStream {
    return this.inner.startTx();
  }
  stats(): StreamStats {
    const s = this.inner.stats();
    return { ...s, overflows: s.overflows + this.subscriberDrops };
  }

  /** Starts the radio's RX stream (idempotent); it runs until close() or the radio ends it. */
  startStreaming(): void {
    if (this.stream || this.closed || !this.inner.capabilities.rx) return;
    const stream = this.inner.startRx({ blockSamples: SHARED_BLOCK_SAMPLES, queueBlocks: SHARED_QUEUE_BLOCKS });
    this.stream = stream;
    this.nextIndex = undefined;
    this.pumping = this.pump(stream);
  }

  private async pump(stream: RxStream): Promise<void> {
    let error: Error | undefined;
    const it = stream[Symbol.asyncIterator]();
    try {
      for (;;) {
        // A source that can wait (a full-speed loopback, a file) makes a block when a subscriber asks for
        // one: it would otherwise make blocks as fast as the CPU allows, and nothing would be real time.
        if (this.inner.capabilities.rxWaitsForConsumer) {
          while (this.stream === stream && (this.subscribers.size === 0 || [...this.subscribers].some((q) => q.length > 0))) {
            await new Promise<void>((r) => (this.pumpWaiter = r));
          }
          if (this.stream !== stream) break;
        }
        const r = await it.next();
        if (r.done) break;
        const block = r.value;
        this.account(block);
        if (this.taps.size > 0) {
          const cfg = this.inner.config;
          for (const tap of this.taps) {
            try {
              tap(block, cfg);
            } catch (e) {
              this.taps.delete(tap);
              this.onTapError(e as Error);
            }
          }
        }
        for (const q of this.subscribers) if (!q.push(block)) this.subscriberDrops++;
      }
    } catch (e) {
      error = e as Error;
    } finally {
      await it.return?.().catch(() => undefined);
      if (this.stream === stream) this.stream = undefined;
      // The radio's stream ended (a replay's end, an unplugged radio): so do its subscribers.
      for (const q of this.subscribers) q.end(error);
      this.subscribers.clear();
    }
  }

  private wakePump(): void {
    const w = this.pumpWaiter;
    this.pumpWaiter = undefined;
    w?.();
  }

  private account(block: IqBlock): void {
    const s = this.shared;
    if (this.nextIndex !== undefined && block.sampleIndex > this.nextIndex) {
      s.gaps++;
      s.lostSamples += block.sampleIndex - this.nextIndex;
    }
    this.nextIndex = block.sampleIndex + block.samples;
    s.blocks++;
    s.samples += block.samples;
  }

  /** A subscription to the shared stream (started here if it is not running). stop() only unsubscribes. */
  startRx(options: RxOptions = {}): RxStream {
    this.startStreaming();
    const q = new BlockQueue(options.queueBlocks ?? 16);
    if (!this.stream) q.end();
    else this.subscribers.add(q);
    return rxStreamFrom(
      () => {
        this.wakePump(); // a subscriber asks: a source that waits makes the next block
        return q.next();
      },
      () => {
        this.subscribers.delete(q);
        q.clear();
        q.end();
        this.wakePump();
      },
      options.signal,
    );
  }

  /** Stops the radio's RX stream (its subscribers end); startStreaming() starts it again. */
  async stopStreaming(): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    this.stream = undefined;
    this.wakePump();
    await stream.stop().catch(() => undefined);
    await this.pumping?.catch(() => undefined);
  }

  /** Stops the shared stream, closes the radio and detaches from its events. */
  async close(): Promise<void> {
    this.closed = true;
    const stream = this.stream;
    this.stream = undefined;
    this.wakePump();
    await stream?.stop().catch(() => undefined);
    await this.pumping?.catch(() => undefined);
    for (const [name, f] of Object.entries(this.forward)) this.inner.off(name, f);
    await this.inner.close();
  }
}
