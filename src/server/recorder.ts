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
  private lost = 0;
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
    if (this.writer.pendingBytes > (this.opts.maxPendingBytes ?? 64 * 2 ** 20)) {
      this.lost += block.samples;
      return;
    }
    if (this.lost > 0) {
      const lost = this.lost;
      this.lost = 0;
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
    };
  }
}
