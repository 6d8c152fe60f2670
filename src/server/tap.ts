/**
 * A radio with taps on its receive stream: the engine wraps the connected device in a TappedDevice and
 * hands that to sessions, so the live view's spectrum/waterfall and the SigMF recorder see exactly the
 * samples the receiver sees, without the session knowing about either. Everything else passes through.
 *
 * A tap runs synchronously on each block as the consumer pulls it; taps must be quick (the spectrum
 * monitor is a few FFTs, the recorder only queues a copy for its writer). A tap that throws is removed
 * and reported through `onTapError`, never breaking the session's stream.
 */
import { EventEmitter } from 'node:events';
import type { DeviceConfig, IqBlock, RxOptions, RxStream, SdrDevice, StreamStats, TxStream } from '../radio/devices/types.js';

export type RxTap = (block: IqBlock, config: DeviceConfig) => void;

export class TappedDevice extends EventEmitter implements SdrDevice {
  private readonly taps = new Set<RxTap>();
  private readonly forward: Record<string, (...args: unknown[]) => void> = {};

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
  get config() {
    return this.inner.config;
  }
  get isOpen() {
    return this.inner.isOpen;
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
    return this.inner.stats();
  }

  startRx(options?: RxOptions): RxStream {
    const stream = this.inner.startRx(options);
    const taps = this.taps;
    const device = this.inner;
    const onTapError = this.onTapError;
    return {
      stop: () => stream.stop(),
      [Symbol.asyncIterator]() {
        const it = stream[Symbol.asyncIterator]();
        return {
          async next() {
            const r = await it.next();
            if (!r.done && taps.size > 0) {
              const cfg = device.config;
              for (const tap of taps) {
                try {
                  tap(r.value, cfg);
                } catch (e) {
                  taps.delete(tap);
                  onTapError(e as Error);
                }
              }
            }
            return r;
          },
          async return(value?: unknown) {
            if (it.return) return it.return(value);
            return { done: true as const, value: undefined };
          },
        } as AsyncIterator<IqBlock>;
      },
    };
  }

  /** Closes the radio and detaches from its events. */
  async close(): Promise<void> {
    for (const [name, f] of Object.entries(this.forward)) this.inner.off(name, f);
    await this.inner.close();
  }
}
