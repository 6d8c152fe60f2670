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
}

export const DEFAULT_TOLERANCE_DB = 0.5;
export const DEFAULT_HYSTERESIS_DB = 1.5;

/** Reads the CALA codec's image-PSNR curves from models/cala/results.json (empty when absent). */
export function loadRateCurves(modelsDir: string, variant = 'cala'): RatePoint[] {
  const path = join(modelsDir, 'cala', 'results.json');
  if (!existsSync(path)) return [];
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as { curves?: Record<string, { snr_db: number; rate: number; image_psnr_db: number }[]> };
    return (r.curves?.[variant] ?? [])
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

  /** The rate a fresh decision would choose at `snrDb` (no hysteresis). */
  best(snrDb: number): { rate: number; psnrDb: number | null } {
    const preds = JSCC_RATES.map((rate) => ({ rate, psnrDb: predictPsnr(this.curves, rate, snrDb) }));
    const known = preds.filter((p): p is { rate: number; psnrDb: number } => p.psnrDb !== null);
    if (known.length === 0) return { rate: this.current, psnrDb: null };
    const top = Math.max(...known.map((p) => p.psnrDb));
    const pick = known.filter((p) => p.psnrDb >= top - this.toleranceDb).sort((a, b) => a.rate - b.rate)[0]!;
    return pick;
  }

  /** Called with each fed-back SNR (or the prior before any): returns the rate for the next frame. */
  decide(snrDb: number): RateDecision {
    if (this.opts.fixedRate !== undefined) {
      return { rate: this.current, snrDb, predictedPsnrDb: predictPsnr(this.curves, this.current, snrDb), changed: false, reason: 'fixed by --rate' };
    }
    if (this.curves.length === 0) {
      return { rate: this.current, snrDb, predictedPsnrDb: null, changed: false, reason: 'no rate curves (models/cala/results.json): keeping the starting rate' };
    }
    if (this.decidedAtDb !== undefined && Math.abs(snrDb - this.decidedAtDb) <= this.hysteresisDb) {
      return { rate: this.current, snrDb, predictedPsnrDb: predictPsnr(this.curves, this.current, snrDb), changed: false, reason: `within ${this.hysteresisDb} dB of the last decision` };
    }
    const pick = this.best(snrDb);
    const changed = pick.rate !== this.current;
    this.current = pick.rate;
    this.decidedAtDb = snrDb;
    return { rate: pick.rate, snrDb, predictedPsnrDb: pick.psnrDb, changed, reason: `cheapest rate within ${this.toleranceDb} dB of the best predicted PSNR` };
  }
}
