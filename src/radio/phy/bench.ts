/**
 * The modem's benchmark on the channel simulator, pure measurement (no files, no printing): `dekag bench
 * phy [--quick] [--json] [--plot FILE]` (src/cli/bench-phy.ts) runs it, prints it and writes the picture.
 *
 * rx_msps            receive-chain throughput on one core (this thread), on a stream holding frames and
 *                    noise: 50 % of samples in frames (bytes QPSK 1/2 and JSCC 16-QAM), also 0/25/100 %;
 *                    wall clock, best of 3 passes. rx_msps_cpu: the same passes timed by process CPU time
 * snr_rmse_db        SNR estimate vs truth over 0..25 dB: AWGN, and EPA block fading (truth = realized
 *                    in-band SNR of each frame)
 * detect_rate        frames whose header decoded, AWGN at SNR >= 3 dB (minimum over the tested SNRs)
 * false_alarms_per_1e7  frames reported on pure noise, scaled to 10^7 samples
 * cfo/sro tolerance  largest offset (of those tried) at which every frame decodes, 2.4 GHz carrier
 * ber/ser curves     uncoded BER/SER of JSCC symbol frames per constellation, plus coded BER of bytes
 *                    frames (QPSK 1/2); written as an SVG picture
 */
import { OfdmModulator } from './transmitter.js';
import { StreamReceiver } from './receiver.js';
import { Modulation, constellation, modulationName } from './constellation.js';
import { CodeRate } from './convcode.js';
import { makeLayout } from './params.js';
import { burst, randomPoints } from './testkit.js';
import { logLinePlotSvg, Series } from './plot.js';
import { Rng } from '../channel/rng.js';
import { ChannelConfig, ChannelSimulator } from '../channel/simulator.js';
import { addNoise } from '../channel/awgn.js';

const FS = 2e6;
const layout = makeLayout({ sampleRateHz: FS });
const OCC = layout.numUsed / layout.fftSize;

function decodeAll(iq: Float32Array, emitFailed = false) {
  const r = new StreamReceiver({ emitFailedFrames: emitFailed });
  return { frames: [...r.push(iq), ...r.flush()], stats: r.stats };
}

/**
 * Receive throughput (single thread = one core) on streams of frames (alternately a 200-byte QPSK 1/2
 * bytes frame and a 1000-point 16-QAM JSCC frame) separated by noise, at 20 dB, for several duty cycles
 * (share of samples inside frames). Best of three timed passes after a warm-up pass (the machine may be
 * shared; the best pass is the closest to an idle core).
 */
function throughput(totalSamples: number) {
  const tx = new OfdmModulator(layout);
  const rng = new Rng(1);
  const frames: Float32Array[] = [];
  let n = 0;
  for (let i = 0; n < totalSamples; i++) {
    const f =
      i % 2 === 0
        ? tx.modulateBytes(rng.bytes(200), { sequence: i & 0xffff })
        : tx.modulateSymbols(randomPoints(1000, Modulation.QAM16, i).points, { modulation: Modulation.QAM16, sequence: i & 0xffff });
    frames.push(f);
    n += f.length >> 1;
  }
  const time = (data: Float32Array) => {
    let best = 0;
    let bestCpu = 0;
    let got = 0;
    for (let pass = 0; pass < 4; pass++) {
      const r = new StreamReceiver({});
      const block = 1 << 16;
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      let count = 0;
      for (let o = 0; o < data.length; o += 2 * block) count += r.push(data.subarray(o, Math.min(data.length, o + 2 * block))).length;
      count += r.flush().length;
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      // CPU time of this process (user + system): on a shared, loaded machine the wall clock also counts
      // the time other processes held the core, the CPU time does not
      const cpuS = (c.user + c.system) / 1e6;
      if (pass > 0) {
        best = Math.max(best, data.length / 2 / s / 1e6);
        bestCpu = Math.max(bestCpu, data.length / 2 / cpuS / 1e6);
      }
      got = count;
    }
    return { msps: best, cpuMsps: bestCpu, frames: got };
  };
  const byDuty: { duty: number; rx_msps: number; rx_msps_cpu: number; frames: number; frames_decoded: number; samples: number }[] = [];
  for (const duty of [0, 0.25, 0.5, 1]) {
    let data: Float32Array;
    let used = 0;
    if (duty === 0) {
      data = new Float32Array(2 * totalSamples);
      addNoise(data, 1, new Rng(3));
    } else {
      // take frames until ~duty * totalSamples of frame samples, spread with gaps giving that duty
      const pick: Float32Array[] = [];
      let fs = 0;
      for (const f of frames) {
        if (fs >= duty * totalSamples) break;
        pick.push(f);
        fs += f.length >> 1;
      }
      used = pick.length;
      const gap = duty >= 1 ? 0 : Math.round((fs * (1 - duty)) / duty / pick.length);
      data = burst(pick, gap).iq;
      addNoise(data, 1 / (Math.pow(10, 2) * OCC), new Rng(2)); // 20 dB in-band
    }
    const t = time(data);
    byDuty.push({ duty, rx_msps: round(t.msps, 2), rx_msps_cpu: round(t.cpuMsps, 2), frames: used, frames_decoded: t.frames, samples: data.length >> 1 });
  }
  return byDuty;
}

function snrRmse(step: number, perSnr: number, fading: boolean) {
  const tx = new OfdmModulator(layout);
  const rng = new Rng(fading ? 11 : 10);
  let se = 0;
  let count = 0;
  let missed = 0;
  const perPoint: { snr_db: number; rmse_db: number; bias_db: number; frames: number }[] = [];
  for (let snr = 0; snr <= 25; snr += step) {
    let s2 = 0;
    let s1 = 0;
    let c = 0;
    for (let k = 0; k < perSnr; k++) {
      const f = tx.modulateBytes(rng.bytes(200), { sequence: k });
      const { iq } = burst([f], 300);
      const cfg: ChannelConfig = { seed: 1000 * snr + k + (fading ? 7 : 0), sampleRateHz: FS, snrDb: snr, occupiedFraction: OCC, cfoPpm: 5, carrierHz: 2.4e9 };
      if (fading) cfg.fading = { profile: 'epa', maxDopplerHz: 5 };
      const { rx, truth } = new ChannelSimulator(cfg).run(iq);
      const trueSnrDb = 10 * Math.log10(truth.fadedPower / (truth.noiseVar * OCC));
      const { frames } = decodeAll(rx, true);
      if (frames.length !== 1) {
        missed++;
        continue;
      }
      const e = frames[0]!.snrDb - trueSnrDb;
      s2 += e * e;
      s1 += e;
      c++;
    }
    se += s2;
    count += c;
    perPoint.push({ snr_db: snr, rmse_db: round(Math.sqrt(s2 / Math.max(c, 1)), 3), bias_db: round(s1 / Math.max(c, 1), 3), frames: c });
  }
  return { rmse_db: Math.sqrt(se / Math.max(count, 1)), frames: count, undetected: missed, per_snr: perPoint };
}

function detectRate(snrs: number[], perSnr: number) {
  const tx = new OfdmModulator(layout);
  const rng = new Rng(20);
  const out: { snr_db: number; rate: number; frames: number }[] = [];
  for (const snr of snrs) {
    const frames = Array.from({ length: perSnr }, (_, i) => tx.modulateBytes(rng.bytes(100), { sequence: i }));
    const { iq } = burst(frames, 500);
    const { rx } = new ChannelSimulator({ seed: 30 + snr, sampleRateHz: FS, snrDb: snr, occupiedFraction: OCC, cfoPpm: 10, carrierHz: 2.4e9 }).run(iq);
    const got = decodeAll(rx, true).frames.length;
    out.push({ snr_db: snr, rate: got / perSnr, frames: perSnr });
  }
  return out;
}

function falseAlarms(samples: number) {
  const r = new StreamReceiver({});
  const rng = new Rng(40);
  const block = new Float32Array(2 * 250_000);
  let frames = 0;
  for (let done = 0; done < samples; done += block.length >> 1) {
    for (let i = 0; i < block.length; i++) block[i] = rng.gaussian();
    frames += r.push(block).length;
  }
  frames += r.flush().length;
  return { samples, frames, per_1e7: (frames * 1e7) / samples, sync_events: r.stats.syncEvents, lts_rejects: r.stats.ltsRejects, header_failures: r.stats.headerCrcFailures };
}

function offsetTolerance(kind: 'cfo' | 'sro', ppms: number[], perPoint: number) {
  const tx = new OfdmModulator(layout);
  const rng = new Rng(50);
  const results: { ppm: number; decoded: number; frames: number }[] = [];
  for (const ppm of ppms) {
    for (const sign of [-1, 1]) {
      const frames = Array.from({ length: perPoint }, (_, i) => tx.modulateBytes(rng.bytes(300), { sequence: i }));
      const { iq } = burst(frames, 700);
      const cfg: ChannelConfig = { seed: 60 + ppm, sampleRateHz: FS, snrDb: 15, occupiedFraction: OCC, carrierHz: 2.4e9 };
      if (kind === 'cfo') cfg.cfoPpm = sign * ppm;
      else cfg.sroPpm = sign * ppm;
      const { rx } = new ChannelSimulator(cfg).run(iq);
      const got = decodeAll(rx).frames.filter((f) => f.crcOk).length;
      results.push({ ppm: sign * ppm, decoded: got, frames: perPoint });
    }
  }
  let tol = 0;
  for (const ppm of ppms) {
    if (results.filter((r) => Math.abs(r.ppm) === ppm).every((r) => r.decoded === r.frames)) tol = ppm;
    else break;
  }
  return { tolerance_ppm: tol, tolerance_hz: kind === 'cfo' ? tol * 2400 : undefined, points: results };
}

function qfunc(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
function theorySer(m: Modulation, snr: number): number {
  const M = constellation(m).size;
  const p = 2 * (1 - 1 / Math.sqrt(M)) * qfunc(Math.sqrt((3 * snr) / (M - 1)));
  return 1 - (1 - p) * (1 - p);
}

function errorCurves(snrs: number[], symbolsPerPoint: number) {
  const tx = new OfdmModulator(layout);
  const curves: { modulation: string; snr_db: number[]; ser: number[]; ber: number[]; ser_theory_awgn: number[] }[] = [];
  for (const m of [Modulation.QPSK, Modulation.QAM16, Modulation.QAM64, Modulation.QAM256]) {
    const c = constellation(m);
    const row = { modulation: modulationName(m), snr_db: [] as number[], ser: [] as number[], ber: [] as number[], ser_theory_awgn: [] as number[] };
    for (const snr of snrs) {
      const { points, indices } = randomPoints(symbolsPerPoint, m, 70 + snr);
      const { iq } = burst([tx.modulateSymbols(points, { modulation: m })], 400);
      const { rx } = new ChannelSimulator({ seed: 80 + snr + 100 * m, sampleRateHz: FS, snrDb: snr, occupiedFraction: OCC }).run(iq);
      const { frames } = decodeAll(rx);
      let se = 0;
      let be = 0;
      if (frames.length !== 1) {
        se = symbolsPerPoint;
        be = (symbolsPerPoint * c.bitsPerSymbol) / 2;
      } else {
        const y = frames[0]!.symbols!;
        for (let i = 0; i < symbolsPerPoint; i++) {
          const d = c.nearestIndex(y[2 * i]!, y[2 * i + 1]!);
          if (d !== indices[i]) {
            se++;
            let x = d ^ indices[i]!;
            while (x) {
              be += x & 1;
              x >>= 1;
            }
          }
        }
      }
      row.snr_db.push(snr);
      row.ser.push(se / symbolsPerPoint);
      row.ber.push(be / (symbolsPerPoint * c.bitsPerSymbol));
      row.ser_theory_awgn.push(theorySer(m, Math.pow(10, snr / 10)));
    }
    curves.push(row);
  }
  // coded: bytes frames QPSK 1/2 after Viterbi
  const coded = { modulation: 'qpsk r1/2 coded', snr_db: [] as number[], ber: [] as number[] };
  const rng = new Rng(90);
  for (const snr of snrs.filter((s) => s <= 10)) {
    let bits = 0;
    let errs = 0;
    for (let k = 0; k < 4; k++) {
      const payload = rng.bytes(500);
      const { iq } = burst([tx.modulateBytes(payload, { codeRate: CodeRate.R1_2 })], 400);
      const { rx } = new ChannelSimulator({ seed: 95 + snr * 10 + k, sampleRateHz: FS, snrDb: snr, occupiedFraction: OCC }).run(iq);
      const { frames } = decodeAll(rx, true);
      bits += payload.length * 8;
      if (frames.length !== 1) {
        errs += payload.length * 4;
        continue;
      }
      const got = frames[0]!.bytes!;
      for (let i = 0; i < payload.length; i++) {
        let x = got[i]! ^ payload[i]!;
        while (x) {
          errs += x & 1;
          x >>= 1;
        }
      }
    }
    coded.snr_db.push(snr);
    coded.ber.push(errs / bits);
  }
  return { uncoded: curves, coded };
}

function round(v: number, d: number): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}

/** The bench's progress lines go here ('throughput ...'); they name what is being measured. */
export type BenchLog = (line: string) => void;

/**
 * Runs every measurement of `dekag bench phy`; `quick` takes fewer points and frames.
 * Returns the report (JSON-ready) and the BER/SER picture as SVG text.
 */
export function benchPhy(o: { quick: boolean; log?: BenchLog }) {
  const quick = o.quick;
  const log: BenchLog = o.log ?? (() => {});
  log('throughput ...');
  const tp = throughput(quick ? 1_000_000 : 4_000_000);
  const at = (d: number) => tp.find((t) => t.duty === d)!;
  log('SNR estimate (AWGN) ...');
  const awgn = snrRmse(quick ? 5 : 1, quick ? 3 : 12, false);
  log('SNR estimate (EPA fading) ...');
  const fad = snrRmse(quick ? 5 : 1, quick ? 3 : 12, true);
  log('detection ...');
  const det = detectRate([3, 4, 6, 10, 20], quick ? 40 : 300);
  log('false alarms ...');
  const fa = falseAlarms(quick ? 1_000_000 : 10_000_000);
  log('CFO / SRO tolerance ...');
  const cfo = offsetTolerance('cfo', quick ? [10, 20, 40] : [10, 20, 30, 40, 50, 60], quick ? 4 : 10);
  const sro = offsetTolerance('sro', quick ? [20, 50, 100] : [20, 50, 100, 200, 400], quick ? 4 : 10);
  log('BER/SER curves ...');
  const snrs = quick ? [0, 5, 10, 15, 20, 25, 30] : Array.from({ length: 19 }, (_, i) => 2 * i);
  const curves = errorCurves(snrs, quick ? 2000 : 20000);
  const series: Series[] = [];
  for (const c of curves.uncoded) {
    series.push({ label: `${c.modulation} SER`, x: c.snr_db, y: c.ser });
  }
  for (const c of curves.uncoded) series.push({ label: `${c.modulation} AWGN theory`, x: c.snr_db, y: c.ser_theory_awgn, dashed: true });
  series.push({ label: 'qpsk 1/2 coded BER', x: curves.coded.snr_db, y: curves.coded.ber });
  const svg = logLinePlotSvg('DeKA-g OFDM modem: error rates vs SNR (loopback, AWGN)', 'in-band SNR (dB)', 'error rate', series, 1e-5);
  const result = {
    bench: 'phy',
    quick,
    device: 'cpu, one core (single Node.js thread)',
    params: { sample_rate_hz: FS, fft_size: layout.fftSize, cp_length: layout.cpLength, used_subcarriers: layout.numUsed, pilots: layout.numPilots },
    rx_msps: at(0.5).rx_msps,
    rx_msps_definition: 'stream with 50 % of samples in frames (alternating 200-byte QPSK 1/2 and 1000-point 16-QAM JSCC frames) and noise, 20 dB, one thread',
    rx_msps_cpu: at(0.5).rx_msps_cpu,
    rx_msps_cpu_definition: 'the same stream, samples per second of process CPU time (user + system), best of 3 passes: the receiver speed a loaded machine does not hide',
    rx_msps_by_duty: tp,
    snr_rmse_db: { awgn: round(awgn.rmse_db, 3), fading: round(fad.rmse_db, 3) },
    snr_rmse_detail: { awgn, fading_epa: fad },
    detect_rate: Math.min(...det.map((d) => d.rate)),
    detect_rate_by_snr: det,
    false_alarms_per_1e7: fa.per_1e7,
    false_alarm_detail: fa,
    cfo_tolerance_ppm: cfo.tolerance_ppm,
    cfo_tolerance_hz: cfo.tolerance_hz,
    sro_tolerance_ppm: sro.tolerance_ppm,
    cfo_detail: cfo.points,
    sro_detail: sro.points,
    error_curves: curves,
  };
  return { result, svg };
}
