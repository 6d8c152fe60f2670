/**
 * `dekag bench mcs [--frames N] [--json] [--out FILE.json]`
 *
 * Calibrates the digital latent's MCS table (src/session/digital-latent.ts, DIGITAL_MCS_TABLE). For each MCS
 * and each channel of the link benchmarks (flat: AWGN with a cabled SDR pair's impairments; selective: the
 * same with EPA multipath), frames of the digital latent's size at rate 1/2 go through the simulated radio
 * at configured SNRs from -5 to 35 dB. Delivery (CRC passed, bytes equal) is fitted with a logistic in the SNR
 * the receiver MEASURED, averaged over the point's frames: that is the number the edge is fed back and
 * chooses the MCS from. With the impairments the measured SNR is the effective one (their EVM floor caps it
 * near 15 dB), so a table fitted in the configured SNR would make the edge too timid on a good channel.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bytesWithin, DIGITAL_MCS_TABLE, MCS_CALIBRATION_SYMBOLS } from '../session/digital-latent.js';
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

/**
 * Maximum-likelihood logistic P(x) = 1 / (1 + exp(-(x - snr50) / width)) over binomial points, by a grid
 * search (two parameters, a few dozen points: exact enough at 0.05 dB and cheap). Points without an x are
 * left out.
 */
export function fitLogistic(points: DeliveryPoint[]): LogisticFit {
  const pts = points.filter((p): p is DeliveryPoint & { x: number } => p.x !== null && p.sent > 0);
  if (pts.length === 0) throw new Error('fitLogistic: no points with a measured SNR');
  let best: LogisticFit = { snr50Db: NaN, widthDb: NaN, nll: Infinity };
  for (let c = -10; c <= 40.0001; c += 0.05) {
    for (let w = 0.1; w <= 8.0001; w += 0.05) {
      let nll = 0;
      for (const p of pts) {
        const z = (p.x - c) / w;
        // log p and log(1 - p) without overflow
        const logP = -Math.log1p(Math.exp(-z));
        const logQ = -Math.log1p(Math.exp(z));
        nll -= p.delivered * (Number.isFinite(logP) ? logP : -z) + (p.sent - p.delivered) * (Number.isFinite(logQ) ? logQ : z);
      }
      if (nll < best.nll) best = { snr50Db: c, widthDb: w, nll };
    }
  }
  return { snr50Db: Math.round(best.snr50Db * 100) / 100, widthDb: Math.round(best.widthDb * 100) / 100, nll: Math.round(best.nll * 1000) / 1000 };
}

interface PointRecord {
  channel: RadioChannelKind;
  mcs: string;
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
  const table: Record<string, { label: string; bytes: number; snr50_db: number; width_db: number }[]> = {};
  const total = CHANNELS.length * DIGITAL_MCS_TABLE.length * snrs.length;
  let done = 0;
  for (const channel of CHANNELS) {
    table[channel] = [];
    for (const mcs of DIGITAL_MCS_TABLE) {
      const bytes = bytesWithin(mcs, MCS_CALIBRATION_SYMBOLS);
      const mine: PointRecord[] = [];
      for (const snr of snrs) {
        const payloads = Array.from({ length: frames }, () => Uint8Array.from({ length: bytes }, () => rng.nextU32() & 0xff));
        const iq = payloads.map((p, i) => tx.modulateBytes(p, { modulation: mcs.modulation, codeRate: mcs.codeRate, sessionId: 5, sequence: i }));
        const measured: number[] = [];
        let delivered = 0;
        throughRadio(iq, snr, 1000 * snr + 17, channel, new StreamReceiver({ params: { sampleRateHz: SAMPLE_RATE_HZ }, emitFailedFrames: true }), (f) => {
          const i = f.header.sequence;
          if (i >= payloads.length) return;
          if (Number.isFinite(f.snrDb)) measured.push(f.snrDb);
          if (f.crcOk && f.bytes && Buffer.compare(Buffer.from(f.bytes), Buffer.from(payloads[i]!)) === 0) delivered++;
        });
        const m = measured.length ? Math.round(mean(measured) * 1000) / 1000 : null;
        mine.push({ channel, mcs: mcs.label, bytes, configured_snr_db: snr, measured_snr_db: m, frames_seen: measured.length, delivered, sent: frames });
        bar.update(++done, total, `${channel} ${mcs.label} ${snr} dB`);
      }
      const fit = fitLogistic(mine.map((p) => ({ x: p.measured_snr_db, delivered: p.delivered, sent: p.sent })));
      table[channel]!.push({ label: mcs.label, bytes, snr50_db: fit.snr50Db, width_db: fit.widthDb });
      points.push(...mine);
    }
  }
  const result = {
    bench: 'mcs',
    quick,
    frames_per_point: frames,
    channel_symbols: MCS_CALIBRATION_SYMBOLS,
    channels: { awgn: 'flat: AWGN with the cabled SDR pair impairments (the table\'s delivery)', epa: 'selective: the same plus EPA multipath, a draw per frame (the table\'s `selective` delivery)' },
    x: 'mean SNR measured by the receiver over the frames it saw at the point',
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
      process.stdout.write(`${ch}:\n`);
      for (const r of rows) process.stdout.write(`  ${r.label.padEnd(10)} ${String(r.bytes).padStart(4)} bytes  50 % at ${r.snr50_db} dB measured, width ${r.width_db} dB\n`);
    }
  }
  return 0;
}
