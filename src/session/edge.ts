/**
 * The edge role: takes jobs (prompt + MAKD adapter) from the cloud, generates the latent with its
 * edge-GAI (with the adapter plugged in), encodes it with the JSCC codec under CALA conditioned on the SNR
 * the user last fed back, at the rate its policy picks, and transmits one JSCC frame on its radio. It then
 * waits for the user's report and sends the cloud a result with its images and timings.
 *
 * State: the adapters received so far (by sha256), the last fed-back SNR, the rate policy, and the
 * per-sequence waiters for the user's reports. A user that goes away (feedback link closed) does not
 * stop the edge: frames keep going out, results come back marked lost, and a user that reconnects is
 * served again.
 */
import { EventEmitter } from 'node:events';
import { checkAdapterAgainst, adapterFeeds, parseAdapter, type Adapter } from '../gsc/adapter.js';
import type { Generator } from '../gsc/generate.js';
import { encodePng } from '../gsc/image.js';
import { JSCC_CONSTELLATION, type JsccCodec } from '../gsc/jscc.js';
import type { ModelStore } from '../gsc/models.js';
import { constellation, parseModulation } from '../radio/phy/constellation.js';
import { OfdmModulator } from '../radio/phy/transmitter.js';
import type { TxStream } from '../radio/devices/types.js';
import { UsageError } from '../util/errors.js';
import { nextMessage, LinkClosedError, type Envelope, type Link } from './link.js';
import { chooseLink, RatePolicy, snrSpreadDb, type LinkCurves, type LinkMode } from './policy.js';
import { encodeLatent, type LatentKlt } from './digital-latent.js';
import { planPayload } from '../radio/phy/framing.js';
import { PayloadKind } from '../radio/phy/header.js';
import { cleanTimings, FRAME_TYPE_DIGITAL_LATENT, FRAME_TYPE_JSCC, jobProblem, packParts, type FeedbackMsg, type JobErrorMsg, type JobMsg, type ReportMsg, type ResultMsg } from './protocol.js';

/** Silence around each burst: gives the receiver's detector noise history and the frame's tail a margin. */
const GUARD_SAMPLES = 512;
const round2 = (x: number): number => Math.round(x * 100) / 100;
/** The modem's constellation for the codec's quantized points. */
const JSCC_MODULATION = parseModulation(JSCC_CONSTELLATION);

export interface EdgeOptions {
  store: ModelStore;
  generator: Generator;
  codec: JsccCodec;
  tx: TxStream;
  policy: RatePolicy;
  sampleRateHz: number;
  /** SNR the encoder is conditioned on before any feedback (default 10 dB). */
  priorSnrDb?: number;
  /** The channel's configured SNR, when this process owns the channel (loopback); for the record only. */
  configuredSnrDb?: () => number | null;
  /** How long to wait for the user's report of a frame (default 5000 ms). */
  reportTimeoutMs?: number;
  /** Before the first frame, wait this long for a user to connect (default 0: transmit regardless). */
  firstUserWaitMs?: number;
  /** Transmit amplitude (default 1: unit mean power). */
  txAmplitude?: number;
  /** The latent's KLT: enables the digital latent (and so the hybrid choice). */
  klt?: LatentKlt;
  /** Predicted JSCC quality per condition, for the hybrid choice (models/cala/results.json). */
  linkCurves?: LinkCurves | null;
  /** 'hybrid' (default when a KLT is given), 'jscc' (default otherwise) or 'digital'. */
  linkMode?: LinkMode;
}

/** Fed-back SNRs the edge remembers for the link choice's fading test. */
const SNR_HISTORY = 8;

export class EdgeRole extends EventEmitter {
  private readonly adapters = new Map<string, Adapter>();
  private readonly modulator: OfdmModulator;
  private feedbackSnrDb: number | undefined;
  private feedbackSelectivity: number | undefined;
  /** The last SNR_HISTORY fed-back SNRs: their spread tells a channel that fades from frame to frame. */
  private readonly recentSnrDb: number[] = [];
  private user: Link | undefined;
  private everHadUser = false;
  private queue: Promise<void> = Promise.resolve();
  readonly stats = { jobs: 0, framesSent: 0, reports: 0, lost: 0, feedbacks: 0, jobErrors: 0, lostNoUser: 0, lostUserGone: 0 };

  constructor(private readonly o: EdgeOptions) {
    super();
    this.modulator = new OfdmModulator({ sampleRateHz: o.sampleRateHz });
  }

  get lastFeedbackSnrDb(): number | undefined {
    return this.feedbackSnrDb;
  }

  /** A user's feedback link is attached and open. */
  get hasUser(): boolean {
    return !!this.user?.isOpen;
  }

  /** The user's feedback link (replaces a previous one: a user may reconnect). */
  attachUser(link: Link): void {
    this.user = link;
    this.everHadUser = true;
    this.emit('user', link);
    link.on('message', (e: Envelope) => {
      if (e.msg.type === 'feedback') {
        const f = e.msg as unknown as FeedbackMsg;
        // A measurement, not anything a peer may say: outside +-100 dB it is ignored.
        if (typeof f.snrDb === 'number' && Math.abs(f.snrDb) <= 100) {
          this.feedbackSnrDb = f.snrDb;
          this.recentSnrDb.push(f.snrDb);
          if (this.recentSnrDb.length > SNR_HISTORY) this.recentSnrDb.shift();
          this.stats.feedbacks++;
        }
        if (typeof f.selectivity === 'number' && f.selectivity >= 0 && f.selectivity <= 10) this.feedbackSelectivity = f.selectivity;
      }
    });
    link.on('close', (err: Error) => {
      if (this.user === link) this.user = undefined;
      this.emit('user-gone', err);
    });
  }

  /** Serve a cloud: jobs are processed one at a time, in order; resolves when the link closes or says 'end'. */
  serveCloud(cloud: Link): Promise<string> {
    return new Promise((resolve) => {
      cloud.on('message', (e: Envelope) => {
        if (e.msg.type === 'job') {
          this.queue = this.queue.then(() => this.handleJob(cloud, e)).catch(async (err: unknown) => {
            this.stats.jobErrors++;
            this.emit('job-error', err);
            // Tell the cloud at once, so it records the prompt as failed instead of waiting for a result.
            const seq = e.msg['sequence'];
            const msg: JobErrorMsg = { type: 'job-error', sessionId: Number(e.msg['sessionId']) || 0, sequence: Number.isInteger(seq) ? (seq as number) : -1, error: (err as Error).message ?? String(err) };
            await cloud.send(msg as unknown as { type: string }).catch(() => undefined);
          });
        } else if (e.msg.type === 'end') {
          this.queue = this.queue.then(async () => {
            await this.user?.send({ type: 'end', reason: String(e.msg['reason'] ?? 'session over') }).catch(() => undefined);
            resolve('end');
          });
          return;
        }
      });
      cloud.on('close', (err: Error) => resolve(err.message));
    });
  }

  private adapterFor(job: JobMsg, data: Uint8Array | undefined): { adapter: Adapter | undefined; error?: string } {
    if (!job.adapter) return { adapter: undefined };
    if (job.adapter.attached && data) {
      try {
        const a = parseAdapter(data, job.adapter.name);
        checkAdapterAgainst(a, this.o.store);
        this.adapters.set(job.adapter.sha256, a);
      } catch (e) {
        return { adapter: undefined, error: (e as Error).message };
      }
    }
    const a = this.adapters.get(job.adapter.sha256);
    return a ? { adapter: a } : { adapter: undefined, error: `adapter ${job.adapter.name} was never received` };
  }

  private async handleJob(cloud: Link, e: Envelope): Promise<void> {
    const job = e.msg as unknown as JobMsg;
    this.stats.jobs++;
    const problem = jobProblem(e.msg);
    if (problem) throw new UsageError(`unusable job: ${problem}`);
    if (!this.everHadUser && (this.o.firstUserWaitMs ?? 0) > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.o.firstUserWaitMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.once('user', done);
      });
    }
    const timings: Record<string, number> = {};
    const gen = this.o.generator;
    const { adapter, error } = this.adapterFor(job, e.data);
    let t = performance.now();
    let baseImage;
    let latent: Float32Array | undefined;
    if (!adapter || job.compareBase) {
      gen.setAdapter(undefined);
      const g = await gen.generate({ prompt: job.prompt, seed: job.seed });
      baseImage = g.image;
      latent = g.latent; // without an adapter this is what goes out
      timings['edge_generate_base'] = performance.now() - t;
    }
    let adapted = baseImage;
    if (adapter) {
      t = performance.now();
      gen.setAdapter(adapterFeeds(adapter, this.o.store.vocab));
      const g = await gen.generate({ prompt: job.prompt, seed: job.seed });
      gen.setAdapter(undefined);
      adapted = g.image;
      latent = g.latent;
      timings['edge_generate_adapter'] = performance.now() - t;
    }
    if (!latent) throw new Error('no latent generated');
    // CALA condition: the user's last measurement, or the prior before any feedback.
    const encoderSnrDb = this.feedbackSnrDb ?? this.o.priorSnrDb ?? 10;
    const encoderSnrSource = this.feedbackSnrDb === undefined ? 'prior' : 'feedback';
    // Before any feedback the channel is taken as flat (a cable, the loopback); the first frame's feedback corrects it.
    const selectivity = this.feedbackSelectivity ?? 0;
    const decision = this.o.policy.decide(encoderSnrDb, selectivity);
    // Hybrid: JSCC with CALA, or the digital latent, whichever the prediction favours in these channel symbols.
    const link = chooseLink({
      mode: this.o.linkMode ?? (this.o.klt ? 'hybrid' : 'jscc'),
      snrDb: encoderSnrDb,
      snrSource: encoderSnrSource,
      selectivity,
      snrSpreadDb: snrSpreadDb(this.recentSnrDb),
      rate: decision.rate,
      channelSymbols: this.o.codec.symbolsForRate(decision.rate),
      klt: this.o.klt ?? null,
      curves: this.o.linkCurves ?? null,
    });
    t = performance.now();
    let frame: Float32Array;
    let symbols: number;
    let bitsPerSymbol: number;
    if (link.kind === 'digital') {
      const payload = encodeLatent(this.o.klt!, latent, link.digital.bytes);
      timings['digital_encode'] = performance.now() - t;
      t = performance.now();
      frame = this.modulator.modulateBytes(payload, {
        modulation: link.digital.mcs.modulation,
        codeRate: link.digital.mcs.codeRate,
        sessionId: job.sessionId & 0xffff,
        sequence: job.sequence & 0xffff,
        frameType: FRAME_TYPE_DIGITAL_LATENT,
      });
      const plan = planPayload(this.modulator.layout, PayloadKind.Bytes, link.digital.mcs.modulation, link.digital.mcs.codeRate, payload.length);
      symbols = plan.numSymbols * this.modulator.layout.numData;
      bitsPerSymbol = plan.constellation.bitsPerSymbol;
    } else {
      const points = await this.o.codec.encode(latent, { snrDb: encoderSnrDb, rate: decision.rate, selectivity });
      timings['jscc_encode'] = performance.now() - t;
      t = performance.now();
      frame = this.modulator.modulateSymbols(points, {
        modulation: JSCC_MODULATION,
        sessionId: job.sessionId & 0xffff,
        sequence: job.sequence & 0xffff,
        frameType: FRAME_TYPE_JSCC,
      });
      symbols = points.length / 2;
      bitsPerSymbol = constellation(JSCC_MODULATION).bitsPerSymbol;
    }
    const burst = new Float32Array(frame.length + 4 * GUARD_SAMPLES);
    const amp = this.o.txAmplitude ?? 1;
    for (let i = 0; i < frame.length; i++) burst[2 * GUARD_SAMPLES + i] = frame[i]! * amp;
    timings['modulate'] = performance.now() - t;
    const configuredSnrDb = this.o.configuredSnrDb?.() ?? null;
    // Register for the report before transmitting: on a fast loopback it can come back at once.
    const user = this.user;
    const reportP = user
      ? nextMessage(user, (r) => r.msg.type === 'report' && r.msg['sequence'] === (job.sequence & 0xffff) && r.msg['sessionId'] === (job.sessionId & 0xffff), this.o.reportTimeoutMs ?? 5000)
      : Promise.reject(new Error('no user is connected'));
    reportP.catch(() => undefined);
    t = performance.now();
    const txAtMs = Date.now();
    await this.o.tx.write(burst);
    this.stats.framesSent++;
    timings['radio_write'] = performance.now() - t;
    let report: Envelope | undefined;
    let lostReason: string | undefined;
    let lostCause: ResultMsg['lostCause'];
    try {
      report = await reportP;
      this.stats.reports++;
    } catch (err) {
      lostReason = (err as Error).message;
      lostCause = !user ? 'no-user' : err instanceof LinkClosedError && !/no answer within/.test(lostReason) ? 'user-gone' : 'timeout';
      this.stats.lost++;
      if (lostCause === 'no-user') this.stats.lostNoUser++;
      if (lostCause === 'user-gone') this.stats.lostUserGone++;
    }
    const r = report?.msg as unknown as ReportMsg | undefined;
    if (r) {
      if (typeof r.decodedAtMs === 'number' && Number.isFinite(r.decodedAtMs)) timings['air_and_demodulate'] = Math.max(0, r.decodedAtMs - txAtMs);
      for (const [k, v] of Object.entries(cleanTimings(r.timings))) timings[k] = v;
    }
    const edgeAdapterPng = adapted ? encodePng(adapted) : undefined;
    const parts = packParts({
      edgeBase: baseImage ? encodePng(baseImage) : undefined,
      edgeAdapter: edgeAdapterPng,
      received: report?.data,
    });
    const result: ResultMsg = {
      type: 'result',
      sessionId: job.sessionId,
      sequence: job.sequence,
      received: !!r,
      ...(lostReason ? { lostReason, lostCause } : {}),
      adapter: job.adapter?.name ?? null,
      adapterAvailable: !!adapter,
      ...(error ? { adapterError: error } : {}),
      rate: decision.rate,
      rateReason: decision.reason,
      encoderSnrDb,
      encoderSnrSource,
      configuredSnrDb,
      measuredSnrDb: r?.measuredSnrDb ?? null,
      symbols,
      bitsPerSymbol,
      link: link.kind === 'digital'
        ? { kind: 'digital', mcs: link.digital.mcs.label, payloadBytes: link.digital.bytes, predictedLatentPsnrDb: round2(link.predictedLatentPsnrDb), reason: link.reason }
        : { kind: 'jscc', predictedLatentPsnrDb: link.predictedLatentPsnrDb === null ? null : round2(link.predictedLatentPsnrDb), reason: link.reason },
      frameSamples: frame.length / 2,
      crcOk: r?.crcOk ?? null,
      evmDb: r?.evmDb ?? null,
      timings,
      parts: parts.index,
    };
    await cloud.send(result as unknown as Record<string, unknown> & { type: string }, parts.data).catch(() => undefined);
  }
}
