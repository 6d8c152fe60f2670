/**
 * Building blocks every device driver needs: a bounded RX block queue (drop-oldest with an overflow count,
 * for radios that cannot stop their hardware), the RxStream wrapper around it, and configuration checks
 * against capabilities. Drivers of other radios may use these too; nothing here knows about a radio.
 */
import { DeviceConfigError, type DeviceCapabilities, type DeviceConfig, type IqBlock, type RxStream } from './types.js';

export const DEFAULT_QUEUE_BLOCKS = 16;

/** What every single-channel, receive-only radio's capabilities say (RTL-SDR, rtl_tcp, a SigMF replay). */
export const RECEIVE_ONLY = Object.freeze({
  rx: true,
  tx: false,
  rxChannels: 1,
  txChannels: 0,
  fullDuplex: false,
  separateTx: Object.freeze({ freqHz: false, sampleRateHz: false }),
  hardwareTimestamps: false,
});
export const DEFAULT_BLOCK_SAMPLES = 16384;

/**
 * A bounded FIFO of RX blocks between a producer that cannot wait (a socket, a USB transfer) and a pulling
 * consumer. Beyond `capacity` blocks the oldest is dropped and counted, so memory stays bounded however
 * slow the consumer is. `end(error)` lets the consumer take what is queued and then throws `error`.
 */
export class BlockQueue implements AsyncIterable<IqBlock> {
  private readonly blocks: IqBlock[] = [];
  private head = 0;
  private waiter: (() => void) | undefined;
  private ended = false;
  private error: Error | undefined;
  /** Blocks dropped because the queue was full. */
  dropped = 0;
  droppedSamples = 0;

  constructor(readonly capacity: number = DEFAULT_QUEUE_BLOCKS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new DeviceConfigError(`queueBlocks must be an integer >= 1, got ${capacity}`);
  }

  get length(): number {
    return this.blocks.length - this.head;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Adds a block; returns false when the oldest block had to be dropped to make room. */
  push(block: IqBlock): boolean {
    if (this.ended) return true;
    let kept = true;
    if (this.length >= this.capacity) {
      const old = this.blocks[this.head]!;
      this.head++;
      this.dropped++;
      this.droppedSamples += old.samples;
      kept = false;
    }
    this.blocks.push(block);
    // Compact now and then instead of shift() per block (O(n) each).
    if (this.head > 64 && this.head * 2 > this.blocks.length) {
      this.blocks.splice(0, this.head);
      this.head = 0;
    }
    this.wake();
    return kept;
  }

  /** No more blocks; with `error`, the iterator throws it once the queued blocks are taken. Idempotent. */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake();
  }

  /** Drops everything queued (stop() discards undelivered blocks, like a radio that is switched off). */
  clear(): void {
    this.blocks.length = 0;
    this.head = 0;
  }

  async next(): Promise<IqBlock | undefined> {
    for (;;) {
      if (this.length > 0) {
        const b = this.blocks[this.head]!;
        this.blocks[this.head] = undefined as unknown as IqBlock;
        this.head++;
        if (this.head === this.blocks.length) {
          this.blocks.length = 0;
          this.head = 0;
        }
        return b;
      }
      if (this.ended) {
        if (this.error) throw this.error;
        return undefined;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<IqBlock> {
    for (;;) {
      const b = await this.next();
      if (b === undefined) return;
      yield b;
    }
  }
}

/**
 * An RxStream over a source of blocks. `stop()` calls `onStop` once (the driver halts its hardware there)
 * and ends the iteration; breaking out of a for-await loop stops the stream too.
 */
export function rxStreamFrom(source: () => Promise<IqBlock | undefined>, onStop: () => Promise<void> | void, signal?: AbortSignal): RxStream {
  let stopped: Promise<void> | undefined;
  let iterating = false;
  const stop = (): Promise<void> => {
    stopped ??= Promise.resolve().then(onStop);
    return stopped;
  };
  if (signal) {
    if (signal.aborted) void stop();
    else signal.addEventListener('abort', () => void stop(), { once: true });
  }
  return {
    stop,
    [Symbol.asyncIterator](): AsyncIterator<IqBlock> {
      if (iterating) throw new DeviceConfigError('an RX stream can be iterated once; call startRx() again for a new stream');
      iterating = true;
      return {
        next: async () => {
          const b = await source();
          return b === undefined ? { done: true, value: undefined } : { done: false, value: b };
        },
        return: async () => {
          await stop();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** Checks `changes` against `caps` and returns the merged configuration; throws DeviceConfigError naming the field. */
export function mergeConfig(id: string, caps: DeviceCapabilities, current: DeviceConfig, changes: Partial<DeviceConfig>): DeviceConfig {
  const next: DeviceConfig = { ...current, gainsDb: { ...current.gainsDb } };
  if (changes.freqHz !== undefined) {
    const [lo, hi] = caps.freqRangeHz;
    if (!Number.isFinite(changes.freqHz) || changes.freqHz < lo || changes.freqHz > hi) {
      throw new DeviceConfigError(`${id}: frequency ${changes.freqHz} Hz is out of range; use ${lo}..${hi} Hz`);
    }
    next.freqHz = changes.freqHz;
  }
  if (changes.sampleRateHz !== undefined) {
    const [lo, hi] = caps.sampleRateRangeHz;
    if (!Number.isFinite(changes.sampleRateHz) || changes.sampleRateHz < lo || changes.sampleRateHz > hi) {
      throw new DeviceConfigError(`${id}: sample rate ${changes.sampleRateHz} Hz is out of range; use ${lo}..${hi} Hz`);
    }
    next.sampleRateHz = changes.sampleRateHz;
  }
  if (changes.bandwidthHz !== undefined) {
    const r = caps.bandwidthRangeHz;
    if (!r) throw new DeviceConfigError(`${id} has no settable analog bandwidth; leave bandwidthHz unset`);
    if (!Number.isFinite(changes.bandwidthHz) || changes.bandwidthHz < r[0] || changes.bandwidthHz > r[1]) {
      throw new DeviceConfigError(`${id}: bandwidth ${changes.bandwidthHz} Hz is out of range; use ${r[0]}..${r[1]} Hz`);
    }
    next.bandwidthHz = changes.bandwidthHz;
  }
  for (const [name, db] of Object.entries(changes.gainsDb ?? {})) {
    const stage = caps.gains.find((g) => g.name === name);
    if (!stage) {
      const names = caps.gains.map((g) => g.name);
      throw new DeviceConfigError(`${id} has no gain stage '${name}'; ${names.length ? `use one of ${names.join(', ')}` : 'it has no gain stages'}`);
    }
    if (!Number.isFinite(db) || db < stage.minDb || db > stage.maxDb) {
      throw new DeviceConfigError(`${id}: gain '${name}' ${db} dB is out of range; use ${stage.minDb}..${stage.maxDb} dB`);
    }
    // Round to the stage's step, as the hardware would.
    next.gainsDb[name] = stage.stepDb > 0 ? stage.minDb + Math.round((db - stage.minDb) / stage.stepDb) * stage.stepDb : db;
  }
  mergeTxSetting(id, caps, next, changes, 'txFreqHz', 'freqHz');
  mergeTxSetting(id, caps, next, changes, 'txSampleRateHz', 'sampleRateHz');
  return next;
}

/**
 * A TX setting apart from its RX one (`txFreqHz` beside `freqHz`): taken when `changes` names it (undefined
 * clears it), checked against the RX range and `caps.separateTx`, and dropped when equal to the RX value,
 * so `next` holds it only where TX really differs.
 */
function mergeTxSetting(
  id: string,
  caps: DeviceCapabilities,
  next: DeviceConfig,
  changes: Partial<DeviceConfig>,
  field: 'txFreqHz' | 'txSampleRateHz',
  rxField: 'freqHz' | 'sampleRateHz',
): void {
  if (field in changes) {
    const v = changes[field];
    if (v === undefined || v === next[rxField]) delete next[field];
    else {
      if (!caps.separateTx[rxField]) {
        throw new DeviceConfigError(`${id} uses one ${rxField === 'freqHz' ? 'frequency' : 'sample rate'} for RX and TX; leave ${field} unset (or equal to ${rxField}, ${next[rxField]})`);
      }
      const [lo, hi] = rxField === 'freqHz' ? caps.freqRangeHz : caps.sampleRateRangeHz;
      if (!Number.isFinite(v) || v < lo || v > hi) throw new DeviceConfigError(`${id}: ${field} ${v} is out of range; use ${lo}..${hi} Hz`);
      next[field] = v;
    }
  }
  if (next[field] === next[rxField]) delete next[field];
}
