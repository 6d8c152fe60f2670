/** Images as the models see them (float NCHW in [-1, 1]) and as people see them (8-bit RGB, PNG). */
import { readFileSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { UsageError } from '../util/errors.js';

/** 8-bit RGB, row-major, 3 bytes a pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One image of a [N, 3, H, W] tensor in [-1, 1] -> RGB, rounded like numpy's rint. */
export function tensorToRgb(t: Float32Array, index: number, height: number, width: number): RgbImage {
  const plane = height * width;
  const base = index * 3 * plane;
  const data = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const v = roundHalfEven((t[base + c * plane + p]! + 1) * 127.5);
      data[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width, height, data };
}

/** RGB images -> [N, 3, H, W] float32 in [-1, 1]. */
export function rgbToTensor(images: readonly RgbImage[]): Float32Array {
  const { width, height } = images[0]!;
  const plane = width * height;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((img, n) => {
    if (img.width !== width || img.height !== height) throw new UsageError('images in one batch must share a size');
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) out[n * 3 * plane + c * plane + p] = img.data[p * 3 + c]! / 127.5 - 1;
    }
  });
  return out;
}

export function encodePng(img: RgbImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height, colorType: 2 });
  for (let p = 0; p < img.width * img.height; p++) {
    png.data[p * 4] = img.data[p * 3]!;
    png.data[p * 4 + 1] = img.data[p * 3 + 1]!;
    png.data[p * 4 + 2] = img.data[p * 3 + 2]!;
    png.data[p * 4 + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 2 });
}

/** Default cap on the pixels of a PNG to decode: 16.8 Mpixel (4096 x 4096, 67 MB as RGBA). */
export const MAX_PNG_PIXELS = 4096 * 4096;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A PNG's declared size, read from its IHDR without decoding anything; refuses a file that is not a PNG,
 * declares more than `maxPixels` pixels, or has more than one IHDR (a decoder could take the second).
 * Decoding is bounded by the declared size (pngjs inflates at most what IHDR announces), so this check
 * bounds the memory a PNG from a peer can cost.
 */
export function pngInfo(buf: Buffer, source = 'image', maxPixels = MAX_PNG_PIXELS): { width: number; height: number } {
  if (buf.length < 33 || !buf.subarray(0, 8).equals(PNG_SIGNATURE) || buf.toString('latin1', 12, 16) !== 'IHDR' || buf.readUInt32BE(8) !== 13) {
    throw new UsageError(`${source} is not a readable PNG: no PNG signature and IHDR header`);
  }
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  if (width === 0 || height === 0) throw new UsageError(`${source} is not a readable PNG: it declares ${width}x${height} pixels`);
  if (width * height > maxPixels) {
    throw new UsageError(`${source} declares ${width}x${height} pixels; at most ${maxPixels} are accepted, so it is not decoded`);
  }
  for (let off = 33; off + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (type === 'IHDR') throw new UsageError(`${source} is not a readable PNG: it has a second IHDR header`);
    if (type === 'IEND') break;
    off += 12 + len;
  }
  return { width, height };
}

export interface DecodePngOptions {
  /** Refuse (without decoding) a PNG declaring more pixels; default MAX_PNG_PIXELS. */
  maxPixels?: number;
}

export function decodePng(buf: Buffer, source = 'image', opts: DecodePngOptions = {}): RgbImage {
  pngInfo(buf, source, opts.maxPixels ?? MAX_PNG_PIXELS);
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (e) {
    throw new UsageError(`${source} is not a readable PNG: ${(e as Error).message}`);
  }
  const data = new Uint8Array(png.width * png.height * 3);
  for (let p = 0; p < png.width * png.height; p++) {
    // composite any transparency onto black, as the world's renderer has no alpha
    const a = png.data[p * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(png.data[p * 4 + c]! * a);
  }
  return { width: png.width, height: png.height, data };
}

export function writePng(path: string, img: RgbImage): void {
  writeFileSync(path, encodePng(img));
}

export function readPng(path: string): RgbImage {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read image ${path}: ${(e as Error).message}`);
  }
  return decodePng(buf, path);
}

/** Images side by side (same height), e.g. cloud | edge for a report. */
export function hconcat(images: readonly RgbImage[], gap = 2): RgbImage {
  const height = Math.max(...images.map((i) => i.height));
  const width = images.reduce((s, i) => s + i.width, 0) + gap * (images.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let x0 = 0;
  for (const img of images) {
    for (let y = 0; y < img.height; y++) {
      data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), (y * width + x0) * 3);
    }
    x0 += img.width + gap;
  }
  return { width, height, data };
}

/** Images one above the other (left-aligned, white gaps), e.g. rows of cloud | edge pairs. */
export function vconcat(images: readonly RgbImage[], gap = 2): RgbImage {
  const width = Math.max(...images.map((i) => i.width));
  const height = images.reduce((s, i) => s + i.height, 0) + gap * (images.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let y0 = 0;
  for (const img of images) {
    for (let y = 0; y < img.height; y++) {
      data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), (y0 + y) * width * 3);
    }
    y0 += img.height + gap;
  }
  return { width, height, data };
}
