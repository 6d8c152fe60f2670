/**
 * The model pipeline as data: the `pipeline` section of models/manifest.json (written by train/pipeline.py,
 * or by hand for another model set). It names which ONNX file plays which part, with the tensor names each
 * part's graph uses, and the numbers the runtime would otherwise assume:
 *
 *   tokenizer         { kind: 'word', vocab: 'vocab.json' }
 *   text_encoder      { file, inputs: { token_ids, metaword? }, outputs: { context } }
 *   noise_predictors  { cloud: { file, inputs: { latent, timestep, context }, outputs: { eps }, lora_prefix? }, edge?: ... }
 *   latent_encoder?   { file, inputs: { image }, outputs: { latent } }
 *   latent_decoder    { file, inputs: { latent }, outputs: { image } }
 *   latent_shape      [C, H, W]          image_size [H, W, 3] (the decoder's image, channels first, in [-1, 1])
 *   latent_scale      the generator's latent is divided by it before decoding (Stable Diffusion: 0.18215)
 *   schedule          { kind: 'scaled-linear', beta_start, beta_end, train_timesteps, prediction: 'eps' }
 *   sampler           { kind: 'ddim', eta: 0, steps, guidance }
 *
 * `parsePipeline` checks all of it and says what is wrong and where, so a malformed manifest fails when
 * the models are opened instead of as a shape error deep inside onnxruntime.
 */
import { ModelFileError } from '../util/errors.js';

/** One ONNX file's part: role name -> the tensor name in that graph. */
export interface PipelineComponent<In extends string, Out extends string> {
  file: string;
  inputs: Record<In, string>;
  outputs: Record<Out, string>;
}

export interface TextEncoderSpec extends PipelineComponent<'token_ids', 'context'> {
  /** The metaword input (MAKD adapters' learned embeddings), when the graph has one. */
  metawordInput: string | undefined;
}

export interface NoisePredictorSpec extends PipelineComponent<'latent' | 'timestep' | 'context', 'eps'> {
  /** Inputs whose names start with it are LoRA matrices (fed zeros without an adapter). */
  loraPrefix: string | undefined;
}

export interface NoiseSchedule {
  kind: 'scaled-linear';
  betaStart: number;
  betaEnd: number;
  trainTimesteps: number;
  prediction: 'eps';
}

export interface SamplerSpec {
  kind: 'ddim';
  eta: 0;
  steps: number;
  guidance: number;
}

export interface Pipeline {
  tokenizer: { kind: 'word'; vocab: string };
  textEncoder: TextEncoderSpec;
  noisePredictors: Record<string, NoisePredictorSpec>;
  latentEncoder: PipelineComponent<'image', 'latent'> | undefined;
  latentDecoder: PipelineComponent<'latent', 'image'>;
  /** [C, H, W] */
  latentShape: readonly [number, number, number];
  /** C * H * W */
  latentSize: number;
  /** [H, W, 3] */
  imageSize: readonly [number, number, 3];
  latentScale: number;
  schedule: NoiseSchedule;
  sampler: SamplerSpec;
}

type Json = Record<string, unknown>;

class Reader {
  constructor(private readonly where: string) {}

  fail(path: string, what: string): never {
    throw new ModelFileError(`${this.where}: pipeline.${path} ${what}`);
  }

  object(v: unknown, path: string): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `must be an object, got ${JSON.stringify(v)}`);
    return v as Json;
  }

  string(v: unknown, path: string): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(path, `must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  }

  number(v: unknown, path: string, o: { min?: number; integer?: boolean; positive?: boolean } = {}): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, `must be a number, got ${JSON.stringify(v)}`);
    if (o.integer && !Number.isInteger(v)) this.fail(path, `must be an integer, got ${v}`);
    if (o.positive && !(v > 0)) this.fail(path, `must be > 0, got ${v}`);
    if (o.min !== undefined && v < o.min) this.fail(path, `must be >= ${o.min}, got ${v}`);
    return v;
  }

  dims(v: unknown, path: string, n: number): number[] {
    if (!Array.isArray(v) || v.length !== n) this.fail(path, `must be a list of ${n} sizes, got ${JSON.stringify(v)}`);
    return v.map((d, i) => this.number(d, `${path}[${i}]`, { integer: true, positive: true }));
  }

  literal<T extends string | number>(v: unknown, path: string, allowed: readonly T[]): T {
    if (!allowed.includes(v as T)) this.fail(path, `must be ${allowed.map((a) => JSON.stringify(a)).join(' or ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  component<In extends string, Out extends string>(v: unknown, path: string, ins: readonly In[], outs: readonly Out[]): PipelineComponent<In, Out> {
    const c = this.object(v, path);
    const names = <K extends string>(m: unknown, sub: string, keys: readonly K[]): Record<K, string> => {
      const o = this.object(m, `${path}.${sub}`);
      return Object.fromEntries(keys.map((k) => [k, this.string(o[k], `${path}.${sub}.${k}`)])) as Record<K, string>;
    };
    return { file: this.string(c['file'], `${path}.file`), inputs: names(c['inputs'], 'inputs', ins), outputs: names(c['outputs'], 'outputs', outs) };
  }
}

/** Checks the manifest's `pipeline` section and gives it typed (camelCase) form. `where` names the manifest in errors. */
export function parsePipeline(raw: unknown, where = 'models/manifest.json'): Pipeline {
  const r = new Reader(where);
  if (raw === undefined) {
    throw new ModelFileError(`${where} has no 'pipeline' section (which files generate and decode, the latent shape, the schedule); write it with python3 -m train.pipeline`);
  }
  const p = r.object(raw, '(section)');
  const tok = r.object(p['tokenizer'] ?? { kind: 'word', vocab: 'vocab.json' }, 'tokenizer');
  const text = r.object(p['text_encoder'], 'text_encoder');
  const textEncoder: TextEncoderSpec = {
    ...r.component(text, 'text_encoder', ['token_ids'] as const, ['context'] as const),
    metawordInput: (text['inputs'] as Json)['metaword'] === undefined ? undefined : r.string((text['inputs'] as Json)['metaword'], 'text_encoder.inputs.metaword'),
  };
  const predictors = r.object(p['noise_predictors'], 'noise_predictors');
  if (Object.keys(predictors).length === 0) r.fail('noise_predictors', 'must name at least one (e.g. "cloud")');
  const noisePredictors: Record<string, NoisePredictorSpec> = {};
  for (const [role, v] of Object.entries(predictors)) {
    const path = `noise_predictors.${role}`;
    const c = r.object(v, path);
    noisePredictors[role] = {
      ...r.component(c, path, ['latent', 'timestep', 'context'] as const, ['eps'] as const),
      loraPrefix: c['lora_prefix'] === undefined ? undefined : r.string(c['lora_prefix'], `${path}.lora_prefix`),
    };
  }
  const [lc, lh, lw] = r.dims(p['latent_shape'], 'latent_shape', 3) as [number, number, number];
  const [ih, iw, ic] = r.dims(p['image_size'], 'image_size', 3) as [number, number, number];
  if (ic !== 3) r.fail('image_size', `must be [height, width, 3] (RGB), got ${JSON.stringify(p['image_size'])}`);
  const s = r.object(p['schedule'], 'schedule');
  const schedule: NoiseSchedule = {
    kind: r.literal(s['kind'], 'schedule.kind', ['scaled-linear'] as const),
    betaStart: r.number(s['beta_start'], 'schedule.beta_start', { positive: true }),
    betaEnd: r.number(s['beta_end'], 'schedule.beta_end', { positive: true }),
    trainTimesteps: r.number(s['train_timesteps'], 'schedule.train_timesteps', { integer: true, positive: true }),
    prediction: r.literal(s['prediction'] ?? 'eps', 'schedule.prediction', ['eps'] as const),
  };
  if (!(schedule.betaEnd < 1) || schedule.betaStart > schedule.betaEnd) r.fail('schedule', `needs 0 < beta_start <= beta_end < 1, got ${schedule.betaStart}..${schedule.betaEnd}`);
  const sm = r.object(p['sampler'], 'sampler');
  const sampler: SamplerSpec = {
    kind: r.literal(sm['kind'], 'sampler.kind', ['ddim'] as const),
    eta: r.literal(sm['eta'] ?? 0, 'sampler.eta', [0] as const),
    steps: r.number(sm['steps'], 'sampler.steps', { integer: true, positive: true }),
    guidance: r.number(sm['guidance'], 'sampler.guidance'),
  };
  if (sampler.steps > schedule.trainTimesteps) r.fail('sampler.steps', `must be at most schedule.train_timesteps (${schedule.trainTimesteps}), got ${sampler.steps}`);
  return {
    tokenizer: { kind: r.literal(tok['kind'], 'tokenizer.kind', ['word'] as const), vocab: r.string(tok['vocab'], 'tokenizer.vocab') },
    textEncoder,
    noisePredictors,
    latentEncoder: p['latent_encoder'] === undefined ? undefined : r.component(p['latent_encoder'], 'latent_encoder', ['image'] as const, ['latent'] as const),
    latentDecoder: r.component(p['latent_decoder'], 'latent_decoder', ['latent'] as const, ['image'] as const),
    latentShape: [lc, lh, lw],
    latentSize: lc * lh * lw,
    imageSize: [ih, iw, 3],
    latentScale: r.number(p['latent_scale'] ?? 1, 'latent_scale', { positive: true }),
    schedule,
    sampler,
  };
}

/** Every ONNX file the pipeline names (each must be listed, with its sha256, under the manifest's models). */
export function pipelineFiles(p: Pipeline): string[] {
  return [p.textEncoder.file, ...Object.values(p.noisePredictors).map((n) => n.file), ...(p.latentEncoder ? [p.latentEncoder.file] : []), p.latentDecoder.file];
}
