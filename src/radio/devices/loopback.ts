/**
 * The loopback radio, the default: what is transmitted goes through the IQ-level channel simulator
 * (src/radio/channel) and comes back on the receive side. Full duplex.
 *
 * The "air" is a timeline of samples. When the receive side needs samples it takes, in order:
 *   1. channel output not yet delivered;
 *   2. everything the transmitter has queued, run through a ChannelSimulator as one segment (a burst):
 *      fading, timing and sample-rate offset, noise, CFO, phase noise, IQ imbalance, DC, quantization;
 *   3. otherwise receiver noise at the configured level (a real radio's RX never stops), with the same DC,
 *      IQ imbalance and quantization.
 * Each segment gets its own seed (seed + segment number), so bursts see independent noise and fading draws,
 * like block fading from burst to burst; within a burst everything is coherent. A transmitter should hand a
 * whole burst to one `write()` (or several in quick succession) so a frame is not cut into two segments.
 *
 * Pacing:
 *  - 'realtime' (default): blocks appear at the sample rate whether or not anyone reads them; a slow
 *    consumer loses the oldest blocks beyond `queueBlocks` (counted in `stats().overflows`), and a
 *    transmitter that runs dry while its stream is open counts an underflow. While the queue is full and
 *    nothing is being transmitted, new blocks are receiver noise drawn only when the consumer takes them,
 *    so the blocks it loses are never made (no CPU is spent on noise nobody reads).
 *  - 'full-speed': the receiver produces a block when the consumer asks for one, and while a TX stream is
 *    open it waits for the transmitter's samples, so TX and RX run in lock step as fast as the CPU allows
 *    (deterministic for a given seed: the mode tests and batch simulations use).
 *
 * The channel can be changed while streaming (`setChannel`), e.g. for an SNR sweep; the change applies from
 * the next segment. Callers reach it through `channelSimulator` (types.ts), the hook real radios lack. `unplug()` simulates the radio disappearing (a fake at the hardware boundary, for tests
 * of what happens above a device when a USB radio is pulled).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ChannelSimulator, type ChannelConfig } from '../channel/simulator.js';
import { addNoise, noiseVarianceFor } from '../channel/awgn.js';
import { applyDcOffset, applyIqImbalance } from '../channel/impairments.js';
import { quantize8 } from '../iq/format.js';
import { Rng } from '../channel/rng.js';
import { BlockQueue, DEFAULT_BLOCK_SAMPLES, mergeConfig, rxStreamFrom } from './stream.js';
import { DeviceBase } from './device-base.js';
import {
  DeviceConfigError,
  DeviceGoneError,
  type ChannelSimulatorControl,
  type DeviceCapabilities,
  type DeviceConfig,
  type DeviceInfo,
  type IqBlock,
  type LoopbackChannel,
  type RxOptions,
  type RxStream,
  type StreamStats,
  type TxStream,
} from './types.js';

export type { LoopbackChannel } from './types.js';

export interface LoopbackOptions {
  /** Device id (default 'loopback'). */
  id?: string;
  /** Default: 30 dB SNR, nothing else. */
  channel?: LoopbackChannel;
  /** Seed of every random draw of the channel (default 1). */
  seed?: number;
  pace?: 'realtime' | 'full-speed';
  /** Initial configuration (default 2.4 GHz, 2 Msps, rx gain 0 dB). */
  config?: Partial<DeviceConfig>;
  /** Transmit samples queued before `write()` waits (default 262144). */
  txQueueSamples?: number;
}

/** The loopback's capabilities at its default, real-time pace (`full-speed` waits for the RX consumer). */
export const LOOPBACK_CAPABILITIES: DeviceCapabilities = Object.freeze({
  rx: true,
  tx: true,
  rxChannels: 1,
  txChannels: 1,
  fullDuplex: true,
  // One simulated channel at one carrier and rate: TX and RX share them.
  separateTx: Object.freeze({ freqHz: false, sampleRateHz: false }),
  hardwareTimestamps: false,
  rxWaitsForConsumer: false,
  freqRangeHz: [0, 100e9] as [number, number],
  sampleRateRangeHz: [1e3, 100e6] as [number, number],
  // A digital gain after the channel: moves the signal against the 8-bit quantizer's fixed range.
  gains: [{ name: 'rx', minDb: -40, maxDb: 40, stepDb: 0.5, direction: 'rx' as const }],
  nativeFormat: 'cf32_le' as const,
});
const LOOPBACK_FULL_SPEED_CAPABILITIES: DeviceCapabilities = Object.freeze({ ...LOOPBACK_CAPABILITIES, rxWaitsForConsumer: true });

const DEFAULT_CHANNEL: LoopbackChannel = { snrDb: 30 };
/** Longest TX segment run through the channel at once (bounds the simulator's working memory). */
const MAX_SEGMENT_SAMPLES = 1 << 20;

export class LoopbackDevice extends DeviceBase {
  readonly info: DeviceInfo;
  readonly capabilities: DeviceCapabilities;
  readonly pace: 'realtime' | 'full-speed';
  private chan: LoopbackChannel;
  private attDb = 0;
  private readonly seed: number;
  private readonly txQueueSamples: number;

  // transmit side
  private txChunks: Float32Array[] = [];
  private txQueued = 0;
  private tx: { ended: boolean; dry: boolean } | undefined;
  private txWaiters: Array<() => void> = [];
  // channel output not yet delivered
  private pending: Float32Array | undefined;
  private pendingPos = 0;
  private segment = 0;
  private readonly idleRng: Rng;
  // receive side
  private rx: { queue: BlockQueue; stop: () => Promise<void> } | undefined;
  private streamIndex = 0;
  private pump: { abort: AbortController; done: Promise<void> } | undefined;
  private rateEpoch = 0;
  private pumpBlockSamples = DEFAULT_BLOCK_SAMPLES;

  constructor(opts: LoopbackOptions = {}) {
    const id = opts.id ?? 'loopback';
    super(mergeConfig(id, LOOPBACK_CAPABILITIES, { freqHz: 2.4e9, sampleRateHz: 2e6, gainsDb: { rx: 0 } }, opts.config ?? {}));
    this.info = { id, driver: 'loopback', label: 'Loopback (TX -> channel simulator -> RX)' };
    this.pace = opts.pace ?? 'realtime';
    if (this.pace !== 'realtime' && this.pace !== 'full-speed') throw new DeviceConfigError(`pace must be 'realtime' or 'full-speed', got '${String(this.pace)}'`);
    this.capabilities = this.pace === 'full-speed' ? LOOPBACK_FULL_SPEED_CAPABILITIES : LOOPBACK_CAPABILITIES;
    this.seed = opts.seed ?? 1;
    this.txQueueSamples = opts.txQueueSamples ?? 1 << 18;
    this.chan = { ...(opts.channel ?? DEFAULT_CHANNEL) };
    this.idleRng = new Rng(this.seed ^ 0x1d1e);
  }

  /** The loopback is its own channel simulator: TX comes back on RX through the channel set here. */
  get channelSimulator(): ChannelSimulatorControl {
    return this;
  }

  /**
   * Attenuation of the transmitted signal before the channel, in dB (0: none). Like a step attenuator in the
   * cable: the signal drops, the receiver's noise floor (set by the channel's snrDb against the nominal
   * signal power) stays, so the SNR at the receiver is `snrDb - attenuationDb`. SNR sweeps move this.
   */
  get attenuationDb(): number {
    return this.attDb;
  }

  setAttenuation(db: number): number {
    if (!Number.isFinite(db) || db < 0 || db > 200) throw new DeviceConfigError(`attenuation must be 0..200 dB, got ${db}`);
    this.attDb = db;
    return db;
  }

  /** The channel as it is now. */
  get channel(): LoopbackChannel {
    return { ...this.chan };
  }

  /** Change the channel while running (SNR sweeps); applies from the next segment of samples. */
  setChannel(changes: Partial<LoopbackChannel>): LoopbackChannel {
    const next = { ...this.chan, ...changes };
    if (next.snrDb !== undefined && !Number.isFinite(next.snrDb)) throw new DeviceConfigError(`snrDb must be a finite number, got ${next.snrDb}`);
    this.chan = next;
    return this.channel;
  }

  protected async openHardware(): Promise<void> {}

  protected async applyConfig(changes: Partial<DeviceConfig>): Promise<void> {
    const next = this.merged(changes);
    if (next.sampleRateHz !== this.cfg.sampleRateHz) this.rateEpoch++;
    this.cfg = next;
  }

  override stats(): StreamStats {
    return { ...this.counters, overflows: this.counters.overflows + (this.rx?.queue.dropped ?? 0) };
  }

  startRx(options: RxOptions = {}): RxStream {
    const { blockSamples, queue } = this.rxStart(this.rx !== undefined, options);
    const stop = async (): Promise<void> => {
      if (this.rx?.queue !== queue) return;
      this.counters.overflows += queue.dropped;
      this.rx = undefined;
      queue.end();
      this.wakeTx();
      await this.stopPumpIfIdle();
    };
    this.rx = { queue, stop };
    this.streamIndex = 0;
    if (this.pace === 'realtime') {
      this.pumpBlockSamples = blockSamples;
      this.rateEpoch++; // the block clock restarts with the stream
      this.startPump();
      return rxStreamFrom(() => queue.next(), stop, options.signal);
    }
    // Full speed: a block is made when the consumer asks for it.
    const pull = async (): Promise<IqBlock | undefined> => {
      if (queue.isEnded) return queue.next();
      await this.waitForTxInput(queue);
      if (queue.isEnded) return queue.next();
      const block = this.makeBlock(blockSamples);
      return block;
    };
    return rxStreamFrom(pull, stop, options.signal);
  }

  startTx(): TxStream {
    this.requireOpen();
    if (this.tx && !this.tx.ended) throw new DeviceConfigError(`${this.info.id} is already transmitting; end() the TX stream first`);
    const state = { ended: false, dry: false };
    this.tx = state;
    if (this.pace === 'realtime') this.startPump();
    return {
      write: async (iq: Float32Array) => {
        if (this.goneError) throw this.goneError;
        if (state.ended || this.tx !== state) throw new DeviceConfigError('write() after end(): start a new TX stream');
        if (iq.length % 2 !== 0) throw new DeviceConfigError(`TX samples must be interleaved I/Q (even length), got ${iq.length} floats`);
        if (iq.length === 0) return;
        this.txChunks.push(Float32Array.from(iq));
        this.txQueued += iq.length >> 1;
        this.counters.samplesTx += iq.length >> 1;
        state.dry = false;
        this.wakeTx();
        // Nobody receives in full-speed mode: the samples go out into the void at once.
        if (this.pace === 'full-speed' && !this.rx) this.discardTx();
        while (this.txQueued >= this.txQueueSamples && !this.goneError && this.hasOpened) await this.txWait();
        if (this.goneError) throw this.goneError;
      },
      end: async () => {
        if (state.ended) return;
        while (this.txQueued > 0 && !this.goneError && this.hasOpened && (this.rx || this.pump)) await this.txWait();
        state.ended = true;
        if (this.tx === state) this.tx = undefined;
        this.wakeTx();
        if (this.goneError) throw this.goneError;
        await this.stopPumpIfIdle();
      },
    };
  }

  /** Fake hardware boundary: the radio disappears, as a USB radio does when pulled out. */
  unplug(reason = 'unplugged'): void {
    this.markGone(reason);
  }

  protected endStreams(err: DeviceGoneError): void {
    this.rx?.queue.end(err);
    this.wakeTx();
    this.pump?.abort.abort();
  }

  protected async closeHardware(): Promise<void> {
    if (this.rx) await this.rx.stop();
    if (this.tx) this.tx.ended = true;
    this.tx = undefined;
    this.discardTx();
    this.pump?.abort.abort();
    await this.pump?.done;
    this.pump = undefined;
  }

  // --- the air -------------------------------------------------------------------------------------------

  private txWait(): Promise<void> {
    return new Promise((resolve) => this.txWaiters.push(resolve));
  }

  private wakeTx(): void {
    const ws = this.txWaiters;
    this.txWaiters = [];
    for (const w of ws) w();
  }

  private discardTx(): void {
    this.txChunks = [];
    this.txQueued = 0;
    this.wakeTx();
  }

  /** Full speed with an open TX stream: the receiver waits for the transmitter (lock step). */
  private async waitForTxInput(queue: BlockQueue): Promise<void> {
    while (this.tx && !this.tx.ended && this.txQueued === 0 && this.pendingLeft() === 0 && !queue.isEnded) await this.txWait();
  }

  private pendingLeft(): number {
    return this.pending ? (this.pending.length >> 1) - this.pendingPos : 0;
  }

  /** `n` received samples: channel output first, then queued TX through the channel, then receiver noise. */
  private receive(n: number): Float32Array {
    const out = new Float32Array(2 * n);
    let pos = 0;
    while (pos < n) {
      const left = this.pendingLeft();
      if (left > 0) {
        const take = Math.min(left, n - pos);
        out.set(this.pending!.subarray(2 * this.pendingPos, 2 * (this.pendingPos + take)), 2 * pos);
        this.pendingPos += take;
        pos += take;
        continue;
      }
      if (this.txQueued > 0) {
        this.pending = this.runSegment(this.takeTx());
        this.pendingPos = 0;
        continue;
      }
      if (this.tx && !this.tx.ended && !this.tx.dry) {
        // The transmitter's stream is open but it gave nothing in time: a real radio would send zeros.
        this.tx.dry = true;
        this.counters.underflows++;
      }
      this.idleNoise(out.subarray(2 * pos));
      pos = n;
    }
    this.wakeTx();
    return out;
  }

  private takeTx(): Float32Array {
    let n = 0;
    let k = 0;
    while (k < this.txChunks.length && n + (this.txChunks[k]!.length >> 1) <= MAX_SEGMENT_SAMPLES) n += this.txChunks[k++]!.length >> 1;
    if (k === 0) {
      // One chunk longer than a segment: split it.
      const c = this.txChunks[0]!;
      this.txChunks[0] = c.subarray(2 * MAX_SEGMENT_SAMPLES);
      this.txQueued -= MAX_SEGMENT_SAMPLES;
      return c.subarray(0, 2 * MAX_SEGMENT_SAMPLES);
    }
    const seg = new Float32Array(2 * n);
    let o = 0;
    for (let i = 0; i < k; i++) {
      seg.set(this.txChunks[i]!, o);
      o += this.txChunks[i]!.length;
    }
    this.txChunks.splice(0, k);
    this.txQueued -= n;
    return seg;
  }

  private channelConfig(seed: number): ChannelConfig {
    return { ...this.chan, sampleRateHz: this.cfg.sampleRateHz, carrierHz: this.cfg.freqHz, seed };
  }

  private runSegment(tx: Float32Array): Float32Array {
    const seed = (this.seed + Math.imul(++this.segment, 0x9e3779b1)) >>> 0;
    // A short zero tail so a delayed or resampled burst keeps its last samples (it becomes noise).
    const tail = 32 + Math.ceil(Math.abs(this.chan.timingOffsetSamples ?? 0));
    const padded = new Float32Array(tx.length + 2 * tail);
    padded.set(tx);
    if (this.attDb > 0) {
      const a = Math.pow(10, -this.attDb / 20);
      for (let i = 0; i < tx.length; i++) padded[i] = padded[i]! * a;
    }
    const { rx } = new ChannelSimulator(this.channelConfig(seed)).run(padded);
    this.applyGain(rx);
    return rx;
  }

  private idleNoise(out: Float32Array): void {
    const c = this.chan;
    if (c.snrDb !== undefined) {
      const nv = noiseVarianceFor(c.snrDb, { signalPower: c.signalPower ?? 1, occupiedFraction: c.occupiedFraction ?? 52 / 64 });
      addNoise(out, nv, this.idleRng);
    }
    if (c.iqImbalance) applyIqImbalance(out, c.iqImbalance.amplitudeDb, c.iqImbalance.phaseDeg);
    if (c.dcOffset) applyDcOffset(out, c.dcOffset.re, c.dcOffset.im);
    if (c.quantization && c.quantization !== 'none') quantize8(out, c.quantization, c.adcBackoffDb ?? 12);
    this.applyGain(out);
  }

  private applyGain(x: Float32Array): void {
    const g = this.cfg.gainsDb['rx'] ?? 0;
    if (g === 0) return;
    const a = Math.pow(10, g / 20);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! * a;
  }

  private makeBlock(samples: number): IqBlock {
    const iq = this.receive(samples);
    const block: IqBlock = { iq, samples, sampleIndex: this.streamIndex, receivedAtMs: Date.now() };
    this.streamIndex += samples;
    this.counters.samplesRx += samples;
    return block;
  }

  /** A block of receiver noise whose samples are drawn when first read (see the pump). */
  private idleBlock(samples: number): IqBlock {
    if (this.tx && !this.tx.ended && !this.tx.dry) {
      this.tx.dry = true;
      this.counters.underflows++;
    }
    let iq: Float32Array | undefined;
    const draw = (): Float32Array => {
      if (!iq) {
        iq = new Float32Array(2 * samples);
        this.idleNoise(iq);
      }
      return iq;
    };
    const block = {
      samples,
      sampleIndex: this.streamIndex,
      receivedAtMs: Date.now(),
      get iq(): Float32Array {
        return draw();
      },
      set iq(v: Float32Array) {
        iq = v;
      },
    };
    this.streamIndex += samples;
    this.counters.samplesRx += samples;
    return block;
  }

  /** Real-time pacing: produce the blocks due by now, on a timer, whether or not anyone reads them. */
  private startPump(): void {
    if (this.pump) return;
    const abort = new AbortController();
    const run = async (): Promise<void> => {
      let epoch = -1;
      let t0 = 0;
      let made = 0;
      let blockSamples = this.pumpBlockSamples;
      while (!abort.signal.aborted) {
        if (epoch !== this.rateEpoch) {
          blockSamples = this.pumpBlockSamples;
          epoch = this.rateEpoch;
          t0 = performance.now();
          made = 0;
        }
        const blockMs = (blockSamples / this.cfg.sampleRateHz) * 1000;
        let due = Math.floor((performance.now() - t0) / blockMs);
        const queue = this.rx?.queue;
        const cap = (queue?.capacity ?? 1) + 1;
        if (due - made > cap) {
          // The event loop stalled: the radio's own buffer would have overflowed. Skip, count, catch up.
          const skipped = due - made - cap;
          if (queue) {
            this.counters.overflows += skipped;
            this.streamIndex += skipped * blockSamples;
          }
          made += skipped;
        }
        for (; made < due; made++) {
          const q = this.rx?.queue;
          if (q && q.length >= q.capacity && this.txQueued === 0 && this.pendingLeft() === 0) {
            // The consumer has fallen a whole queue behind and nothing is on the air: the block is receiver
            // noise, made only if and when it is taken. Those the queue drops are never made, so a consumer
            // that reads nothing (an rtl_tcp client that stopped) costs no CPU.
            q.push(this.idleBlock(blockSamples));
            continue;
          }
          if (q) q.push(this.makeBlock(blockSamples));
          else this.receive(blockSamples); // nobody listens: the air still moves, TX drains into the void
        }
        due = made + 1;
        const wait = t0 + due * blockMs - performance.now();
        try {
          await sleep(Math.max(1, wait), undefined, { signal: abort.signal });
        } catch {
          return;
        }
      }
    };
    this.pump = { abort, done: run() };
  }

  private async stopPumpIfIdle(): Promise<void> {
    if (!this.pump || this.rx || (this.tx && !this.tx.ended)) return;
    const p = this.pump;
    this.pump = undefined;
    p.abort.abort();
    await p.done;
  }
}
