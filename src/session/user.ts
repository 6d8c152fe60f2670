/**
 * The user role: radio RX -> StreamReceiver -> per JSCC frame the measured SNR and the equalized points ->
 * JSCC decoding with CALA conditioned on that MEASURED SNR -> autoencoder decoder -> image. It feeds the
 * measured SNR back to the edge (the CALA loop) and reports the image and timings (instrumentation).
 * Optionally records everything it received as SigMF, with an annotation per frame.
 *
 * State: the stream receiver (sync, buffers), the frames seen per (session, sequence) so a repeated frame
 * is not reported twice, and counters.
 */
import { EventEmitter } from 'node:events';
import type { LatentDecoder } from '../gsc/decoder.js';
import { encodePng, type RgbImage } from '../gsc/image.js';
import { fromModem, JSCC_RATES, rateLabel, rateOfSymbols, selectivityFromGainsDb, type JsccCodec } from '../gsc/jscc.js';
import { modulationName } from '../radio/phy/constellation.js';
import { codeRateName } from '../radio/phy/convcode.js';
import { decodeLatent, type LatentKlt } from './digital-latent.js';
import { PayloadKind } from '../radio/phy/header.js';
import type { RxFrame } from '../radio/phy/demodulator.js';
import { StreamReceiver } from '../radio/phy/receiver.js';
import type { SdrDevice } from '../radio/devices/types.js';
import type { RxRecorder } from '../radio/sigmf/rx-recorder.js';
import type { Link } from './link.js';
import { FRAME_TYPE_DIGITAL_LATENT, FRAME_TYPE_JSCC, type FeedbackMsg, type ReportMsg } from './protocol.js';

export interface UserOptions {
  codec: JsccCodec;
  /** The pipeline's latent decoder (the generators' own). */
  decoder: LatentDecoder;
  radio: SdrDevice;
  /** Only frames of this session (default: any). */
  sessionId?: number;
  blockSamples?: number;
  /** Records everything received (open it with `streamStart: 0`: the role starts the stream); the caller finishes it. */
  recording?: RxRecorder;
  /** The codec's SNR range; a measurement outside is clamped before conditioning (default -5..30 dB). */
  snrClampDb?: [number, number];
  /** The latent's KLT: lets the user decode digital-latent frames (the hybrid link's other branch). */
  klt?: LatentKlt;
}

export interface UserFrame {
  sessionId: number;
  sequence: number;
  rate: number;
  measuredSnrDb: number;
  crcOk: boolean;
  image: RgbImage;
}

export class UserRole extends EventEmitter {
  private edge: Link | undefined;
  private readonly seen = new Set<string>();
  readonly stats = { frames: 0, decoded: 0, ignored: 0, duplicates: 0, recordedSamples: 0 };
  private stopRequested = false;
  private stopRx: (() => Promise<void>) | undefined;
  private receiver: StreamReceiver | undefined;

  /** The modem's counters (sync events, header CRC failures, ...), for diagnosis. */
  get receiverStats(): StreamReceiver['stats'] | undefined {
    return this.receiver?.stats;
  }

  constructor(private readonly o: UserOptions) {
    super();
  }

  attachEdge(link: Link): void {
    this.edge = link;
    link.on('message', (e) => {
      if (e.msg.type === 'end') void this.stop();
    });
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    await this.stopRx?.();
  }

  /** Receives until stop(), the edge's 'end', or the radio going away (rejects with DeviceGoneError). */
  async run(): Promise<void> {
    const radio = this.o.radio;
    // Frames whose payload CRC fails come out too: a lost digital latent still tells the edge the SNR it
    // met (without that feedback the edge would keep choosing the MCS that just failed) and gives the user
    // the receiver's best guess, the mean latent.
    const receiver = new StreamReceiver({ params: { sampleRateHz: radio.config.sampleRateHz }, emitFailedFrames: true });
    this.receiver = receiver;
    // Warm the decoders up first: onnxruntime's first run is slow, and a radio that cannot wait would drop
    // the blocks that arrive meanwhile.
    const k = this.o.codec.symbolsForRate(JSCC_RATES[0]);
    const warm = await this.o.codec.decode({ symbols: new Float32Array(2 * k), reliability: new Float32Array(k) }, { snrDb: 10, rate: JSCC_RATES[0] });
    await this.o.decoder.decode(warm);
    // A deep queue (about 4 s at 250 ksps): decoding a frame must not cost the frames behind it.
    const rx = radio.startRx({ blockSamples: this.o.blockSamples ?? 4096, queueBlocks: 256 });
    this.stopRx = () => rx.stop();
    if (this.stopRequested) await rx.stop();
    const rec = this.o.recording;
    for await (const block of rx) {
      // The receiver sees every sample recorded, so its frames' sample indices are the recording's.
      if (rec) this.stats.recordedSamples += await rec.write(block, radio.config);
      for (const f of receiver.push(block.iq)) await this.onFrame(f);
      if (this.stopRequested) break;
    }
    for (const f of receiver.flush()) await this.onFrame(f);
  }

  /** First sight of (session, sequence)? Filters other sessions and repeats. */
  private firstSight(sessionId: number, sequence: number): boolean {
    if (this.o.sessionId !== undefined && sessionId !== (this.o.sessionId & 0xffff)) {
      this.stats.ignored++;
      return false;
    }
    const key = `${sessionId}/${sequence}`;
    if (this.seen.has(key)) {
      this.stats.duplicates++;
      return false;
    }
    this.seen.add(key);
    return true;
  }

  /** Feedback first: it is what the edge's next frame depends on. */
  private async sendFeedback(f: RxFrame, selectivity: number): Promise<void> {
    const h = f.header;
    const fb: FeedbackMsg = { type: 'feedback', sessionId: h.sessionId, sequence: h.sequence, snrDb: f.snrDb, selectivity, crcOk: f.crcOk, evmDb: f.evmDb, cfoHz: f.cfoHz };
    await this.edge?.send(fb as unknown as { type: string }).catch(() => undefined);
  }

  /** The received latent to the user: decode the image, annotate the recording, report to the edge, emit. */
  private async deliver(
    f: RxFrame,
    latent: Float32Array,
    o: { rate: number; symbols: number; startedAt: number; demodulatedAtMs: number; timings: Record<string, number> },
  ): Promise<void> {
    const h = f.header;
    const t = performance.now();
    const image = await this.o.decoder.decode(latent);
    const aeMs = performance.now() - t;
    this.stats.decoded++;
    const report: ReportMsg = {
      type: 'report',
      sessionId: h.sessionId,
      sequence: h.sequence,
      measuredSnrDb: f.snrDb,
      rate: o.rate,
      symbols: o.symbols,
      frameSamples: f.lengthSamples,
      crcOk: f.crcOk,
      evmDb: f.evmDb,
      cfoHz: f.cfoHz,
      decodedAtMs: o.demodulatedAtMs,
      timings: { ...o.timings, image_decode: aeMs, user_total: performance.now() - o.startedAt },
    };
    await this.edge?.send(report as unknown as { type: string }, encodePng(image)).catch(() => undefined);
    this.emit('frame', { sessionId: h.sessionId, sequence: h.sequence, rate: o.rate, measuredSnrDb: f.snrDb, crcOk: f.crcOk, image } satisfies UserFrame);
  }

  /**
   * The digital latent: all or nothing. A frame whose CRC fails gives the receiver no latent, so the user
   * sees what a receiver shows with nothing: the image of the latent's mean.
   */
  private async onDigitalFrame(f: RxFrame, klt: LatentKlt): Promise<void> {
    const h = f.header;
    if (!this.firstSight(h.sessionId, h.sequence)) return;
    const startedAt = performance.now();
    const demodulatedAtMs = Date.now();
    await this.sendFeedback(f, selectivityFromGainsDb(f.subcarrierGainDb));
    const t = performance.now();
    const latent = decodeLatent(klt, f.crcOk && f.bytes ? f.bytes : null);
    await this.deliver(f, latent, {
      rate: 0,
      symbols: 0,
      startedAt,
      demodulatedAtMs,
      timings: { digital_decode: performance.now() - t },
    });
  }

  /** What a frame carries, for its annotation in the recording. */
  private describe(f: RxFrame): string | undefined {
    const h = f.header;
    if (h.payloadKind === PayloadKind.Bytes && h.frameType === FRAME_TYPE_DIGITAL_LATENT) {
      const mcs = `${modulationName(h.modulation)} ${codeRateName(h.codeRate)}`;
      return `digital latent, ${h.payloadLength} bytes, ${mcs}, session ${h.sessionId}${f.crcOk ? '' : ' (CRC failed: nothing decoded)'}`;
    }
    if (h.payloadKind === PayloadKind.Symbols && h.frameType === FRAME_TYPE_JSCC) {
      const rate = rateOfSymbols(h.payloadLength, this.o.codec.latentDim);
      return `JSCC latent${rate !== undefined ? ` at rate ${rateLabel(rate)}` : ''}, ${h.payloadLength} 256-QAM points, session ${h.sessionId}`;
    }
    return undefined;
  }

  private async onFrame(f: RxFrame): Promise<void> {
    this.stats.frames++;
    // Every frame the receiver puts out is annotated (repeats and other sessions' frames too: they are on the air).
    this.o.recording?.annotateFrame(f, this.describe(f));
    const h = f.header;
    if (h.payloadKind === PayloadKind.Bytes && h.frameType === FRAME_TYPE_DIGITAL_LATENT && this.o.klt) {
      await this.onDigitalFrame(f, this.o.klt);
      return;
    }
    if (h.payloadKind !== PayloadKind.Symbols || h.frameType !== FRAME_TYPE_JSCC || !f.symbols || !f.symbolNoiseVar) {
      this.stats.ignored++;
      return;
    }
    const rate = rateOfSymbols(h.payloadLength, this.o.codec.latentDim);
    if (rate === undefined) {
      this.stats.ignored++;
      return;
    }
    if (!this.firstSight(h.sessionId, h.sequence)) return;
    const startedAt = performance.now();
    const demodulatedAtMs = Date.now();
    const [lo, hi] = this.o.snrClampDb ?? [-5, 30];
    const snrDb = Number.isFinite(f.snrDb) ? Math.min(hi, Math.max(lo, f.snrDb)) : lo;
    const rx = fromModem(f.symbols, f.symbolNoiseVar, f.equalizer);
    const selectivity = rx.selectivity ?? 0;
    await this.sendFeedback(f, selectivity);
    const t = performance.now();
    const latent = await this.o.codec.decode(rx, { snrDb, rate, selectivity });
    await this.deliver(f, latent, {
      rate,
      symbols: h.payloadLength,
      startedAt,
      demodulatedAtMs,
      timings: { jscc_decode: performance.now() - t },
    });
  }
}
