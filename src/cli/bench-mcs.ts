/**
 * `dekag bench mcs [--frames N] [--json] [--out FILE.json]`
 *
 * Calibrates the digital latent's MCS table (src/session/digital-latent.ts, DIGITAL_MCS_TABLE). For each MCS
 * and each channel of the link benchmarks (flat: AWGN with a cabled SDR pair's impairments; selective: the
 * same with EPA multipath) and each frame size the digital latent is given (the JSCC frame's symbols at rates
 * 1/16 ... 1), frames go through the simulated radio at configured SNRs from -5 to 35 dB. Delivery (CRC
 * passed, bytes equal) is fitted with a logistic in the SNR the receiver MEASURED on the frame before: that
 * is the number the edge is fed back and chooses the MCS from (`feedbackPairs`). With the impairments the
 * measured SNR is the effective one (their EVM floor caps it near 17-19 dB), so a table fitted in the
 * configured SNR would make the edge too timid on a good channel.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bytesWithin, DIGITAL_MCS_TABLE, MCS_CALIBRATION_SYMBOLS, type Mcs } from '../session/digital-latent.js';
import { StreamReceiver } from '../radio/phy/receiver.js';
import { OfdmModulator } from '../radio/phy/transmitter.js';
import { SeededRng } from '../util/rng.js';
import { optionalInt, parse } from './args.js';
import { mean } from './bench-common.js';
import { CHANNELS, SAMPLE_RATE_HZ, throughRadio, type RadioChannelKind } from './bench-radio.js';
import { ProgressBar } from './progress.js';

// the help text lives in help.ts, so that `dekag bench mcs --help` loads nothing else
export { BENCH_MCS_HELP } from './help.js';


export interface DeliveryPoint {
  /** Mean SNR the receiver measured on the frames it saw (null when it saw none). */
  x: number | null;
  delivered: number;
  sent: number;
}

export interface LogisticFit {
  snr50Db: number;
  widthDb: number;
  /** Negative log-likelihood at the fit (binomial). */
  nll: number;
}

/** Binomial negative log-likelihood of the logistic (snr50, width) over the points. */
function logisticNll(pts: readonly (DeliveryPoint & { x: number })[], c: number, w: number): number {
  let nll = 0;
  for (const p of pts) {
    const z = (p.x - c) / w;
    // log p and log(1 - p) without overflow
    const logP = -Math.log1p(Math.exp(-z));
    const logQ = -Math.log1p(Math.exp(z));
    nll -= p.delivered * (Number.isFinite(logP) ? logP : -z) + (p.sent - p.delivered) * (Number.isFinite(logQ) ? logQ : z);
  }
  return nll;
}

/**
 * Maximum-likelihood logistic P(x) = 1 / (1 + exp(-(x - snr50) / width)) over binomial points, by a grid
 * search (two parameters: exact enough at 0.05 dB): a coarse grid over -10..40 dB and widths 0.1..8 dB, then
 * the 0.05 dB grid around its best. Points without an x are left out.
 */
export function fitLogistic(points: DeliveryPoint[]): LogisticFit {
  const pts = points.filter((p): p is DeliveryPoint & { x: number } => p.x !== null && p.sent > 0);
  if (pts.length === 0) throw new Error('fitLogistic: no points with a measured SNR');
  let best: LogisticFit = { snr50Db: NaN, widthDb: NaN, nll: Infinity };
  const search = (c0: number, c1: number, cStep: number, w0: number, w1: number, wStep: number): void => {
    for (let c = c0; c <= c1 + 1e-9; c += cStep) {
      for (let w = Math.max(0.1, w0); w <= w1 + 1e-9; w += wStep) {
        const nll = logisticNll(pts, c, w);
        if (nll < best.nll) best = { snr50Db: c, widthDb: w, nll };
      }
    }
  };
  search(-10, 40, 0.25, 0.1, 8, 0.1);
  const [c, w] = [best.snr50Db, best.widthDb];
  search(c - 0.5, c + 0.5, 0.05, w - 0.2, w + 0.2, 0.05);
  return { snr50Db: Math.round(best.snr50Db * 100) / 100, widthDb: Math.round(best.widthDb * 100) / 100, nll: Math.round(best.nll * 1000) / 1000 };
}

/**
 * Delivery against the SNR the edge decides on: each frame's fate paired with the SNR measured on the frame
 * before it (the last feedback), binned at 0.1 dB. Fitting in the point's mean measured SNR instead hides
 * the measurement's own scatter, and an edge that goes digital whenever one measurement comes out high
 * meets the typical channel on the next frame (a 16-QAM 3/4 frame chosen at a measured 14.6 dB on a channel
 * that averages 13.6 dB).
 */
export function feedbackPairs(measuredBySequence: readonly (number | undefined)[], deliveredBySequence: readonly boolean[]): DeliveryPoint[] {
  const bins = new Map<number, DeliveryPoint>();
  for (let i = 1; i < deliveredBySequence.length; i++) {
    const fed = measuredBySequence[i - 1];
    if (fed === undefined || !Number.isFinite(fed)) continue;
    const x = Math.round(fed * 10) / 10;
    const bin = bins.get(x) ?? { x, delivered: 0, sent: 0 };
    bin.sent++;
    if (deliveredBySequence[i]) bin.delivered++;
    bins.set(x, bin);
  }
  return [...bins.values()];
}

/**
 * `frames` random payloads of `bytes` bytes with `mcs` through the simulated radio at `snrDb` (channel draws
 * from `seed`): per frame, the SNR the receiver measured on it (undefined: never seen) and whether it arrived
 * intact (CRC passed and the bytes equal).
 */
export function sendFrames(tx: OfdmModulator, mcs: Mcs, bytes: number, frames: number, snrDb: number, seed: number, channel: RadioChannelKind, rng: SeededRng): { measuredBySequence: (number | undefined)[]; deliveredBySequence: boolean[] } {
  const payloads = Array.from({ length: frames }, () => Uint8Array.from({ length: bytes }, () => rng.nextU32() & 0xff));
  const iq = payloads.map((p, i) => tx.modulateBytes(p, { modulation: mcs.modulation, codeRate: mcs.codeRate, sessionId: 5, sequence: i }));
  const measuredBySequence: (number | undefined)[] = new Array(frames).fill(undefined);
  const deliveredBySequence: boolean[] = new Array(frames).fill(false);
  throughRadio(iq, snrDb, seed, channel, new StreamReceiver({ params: { sampleRateHz: SAMPLE_RATE_HZ }, emitFailedFrames: true }), (f) => {
    const i = f.header.sequence;
    if (i >= frames) return;
    if (Number.isFinite(f.snrDb)) measuredBySequence[i] = f.snrDb;
    if (f.crcOk && f.bytes && Buffer.compare(Buffer.from(f.bytes), Buffer.from(payloads[i]!)) === 0) deliveredBySequence[i] = true;
  });
  return { measuredBySequence, deliveredBySequence };
}

interface PointRecord {
  channel: RadioChannelKind;
  mcs: string;
  symbols: number;
  bytes: number;
  configured_snr_db: number;
  measured_snr_db: number | null;
  frames_seen: number;
  delivered: number;
  sent: number;
}

export async function runBenchMcs(argv: string[]): Promise<number> {
  const { values } = parse(argv, { frames: { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' }, quick: { type: 'boolean' } });
  const quick = Boolean(values['quick']);
  const frames = optionalInt(values, 'frames', quick ? 8 : 60, 1, 1000);
  const snrs = quick ? [0, 10, 20, 30] : Array.from({ length: 41 }, (_, i) => i - 5);
  const bar = new ProgressBar('bench mcs');
  const tx = new OfdmModulator({ sampleRateHz: SAMPLE_RATE_HZ });
  const rng = new SeededRng(11);
  const points: PointRecord[] = [];
  type FitRecord = { symbols: number; bytes: number; snr50_db: number; width_db: number };
  const table: Record<string, { label: string; fits: FitRecord[] }[]> = {};
  const total = CHANNELS.length * DIGITAL_MCS_TABLE.length * MCS_CALIBRATION_SYMBOLS.length * snrs.length;
  let done = 0;
  for (const channel of CHANNELS) {
    table[channel] = [];
    for (const mcs of DIGITAL_MCS_TABLE) {
      const row = { label: mcs.label, fits: [] as FitRecord[] };
      for (const symbols of MCS_CALIBRATION_SYMBOLS) {
        const bytes = bytesWithin(mcs, symbols);
        const mine: PointRecord[] = [];
        const pairs: DeliveryPoint[] = [];
        for (const snr of snrs) {
          const { measuredBySequence, deliveredBySequence } = sendFrames(tx, mcs, bytes, frames, snr, 1000 * snr + 17, channel, rng);
          const measured = measuredBySequence.filter((x): x is number => x !== undefined);
          const m = measured.length ? Math.round(mean(measured) * 1000) / 1000 : null;
          const delivered = deliveredBySequence.filter(Boolean).length;
          mine.push({ channel, mcs: mcs.label, symbols, bytes, configured_snr_db: snr, measured_snr_db: m, frames_seen: measured.length, delivered, sent: frames });
          pairs.push(...feedbackPairs(measuredBySequence, deliveredBySequence));
          bar.update(++done, total, `${channel} ${mcs.label} ${symbols} symbols ${snr} dB`);
        }
        const fit = fitLogistic(pairs);
        row.fits.push({ symbols, bytes, snr50_db: fit.snr50Db, width_db: fit.widthDb });
        points.push(...mine);
      }
      table[channel]!.push(row);
    }
  }
  const result = {
    bench: 'mcs',
    quick,
    frames_per_point: frames,
    channel_symbols: MCS_CALIBRATION_SYMBOLS,
    fits: 'per MCS, one logistic per frame size (channel symbols; the payload bytes that fit)',
    channels: { awgn: 'flat: AWGN with the cabled SDR pair impairments (the table\'s delivery)', epa: 'selective: the same plus EPA multipath, a draw per frame (the table\'s `selective` delivery)' },
    x: "the fits: the SNR measured on the frame before (the edge's last feedback), 0.1 dB bins; the points: the mean SNR measured over the frames the receiver saw",
    table,
    points,
  };
  if (values['out']) {
    mkdirSync(dirname(values['out'] as string), { recursive: true });
    writeFileSync(values['out'] as string, JSON.stringify(result, null, 1) + '\n');
  }
  if (values['json']) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    for (const [ch, rows] of Object.entries(table)) {
      process.stdout.write(`${ch}: 50 % point / width in dB measured, per frame size (channel symbols)\n`);
      process.stdout.write(`  ${''.padEnd(10)} ${MCS_CALIBRATION_SYMBOLS.map((k) => String(k).padStart(13)).join('')}\n`);
      for (const r of rows) process.stdout.write(`  ${r.label.padEnd(10)} ${r.fits.map((f) => `${f.snr50_db} / ${f.width_db}`.padStart(13)).join('')}\n`);
    }
  }
  return 0;
}
