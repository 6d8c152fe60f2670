/**
 * `dekag bench cala [--quick] [--json] [--out FILE.json] [--picture FILE.svg] [--images N]`
 *
 * Two views of the JSCC codec with CALA against its baselines:
 *  1. The paper's channel (Rayleigh block fading, AWGN, pilot estimation error, MMSE), evaluated by the trainer
 *     in PyTorch over the whole grid for every method including the 28 per-condition codecs, which are not
 *     shipped (models/cala/results.json, written by `python3 -m train.cala`). Reported as it is.
 *  2. Measured here, through the simulated radio: edge-generated latents -> CALA encoder (onnxruntime-node)
 *     -> 256-QAM JSCC frames of the burst OFDM modem -> channel simulator (EPA fading, CFO, phase noise, IQ
 *     imbalance, 8-bit ADC) -> stream receiver -> decoder conditioned on the SNR the receiver MEASURED, and
 *     again on the true SNR, for no adaptation, grouped and CALA; plus the digital baseline (the image as
 *     PNG in FEC-coded byte frames), which is lossless or lost: the cliff.
 * PSNR of the latent uses the training latents' peak-to-peak range; PSNR of the image compares the
 * decoded image with the one decoded from the clean latent (only the link's loss counts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_GUIDANCE, DEFAULT_STEPS, Generator } from '../gsc/generate.js';
import { encodePng, decodePng, tensorToRgb } from '../gsc/image.js';
import { fromModem, JSCC_MODULATION, JSCC_RATES, JsccCodec, JsccCondition, JsccReceived, symbolsForRate, type JsccVariant } from '../gsc/jscc.js';
import { ModelStore } from '../gsc/models.js';
import { floatTensor, tensorData, type OnnxModel } from '../gsc/onnx.js';
import { ChannelConfig, ChannelSimulator } from '../radio/channel/simulator.js';
import { Modulation } from '../radio/phy/constellation.js';
import { CodeRate } from '../radio/phy/convcode.js';
import { PayloadKind } from '../radio/phy/header.js';
import { makeLayout } from '../radio/phy/params.js';
import { linearLinePlotSvg, type Series } from '../radio/phy/plot.js';
import type { RxFrame } from '../radio/phy/demodulator.js';
import { StreamReceiver } from '../radio/phy/receiver.js';
import { burst } from '../radio/phy/testkit.js';
import { OfdmModulator } from '../radio/phy/transmitter.js';
import { MODEL_OPTIONS, optionalInt, parse } from './args.js';
import { readEvalPromptSets } from './bench-common.js';
import { ProgressBar } from './progress.js';

// the help text lives in help.ts, so that `dekag bench cala --help` loads no models
export { BENCH_CALA_HELP } from './help.js';

const SAMPLE_RATE_HZ = 2e6;
const GAP_SAMPLES = 400;
const METHODS: JsccVariant[] = ['noadapt', 'grouped', 'cala'];
const DIGITAL_MCS = [
  { modulation: Modulation.QPSK, codeRate: CodeRate.R1_2, label: 'qpsk-1/2' },
  { modulation: Modulation.QAM16, codeRate: CodeRate.R3_4, label: '16qam-3/4' },
];

interface PaperResults {
  avg_gain_db: number;
  avg_gain_latent_db: number;
  gap_to_per_condition_db: number;
  gap_to_per_condition_latent_db: number;
  extra_params_pct: number;
  latent_peak_to_peak: number;
  mean_latent_psnr_db: Record<string, number>;
  mean_image_psnr_db: Record<string, number>;
  storage_bytes: Record<string, number>;
  curves: Record<string, { snr_db: number; rate: number; latent_psnr_db: number; image_psnr_db: number }[]>;
  noadapt_condition: { snr_db: number; rate: number };
  channel: string;
}

export interface RadioPoint {
  snr_db: number;
  rate: number;
  method: string;
  frames_received: number;
  frames_sent: number;
  measured_snr_db: number | null;
  latent_psnr_db: { measured: number; true: number };
  image_psnr_db: { measured: number; true: number };
}

function psnrDb(a: Float32Array, b: Float32Array, peakToPeak: number): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((peakToPeak * peakToPeak) / Math.max(se / a.length, 1e-12));
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(xs.length, 1);
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Impairments of a cheap SDR pair on a cable at 2.4 GHz; only the SNR changes across the grid. */
export function radioChannel(snrDb: number, seed: number): ChannelConfig {
  const layout = makeLayout({ sampleRateHz: SAMPLE_RATE_HZ });
  return {
    seed,
    sampleRateHz: SAMPLE_RATE_HZ,
    snrDb,
    occupiedFraction: layout.numUsed / layout.fftSize,
    fading: { profile: 'EPA', maxDopplerHz: 5 },
    cfoPpm: 10,
    carrierHz: 2.4e9,
    phaseNoiseLinewidthHz: 50,
    iqImbalance: { amplitudeDb: 0.2, phaseDeg: 1 },
    quantization: 'ci8',
  };
}

async function decodeImages(decoder: OnnxModel, latents: Float32Array): Promise<Float32Array> {
  const n = latents.length / 256;
  const out = await decoder.run({ latent: floatTensor(latents, [n, 4, 8, 8]) });
  return tensorData(out['image'], 'image');
}

/**
 * Each frame through its own channel realization (images go out seconds apart in a session, so each meets
 * its own fading), all into one stream receiver; `take` sees every frame the receiver reports.
 */
function throughRadio(frames: Float32Array[], snrDb: number, seed: number, receiver: StreamReceiver, take: (f: RxFrame) => void): void {
  for (const [i, frame] of frames.entries()) {
    for (const f of receiver.push(new ChannelSimulator(radioChannel(snrDb, seed + 7919 * i)).run(burst([frame], GAP_SAMPLES).iq).rx)) take(f);
  }
  for (const f of receiver.flush()) take(f);
}

/** Send one JSCC frame per latent through the channel; return what the receiver got, by sequence number. */
function overTheRadio(points: Float32Array[], snrDb: number, seed: number): Map<number, { rx: JsccReceived; snrDb: number }> {
  const tx = new OfdmModulator({ sampleRateHz: SAMPLE_RATE_HZ });
  const frames = points.map((p, i) => tx.modulateSymbols(p, { modulation: JSCC_MODULATION, sessionId: 7, sequence: i }));
  const got = new Map<number, { rx: JsccReceived; snrDb: number }>();
  throughRadio(frames, snrDb, seed, new StreamReceiver({ params: { sampleRateHz: SAMPLE_RATE_HZ }, equalizer: 'mmse' }), (f) => {
    if (f.header.payloadKind !== PayloadKind.Symbols || !f.symbols || !f.symbolNoiseVar) return;
    got.set(f.header.sequence, { rx: fromModem(f.symbols, f.symbolNoiseVar, f.equalizer), snrDb: f.snrDb });
  });
  return got;
}

/** The digital link: each image as PNG in FEC-coded byte frames; an image counts only if every byte arrives. */
function digitalLink(pngs: Buffer[], mcs: (typeof DIGITAL_MCS)[number], snrDb: number, seed: number): { ok: boolean[]; samples: number } {
  const tx = new OfdmModulator({ sampleRateHz: SAMPLE_RATE_HZ });
  const frames = pngs.map((png, i) => tx.modulateBytes(png, { modulation: mcs.modulation, codeRate: mcs.codeRate, sessionId: 9, sequence: i }));
  const ok = pngs.map(() => false);
  throughRadio(frames, snrDb, seed, new StreamReceiver({ params: { sampleRateHz: SAMPLE_RATE_HZ } }), (f) => {
    const i = f.header.sequence;
    if (f.crcOk && f.bytes && i < pngs.length && Buffer.compare(Buffer.from(f.bytes), pngs[i]!) === 0) ok[i] = true;
  });
  return { ok, samples: frames.reduce((s, f) => s + f.length / 2, 0) / pngs.length };
}

export async function runBenchCala(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, quick: { type: 'boolean' }, json: { type: 'boolean' }, out: { type: 'string' }, picture: { type: 'string' }, images: { type: 'string' } });
  const quick = Boolean(values['quick']);
  const nImages = optionalInt(values, 'images', quick ? 4 : 96, 1, 240);
  const snrs = quick ? [0, 10, 20] : [-5, 0, 5, 10, 15, 20, 25];
  const rates = quick ? [1 / 16, 1 / 4] : [...JSCC_RATES];
  const store = ModelStore.open(values['models'] as string | undefined);
  const paper = JSON.parse(readFileSync(join(store.dir, 'cala', 'results.json'), 'utf8')) as PaperResults;
  const peak = paper.latent_peak_to_peak;
  const bar = new ProgressBar('bench cala');

  const edge = await Generator.load(store, 'edge');
  const decoder = await store.session('autoencoder_decoder.onnx');
  const codecs = new Map<JsccVariant, JsccCodec>();
  for (const m of METHODS) codecs.set(m, await JsccCodec.load(store, m));
  const prompts = readEvalPromptSets(store).heldout
    .slice(0, nImages).map((p) => p.prompt);
  const latents = new Float32Array(256 * prompts.length);
  for (const [i, prompt] of prompts.entries()) {
    const g = await edge.generate({ prompt, seed: 500 + i, steps: quick ? 8 : DEFAULT_STEPS, guidance: DEFAULT_GUIDANCE });
    latents.set(g.latent, 256 * i);
    bar.update(i + 1, prompts.length + snrs.length * rates.length, 'generating latents');
  }
  const clean = await decodeImages(decoder, latents);
  const n = prompts.length;

  const radio: RadioPoint[] = [];
  let done = n;
  for (const rate of rates) {
    const k = symbolsForRate(rate);
    for (const snrDb of snrs) {
      const seed = Math.round(1000 * rate) * 100 + snrDb + 50;
      for (const method of METHODS) {
        const codec = codecs.get(method)!;
        const points = await codec.encodeBatch(latents, { snrDb, rate });
        const got = overTheRadio(points, snrDb, seed);
        const lost: JsccReceived = { symbols: new Float32Array(2 * k), reliability: new Float32Array(k) };
        const items = points.map((_, i) => got.get(i)?.rx ?? lost);
        const measured: JsccCondition[] = points.map((_, i) => ({ snrDb: got.get(i)?.snrDb ?? Math.min(...snrs), rate }));
        const truth: JsccCondition[] = points.map(() => ({ snrDb, rate }));
        const zM = await codec.decodeBatch(items, measured);
        const zT = await codec.decodeBatch(items, truth);
        const [xM, xT] = [await decodeImages(decoder, zM), await decodeImages(decoder, zT)];
        const snrM = [...got.values()].map((g) => g.snrDb);
        radio.push({
          snr_db: snrDb, rate, method, frames_sent: n, frames_received: got.size,
          measured_snr_db: snrM.length ? r3(mean(snrM)) : null,
          latent_psnr_db: { measured: r3(psnrDb(zM, latents, peak)), true: r3(psnrDb(zT, latents, peak)) },
          image_psnr_db: { measured: r3(psnrDb(xM, clean, 2)), true: r3(psnrDb(xT, clean, 2)) },
        });
      }
      bar.update(++done, n + snrs.length * rates.length, `rate 1/${1 / rate} snr ${snrDb} dB`);
    }
  }

  // Digital: the clean image as PNG; lossless when every byte arrives, else the receiver has nothing (grey).
  const pngs = Array.from({ length: n }, (_, i) => encodePng(tensorToRgb(clean, i, 32, 32)));
  const received = new Float32Array(clean.length);
  for (let i = 0; i < n; i++) {
    const img = decodePng(pngs[i]!);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) received[i * 3072 + c * 1024 + p] = img.data[p * 3 + c]! / 127.5 - 1;
  }
  const digital = DIGITAL_MCS.map((mcs) => ({
    mcs: mcs.label,
    curve: snrs.map((snrDb) => {
      const { ok, samples } = digitalLink(pngs, mcs, snrDb, 77 + snrDb);
      const rxImages = new Float32Array(clean.length);
      ok.forEach((good, i) => { if (good) rxImages.set(received.subarray(i * 3072, (i + 1) * 3072), i * 3072); });
      return { snr_db: snrDb, images_ok: ok.filter(Boolean).length, images: n, image_psnr_db: r3(psnrDb(rxImages, clean, 2)), complex_samples_per_image: Math.round(samples) };
    }),
  }));
  const jsccSamples = Object.fromEntries(rates.map((rate) => {
    const tx = new OfdmModulator({ sampleRateHz: SAMPLE_RATE_HZ });
    return [`1/${1 / rate}`, tx.modulateSymbols(new Float32Array(2 * symbolsForRate(rate)), { modulation: JSCC_MODULATION }).length / 2];
  }));

  const radioMean = (method: string, key: 'latent_psnr_db' | 'image_psnr_db', cond: 'measured' | 'true'): number =>
    mean(radio.filter((p) => p.method === method).map((p) => p[key][cond]));
  const snrErrors = radio.filter((p) => p.method === 'cala' && p.measured_snr_db !== null).map((p) => p.measured_snr_db! - p.snr_db);
  const result = {
    bench: 'cala',
    quick,
    provider: codecs.get('cala')!.provider,
    paper_channel: {
      source: 'models/cala/results.json (python3 -m train.cala, PyTorch)',
      channel: paper.channel,
      avg_gain_db: paper.avg_gain_db,
      avg_gain_latent_db: paper.avg_gain_latent_db,
      gap_to_per_condition_db: paper.gap_to_per_condition_db,
      gap_to_per_condition_latent_db: paper.gap_to_per_condition_latent_db,
      mean_latent_psnr_db: paper.mean_latent_psnr_db,
      mean_image_psnr_db: paper.mean_image_psnr_db,
      storage_bytes: paper.storage_bytes,
      noadapt_trained_at: paper.noadapt_condition,
    },
    avg_gain_db: paper.avg_gain_db,
    gap_to_per_condition_db: paper.gap_to_per_condition_db,
    extra_params_pct: paper.extra_params_pct,
    radio: {
      channel: 'burst OFDM modem (256-QAM JSCC frames), EPA fading 5 Hz Doppler, CFO 10 ppm at 2.4 GHz, phase noise 50 Hz, IQ imbalance 0.2 dB / 1 deg, ci8 ADC',
      images: n,
      avg_gain_db: { measured_snr: r3(radioMean('cala', 'image_psnr_db', 'measured') - radioMean('noadapt', 'image_psnr_db', 'measured')), configured_snr: r3(radioMean('cala', 'image_psnr_db', 'true') - radioMean('noadapt', 'image_psnr_db', 'true')) },
      avg_gain_latent_db: { measured_snr: r3(radioMean('cala', 'latent_psnr_db', 'measured') - radioMean('noadapt', 'latent_psnr_db', 'measured')), configured_snr: r3(radioMean('cala', 'latent_psnr_db', 'true') - radioMean('noadapt', 'latent_psnr_db', 'true')) },
      mean_latent_psnr_db: Object.fromEntries(METHODS.map((m) => [m, { measured_snr: r3(radioMean(m, 'latent_psnr_db', 'measured')), configured_snr: r3(radioMean(m, 'latent_psnr_db', 'true')) }])),
      mean_image_psnr_db: Object.fromEntries(METHODS.map((m) => [m, { measured_snr: r3(radioMean(m, 'image_psnr_db', 'measured')), configured_snr: r3(radioMean(m, 'image_psnr_db', 'true')) }])),
      snr_measurement_bias_db: r3(mean(snrErrors)),
      snr_measurement_rmse_db: r3(Math.sqrt(mean(snrErrors.map((e) => e * e)))),
      jscc_complex_samples_per_image: jsccSamples,
      points: radio,
      digital,
    },
  };

  const picture = (values['picture'] as string | undefined) ?? (quick ? undefined : join('docs', 'img', 'cala-psnr.svg'));
  if (picture) {
    mkdirSync(dirname(picture), { recursive: true });
    writeFileSync(picture, calaPicture(rates, radio, digital, paper));
  }
  const json = JSON.stringify(result, null, 1);
  if (values['out']) {
    mkdirSync(dirname(values['out'] as string), { recursive: true });
    writeFileSync(values['out'] as string, json + '\n');
  }
  if (values['json']) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    process.stdout.write(`paper channel: avg gain ${paper.avg_gain_db} dB (image; latent ${paper.avg_gain_latent_db} dB), gap to per-condition ${paper.gap_to_per_condition_db} dB, extra params ${paper.extra_params_pct} %\n`);
    process.stdout.write(`radio (${n} images): avg gain ${result.radio.avg_gain_db.measured_snr} dB conditioned on the measured SNR, ${result.radio.avg_gain_db.configured_snr} dB on the configured SNR; SNR estimate bias ${result.radio.snr_measurement_bias_db} dB\n`);
    if (picture) process.stdout.write(`picture: ${picture}\n`);
  }
  await Promise.all([...codecs.values()].map((c) => c.release()));
  return 0;
}

function calaPicture(rates: number[], radio: RadioPoint[], digital: { mcs: string; curve: { snr_db: number; image_psnr_db: number }[] }[], paper: PaperResults): string {
  const panels = rates.map((rate) => {
    const series: Series[] = [];
    for (const m of ['noadapt', 'grouped', 'percond', 'cala']) {
      const c = paper.curves[m]?.filter((p) => Math.abs(p.rate - rate) < 1e-9) ?? [];
      if (c.length) series.push({ label: `${m} (paper ch.)`, x: c.map((p) => p.snr_db), y: c.map((p) => p.image_psnr_db), dashed: true });
    }
    for (const m of METHODS) {
      const c = radio.filter((p) => p.method === m && Math.abs(p.rate - rate) < 1e-9);
      series.push({ label: `${m} (radio)`, x: c.map((p) => p.snr_db), y: c.map((p) => p.image_psnr_db.measured) });
    }
    for (const d of digital) series.push({ label: `PNG ${d.mcs}`, x: d.curve.map((p) => p.snr_db), y: d.curve.map((p) => Math.min(p.image_psnr_db, 45)) });
    return linearLinePlotSvg(`rate 1/${1 / rate}: image PSNR vs SNR`, 'SNR (dB)', 'PSNR (dB)', series);
  });
  // Stack the panels vertically in one SVG.
  const h = 480;
  const body = panels.map((svg, i) => `<g transform="translate(0 ${i * h})">${svg.replace(/^<svg[^>]*>/, '').replace(/<\/svg>$/, '')}</g>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="${h * panels.length}" font-family="sans-serif" font-size="12">\n${body}\n</svg>\n`;
}

