/**
 * The shipped models: models/manifest.json says which files exist, their sha256 and their ONNX shapes.
 * Every file is checked against the manifest before it is loaded, so a corrupt or foreign file fails
 * with a clear message instead of producing wrong images.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFileError } from '../util/errors.js';
import { sha256File } from '../util/hash.js';
import { OnnxModel, type SessionOptions } from './onnx.js';
import { parsePipeline, pipelineFiles, type Pipeline } from './pipeline.js';
import { type Tokenizer, WordTokenizer } from './tokenizer.js';
import { Vocab } from './vocab.js';

export interface TensorShape {
  name: string;
  type: string;
  shape: (number | string)[];
}

export interface ManifestFile {
  sha256: string;
  bytes: number;
  inputs?: TensorShape[];
  outputs?: TensorShape[];
}

export interface ManifestEntry {
  files: Record<string, ManifestFile>;
  command: string;
  seed: number;
  wall_time_s: number;
  data: string;
  parameters: number;
  [extra: string]: unknown;
}

export interface Manifest {
  version: number;
  models: Record<string, ManifestEntry>;
  /** Which file plays which part and the shapes, schedule and sampler (see pipeline.ts). */
  pipeline?: unknown;
}

/** models/ next to the package, or $DEKAG_MODELS_DIR. */
export function defaultModelsDir(): string {
  if (process.env['DEKAG_MODELS_DIR']) return resolve(process.env['DEKAG_MODELS_DIR']);
  // this file is dist/src/gsc/models.js (or src/gsc/models.ts): the package root is three levels up
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'models', 'manifest.json')) || existsSync(join(dir, 'package.json'))) return join(dir, 'models');
    dir = dirname(dir);
  }
  return resolve('models');
}

export class ModelStore {
  private readonly verified = new Map<string, number>();
  private vocabCache: Vocab | undefined;
  private tokenizerCache: Tokenizer | undefined;
  private pipelineCache: Pipeline | undefined;

  private constructor(readonly dir: string, readonly manifest: Manifest) {}

  static open(dir: string = defaultModelsDir()): ModelStore {
    const path = join(dir, 'manifest.json');
    if (!existsSync(path)) {
      throw new ModelFileError(`no model manifest at ${path}; point --models (or DEKAG_MODELS_DIR) at a models folder, or retrain (see README)`);
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    } catch (e) {
      throw new ModelFileError(`${path} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof manifest.models !== 'object' || manifest.models === null) {
      throw new ModelFileError(`${path} has no 'models' table`);
    }
    return new ModelStore(dir, manifest);
  }

  /**
   * The model pipeline the manifest describes (checked): which files generate and decode, the latent shape,
   * the image size, the schedule. Every file it names must be listed under the manifest's models.
   */
  get pipeline(): Pipeline {
    if (!this.pipelineCache) {
      const where = join(this.dir, 'manifest.json');
      const p = parsePipeline(this.manifest.pipeline, where);
      for (const f of pipelineFiles(p)) this.fileInfo(f);
      this.pipelineCache = p;
    }
    return this.pipelineCache;
  }

  /** The word vocabulary: the pipeline's tokenizer vocabulary (vocab.json for the shipped models). */
  get vocab(): Vocab {
    const file = this.manifest.pipeline === undefined ? 'vocab.json' : this.pipeline.tokenizer.vocab;
    this.vocabCache ??= Vocab.load(join(this.dir, file));
    return this.vocabCache;
  }
  /** The text encoders' tokenizer (the world's word tokenizer over the vocabulary). */
  get tokenizer(): Tokenizer {
    this.tokenizerCache ??= new WordTokenizer(this.vocab);
    return this.tokenizerCache;
  }

  entry(model: string): ManifestEntry {
    const e = this.manifest.models[model];
    if (!e) {
      throw new ModelFileError(`models/manifest.json has no entry '${model}' (has: ${Object.keys(this.manifest.models).join(', ') || 'none'}); train it (see README)`);
    }
    return e;
  }

  /** The manifest record of a file, found in whichever model entry lists it. */
  fileInfo(file: string): ManifestFile {
    for (const e of Object.values(this.manifest.models)) {
      const f = e.files[file];
      if (f) return f;
    }
    throw new ModelFileError(`${file} is not listed in ${join(this.dir, 'manifest.json')}`);
  }

  /** Absolute path of a file after checking it exists and matches the manifest's sha256. */
  verifiedPath(file: string): string {
    const info = this.fileInfo(file);
    const path = join(this.dir, file);
    if (!existsSync(path)) {
      throw new ModelFileError(`model file ${path} is missing; restore it (git checkout models/) or retrain it (see README)`);
    }
    const mtimeMs = statSync(path).mtimeMs;
    if (this.verified.get(path) === mtimeMs) return path;
    const actual = sha256File(path);
    if (actual !== info.sha256) {
      throw new ModelFileError(
        `model file ${path} has sha256 ${actual.slice(0, 16)}..., but manifest.json expects ${info.sha256.slice(0, 16)}...; the file is corrupt or from another training run`,
      );
    }
    this.verified.set(path, mtimeMs);
    return path;
  }

  async session(file: string, opts: SessionOptions = {}): Promise<OnnxModel> {
    return OnnxModel.open(this.verifiedPath(file), opts);
  }

  inputShapes(file: string): TensorShape[] {
    return this.fileInfo(file).inputs ?? [];
  }
}
