/**
 * `dekag bench cala [--quick] [--json] [--out FILE.json] [--picture FILE.svg] [--images N]`
 *
 * Two views of the JSCC codec with CALA against its baselines:
 *  1. The paper's channel (Rayleigh block fading, AWGN, pilot estimation error, MMSE), evaluated by the trainer
 *     in PyTorch over the whole grid for every method including the 28 per-condition codecs, which are not
 *     shipped (models/cala/results.json, written by `python3 -m train.cala`). Reported as it is.
 *  2. Measured here, through the simulated radio: edge-generated latents -> CALA encoder (onnxruntime-node)
 *     -> 256-QAM JSCC frames of the burst OFDM modem -> channel simulator (AWGN with a cabled SDR pair's
 *     impairments: CFO, phase noise, IQ imbalance, 8-bit ADC; and again with EPA fading on top) -> stream
 *     receiver -> decoder conditioned on the SNR and selectivity the receiver MEASURED (and again on the true
 *     SNR), for no adaptation, grouped and CALA; the digital latent (transform coding + FEC + CRC, every MCS
 *     of the table in the same number of channel symbols; the best one is the baseline); the hybrid choice per image from the
 *     measured SNR; and the PNG baseline (the image in FEC-coded byte frames), lossless or lost.
 * PSNR of the latent uses the training latents' peak-to-peak range; PSNR of the image compares the
 * decoded image with the one decoded from the clean latent (only the link's loss counts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_GUIDANCE, DEFAULT_STEPS, Generator } from '../gsc/generate.js';
import { encodePng, decodePng, tensorToRgb } from '../gsc/image.js';
import { fromModem, JSCC_CONSTELLATION, JSCC_RATES, JsccCodec, JsccCondition, JsccReceived, rateLabel, type JsccVariant } from '../gsc/jscc.js';
import { CABLED_SDR_PAIR_TEXT } from '../radio/channel/presets.js';
import { bytesWithin, decodeLatent, DIGITAL_MCS_TABLE, encodeLatent, loadLatentKlt } from '../session/digital-latent.js';
import { chooseLink, loadLinkCurves, snrSpreadDb } from '../session/policy.js';
import { ModelStore } from '../gsc/models.js';
import { Modulation, parseModulation } from '../radio/phy/constellation.js';
import { CodeRate } from '../radio/phy/convcode.js';
import { PayloadKind } from '../radio/phy/header.js';
import { linearLinePlotSvg, type Series } from '../radio/phy/plot.js';
import { StreamReceiver } from '../radio/phy/receiver.js';
import { OfdmModulator } from '../radio/phy/transmitter.js';
import { MODEL_OPTIONS, optionalInt, parse } from './args.js';
import { CHANNELS, SAMPLE_RATE_HZ, throughRadio, type RadioChannelKind } from './bench-radio.js';
import { readEvalPromptSets } from './bench-common.js';
import { ProgressBar } from './progress.js';

// the help text lives in help.ts, so that `dekag bench cala --help` loads no models
export { BENCH_CALA_HELP } from './help.js';

const METHODS: JsccVariant[] = ['noadapt', 'grouped', 'cala'];
const JSCC_MODULATION = parseModulation(JSCC_CONSTELLATION);
/** The PNG baseline's two byte-frame MCS (robust and fast). */
const PNG_MCS = [
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
  mean_image_psnr_db_flat?: Record<string, number>;
  autoencoder_ceiling_image_psnr_db?: number;
  noadapt_condition: { snr_db: number; rate: number };
  channel: string;
}

export interface RadioPoint {
  channel: RadioChannelKind;
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

/** Send one JSCC frame per latent through the channel; return what the receiver got, by sequence number. */
function overTheRadio(points: Float32Array[], snrDb: number, seed: number, kind: RadioChannelKind): Map<number, { rx: JsccReceived; snrDb: number }> {
  const tx = new OfdmModulator({ sampleRateHz: SAMPLE_RATE_HZ });
  const frames = points.map((p, i) => tx.modulateSymbols(p, { modulation: JSCC_MODULATION, sessionId: 7, sequence: i }));
  const got = new Map<number, { rx: JsccReceived; snrDb: number }>();
  throughRadio(frames, snrDb, seed, kind, new StreamReceiver({ params: { sampleRateHz: SAMPLE_RATE_HZ }, equalizer: 'mmse' }), (f) => {
    if (f.header.payloadKind !== PayloadKind.Symbols || !f.symbols || !f.symbolNoiseVar) return;
    got.set(f.header.sequence, { rx: fromModem(f.symbols, f.symbolNoiseVar, f.equalizer), snrDb: f.snrDb });
  });
  return got;
}

/** The digital link: each image as PNG in FEC-coded byte frames; an image counts only if every byte arrives. */
function digitalLink(pngs: Uint8Array[], mcs: { modulation: Modulation; codeRate: CodeRate }, snrDb: number, seed: number, kind: RadioChannelKind): { ok: boolean[]; samples: number } {
  const tx = new OfdmModulator({ sampleRateHz: SAMPLE_RATE_HZ });
  const frames = pngs.map((png, i) => tx.modulateBytes(png, { modulation: mcs.modulation, codeRate: mcs.codeRate, sessionId: 9, sequence: i }));
  const ok = pngs.map(() => false);
  throughRadio(frames, snrDb, seed, kind, new StreamReceiver({ params: { sampleRateHz: SAMPLE_RATE_HZ } }), (f) => {
    const i = f.header.sequence;
    if (f.crcOk && f.bytes && i < pngs.length && Buffer.compare(Buffer.from(f.bytes), Buffer.from(pngs[i]!)) === 0) ok[i] = true;
  });
  return { ok, samples: frames.reduce((s, f) => s + f.length / 2, 0) / pngs.length };
}

interface DigitalPoint {
  channel: RadioChannelKind;
  snr_db: number;
  rate: number;
  mcs: string;
  payload_bytes: number;
  frames_ok: number;
  frames_sent: number;
  latent_psnr_db: number;
  image_psnr_db: number;
}

interface GridRow {
  channel: RadioChannelKind;
  snr_db: number;
  rate: number;
  image_psnr_db: { noadapt: number; grouped: number; cala: number; digital_best: number | null; hybrid: number; png: Record<string, number> };
  digital_best_mcs: string | null;
  hybrid_digital_images: number;
  /** Spread (std) of the SNRs measured on this point's JSCC frames: what the edge's fading test sees. */
  fed_back_snr_spread_db: number;
}

export async function runBenchCala(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, quick: { type: 'boolean' }, json: { type: 'boolean' }, out: { type: 'string' }, picture: { type: 'string' }, images: { type: 'string' } });
  const quick = Boolean(values['quick']);
  const nImages = optionalInt(values, 'images', quick ? 4 : 64, 1, 240);
  const snrs = quick ? [0, 10, 20] : [-5, 0, 5, 10, 15, 20, 25, 30];
  const rates = quick ? [1 / 16, 1 / 4] : [...JSCC_RATES];
  const channels: RadioChannelKind[] = quick ? ['awgn'] : [...CHANNELS];
  const store = ModelStore.open(values['models'] as string | undefined);
  const paper = JSON.parse(readFileSync(join(store.dir, 'cala', 'results.json'), 'utf8')) as PaperResults;
  const peak = paper.latent_peak_to_peak;
  const klt = loadLatentKlt(store);
  const curves = loadLinkCurves(store.dir);
  const bar = new ProgressBar('bench cala');

  const edge = await Generator.load(store, 'edge');
  const decoder = edge.decoder;
  const decodeImages = (latents: Float32Array): Promise<Float32Array> => decoder.decodeTensor(latents);
  const dim = decoder.latentSize;
  const codecs = new Map<JsccVariant, JsccCodec>();
  for (const m of METHODS) codecs.set(m, await JsccCodec.load(store, m));
  const prompts = readEvalPromptSets(store).heldout
    .slice(0, nImages).map((p) => p.prompt);
  const latents = new Float32Array(dim * prompts.length);
  const total = prompts.length + channels.length * snrs.length * rates.length;
  for (const [i, prompt] of prompts.entries()) {
    const g = await edge.generate({ prompt, seed: 500 + i, steps: quick ? 8 : DEFAULT_STEPS, guidance: DEFAULT_GUIDANCE });
    latents.set(g.latent, dim * i);
    bar.update(i + 1, total, 'generating latents');
  }
  const clean = await decodeImages(latents);
  const n = prompts.length;
  const nothing = decodeLatent(klt, null); // what a receiver with no latent has: the mean

  const radio: RadioPoint[] = [];
  const digitalPoints: DigitalPoint[] = [];
  const grid: GridRow[] = [];
  let done = n;
  for (const channel of channels) {
    for (const rate of rates) {
      const k = codecs.get('cala')!.symbolsForRate(rate);
      for (const snrDb of snrs) {
        const seed = Math.round(1000 * rate) * 100 + snrDb + 50 + (channel === 'epa' ? 7 : 0);
        const row: Partial<GridRow['image_psnr_db']> = {};
        let fedBack: { snrDb: number; selectivity: number }[] = [];
        let calaLatents: Float32Array = new Float32Array(0);
        for (const method of METHODS) {
          const codec = codecs.get(method)!;
          // The encoder's condition: the configured SNR, and the selectivity the user would have fed back
          // (the mean measured on the first method's frames at this point; 0 before any).
          const fbSel = fedBack.length ? mean(fedBack.map((f) => f.selectivity)) : 0;
          const points = await codec.encodeBatch(latents, { snrDb, rate, selectivity: fbSel });
          const got = overTheRadio(points, snrDb, seed, channel);
          const lost: JsccReceived = { symbols: new Float32Array(2 * k), reliability: new Float32Array(k) };
          const items = points.map((_, i) => got.get(i)?.rx ?? lost);
          const measured: JsccCondition[] = points.map((_, i) => ({ snrDb: clampSnr(got.get(i)?.snrDb ?? Math.min(...snrs)), rate, selectivity: got.get(i)?.rx.selectivity ?? 0 }));
          const truth: JsccCondition[] = points.map(() => ({ snrDb, rate, selectivity: channel === 'epa' ? fbSel : 0 }));
          const zM = await codec.decodeBatch(items, measured);
          const zT = await codec.decodeBatch(items, truth);
          const [xM, xT] = [await decodeImages(zM), await decodeImages(zT)];
          const snrM = [...got.values()].map((g) => g.snrDb);
          if (!fedBack.length) fedBack = points.map((_, i) => ({ snrDb: got.get(i)?.snrDb ?? Math.min(...snrs), selectivity: got.get(i)?.rx.selectivity ?? 0 }));
          if (method === 'cala') calaLatents = zM;
          const point: RadioPoint = {
            channel, snr_db: snrDb, rate, method, frames_sent: n, frames_received: got.size,
            measured_snr_db: snrM.length ? r3(mean(snrM)) : null,
            latent_psnr_db: { measured: r3(psnrDb(zM, latents, peak)), true: r3(psnrDb(zT, latents, peak)) },
            image_psnr_db: { measured: r3(psnrDb(xM, clean, 2)), true: r3(psnrDb(xT, clean, 2)) },
          };
          radio.push(point);
          row[method] = point.image_psnr_db.measured;
        }
        // The digital latent with every MCS of the table in the same airtime as the JSCC frame.
        const digitalLatents = new Map<string, Float32Array>();
        let best: DigitalPoint | null = null;
        for (const mcs of DIGITAL_MCS_TABLE) {
          const bytes = bytesWithin(mcs, k);
          if (bytes < 1) continue;
          const payloads = Array.from({ length: n }, (_, i) => encodeLatent(klt, latents.subarray(dim * i, dim * (i + 1)), bytes));
          const { ok } = digitalLink(payloads, mcs, snrDb, seed + 31, channel);
          const z = new Float32Array(latents.length);
          ok.forEach((good, i) => z.set(good ? decodeLatent(klt, payloads[i]!) : nothing, dim * i));
          digitalLatents.set(mcs.label, z);
          const x = await decodeImages(z);
          const dp: DigitalPoint = {
            channel, snr_db: snrDb, rate, mcs: mcs.label, payload_bytes: bytes, frames_ok: ok.filter(Boolean).length, frames_sent: n,
            latent_psnr_db: r3(psnrDb(z, latents, peak)), image_psnr_db: r3(psnrDb(x, clean, 2)),
          };
          digitalPoints.push(dp);
          if (!best || dp.image_psnr_db > best.image_psnr_db) best = dp;
        }
        // The hybrid: per image, the edge's choice from what the user fed back (the SNR measured on the frame).
        // The edge's fading test sees the spread of its recent feedback: here, the last 8 images' at this point.
        const hybrid = new Float32Array(latents.length);
        let digitalImages = 0;
        for (let i = 0; i < n; i++) {
          const spread = snrSpreadDb(fedBack.slice(Math.max(0, i - 8), i).map((f) => f.snrDb));
          const choice = chooseLink({ mode: 'hybrid', snrDb: fedBack[i]!.snrDb, selectivity: fedBack[i]!.selectivity, snrSpreadDb: spread, rate, channelSymbols: k, klt, curves });
          const z = choice.kind === 'digital' ? digitalLatents.get(choice.digital.mcs.label) : undefined;
          if (z) digitalImages++;
          hybrid.set((z ?? calaLatents).subarray(dim * i, dim * (i + 1)), dim * i);
        }
        grid.push({
          channel, snr_db: snrDb, rate,
          image_psnr_db: {
            noadapt: row.noadapt!, grouped: row.grouped!, cala: row.cala!,
            digital_best: best ? best.image_psnr_db : null,
            hybrid: r3(psnrDb(await decodeImages(hybrid), clean, 2)),
            png: {},
          },
          digital_best_mcs: best?.mcs ?? null,
          hybrid_digital_images: digitalImages,
          fed_back_snr_spread_db: r3(snrSpreadDb(fedBack.map((f) => f.snrDb))),
        });
        bar.update(++done, total, `${channel} rate ${rateLabel(rate)} snr ${snrDb} dB`);
      }
    }
  }

  // PNG: the clean image as PNG; lossless when every byte arrives, else the receiver has nothing (the mean latent's image).
  const [height, width] = decoder.imageSize;
  const plane = height * width;
  const pngs = Array.from({ length: n }, (_, i) => encodePng(tensorToRgb(clean, i, height, width)));
  const received = new Float32Array(clean.length);
  for (let i = 0; i < n; i++) {
    const img = decodePng(pngs[i]!);
    for (let c = 0; c < 3; c++) for (let p = 0; p < plane; p++) received[i * 3 * plane + c * plane + p] = img.data[p * 3 + c]! / 127.5 - 1;
  }
  const nothingImage = await decodeImages(nothing);
  const png = channels.flatMap((channel) => PNG_MCS.map((mcs) => ({
    channel,
    mcs: mcs.label,
    curve: snrs.map((snrDb) => {
      const { ok, samples } = digitalLink(pngs, mcs, snrDb, 77 + snrDb, channel);
      const rxImages = new Float32Array(clean.length);
      ok.forEach((good, i) => rxImages.set(good ? received.subarray(i * 3 * plane, (i + 1) * 3 * plane) : nothingImage, i * 3 * plane));
      return { snr_db: snrDb, images_ok: ok.filter(Boolean).length, images: n, image_psnr_db: r3(psnrDb(rxImages, clean, 2)), complex_samples_per_image: Math.round(samples) };
    }),
  })));
  for (const row of grid) {
    for (const p of png.filter((q) => q.channel === row.channel)) row.image_psnr_db.png[p.mcs] = p.curve.find((c) => c.snr_db === row.snr_db)!.image_psnr_db;
  }
  const jsccSamples = Object.fromEntries(rates.map((rate) => {
    const tx = new OfdmModulator({ sampleRateHz: SAMPLE_RATE_HZ });
    return [rateLabel(rate), tx.modulateSymbols(new Float32Array(2 * codecs.get('cala')!.symbolsForRate(rate)), { modulation: JSCC_MODULATION }).length / 2];
  }));

  const radioMean = (channel: RadioChannelKind, method: string, key: 'latent_psnr_db' | 'image_psnr_db', cond: 'measured' | 'true'): number =>
    mean(radio.filter((p) => p.channel === channel && p.method === method).map((p) => p[key][cond]));
  const perChannel = Object.fromEntries(channels.map((channel) => {
    const rows = grid.filter((g) => g.channel === channel);
    const snrErrors = radio.filter((p) => p.channel === channel && p.method === 'cala' && p.measured_snr_db !== null).map((p) => p.measured_snr_db! - p.snr_db);
    const lowSnr = rows.filter((g) => g.snr_db <= 10 && g.image_psnr_db.digital_best !== null);
    return [channel, {
      avg_gain_db: { measured_snr: r3(radioMean(channel, 'cala', 'image_psnr_db', 'measured') - radioMean(channel, 'noadapt', 'image_psnr_db', 'measured')), configured_snr: r3(radioMean(channel, 'cala', 'image_psnr_db', 'true') - radioMean(channel, 'noadapt', 'image_psnr_db', 'true')) },
      mean_image_psnr_db: {
        ...Object.fromEntries(METHODS.map((m) => [m, { measured_snr: r3(radioMean(channel, m, 'image_psnr_db', 'measured')), configured_snr: r3(radioMean(channel, m, 'image_psnr_db', 'true')) }])),
        digital_best: r3(mean(rows.map((g) => g.image_psnr_db.digital_best ?? psnrDb(nothingImage, clean.subarray(0, 3072), 2)))),
        hybrid: r3(mean(rows.map((g) => g.image_psnr_db.hybrid))),
      },
      mean_latent_psnr_db: Object.fromEntries(METHODS.map((m) => [m, { measured_snr: r3(radioMean(channel, m, 'latent_psnr_db', 'measured')), configured_snr: r3(radioMean(channel, m, 'latent_psnr_db', 'true')) }])),
      jscc_beats_digital_at_or_below_10db: lowSnr.every((g) => g.image_psnr_db.cala > g.image_psnr_db.digital_best!),
      jscc_minus_digital_at_or_below_10db_min_db: lowSnr.length ? r3(Math.min(...lowSnr.map((g) => g.image_psnr_db.cala - g.image_psnr_db.digital_best!))) : null,
      hybrid_max_shortfall_db: r3(Math.max(...rows.map((g) => Math.max(g.image_psnr_db.cala, g.image_psnr_db.digital_best ?? -Infinity) - g.image_psnr_db.hybrid))),
      snr_measurement_bias_db: r3(mean(snrErrors)),
      snr_measurement_rmse_db: r3(Math.sqrt(mean(snrErrors.map((e) => e * e)))),
    }];
  }));
  const gaps = paper.curves['percond']!.map((p) => p.image_psnr_db - paper.curves['cala']!.find((c) => c.snr_db === p.snr_db && c.rate === p.rate)!.image_psnr_db);
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
      max_gap_to_per_condition_db: r3(Math.max(...gaps)),
      gap_to_per_condition_latent_db: paper.gap_to_per_condition_latent_db,
      mean_latent_psnr_db: paper.mean_latent_psnr_db,
      mean_image_psnr_db: paper.mean_image_psnr_db,
      mean_image_psnr_db_flat: paper.mean_image_psnr_db_flat ?? null,
      storage_bytes: paper.storage_bytes,
      noadapt_trained_at: paper.noadapt_condition,
      curves: paper.curves,
    },
    avg_gain_db: paper.avg_gain_db,
    gap_to_per_condition_db: paper.gap_to_per_condition_db,
    max_gap_to_per_condition_db: r3(Math.max(...gaps)),
    extra_params_pct: paper.extra_params_pct,
    autoencoder_ceiling_image_psnr_db: paper.autoencoder_ceiling_image_psnr_db ?? null,
    radio: {
      channels: { awgn: `burst OFDM modem, AWGN with ${CABLED_SDR_PAIR_TEXT}`, epa: `the same plus EPA multipath (5 Hz Doppler), an independent draw per frame` },
      images: n,
      per_channel: perChannel,
      jscc_complex_samples_per_image: jsccSamples,
      grid,
      points: radio,
      digital_latent: digitalPoints,
      png,
    },
  };

  const picture = (values['picture'] as string | undefined) ?? (quick ? undefined : join('docs', 'img', 'cala-psnr.svg'));
  if (picture) {
    mkdirSync(dirname(picture), { recursive: true });
    writeFileSync(picture, calaPicture(rates, grid, paper));
  }
  const json = JSON.stringify(result, null, 1);
  if (values['out']) {
    mkdirSync(dirname(values['out'] as string), { recursive: true });
    writeFileSync(values['out'] as string, json + '\n');
  }
  if (values['json']) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    process.stdout.write(`paper channel: avg gain ${paper.avg_gain_db} dB (image; latent ${paper.avg_gain_latent_db} dB), gap to per-condition ${paper.gap_to_per_condition_db} dB (max ${result.max_gap_to_per_condition_db}), extra params ${paper.extra_params_pct} %\n`);
    for (const [ch, r] of Object.entries(perChannel)) {
      const cala = radio.filter((p) => p.channel === ch && p.method === 'cala').map((p) => p.image_psnr_db.measured);
      process.stdout.write(`radio ${ch} (${n} images): CALA ${r3(mean(cala))} dB, hybrid ${r.mean_image_psnr_db.hybrid} dB, digital latent ${r.mean_image_psnr_db.digital_best} dB; avg gain ${r.avg_gain_db.measured_snr} dB on the measured SNR; JSCC beats digital at <= 10 dB: ${r.jscc_beats_digital_at_or_below_10db}; hybrid shortfall max ${r.hybrid_max_shortfall_db} dB\n`);
    }
    if (picture) process.stdout.write(`picture: ${picture}\n`);
  }
  await Promise.all([...codecs.values()].map((c) => c.release()));
  return 0;
}

/** The codec's SNR range: a measurement outside it is clamped before conditioning (as the user role does). */
function clampSnr(snrDb: number): number {
  return Math.min(30, Math.max(-5, Number.isFinite(snrDb) ? snrDb : -5));
}

function calaPicture(rates: number[], grid: GridRow[], paper: PaperResults): string {
  const panels = rates.map((rate) => {
    const series: Series[] = [];
    for (const m of ['noadapt', 'grouped', 'percond', 'cala']) {
      const c = paper.curves[m]?.filter((p) => Math.abs(p.rate - rate) < 1e-9) ?? [];
      if (c.length) series.push({ label: `${m} (paper ch.)`, x: c.map((p) => p.snr_db), y: c.map((p) => p.image_psnr_db), dashed: true });
    }
    const rows = grid.filter((g) => g.channel === 'awgn' && Math.abs(g.rate - rate) < 1e-9);
    for (const m of ['noadapt', 'cala', 'hybrid'] as const) series.push({ label: `${m} (radio)`, x: rows.map((g) => g.snr_db), y: rows.map((g) => g.image_psnr_db[m]) });
    series.push({ label: 'digital latent, best MCS (radio)', x: rows.map((g) => g.snr_db), y: rows.map((g) => g.image_psnr_db.digital_best ?? NaN) });
    return linearLinePlotSvg(`rate ${rateLabel(rate)}: image PSNR vs SNR`, 'SNR (dB)', 'PSNR (dB)', series);
  });
  // Stack the panels vertically in one SVG.
  const h = 480;
  const body = panels.map((svg, i) => `<g transform="translate(0 ${i * h})">${svg.replace(/^<svg[^>]*>/, '').replace(/<\/svg>$/, '')}</g>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="${h * panels.length}" font-family="sans-serif" font-size="12">\n${body}\n</svg>\n`;
}
