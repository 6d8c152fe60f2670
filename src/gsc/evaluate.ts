/**
 * The evaluator: a domain CLIP (image and text embeddings) plus attribute heads. It stands in for the
 * paper's DINO and CLIP scores: consistency = cos(image, reference image) + cos(image, prompt).
 */
import { ModelFileError, UsageError } from '../util/errors.js';
import { rgbToTensor, type RgbImage } from './image.js';
import type { ModelStore } from './models.js';
import { floatTensor, int64Tensor, tensorData, type OnnxModel, type SessionOptions } from './onnx.js';
import { namedAttributes } from './tokenizer.js';

export interface ImageJudgement {
  embedding: Float32Array;
  /** attribute -> predicted value */
  attributes: Record<string, string>;
  /** attribute -> probability of the predicted value */
  confidence: Record<string, number>;
}

export interface PromptAgreement {
  /** every attribute the prompt names is predicted as named */
  agrees: boolean;
  /** attribute -> [named, predicted] for the named ones */
  checked: Record<string, [string, string]>;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb || 1);
}

export class Evaluator {
  private constructor(
    private readonly store: ModelStore,
    private readonly image: OnnxModel,
    private readonly text: OnnxModel,
    /** attribute -> values, in the order of the logits */
    readonly heads: [string, string[]][],
    /** [height, width] of the images it judges (its ONNX input's shape in the manifest) */
    readonly imageSize: readonly [number, number],
  ) {}

  static async load(store: ModelStore, opts: SessionOptions = {}): Promise<Evaluator> {
    const heads = store.entry('evaluator')['heads'] as Record<string, string[]> | undefined;
    if (!heads) throw new ModelFileError("manifest.json: the evaluator entry has no 'heads' table");
    const shape = store.inputShapes('evaluator_image.onnx').find((s) => s.name === 'image')?.shape ?? [];
    const [h, w] = [shape[2], shape[3]];
    if (typeof h !== 'number' || typeof w !== 'number') {
      throw new ModelFileError(`manifest.json: evaluator_image.onnx needs an 'image' input of shape [batch, 3, height, width], got ${JSON.stringify(shape)}`);
    }
    const [image, text] = await Promise.all([
      store.session('evaluator_image.onnx', opts),
      store.session('evaluator_text.onnx', opts),
    ]);
    return new Evaluator(store, image, text, Object.entries(heads), [h, w]);
  }

  async judgeImages(images: readonly RgbImage[]): Promise<ImageJudgement[]> {
    if (images.length === 0) return [];
    const [h, w] = this.imageSize;
    for (const img of images) {
      if (img.width !== w || img.height !== h) {
        throw new UsageError(`the evaluator takes ${w}x${h} images of the embedded world, got ${img.width}x${img.height}`);
      }
    }
    const out = await this.image.run({ image: floatTensor(rgbToTensor(images), [images.length, 3, h, w]) });
    const emb = tensorData(out['embedding'], 'embedding');
    const logits = tensorData(out['attribute_logits'], 'attribute_logits');
    const dim = emb.length / images.length;
    const width = logits.length / images.length;
    return images.map((_, n) => {
      const attributes: Record<string, string> = {};
      const confidence: Record<string, number> = {};
      let offset = n * width;
      for (const [attr, values] of this.heads) {
        const row = logits.subarray(offset, offset + values.length);
        let best = 0;
        for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
        let z = 0;
        for (let i = 0; i < row.length; i++) z += Math.exp(row[i]! - row[best]!);
        attributes[attr] = values[best]!;
        confidence[attr] = 1 / z;
        offset += values.length;
      }
      return { embedding: emb.slice(n * dim, (n + 1) * dim), attributes, confidence };
    });
  }

  async embedPrompt(prompt: string): Promise<Float32Array> {
    const tok = this.store.tokenizer;
    const out = await this.text.run({ token_ids: int64Tensor(tok.encode(prompt), [1, tok.maxTokens]) });
    return tensorData(out['embedding'], 'embedding').slice();
  }

  /** Does the image show what the prompt names? Only the named attributes are checked. */
  agreement(prompt: string, judged: ImageJudgement): PromptAgreement {
    const named = namedAttributes(prompt, this.store.vocab);
    const checked: Record<string, [string, string]> = {};
    let agrees = true;
    for (const [attr, value] of Object.entries(named)) {
      const predicted = judged.attributes[attr] ?? '?';
      checked[attr] = [value, predicted];
      if (predicted !== value) agrees = false;
    }
    return { agrees, checked };
  }
}

/** The paper's consistency (DINO + CLIP analogue): image-image plus image-text cosine. */
export function consistency(image: Float32Array, reference: Float32Array, promptEmbedding: Float32Array): number {
  return cosine(image, reference) + cosine(image, promptEmbedding);
}
