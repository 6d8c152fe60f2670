/**
 * Prompt -> latent -> image, for the cloud's or the edge's generator: text encoder, DDIM with
 * classifier-free guidance over the role's noise predictor, autoencoder decoder.
 */
import type * as ort from 'onnxruntime-node';
import { UsageError } from '../util/errors.js';
import { tensorToRgb, type RgbImage } from './image.js';
import type { ModelStore } from './models.js';
import { floatTensor, int64Tensor, tensorData, type OnnxModel, type ProviderName, type SessionOptions } from './onnx.js';
import { SeededRng } from '../util/rng.js';
import { DEFAULT_GUIDANCE, DEFAULT_STEPS, sampleDdim } from './sampler.js';

export type Role = 'cloud' | 'edge';
export const ROLES: readonly Role[] = ['cloud', 'edge'];
export const LATENT_SHAPE = [4, 8, 8] as const;
export const LATENT_SIZE = LATENT_SHAPE[0] * LATENT_SHAPE[1] * LATENT_SHAPE[2];
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
  private metaword: ort.Tensor;
  private adapterFeeds: Record<string, ort.Tensor> = {};
  private rewritePrompt: ((prompt: string) => string) | undefined;

  private constructor(
    readonly role: Role,
    private readonly store: ModelStore,
    private readonly text: OnnxModel,
    private readonly unet: OnnxModel,
    private readonly decoder: OnnxModel,
  ) {
    const metaShape = store.inputShapes('text_encoder.onnx').find((s) => s.name === 'metaword');
    const [slots, dim] = (metaShape?.shape ?? [store.vocab.metawordSlots, 64]) as number[];
    this.metaword = floatTensor(new Float32Array(slots! * dim!), [slots!, dim!]);
    // LoRA inputs of the edge-GAI: rank-1 zeros leave the base model unchanged
    for (const s of store.inputShapes(`${role}_gai.onnx`)) {
      if (!s.name.startsWith('lora.')) continue;
      const dims = s.shape.map((d) => (typeof d === 'number' ? d : 1));
      this.zeroFeeds[s.name] = floatTensor(new Float32Array(dims[0]! * dims[1]!), dims);
    }
  }

  static async load(store: ModelStore, role: Role, opts: SessionOptions = {}): Promise<Generator> {
    const [text, unet, decoder] = await Promise.all([
      store.session('text_encoder.onnx', opts),
      store.session(`${role}_gai.onnx`, opts),
      store.session('autoencoder_decoder.onnx', opts),
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
    const slots = this.metaword.dims[0]!;
    const dim = this.metaword.dims[1]!;
    this.metaword = floatTensor(new Float32Array(slots * dim), [slots, dim]);
    if (!adapter) return;
    if (this.role !== 'edge') throw new UsageError('adapters plug into the edge-GAI only (--role edge)');
    for (const [name, t] of adapter.lora) {
      if (!(name in this.zeroFeeds)) throw new UsageError(`adapter tensor '${name}' is not a LoRA input of edge_gai.onnx`);
      this.adapterFeeds[name] = floatTensor(t.data, t.dims);
    }
    if (adapter.metaword) {
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
    const ids = new Int32Array(2 * tok.maxTokens);
    ids.set(tok.encode(this.rewritePrompt ? this.rewritePrompt(prompt) : prompt), 0);
    ids.set(tok.unconditional(), tok.maxTokens);
    const out = await this.text.run({ token_ids: int64Tensor(ids, [2, tok.maxTokens]), metaword: this.metaword });
    return out['context']!;
  }

  async generate(opts: GenerateOptions): Promise<Generation> {
    const t0 = performance.now();
    const steps = opts.steps ?? DEFAULT_STEPS;
    const guidance = opts.guidance ?? DEFAULT_GUIDANCE;
    if (!Number.isFinite(guidance)) throw new UsageError(`guidance must be a number, got ${opts.guidance}`);
    const context = await this.encodeText(opts.prompt);
    const noise = new SeededRng(opts.seed).normals(LATENT_SIZE);
    const batched = new Float32Array(2 * LATENT_SIZE);
    const timesteps = new Float32Array(2);
    let evals = 0;
    let msUnet = 0;
    const latent = await sampleDdim(
      async (x, t) => {
        batched.set(x, 0);
        batched.set(x, LATENT_SIZE);
        timesteps.fill(t);
        const s = performance.now();
        const out = await this.unet.run({
          ...this.zeroFeeds,
          ...this.adapterFeeds,
          latent: floatTensor(batched, [2, ...LATENT_SHAPE]),
          timestep: floatTensor(timesteps, [2]),
          context,
        });
        msUnet += performance.now() - s;
        evals++;
        const eps = tensorData(out['eps'], 'eps');
        return [eps.subarray(0, LATENT_SIZE), eps.subarray(LATENT_SIZE)];
      },
      noise,
      { steps, guidance, ...(opts.onStep ? { onStep: opts.onStep } : {}) },
    );
    const image = await this.decode(latent);
    return { latent, image, noisePredictorEvals: evals, msTotal: performance.now() - t0, msNoisePredictor: msUnet };
  }

  async decode(latent: Float32Array): Promise<RgbImage> {
    const out = await this.decoder.run({ latent: floatTensor(latent, [1, ...LATENT_SHAPE]) });
    return tensorToRgb(tensorData(out['image'], 'image'), 0, 32, 32);
  }
}
