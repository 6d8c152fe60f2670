/**
 * "Record to SigMF" in the live view: an RX tap that appends every received block to a SigmfWriter
 * (streaming, crash-safe: the recording is readable even if the app dies mid-session).
 *
 * The tap runs on the receive path, so it never waits for the disk: blocks are handed to the writer,
 * which converts and queues them. If the disk falls behind by more than `maxPendingBytes`, blocks are
 * dropped and the gap is marked as a discontinuity (SigMF `core:global_index`), so the recording stays
 * honest about what it lost instead of stalling the receiver. Write errors (full disk) stop the recording,
 * close it cleanly and are reported once.
 */
import { join } from 'node:path';
import { SigmfWriter } from '../radio/sigmf/writer.js';
import type { DeviceConfig, IqBlock } from '../radio/devices/types.js';
import type { RecordingSummary } from './api.js';

export interface RecorderOptions {
  dir: string;
  name: string;
  config: DeviceConfig;
  hardware: string;
  description?: string;
  maxPendingBytes?: number;
  onError: (e: Error) => void;
}

export class RxRecorder {
  /** Samples lost since the last block written (written as one discontinuity before the next block). */
  private lost = 0;
  /** Every sample lost so far: the radio's own gaps (its stream's sample index jumped) and blocks dropped because the disk fell behind. */
  droppedSamples = 0;
  /** Discontinuities written to the recording (one per run of lost samples). */
  gaps = 0;
  /** Of `droppedSamples`, those the recorder dropped itself (the writer fell behind). */
  droppedByWriter = 0;
  private nextIndex: number | undefined;
  private stopped = false;
  private failure: Error | undefined;
  private freqHz: number;

  private constructor(
    readonly path: string,
    private readonly writer: SigmfWriter,
    private readonly opts: RecorderOptions,
  ) {
    this.freqHz = opts.config.freqHz;
  }

  static async start(opts: RecorderOptions): Promise<RxRecorder> {
    const path = join(opts.dir, opts.name);
    const writer = await SigmfWriter.open(path, {
      datatype: 'cf32_le',
      sampleRateHz: opts.config.sampleRateHz,
      freqHz: opts.config.freqHz,
      hardware: opts.hardware,
      description: opts.description ?? 'DeKA-g testbed session, received stream',
    });
    return new RxRecorder(path, writer, opts);
  }

  get samples(): number {
    return this.writer.sampleCount;
  }

  /** The RX tap. */
  readonly tap = (block: IqBlock, config: DeviceConfig): void => {
    if (this.stopped) return;
    if (config.freqHz !== this.freqHz) {
      this.freqHz = config.freqHz;
      this.writer.setFrequency(config.freqHz).catch((e: Error) => this.fail(e));
    }
    // The radio's stream counts every sample it made, delivered or not: a jump in the index is samples the
    // radio or its driver lost before they reached us (a restarted stream starts again from 0: no gap).
    if (this.nextIndex !== undefined && block.sampleIndex > this.nextIndex) {
      const gap = block.sampleIndex - this.nextIndex;
      this.lost += gap;
      this.droppedSamples += gap;
    }
    this.nextIndex = block.sampleIndex + block.samples;
    if (this.writer.pendingBytes > (this.opts.maxPendingBytes ?? 64 * 2 ** 20)) {
      this.lost += block.samples;
      this.droppedSamples += block.samples;
      this.droppedByWriter += block.samples;
      return;
    }
    if (this.lost > 0) {
      const lost = this.lost;
      this.lost = 0;
      this.gaps++;
      this.writer.markDiscontinuity(lost).catch((e: Error) => this.fail(e));
    }
    this.writer.append(block.iq).catch((e: Error) => this.fail(e));
  };

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.stopped = true;
    void this.writer.close();
    this.opts.onError(e);
  }

  /** Stops and finalizes (checksum, finalized flag). After a write failure, the closed recording is kept as is. */
  async stop(): Promise<RecordingSummary> {
    this.stopped = true;
    if (this.lost > 0 && !this.failure) {
      // lost at the very end: written as a last discontinuity, so the file says so too
      this.gaps++;
      await this.writer.markDiscontinuity(this.lost).catch(() => undefined);
      this.lost = 0;
    }
    let samples = this.writer.sampleCount;
    if (!this.failure) {
      const r = await this.writer.finalize();
      samples = r.sampleCount;
    } else {
      await this.writer.close();
    }
    return {
      path: this.path,
      name: this.opts.name,
      samples,
      sampleRateHz: this.opts.config.sampleRateHz,
      freqHz: this.opts.config.freqHz,
      datatype: 'cf32_le',
      droppedSamples: this.droppedSamples,
      gaps: this.gaps,
    };
  }
}
