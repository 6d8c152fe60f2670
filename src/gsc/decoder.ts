/**
 * Latent -> image, the one decoder both the generators and the user role use: the manifest pipeline's
 * latent_decoder graph, its tensor names, the latent shape, the latent scale and the image size.
 */
import { UsageError } from '../util/errors.js';
import { tensorToRgb, type RgbImage } from './image.js';
import type { ModelStore } from './models.js';
import { floatTensor, tensorData, type OnnxModel, type ProviderName, type SessionOptions } from './onnx.js';
import type { Pipeline } from './pipeline.js';

export class LatentDecoder {
  private constructor(private readonly model: OnnxModel, private readonly pipeline: Pipeline) {}

  static async load(store: ModelStore, opts: SessionOptions = {}): Promise<LatentDecoder> {
    const p = store.pipeline;
    return new LatentDecoder(await store.session(p.latentDecoder.file, opts), p);
  }

  /** [C, H, W] of one latent. */
  get latentShape(): readonly [number, number, number] {
    return this.pipeline.latentShape;
  }

  /** C * H * W. */
  get latentSize(): number {
    return this.pipeline.latentSize;
  }

  /** [H, W, 3] of one image. */
  get imageSize(): readonly [number, number, 3] {
    return this.pipeline.imageSize;
  }

  get provider(): ProviderName {
    return this.model.provider;
  }

  /** Latents [n * C*H*W] -> the decoder's images [n, 3, H, W] (values in [-1, 1]). */
  async decodeTensor(latents: Float32Array): Promise<Float32Array> {
    const size = this.latentSize;
    const n = latents.length / size;
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(`latent length ${latents.length} is not a multiple of ${size} (the decoder takes [n, ${this.latentShape.join(', ')}] latents)`);
    }
    const scale = this.pipeline.latentScale;
    const scaled = scale === 1 ? latents : latents.map((v) => v / scale);
    const { inputs, outputs } = this.pipeline.latentDecoder;
    const out = await this.model.run({ [inputs.latent]: floatTensor(scaled, [n, ...this.latentShape]) });
    const images = tensorData(out[outputs.image], outputs.image);
    const [h, w] = this.imageSize;
    if (images.length !== n * 3 * h * w) {
      throw new UsageError(`the latent decoder gave ${images.length} values for ${n} images; the manifest's image_size ${h}x${w} needs ${n * 3 * h * w}`);
    }
    return images;
  }

  /** Latents [n * C*H*W] -> n RGB images. */
  async decodeImages(latents: Float32Array): Promise<RgbImage[]> {
    const t = await this.decodeTensor(latents);
    const [h, w] = this.imageSize;
    return Array.from({ length: latents.length / this.latentSize }, (_, i) => tensorToRgb(t, i, h, w));
  }

  /** One latent -> its image. */
  async decode(latent: Float32Array): Promise<RgbImage> {
    return (await this.decodeImages(latent))[0]!;
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}
