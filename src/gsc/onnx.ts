/**
 * onnxruntime-node sessions with a choice of execution provider, falling back to CPU, reporting which
 * provider actually runs each model.
 */
import * as ort from 'onnxruntime-node';
import { ModelFileError } from '../util/errors.js';

export const PROVIDERS = ['cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export function parseProvider(name: string): ProviderName {
  if ((PROVIDERS as readonly string[]).includes(name)) return name as ProviderName;
  throw new ModelFileError(`unknown execution provider '${name}'; choose one of ${PROVIDERS.join(', ')}`);
}

export interface SessionOptions {
  provider?: ProviderName;
  /** CPU threads per session; 0 lets onnxruntime decide. */
  intraOpThreads?: number;
}

export type Feeds = Record<string, ort.Tensor>;

/** One loaded ONNX graph and the provider that runs it. */
export class OnnxModel {
  private constructor(
    readonly path: string,
    private readonly session: ort.InferenceSession,
    /** The provider that actually runs this model (after any fallback). */
    readonly provider: ProviderName,
    /** Why the requested provider was not used, when it was not. */
    readonly fallbackReason: string | undefined,
  ) {}

  static async open(path: string, opts: SessionOptions = {}): Promise<OnnxModel> {
    const wanted = opts.provider ?? 'cpu';
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
    };
    if (wanted !== 'cpu') {
      try {
        const s = await ort.InferenceSession.create(path, { ...base, executionProviders: [wanted] });
        return new OnnxModel(path, s, wanted, undefined);
      } catch (e) {
        const reason = `${wanted} execution provider unavailable (${firstLine(e)}); running on cpu`;
        const s = await OnnxModel.createCpu(path, base);
        return new OnnxModel(path, s, 'cpu', reason);
      }
    }
    return new OnnxModel(path, await OnnxModel.createCpu(path, base), 'cpu', undefined);
  }

  private static async createCpu(path: string, base: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
    try {
      return await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
    } catch (e) {
      throw new ModelFileError(`cannot load ONNX model ${path}: ${firstLine(e)}`);
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Feeds): Promise<Record<string, ort.Tensor>> {
    return this.session.run(feeds);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

export function floatTensor(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function int64Tensor(ids: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
  const big = new BigInt64Array(ids.length);
  for (let i = 0; i < ids.length; i++) big[i] = BigInt(ids[i]!);
  return new ort.Tensor('int64', big, dims);
}

export function tensorData(t: ort.Tensor | undefined, name: string): Float32Array {
  if (!t || !(t.data instanceof Float32Array)) throw new ModelFileError(`model output '${name}' is missing or not float32`);
  return t.data;
}
