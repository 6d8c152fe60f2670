/**
 * A SigMF recording as a receive source: cf32 blocks of a fixed number of samples, as fast as the consumer
 * takes them or paced to the recording's sample rate, optionally looping.
 *
 *   const src = await SigmfReplaySource.open('capture', { blockSamples: 4096, pace: 'realtime' });
 *   for await (const block of src) receiver.push(block.iq);   // loop ends at end of stream
 *   await src.close();
 *
 * End of stream is the iterator finishing (after the last sample, or after `stop()` / the abort signal).
 * Each block is a fresh Float32Array that the consumer may keep. The last block before the end (or before
 * a loop restarts) may be shorter than `blockSamples`. Real datatypes come out as complex with Q = 0.
 * The device layer (src/radio/devices) wraps this in the common device interface.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SigmfArgumentError, SigmfStateError } from './errors.js';
import { SigmfRecording, type OpenSigmfOptions } from './reader.js';

export interface SigmfReplayOptions {
  /** Samples per block (per channel). */
  blockSamples: number;
  /** 'full-speed' (default): as fast as consumed; 'realtime': a block is delivered when its last sample "arrives". */
  pace?: 'full-speed' | 'realtime';
  /** Playback speed factor for 'realtime' (default 1; 2 = twice as fast). */
  speed?: number;
  /** Start again from `startSample` at the end (default false). */
  loop?: boolean;
  /** Which channel of a multi-channel recording (default 0). */
  channel?: number;
  /** First sample to play (default 0). */
  startSample?: number;
  /** Aborting ends the stream (cleanly, like `stop()`). */
  signal?: AbortSignal;
}

export interface ReplayBlock {
  /** Interleaved cf32 [re, im, ...], `samples` long. */
  iq: Float32Array;
  samples: number;
  /** Index in the recording of the block's first sample. */
  sampleIndex: number;
  /** Samples delivered before this block, over all loops. */
  streamIndex: number;
  /** 0 on the first pass, 1 after the first loop, ... */
  loop: number;
  /** `core:frequency` of the capture segment holding the first sample, if any. */
  freqHz: number | undefined;
}

export class SigmfReplaySource implements AsyncIterable<ReplayBlock> {
  readonly blockSamples: number;
  readonly pace: 'full-speed' | 'realtime';
  readonly channel: number;
  readonly startSample: number;
  readonly loop: boolean;
  private readonly speed: number;
  private readonly signal: AbortSignal | undefined;
  private stopped = false;
  private started = false;
  private readonly stopController = new AbortController();

  constructor(
    readonly recording: SigmfRecording,
    opts: SigmfReplayOptions,
    private readonly ownsRecording = false,
  ) {
    const b = opts.blockSamples;
    if (!Number.isInteger(b) || b < 1) throw new SigmfArgumentError(`blockSamples must be an integer >= 1, got ${b}`);
    this.blockSamples = b;
    this.pace = opts.pace ?? 'full-speed';
    if (this.pace !== 'full-speed' && this.pace !== 'realtime') {
      throw new SigmfArgumentError(`pace must be 'full-speed' or 'realtime', got '${String(this.pace)}'`);
    }
    this.speed = opts.speed ?? 1;
    if (!(this.speed > 0 && Number.isFinite(this.speed))) throw new SigmfArgumentError(`speed must be > 0, got ${this.speed}`);
    if (this.pace === 'realtime' && recording.sampleRateHz === undefined) {
      throw new SigmfArgumentError(`${recording.metaPath} has no core:sample_rate, so it cannot be paced in real time; use pace 'full-speed'`);
    }
    this.channel = opts.channel ?? 0;
    if (!Number.isInteger(this.channel) || this.channel < 0 || this.channel >= recording.numChannels) {
      throw new SigmfArgumentError(`channel ${this.channel} does not exist; the recording has ${recording.numChannels} channel(s)`);
    }
    this.startSample = opts.startSample ?? 0;
    if (!Number.isSafeInteger(this.startSample) || this.startSample < 0) {
      throw new SigmfArgumentError(`startSample must be an integer >= 0, got ${this.startSample}`);
    }
    this.loop = opts.loop ?? false;
    this.signal = opts.signal;
    // One signal for pacing waits: stop() or the caller's abort.
    this.signal?.addEventListener('abort', () => this.stopController.abort(), { once: true });
    if (this.recording.unreadableReason) {
      throw new SigmfArgumentError(`cannot replay ${recording.metaPath}: ${recording.unreadableReason}`);
    }
  }

  /** Open a recording by path and replay it; `close()` closes the recording too. */
  static async open(path: string, opts: SigmfReplayOptions & OpenSigmfOptions): Promise<SigmfReplaySource> {
    const rec = await SigmfRecording.open(path, { ...opts, validate: opts.validate ?? false });
    try {
      return new SigmfReplaySource(rec, opts, true);
    } catch (e) {
      await rec.close();
      throw e;
    }
  }

  get sampleRateHz(): number | undefined {
    return this.recording.sampleRateHz;
  }

  /** End the stream: the iterator finishes before its next block (also interrupts a pacing wait). */
  stop(): void {
    this.stopped = true;
    this.stopController.abort();
  }

  async close(): Promise<void> {
    this.stop();
    if (this.ownsRecording) await this.recording.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<ReplayBlock> {
    if (this.started) throw new SigmfStateError('a SigmfReplaySource streams once; open another for a second pass');
    this.started = true;
    return this.blocks();
  }

  private isStopped(): boolean {
    return this.stopped || this.signal?.aborted === true;
  }

  private async *blocks(): AsyncGenerator<ReplayBlock> {
    const rec = this.recording;
    const end = rec.sampleCount;
    if (this.startSample >= end) return;
    const t0 = performance.now();
    const msPerSample = this.pace === 'realtime' ? 1000 / (rec.sampleRateHz! * this.speed) : 0;
    const waitSignal = this.stopController.signal;
    let streamIndex = 0;
    let loop = 0;
    let index = this.startSample;
    while (!this.isStopped()) {
      const n = Math.min(this.blockSamples, end - index);
      const iq = new Float32Array(2 * n);
      await rec.readChannelInto(index, n, this.channel, iq, { asComplex: true });
      if (msPerSample > 0) {
        const due = t0 + (streamIndex + n) * msPerSample;
        const wait = due - performance.now();
        if (wait > 1) {
          try {
            await sleep(wait, undefined, { signal: waitSignal });
          } catch {
            return; // stopped or aborted while waiting
          }
        }
      }
      if (this.isStopped()) return;
      const freq = rec.captureAt(index)?.['core:frequency'];
      yield { iq, samples: n, sampleIndex: index, streamIndex, loop, freqHz: typeof freq === 'number' ? freq : undefined };
      streamIndex += n;
      index += n;
      if (index >= end) {
        if (!this.loop) return;
        index = this.startSample;
        loop++;
      }
    }
  }
}
