/**
 * The one RX -> SigMF recorder: a radio's receive stream (IqBlocks) into a crash-safe SigMF recording, with
 * one annotation per decoded modem frame. `dekag record` (src/cli/record.ts), the engine's "Record to SigMF"
 * (src/server/engine.ts) and the user role's `--record` (src/session/user.ts) all record through it, so a
 * recording says the same things whichever of them made it:
 *
 * - **Datatype**: the one asked for (default `cf32_le`). When it is the radio's own 8-bit format (`ci8`,
 *   `cu8`) and the block carries the radio's bytes (`IqBlock.raw`), those bytes are written as received
 *   (bit-exact); otherwise the floats are converted by the writer.
 * - **Gaps**: the stream's `sampleIndex` counts every sample the radio made; a jump is samples lost before
 *   they reached us, written as one discontinuity (a capture segment with `core:global_index` and
 *   `dekag:lost_samples`) before the next block written. An index going back is a restarted stream, not a
 *   gap. Where the stream starts is `streamStart` (0 for a recorder that started the stream itself, so
 *   samples lost before its first block count too) or, when not given, the first block (a tap joining a
 *   running stream).
 * - **Disk behind**: `whenBehind: 'wait'` (the default: a caller that owns the stream and feeds a
 *   receiver the same samples) makes `write` wait for the disk; `'drop'` (a tap on the live receive path,
 *   which must never wait) drops the block, counts it and marks it as part of the next discontinuity.
 * - **Counts**: `samples` written, `droppedSamples` (all lost: the radio's and the recorder's own),
 *   `droppedByWriter` (of those, dropped because the disk fell behind), `gaps` (discontinuities written),
 *   `frames` (annotations).
 * - **Annotations**: `annotateFrame(frame)` for every frame the receiver puts out, with the same fields:
 *   `dekag:sequence`, `dekag:snr_db`, `dekag:crc_ok`, `dekag:rate` (the header's modulation, and code rate
 *   for byte frames: `qpsk 1/2`, `256qam`), `dekag:payload_kind` (`bytes` or `symbols`) and an optional
 *   comment from the caller (what the frame meant to it). Sample indices are the receiver's, which are the
 *   recording's when the receiver is fed exactly the samples `write` accepted.
 * - **Errors**: the first write error stops the recording, closes it as it is (valid, not finalized) and is
 *   reported once to `onError`; `write` then rejects with it (in wait mode) or returns 0 (drop mode).
 */
import { basename } from 'node:path';
import type { DeviceConfig, IqBlock } from '../devices/types.js';
import type { RxFrame } from '../phy/demodulator.js';
import { modulationName } from '../phy/constellation.js';
import { codeRateName } from '../phy/convcode.js';
import { PayloadKind } from '../phy/header.js';
import type { SampleArray } from './datatype.js';
import type { FrameAnnotation } from './meta.js';
import { SigmfWriter, type FinalizeResult, type SigmfWriterOptions } from './writer.js';

export interface RxRecorderOptions extends Omit<SigmfWriterOptions, 'datatype' | 'numChannels'> {
  /** The datatype to write (default `cf32_le`). */
  datatype?: string;
  /** The radio's own format (`SdrDevice.capabilities.nativeFormat`): its bytes are written as received when `datatype` is it. */
  nativeFormat?: string;
  /** Index of the stream's first sample (0 when the recorder started the stream); default: the first block's. */
  streamStart?: number;
  /** Stop accepting samples after this many (`full` turns true). */
  maxSamples?: number;
  /** What `write` does when the disk is behind by more than `maxPendingBytes`: wait (default) or drop the block. */
  whenBehind?: 'wait' | 'drop';
  /** Bytes the disk may be behind (default 64 MiB). */
  maxPendingBytes?: number;
  /** Told once about the error that stopped the recording. */
  onError?: (e: Error) => void;
}

export interface RxRecordingSummary {
  /** Base path (without .sigmf-meta / .sigmf-data). */
  path: string;
  name: string;
  metaPath: string;
  dataPath: string;
  datatype: string;
  samples: number;
  /** Every sample lost: the radio's gaps and the blocks the recorder dropped. */
  droppedSamples: number;
  /** Of `droppedSamples`, the blocks dropped because the disk fell behind. */
  droppedByWriter: number;
  /** Discontinuities written (one per run of lost samples). */
  gaps: number;
  /** Frames annotated. */
  frames: number;
  /** The finalized recording (checksum, bytes); absent when a write error stopped it. */
  final?: FinalizeResult;
  /** The error that stopped the recording, if one did. */
  error?: Error;
}

/** The annotation every recorder writes for a received frame (the fields `annotateFrame` writes). */
export function rxFrameAnnotation(f: RxFrame, comment?: string): FrameAnnotation {
  const bytes = f.header.payloadKind === PayloadKind.Bytes;
  return {
    sampleStart: f.startSample,
    sampleCount: f.lengthSamples,
    sequence: f.header.sequence,
    snrDb: f.snrDb,
    crcOk: f.crcOk,
    rate: bytes ? `${modulationName(f.header.modulation)} ${codeRateName(f.header.codeRate)}` : modulationName(f.header.modulation),
    payloadKind: bytes ? 'bytes' : 'symbols',
    ...(comment !== undefined ? { comment } : {}),
  };
}

export class RxRecorder {
  /** Every sample lost so far: the radio's own gaps and blocks dropped because the disk fell behind. */
  droppedSamples = 0;
  /** Of `droppedSamples`, those the recorder dropped itself (the disk fell behind). */
  droppedByWriter = 0;
  /** Discontinuities written to the recording (one per run of lost samples). */
  gaps = 0;
  /** Frames annotated. */
  frames = 0;
  /** Samples lost since the last block written (written as one discontinuity before the next block). */
  private lost = 0;
  private nextIndex: number | undefined;
  private stopped = false;
  private failure: Error | undefined;
  private lastWrite: Promise<void> = Promise.resolve();
  private finished: Promise<RxRecordingSummary> | undefined;

  private constructor(
    private readonly writer: SigmfWriter,
    private readonly opts: RxRecorderOptions,
  ) {
    this.nextIndex = opts.streamStart;
  }

  /** Create the recording (BASE.sigmf-meta + BASE.sigmf-data). */
  static async open(basePath: string, opts: RxRecorderOptions): Promise<RxRecorder> {
    const { nativeFormat: _n, streamStart: _s, maxSamples: _m, whenBehind: _w, maxPendingBytes: _p, onError: _e, ...w } = opts;
    const writer = await SigmfWriter.open(basePath, { ...w, datatype: opts.datatype ?? 'cf32_le' });
    return new RxRecorder(writer, opts);
  }

  get path(): string {
    return this.writer.basePath;
  }

  get metaPath(): string {
    return this.writer.metaPath;
  }

  get datatype(): string {
    return this.writer.datatype.name;
  }

  /** Samples accepted (written or queued for the disk). */
  get samples(): number {
    return this.writer.sampleCount;
  }

  /** `maxSamples` reached. */
  get full(): boolean {
    return this.opts.maxSamples !== undefined && this.writer.sampleCount >= this.opts.maxSamples;
  }

  /** The error that stopped the recording, if one did. */
  get error(): Error | undefined {
    return this.failure;
  }

  /**
   * Record one block (`config`: the radio's settings now; a new frequency starts a capture segment).
   * Resolves with the samples accepted: the block's first N (fewer at `maxSamples`, 0 when dropped or stopped).
   * A receiver fed `block.iq.subarray(0, 2 * N)` sees the recording's sample indices.
   */
  async write(block: IqBlock, config?: DeviceConfig): Promise<number> {
    if (this.failure && this.opts.whenBehind !== 'drop') throw this.failure;
    if (this.stopped || this.full) return 0;
    if (config) this.track(this.writer.setFrequency(config.freqHz));
    if (this.nextIndex !== undefined && block.sampleIndex > this.nextIndex) this.lose(block.sampleIndex - this.nextIndex);
    this.nextIndex = block.sampleIndex + block.samples;
    if (this.writer.pendingBytes > (this.opts.maxPendingBytes ?? 64 * 2 ** 20)) {
      if (this.opts.whenBehind === 'drop') {
        this.lose(block.samples);
        this.droppedByWriter += block.samples;
        return 0;
      }
      await this.lastWrite;
      if (this.failure) throw this.failure;
      if (this.stopped) return 0;
    }
    this.markLost();
    const n = Math.min(block.samples, (this.opts.maxSamples ?? Infinity) - this.writer.sampleCount);
    this.lastWrite = this.track(this.writer.append(this.samplesOf(block, n)));
    return n;
  }

  /** The RX tap form of `write` (for `SdrDevice.addTap`): never waits; errors go to `onError`. */
  readonly tap = (block: IqBlock, config: DeviceConfig): void => {
    void this.write(block, config).catch(() => undefined);
  };

  /** One annotation for a frame the receiver put out (`comment`: what it meant to the caller). */
  annotateFrame(f: RxFrame, comment?: string): void {
    if (this.stopped) return;
    this.frames++;
    this.track(this.writer.annotateFrame(rxFrameAnnotation(f, comment)));
  }

  /**
   * Stop and finalize (checksum, `dekag:finalized`); samples lost at the very end become a last
   * discontinuity. After a write error the recording is closed as it is. Idempotent.
   */
  finish(): Promise<RxRecordingSummary> {
    this.finished ??= this.finishNow();
    return this.finished;
  }

  /** Stop without finalizing (an error path): what was written stays a valid recording. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.writer.close();
  }

  private async finishNow(): Promise<RxRecordingSummary> {
    this.stopped = true;
    if (!this.failure) this.markLost();
    await this.lastWrite;
    let final: FinalizeResult | undefined;
    if (!this.failure) {
      try {
        final = await this.writer.finalize();
      } catch (e) {
        this.fail(e as Error);
      }
    }
    if (this.failure) await this.writer.close();
    return {
      path: this.path,
      name: basename(this.path),
      metaPath: this.writer.metaPath,
      dataPath: this.writer.dataPath,
      datatype: this.datatype,
      samples: final?.sampleCount ?? this.writer.samplesOnDisk,
      droppedSamples: this.droppedSamples,
      droppedByWriter: this.droppedByWriter,
      gaps: this.gaps,
      frames: this.frames,
      ...(final ? { final } : {}),
      ...(this.failure ? { error: this.failure } : {}),
    };
  }

  private lose(n: number): void {
    this.lost += n;
    this.droppedSamples += n;
  }

  /** Lost samples so far become one discontinuity at the next sample written. */
  private markLost(): void {
    if (this.lost === 0) return;
    const lost = this.lost;
    this.lost = 0;
    this.gaps++;
    this.track(this.writer.markDiscontinuity(lost));
  }

  /** The block as the writer should store it: the radio's own bytes when the datatype is theirs, else floats. */
  private samplesOf(block: IqBlock, n: number): SampleArray {
    const dt = this.writer.datatype.name;
    if (block.raw && dt === this.opts.nativeFormat && (dt === 'ci8' || dt === 'cu8')) {
      const raw = block.raw.subarray(0, 2 * n);
      return dt === 'ci8' ? new Int8Array(raw.buffer, raw.byteOffset, raw.length) : raw;
    }
    return n === block.samples ? block.iq : block.iq.subarray(0, 2 * n);
  }

  private track(p: Promise<void>): Promise<void> {
    return p.catch((e: Error) => this.fail(e));
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.stopped = true;
    void this.writer.close();
    this.opts.onError?.(e);
  }
}
