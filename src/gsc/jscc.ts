/**
 * The JSCC latent codec with CALA at run time (onnxruntime-node), and its meeting point with the modem.
 *
 *   const codec = await JsccCodec.load(store);               // 'cala' (default), 'grouped' or 'noadapt'
 *   const points = await codec.encode(latent, { snrDb: 12, rate: 1 / 4 });   // K quantized points
 *   ...modulateSymbols(points, { modulation: 256-QAM }) -> radio -> demodulateSymbols(...)
 *   const rx = fromModem(f.symbols, f.symbolNoiseVar, f.equalizer);   // MMSE points + reliability + selectivity
 *   const latentHat = await codec.decode(rx, { snrDb: measuredSnrDb, rate: 1 / 4, selectivity: rx.selectivity });
 *
 * The ONNX encoder emits K_MAX unit-power symbols (zeros beyond the rate's K); quantizing them to a square
 * 256-QAM happens here (the same grid as train/jscc.py and as the modem's 256-QAM: src/session tests check
 * that point for point), so what is transmitted is exactly what the modem's JSCC payload carries. The decoder
 * wants MMSE-equalized points and each point's measured reliability |H|^2 / noise (see train/jscc.py);
 * `fromModem` converts the receiver's output (ZF or MMSE) and measures the channel's frequency selectivity.
 * The condition (SNR, rate, selectivity) feeds CALA's gate inside both graphs.
 */
import { ModelFileError, UsageError } from '../util/errors.js';
import { ModelStore } from './models.js';
import { floatTensor, OnnxModel, tensorData, type SessionOptions } from './onnx.js';

export const JSCC_RATES = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1] as const;
/** Bits per symbol of the square QAM the codec was trained to quantize to (train/jscc.py bits_per_symbol 8). */
export const JSCC_BITS_PER_SYMBOL = 8;
/** The modem's name of that constellation (what the JSCC frame header carries). */
export const JSCC_CONSTELLATION = '256qam';
/** Largest selectivity the gate was trained on (train/jscc.py SELECTIVITY_MAX). */
export const JSCC_SELECTIVITY_MAX = 2;
export const JSCC_VARIANTS = ['cala', 'grouped', 'noadapt'] as const;
export type JsccVariant = (typeof JSCC_VARIANTS)[number];

export interface JsccCondition {
  /** SNR the link runs at (encoder: the fed-back measurement; decoder: this frame's measurement). */
  snrDb: number;
  /** K / dim(z): one of JSCC_RATES. */
  rate: number;
  /**
   * Frequency selectivity of the channel: coefficient of variation of the per-carrier gain |H|^2 over the
   * frame (0 flat, about 1 under Rayleigh block fading). Default 0. Encoder: the fed-back measurement.
   */
  selectivity?: number;
}

export interface JsccReceived {
  /** MMSE-equalized points, interleaved complex, K of them. */
  symbols: Float32Array;
  /** |H|^2 / noise variance of each point (linear). */
  reliability: Float32Array;
  /** The frame's measured selectivity (see JsccCondition), from the reliabilities. */
  selectivity?: number;
}

/** '1/4' for 0.25, '1' for 1: how rates are written on the command line and in reports. */
export function rateLabel(rate: number): string {
  return rate >= 1 ? String(rate) : `1/${Math.round(1 / rate)}`;
}

/** Throws unless `rate` is one of JSCC_RATES. */
export function checkRate(rate: number): number {
  if (!JSCC_RATES.some((r) => Math.abs(r - rate) < 1e-9)) {
    throw new UsageError(`JSCC rate ${rate} is not one the codec serves; use one of ${JSCC_RATES.map(rateLabel).join(', ')}`);
  }
  return rate;
}

/** Number of complex symbols sent at a rate for a latent of `latentDim` numbers (the codec's latentDim). */
export function symbolsForRate(rate: number, latentDim: number): number {
  return Math.round(checkRate(rate) * latentDim);
}

/** The rate of a JSCC frame of `symbols` points, or undefined when it is none the codec serves. */
export function rateOfSymbols(symbols: number, latentDim: number): number | undefined {
  const rate = symbols / latentDim;
  return JSCC_RATES.some((r) => Math.abs(r - rate) < 1e-9) ? rate : undefined;
}

/** Parse '1/4' or '0.25'. */
export function parseRate(text: string): number {
  const m = /^\s*1\s*\/\s*(\d+)\s*$/.exec(text);
  return checkRate(m ? 1 / Number(m[1]) : Number(text));
}

/** Per-axis levels of the unit-energy square QAM with `bitsPerSymbol` bits, ascending, as float32. */
export function qamLevels(bitsPerSymbol: number = JSCC_BITS_PER_SYMBOL): Float32Array {
  const m = 1 << (bitsPerSymbol >> 1);
  const scale = Math.sqrt((2 * (m * m - 1)) / 3);
  return Float32Array.from({ length: m }, (_, i) => (2 * i - (m - 1)) / scale);
}

const LEVELS = qamLevels();
const AXIS_M = LEVELS.length;
const AXIS_SCALE = Math.sqrt((2 * (AXIS_M * AXIS_M - 1)) / 3);

/** Nearest point of the square 256-QAM for each complex value, in place (what the modem will transmit). */
export function quantizePoints(points: Float32Array): Float32Array {
  for (let i = 0; i < points.length; i++) {
    // Per axis: the nearest level, clamped to the outermost ones (square QAM = two PAMs).
    const idx = Math.min(AXIS_M - 1, Math.max(0, Math.round((points[i]! * AXIS_SCALE + (AXIS_M - 1)) / 2)));
    points[i] = LEVELS[idx]!;
  }
  return points;
}

/** Coefficient of variation of the per-point reliability over a frame, clamped to 0..JSCC_SELECTIVITY_MAX. */
export function measureSelectivity(reliability: Float32Array): number {
  const n = reliability.length;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += reliability[i]!;
  const m = sum / n;
  if (!(m > 0)) return 0;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (reliability[i]! - m) ** 2;
  const cv = Math.sqrt(ss / n) / m;
  return Number.isFinite(cv) ? Math.min(JSCC_SELECTIVITY_MAX, cv) : 0;
}

/** The same measure from a receiver's per-carrier channel gains in dB (any frame, bytes or symbols). */
export function selectivityFromGainsDb(gainsDb: Float32Array): number {
  const linear = new Float32Array(gainsDb.length);
  for (let i = 0; i < gainsDb.length; i++) linear[i] = 10 ** (gainsDb[i]! / 10);
  return measureSelectivity(linear);
}

function checkFinite(what: string, x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new UsageError(`${what} holds a non-finite value (${x[i]}) at index ${i}; the JSCC codec needs finite numbers`);
  }
}

function checkCondition(c: JsccCondition, latentDim: number): number {
  const k = symbolsForRate(c.rate, latentDim);
  if (!Number.isFinite(c.snrDb)) throw new UsageError(`JSCC condition needs a finite SNR, got ${c.snrDb}`);
  const sel = c.selectivity ?? 0;
  if (!Number.isFinite(sel) || sel < 0) throw new UsageError(`JSCC selectivity must be a finite number >= 0, got ${sel}`);
  return k;
}

/**
 * From the receiver's equalized points to the decoder's inputs (MMSE points + rho = |H|^2 / noise per point).
 * The receiver reports each point's noise variance after equalization: ZF nv/|H|^2, MMSE nv/(|H|^2+nv)
 * (src/radio/phy/demodulator.ts); rho follows from it, and ZF points are scaled by rho/(1+rho) into MMSE ones.
 */
export function fromModem(points: Float32Array, equalizedNoiseVar: Float32Array, equalizer: 'zf' | 'mmse'): JsccReceived {
  const n = equalizedNoiseVar.length;
  const symbols = new Float32Array(2 * n);
  const reliability = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const q = Math.max(equalizedNoiseVar[i]!, 1e-12);
    const rho = equalizer === 'zf' ? 1 / q : Math.max(1 - q, 0) / q;
    const w = equalizer === 'zf' ? rho / (1 + rho) : 1;
    symbols[2 * i] = points[2 * i]! * w;
    symbols[2 * i + 1] = points[2 * i + 1]! * w;
    reliability[i] = rho;
  }
  return { symbols, reliability, selectivity: measureSelectivity(reliability) };
}

export class JsccCodec {
  private constructor(
    readonly variant: JsccVariant,
    private readonly encoder: OnnxModel,
    private readonly decoder: OnnxModel,
    /** The latent it codes, [C, H, W] (the pipeline's latent shape). */
    readonly latentShape: readonly number[],
    /** Numbers per latent (C * H * W, the manifest's jscc.latent_dim). */
    readonly latentDim: number,
    /** Complex symbols the graphs carry per latent (the manifest's jscc.k_max); a rate sends the first rate * latentDim. */
    readonly kMax: number,
  ) {}

  static async load(store: ModelStore, variant: JsccVariant = 'cala', opts: SessionOptions = {}): Promise<JsccCodec> {
    const entry = store.entry('jscc');
    const positive = (key: string): number => {
      const v = entry[key];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ModelFileError(`manifest.json: the jscc entry needs a positive integer '${key}', got ${JSON.stringify(v)}`);
      return v;
    };
    const latentDim = positive('latent_dim');
    const kMax = positive('k_max');
    const { latentShape, latentSize } = store.pipeline;
    if (latentDim !== latentSize) {
      throw new ModelFileError(`manifest.json: the JSCC codec takes latents of ${latentDim} numbers, but the pipeline's latent_shape [${latentShape.join(', ')}] has ${latentSize}; retrain it (python3 -m train.cala)`);
    }
    if (Math.round(Math.max(...JSCC_RATES) * latentDim) > kMax) throw new ModelFileError(`manifest.json: jscc.k_max ${kMax} is below the symbols of rate 1 (${latentDim})`);
    const [enc, dec] = await Promise.all([
      store.session(`cala/${variant}_encoder.onnx`, opts),
      store.session(`cala/${variant}_decoder.onnx`, opts),
    ]);
    return new JsccCodec(variant, enc, dec, latentShape, latentDim, kMax);
  }

  /** Complex symbols this codec sends at a rate. */
  symbolsForRate(rate: number): number {
    return symbolsForRate(rate, this.latentDim);
  }

  get provider(): string {
    return this.decoder.provider;
  }

  /** Latents [n * latentDim] -> per latent, K quantized points (interleaved complex, 2K floats). */
  async encodeBatch(latents: Float32Array, cond: JsccCondition): Promise<Float32Array[]> {
    const k = checkCondition(cond, this.latentDim);
    const n = latents.length / this.latentDim;
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(`latent length ${latents.length} is not a multiple of ${this.latentDim} (the codec takes [n, ${this.latentShape.join(', ')}] latents)`);
    }
    checkFinite('latent', latents);
    const kMax = this.kMax;
    const out = await this.encoder.run({
      latent: floatTensor(latents, [n, ...this.latentShape]),
      snr_db: floatTensor(new Float32Array(n).fill(cond.snrDb), [n]),
      rate: floatTensor(new Float32Array(n).fill(cond.rate), [n]),
      selectivity: floatTensor(new Float32Array(n).fill(Math.min(JSCC_SELECTIVITY_MAX, cond.selectivity ?? 0)), [n]),
    });
    const symbols = tensorData(out['symbols'], 'symbols');
    const result: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      result.push(quantizePoints(symbols.slice(i * 2 * kMax, i * 2 * kMax + 2 * k)));
    }
    return result;
  }

  async encode(latent: Float32Array, cond: JsccCondition): Promise<Float32Array> {
    return (await this.encodeBatch(latent, cond))[0]!;
  }

  /** Received points (K each) -> latents [n * latentDim]. Each item may carry its own measured SNR. */
  async decodeBatch(items: readonly JsccReceived[], conds: readonly JsccCondition[]): Promise<Float32Array> {
    const n = items.length;
    if (n === 0 || conds.length !== n) throw new UsageError('decodeBatch needs one condition per received item');
    const kMax = this.kMax;
    const symbols = new Float32Array(n * 2 * kMax);
    const reliability = new Float32Array(n * kMax);
    for (let i = 0; i < n; i++) {
      const k = checkCondition(conds[i]!, this.latentDim);
      const it = items[i]!;
      if (it.symbols.length < 2 * k || it.reliability.length < k) {
        throw new UsageError(`received ${it.symbols.length / 2} points, but rate ${conds[i]!.rate} needs ${k}`);
      }
      checkFinite(`received item ${i}: symbols`, it.symbols.subarray(0, 2 * k));
      checkFinite(`received item ${i}: reliability`, it.reliability.subarray(0, k));
      symbols.set(it.symbols.subarray(0, 2 * k), i * 2 * kMax);
      reliability.set(it.reliability.subarray(0, k), i * kMax);
    }
    const out = await this.decoder.run({
      symbols: floatTensor(symbols, [n, kMax, 2]),
      reliability: floatTensor(reliability, [n, kMax]),
      snr_db: floatTensor(Float32Array.from(conds, (c) => c.snrDb), [n]),
      rate: floatTensor(Float32Array.from(conds, (c) => c.rate), [n]),
      selectivity: floatTensor(Float32Array.from(conds, (c) => Math.min(JSCC_SELECTIVITY_MAX, c.selectivity ?? 0)), [n]),
    });
    return tensorData(out['latent'], 'latent');
  }

  async decode(rx: JsccReceived, cond: JsccCondition): Promise<Float32Array> {
    return this.decodeBatch([rx], [cond]);
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }
}
