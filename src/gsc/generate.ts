/**
 * Prompt -> latent -> image, for the cloud's or the edge's generator: text encoder, DDIM with
 * classifier-free guidance over the role's noise predictor, latent decoder. Which files, which tensor
 * names, the latent shape, the schedule and the sampler's defaults come from the manifest's pipeline.
 */
import type * as ort from 'onnxruntime-node';
import { ModelFileError, UsageError } from '../util/errors.js';
import type { RgbImage } from './image.js';
import { LatentDecoder } from './decoder.js';
import type { ModelStore } from './models.js';
import { floatTensor, int64Tensor, tensorData, type OnnxModel, type ProviderName, type SessionOptions } from './onnx.js';
import type { NoisePredictorSpec, Pipeline } from './pipeline.js';
import { SeededRng } from '../util/rng.js';
import { DdimScheduler, DEFAULT_GUIDANCE, DEFAULT_STEPS, sampleDdim } from './sampler.js';

export type Role = 'cloud' | 'edge';
export const ROLES: readonly Role[] = ['cloud', 'edge'];
export { DEFAULT_GUIDANCE, DEFAULT_STEPS };

export function parseRole(s: string): Role {
  if (s === 'cloud' || s === 'edge') return s;
  throw new UsageError(`--role must be 'cloud' or 'edge', got '${s}'`);
}

/** LoRA matrices and metaword embeddings to feed the edge-GAI (MAKD adapters); empty = base model. */
export interface AdapterFeeds {
  /** ONNX input name (lora.<site>.a / .b) -> [data, dims] */
  lora: Map<string, { data: Float32Array; dims: number[] }>;
  /** [metawordSlots * contextDim], or undefined for zeros */
  metaword?: Float32Array;
  /** How the adapter's metaword enters the edge's prompt (e.g. 'star' -> '<meta0>'); applied before tokenizing */
  rewritePrompt?: (prompt: string) => string;
}

export interface GenerateOptions {
  prompt: string;
  seed: number;
  steps?: number;
  guidance?: number;
  onStep?: (step: number, total: number) => void;
}

export interface Generation {
  latent: Float32Array;
  image: RgbImage;
  noisePredictorEvals: number;
  msTotal: number;
  msNoisePredictor: number;
}

export class Generator {
  private readonly zeroFeeds: Record<string, ort.Tensor> = {};
  private metaword: ort.Tensor | undefined;
  private adapterFeeds: Record<string, ort.Tensor> = {};
  private rewritePrompt: ((prompt: string) => string) | undefined;
  private readonly pipeline: Pipeline;
  private readonly spec: NoisePredictorSpec;
  private readonly scheduler: DdimScheduler;

  private constructor(
    readonly role: Role,
    private readonly store: ModelStore,
    private readonly text: OnnxModel,
    private readonly unet: OnnxModel,
    /** The latent decoder (the pipeline's latent_decoder), the same the user role decodes with. */
    readonly decoder: LatentDecoder,
  ) {
    this.pipeline = store.pipeline;
    this.spec = this.pipeline.noisePredictors[role]!;
    this.scheduler = new DdimScheduler(this.pipeline.schedule);
    const metaName = this.pipeline.textEncoder.metawordInput;
    if (metaName !== undefined) {
      const metaShape = store.inputShapes(this.pipeline.textEncoder.file).find((s) => s.name === metaName);
      const [slots, dim] = (metaShape?.shape ?? [store.vocab.metawordSlots, 64]) as number[];
      this.metaword = floatTensor(new Float32Array(slots! * dim!), [slots!, dim!]);
    }
    // LoRA inputs of the noise predictor: rank-1 zeros leave the base model unchanged
    const prefix = this.spec.loraPrefix;
    for (const s of prefix === undefined ? [] : store.inputShapes(this.spec.file)) {
      if (!s.name.startsWith(prefix!)) continue;
      const dims = s.shape.map((d) => (typeof d === 'number' ? d : 1));
      // [rank, in], [out, rank] (attention) or [rank, in, k, k], [out, rank] (convolutions)
      this.zeroFeeds[s.name] = floatTensor(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
    }
  }

  static async load(store: ModelStore, role: Role, opts: SessionOptions = {}): Promise<Generator> {
    const p = store.pipeline;
    const spec = p.noisePredictors[role];
    if (!spec) {
      throw new ModelFileError(`the manifest's pipeline has no noise predictor for the ${role} (has: ${Object.keys(p.noisePredictors).join(', ')})`);
    }
    const [text, unet, decoder] = await Promise.all([
      store.session(p.textEncoder.file, opts),
      store.session(spec.file, opts),
      LatentDecoder.load(store, opts),
    ]);
    return new Generator(role, store, text, unet, decoder);
  }

  /** The provider that runs the noise predictor (where the time goes). */
  get provider(): ProviderName {
    return this.unet.provider;
  }

  get fallbackReason(): string | undefined {
    return this.unet.fallbackReason;
  }

  get loraInputNames(): string[] {
    return Object.keys(this.zeroFeeds);
  }

  /** Plug an adapter in (edge only); undefined restores the base model. */
  setAdapter(adapter: AdapterFeeds | undefined): void {
    this.adapterFeeds = {};
    this.rewritePrompt = undefined;
    if (this.metaword) {
      const [slots, dim] = this.metaword.dims as [number, number];
      this.metaword = floatTensor(new Float32Array(slots * dim), [slots, dim]);
    }
    if (!adapter) return;
    if (this.role !== 'edge') throw new UsageError('adapters plug into the edge-GAI only (--role edge)');
    for (const [name, t] of adapter.lora) {
      if (!(name in this.zeroFeeds)) throw new UsageError(`adapter tensor '${name}' is not a LoRA input of ${this.spec.file}`);
      this.adapterFeeds[name] = floatTensor(t.data, t.dims);
    }
    if (adapter.metaword) {
      if (!this.metaword) throw new UsageError(`adapter has a metaword, but the text encoder ${this.pipeline.textEncoder.file} takes none`);
      const [slots, dim] = this.metaword.dims as [number, number];
      if (adapter.metaword.length !== slots * dim) {
        throw new UsageError(`adapter metaword has ${adapter.metaword.length} values; the text encoder takes ${slots}x${dim}`);
      }
      this.metaword = floatTensor(adapter.metaword, [slots, dim]);
    }
    this.rewritePrompt = adapter.rewritePrompt;
  }

  /** Context for [prompt, unconditional]: [2, L, D]. */
  async encodeText(prompt: string): Promise<ort.Tensor> {
    const tok = this.store.tokenizer;
    const { inputs, outputs, metawordInput } = this.pipeline.textEncoder;
    const ids = new Int32Array(2 * tok.maxTokens);
    ids.set(tok.encode(this.rewritePrompt ? this.rewritePrompt(prompt) : prompt), 0);
    ids.set(tok.unconditional(), tok.maxTokens);
    const feeds: Record<string, ort.Tensor> = { [inputs.token_ids]: int64Tensor(ids, [2, tok.maxTokens]) };
    if (metawordInput !== undefined && this.metaword) feeds[metawordInput] = this.metaword;
    const out = await this.text.run(feeds);
    const context = out[outputs.context];
    if (!context) throw new ModelFileError(`${this.pipeline.textEncoder.file} has no output '${outputs.context}'`);
    return context;
  }

  async generate(opts: GenerateOptions): Promise<Generation> {
    const t0 = performance.now();
    const steps = opts.steps ?? this.pipeline.sampler.steps;
    const guidance = opts.guidance ?? this.pipeline.sampler.guidance;
    if (!Number.isFinite(guidance)) throw new UsageError(`guidance must be a number, got ${opts.guidance}`);
    const context = await this.encodeText(opts.prompt);
    const shape = this.pipeline.latentShape;
    const size = this.pipeline.latentSize;
    const { inputs, outputs } = this.spec;
    const noise = new SeededRng(opts.seed).normals(size);
    const batched = new Float32Array(2 * size);
    const timesteps = new Float32Array(2);
    let evals = 0;
    let msUnet = 0;
    const latent = await sampleDdim(
      async (x, t) => {
        batched.set(x, 0);
        batched.set(x, size);
        timesteps.fill(t);
        const s = performance.now();
        const out = await this.unet.run({
          ...this.zeroFeeds,
          ...this.adapterFeeds,
          [inputs.latent]: floatTensor(batched, [2, ...shape]),
          [inputs.timestep]: floatTensor(timesteps, [2]),
          [inputs.context]: context,
        });
        msUnet += performance.now() - s;
        evals++;
        const eps = tensorData(out[outputs.eps], outputs.eps);
        return [eps.subarray(0, size), eps.subarray(size)];
      },
      noise,
      { steps, guidance, scheduler: this.scheduler, ...(opts.onStep ? { onStep: opts.onStep } : {}) },
    );
    const image = await this.decode(latent);
    return { latent, image, noisePredictorEvals: evals, msTotal: performance.now() - t0, msNoisePredictor: msUnet };
  }

  async decode(latent: Float32Array): Promise<RgbImage> {
    return this.decoder.decode(latent);
  }
}
