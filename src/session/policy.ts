/**
 * The edge's rate choice, driven by the SNR the user measured and fed back.
 *
 * Policy ("cheapest rate within tolerance", see docs/sessions.md): from the codec's own measured curves
 * (models/cala/results.json: image PSNR of the CALA codec per SNR and rate), predict the PSNR each rate
 * would give at the fed-back SNR (linear interpolation in SNR, clamped at the grid's ends). Choose the
 * smallest rate whose prediction is within `toleranceDb` of the best rate's: more symbols only when they
 * buy a visible improvement, otherwise save the airtime. Hysteresis: the choice is only revisited when the
 * fed-back SNR has moved more than `hysteresisDb` from the SNR of the last decision, so measurement noise
 * around a boundary does not flip the rate frame by frame.
 *
 * Without curves (no results.json) the policy keeps its starting rate and says so (`reason`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSCC_RATES } from '../gsc/jscc.js';
import { UsageError } from '../util/errors.js';
import { sampleStd } from '../util/stats.js';
import { bestDigitalPlan, bytesWithin, DIGITAL_MCS_TABLE, MAX_DIGITAL_LOSS, type LatentKlt, type Mcs } from './digital-latent.js';

export interface RatePoint {
  snrDb: number;
  rate: number;
  psnrDb: number;
}

export interface RateDecision {
  rate: number;
  /** SNR the decision was made for (the fed-back measurement, or the prior). */
  snrDb: number;
  predictedPsnrDb: number | null;
  changed: boolean;
  reason: string;
}

export interface RatePolicyOptions {
  /** Rate before any feedback (default 1/4). */
  initialRate?: number;
  /** A fixed rate: never adapt (the `--rate` flag). */
  fixedRate?: number;
  toleranceDb?: number;
  hysteresisDb?: number;
  /** Curves on a flat channel, used while the measured selectivity says the channel is flat. */
  flatCurves?: readonly RatePoint[];
}

export const DEFAULT_TOLERANCE_DB = 0.5;
export const DEFAULT_HYSTERESIS_DB = 1.5;

/**
 * Reads the CALA codec's image-PSNR curves from models/cala/results.json (empty when absent): on the paper's
 * block-fading channel (`channel` 'fading', the default) or on the flat one ('flat').
 */
export function loadRateCurves(modelsDir: string, variant = 'cala', channel: 'fading' | 'flat' = 'fading'): RatePoint[] {
  const path = join(modelsDir, 'cala', 'results.json');
  if (!existsSync(path)) return [];
  try {
    type Curves = Record<string, { snr_db: number; rate: number; image_psnr_db: number }[]>;
    const r = JSON.parse(readFileSync(path, 'utf8')) as { curves?: Curves; curves_flat?: Curves };
    return ((channel === 'flat' ? r.curves_flat : r.curves)?.[variant] ?? [])
      .filter((p) => Number.isFinite(p.snr_db) && Number.isFinite(p.rate) && Number.isFinite(p.image_psnr_db))
      .map((p) => ({ snrDb: p.snr_db, rate: p.rate, psnrDb: p.image_psnr_db }));
  } catch {
    return [];
  }
}

/** Predicted PSNR of `rate` at `snrDb`: linear in SNR between grid points, clamped outside the grid. */
export function predictPsnr(curves: readonly RatePoint[], rate: number, snrDb: number): number | null {
  const pts = curves.filter((p) => Math.abs(p.rate - rate) < 1e-9).sort((a, b) => a.snrDb - b.snrDb);
  if (pts.length === 0) return null;
  if (snrDb <= pts[0]!.snrDb) return pts[0]!.psnrDb;
  const last = pts[pts.length - 1]!;
  if (snrDb >= last.snrDb) return last.psnrDb;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (snrDb <= b.snrDb) return a.psnrDb + ((b.psnrDb - a.psnrDb) * (snrDb - a.snrDb)) / (b.snrDb - a.snrDb);
  }
  return last.psnrDb;
}

export class RatePolicy {
  private current: number;
  private decidedAtDb: number | undefined;
  readonly toleranceDb: number;
  readonly hysteresisDb: number;

  constructor(private readonly curves: readonly RatePoint[], private readonly opts: RatePolicyOptions = {}) {
    this.current = opts.fixedRate ?? opts.initialRate ?? 1 / 4;
    this.toleranceDb = opts.toleranceDb ?? DEFAULT_TOLERANCE_DB;
    this.hysteresisDb = opts.hysteresisDb ?? DEFAULT_HYSTERESIS_DB;
  }

  get rate(): number {
    return this.current;
  }

  /** The curves that describe a channel of this measured selectivity. */
  private curvesFor(selectivity: number): readonly RatePoint[] {
    return selectivity < SELECTIVE_CHANNEL && this.opts.flatCurves?.length ? this.opts.flatCurves : this.curves;
  }

  /** The rate a fresh decision would choose at `snrDb` (no hysteresis). */
  best(snrDb: number, selectivity = 1): { rate: number; psnrDb: number | null } {
    const curves = this.curvesFor(selectivity);
    const preds = JSCC_RATES.map((rate) => ({ rate, psnrDb: predictPsnr(curves, rate, snrDb) }));
    const known = preds.filter((p): p is { rate: number; psnrDb: number } => p.psnrDb !== null);
    if (known.length === 0) return { rate: this.current, psnrDb: null };
    const top = Math.max(...known.map((p) => p.psnrDb));
    const pick = known.filter((p) => p.psnrDb >= top - this.toleranceDb).sort((a, b) => a.rate - b.rate)[0]!;
    return pick;
  }

  /**
   * Called with each fed-back SNR (or the prior before any) and the measured selectivity (default 1: assume
   * a fading channel until told otherwise): returns the rate for the next frame.
   */
  decide(snrDb: number, selectivity = 1): RateDecision {
    const curves = this.curvesFor(selectivity);
    if (this.opts.fixedRate !== undefined) {
      return { rate: this.current, snrDb, predictedPsnrDb: predictPsnr(curves, this.current, snrDb), changed: false, reason: 'fixed by --rate' };
    }
    if (this.curves.length === 0) {
      return { rate: this.current, snrDb, predictedPsnrDb: null, changed: false, reason: 'no rate curves (models/cala/results.json): keeping the starting rate' };
    }
    if (this.decidedAtDb !== undefined && Math.abs(snrDb - this.decidedAtDb) <= this.hysteresisDb) {
      return { rate: this.current, snrDb, predictedPsnrDb: predictPsnr(curves, this.current, snrDb), changed: false, reason: `within ${this.hysteresisDb} dB of the last decision` };
    }
    const pick = this.best(snrDb, selectivity);
    const changed = pick.rate !== this.current;
    this.current = pick.rate;
    this.decidedAtDb = snrDb;
    return { rate: pick.rate, snrDb, predictedPsnrDb: pick.psnrDb, changed, reason: `cheapest rate within ${this.toleranceDb} dB of the best predicted PSNR` };
  }
}

/**
 * The hybrid link choice: per image, JSCC with CALA or the digital latent (transform coding + FEC + CRC), from
 * the fed-back SNR and selectivity, whichever the predicted quality favours in the channel symbols the rate
 * policy chose. JSCC's prediction is the codec's own measured latent-PSNR curve (models/cala/results.json: the paper's
 * block-fading channel, or the flat one when the measured selectivity is low); the digital link's is the
 * transform coder's expected distortion with the best MCS for that SNR, lost frames counted (the MCS table's
 * delivery curves), among the MCSs that risk at most MAX_DIGITAL_LOSS of the frame, and only once the user
 * has measured the channel. Both in latent PSNR, the common currency.
 */
export type LinkMode = 'hybrid' | 'jscc' | 'digital';
export const LINK_MODES: readonly LinkMode[] = ['hybrid', 'jscc', 'digital'];

export interface LinkCurves {
  /** Latent PSNR of the CALA codec on the paper's block-fading channel. */
  fading: RatePoint[];
  /** The same on a flat channel. */
  flat: RatePoint[];
  latentPeakToPeak: number;
}

/** Selectivity above which the fading curves predict JSCC better than the flat ones. */
export const SELECTIVE_CHANNEL = 0.5;

/**
 * Spread (standard deviation) of the recent fed-back SNRs above which the channel is taken to fade from
 * frame to frame: the last measurement then says little about the next frame's, and the digital latent's
 * delivery is the MCS table's fading fit (calibrated over fading draws against their mean measured SNR).
 * The loopback's AWGN with impairments spreads by about 0.1-0.3 dB, EPA draws by several dB.
 */
export const FADING_SNR_SPREAD_DB = 1.5;

/** Standard deviation of SNR measurements in dB (0 with fewer than two). */
export function snrSpreadDb(history: readonly number[]): number {
  return history.length < 2 ? 0 : sampleStd(history);
}

export function loadLinkCurves(modelsDir: string): LinkCurves | null {
  const path = join(modelsDir, 'cala', 'results.json');
  if (!existsSync(path)) return null;
  try {
    type Curve = { snr_db: number; rate: number; latent_psnr_db: number }[];
    const r = JSON.parse(readFileSync(path, 'utf8')) as { curves?: Record<string, Curve>; curves_flat?: Record<string, Curve>; latent_peak_to_peak?: number };
    const pts = (c: Curve | undefined): RatePoint[] =>
      (c ?? []).filter((p) => Number.isFinite(p.snr_db) && Number.isFinite(p.rate) && Number.isFinite(p.latent_psnr_db)).map((p) => ({ snrDb: p.snr_db, rate: p.rate, psnrDb: p.latent_psnr_db }));
    const peak = r.latent_peak_to_peak;
    if (typeof peak !== 'number' || !(peak > 0)) return null;
    return { fading: pts(r.curves?.['cala']), flat: pts(r.curves_flat?.['cala']), latentPeakToPeak: peak };
  } catch {
    return null;
  }
}

export interface DigitalOption {
  mcs: Mcs;
  /** Payload bytes that fit in the airtime. */
  bytes: number;
  /** Predicted latent PSNR, lost frames counted. */
  predictedLatentPsnrDb: number;
  /** Predicted probability that the frame arrives. */
  delivery: number;
}

/**
 * What to send. A JSCC choice carries the digital option it was weighed against: the best MCS when JSCC was asked
 * for, in the hybrid the safe one it lost to (null where the hybrid weighed none: before any measurement, or when
 * every MCS risks too much).
 */
export type LinkChoice =
  | { kind: 'jscc'; predictedLatentPsnrDb: number | null; digital: DigitalOption | null; reason: string }
  | { kind: 'digital'; predictedLatentPsnrDb: number; digital: DigitalOption; jsccPredictedLatentPsnrDb: number | null; reason: string };

/**
 * What the digital latent would deliver in `channelSymbols` at `snrDb` with its best MCS among those that risk
 * losing the frame at most `maxLoss` (default: any), or null.
 */
export function digitalOption(klt: LatentKlt, snrDb: number, channelSymbols: number, peakToPeak: number, selective = false, maxLoss = 1): DigitalOption | null {
  const plan = bestDigitalPlan(klt, snrDb, channelSymbols, selective, maxLoss);
  if (!plan) return null;
  return { mcs: plan.mcs, bytes: plan.bytes, delivery: plan.delivery, predictedLatentPsnrDb: 10 * Math.log10((peakToPeak * peakToPeak) / Math.max(plan.expectedMse, 1e-12)) };
}

export function chooseLink(o: {
  mode: LinkMode;
  snrDb: number;
  /** 'prior': no measurement yet, the SNR is the edge's guess (the hybrid then sends JSCC); default 'feedback'. */
  snrSource?: 'prior' | 'feedback';
  selectivity: number;
  /** Spread of the recent fed-back SNRs (snrSpreadDb); 0 or absent: a steady channel. */
  snrSpreadDb?: number;
  rate: number;
  /** The JSCC frame's complex symbols at that rate (the codec's symbolsForRate): the digital latent's airtime. */
  channelSymbols: number;
  klt: LatentKlt | null;
  curves: LinkCurves | null;
}): LinkChoice {
  const channelSymbols = o.channelSymbols;
  const curve = o.curves ? (o.selectivity > SELECTIVE_CHANNEL ? o.curves.fading : o.curves.flat) : [];
  const jscc = predictPsnr(curve.length ? curve : o.curves?.fading ?? [], o.rate, o.snrDb);
  // On a selective channel, or one that fades from frame to frame, a frame's own fades decide it: the MCS
  // table's fading fit (wider) applies.
  const fading = o.selectivity > SELECTIVE_CHANNEL || (o.snrSpreadDb ?? 0) > FADING_SNR_SPREAD_DB;
  const option = (maxLoss: number) => (o.klt && o.curves ? digitalOption(o.klt, o.snrDb, channelSymbols, o.curves.latentPeakToPeak, fading, maxLoss) : null);
  if (o.mode === 'jscc') return { kind: 'jscc', predictedLatentPsnrDb: jscc, digital: option(1), reason: 'JSCC asked for (--link jscc)' };
  if (o.mode === 'digital') {
    const digital = option(1);
    if (digital) return { kind: 'digital', predictedLatentPsnrDb: digital.predictedLatentPsnrDb, digital, jsccPredictedLatentPsnrDb: jscc, reason: 'digital asked for (--link digital)' };
    throw new UsageError('the digital latent needs the latent KLT (models/cala/latent_klt.json) and the codec curves (models/cala/results.json)');
  }
  if (!o.klt || !o.curves || !DIGITAL_MCS_TABLE.some((mcs) => bytesWithin(mcs, channelSymbols) >= 1)) {
    return { kind: 'jscc', predictedLatentPsnrDb: jscc, digital: null, reason: 'JSCC: the digital latent is not available' };
  }
  // An all-or-nothing frame is only sent on a measured channel, and only with an MCS that is nearly sure to
  // arrive: the hybrid weighs no other digital option.
  if (o.snrSource === 'prior') return { kind: 'jscc', predictedLatentPsnrDb: jscc, digital: null, reason: 'JSCC: no measured SNR yet, and a digital frame sent on a guess arrives whole or not at all' };
  const safe = option(MAX_DIGITAL_LOSS);
  if (!safe) return { kind: 'jscc', predictedLatentPsnrDb: jscc, digital: null, reason: `JSCC: every MCS risks losing the frame more than ${100 * MAX_DIGITAL_LOSS} % at ${o.snrDb.toFixed(1)} dB` };
  if (jscc === null || safe.predictedLatentPsnrDb > jscc) {
    return { kind: 'digital', predictedLatentPsnrDb: safe.predictedLatentPsnrDb, digital: safe, jsccPredictedLatentPsnrDb: jscc, reason: `digital ${safe.mcs.label} predicted ${safe.predictedLatentPsnrDb.toFixed(1)} dB > JSCC ${jscc?.toFixed(1) ?? '?'} dB (latent PSNR)` };
  }
  return { kind: 'jscc', predictedLatentPsnrDb: jscc, digital: safe, reason: `JSCC predicted ${jscc.toFixed(1)} dB >= digital ${safe.mcs.label} ${safe.predictedLatentPsnrDb.toFixed(1)} dB (latent PSNR)` };
}
