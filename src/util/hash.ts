/**
 * SHA-256 of a file read in chunks: a model file may be gigabytes (a Stable Diffusion UNet with external
 * data), so it is never held in memory whole just to check it against the manifest.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK_BYTES = 1 << 20;

export function sha256File(path: string, chunkBytes = CHUNK_BYTES): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(chunkBytes);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
