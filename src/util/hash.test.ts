import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256File } from './hash.js';

test('sha256File hashes in chunks exactly as the whole file at once, at chunk boundaries too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dekag-hash-'));
  try {
    for (const size of [0, 1, 4095, 4096, 4097, 3 * 4096 + 17]) {
      const data = randomBytes(size);
      const path = join(dir, `f${size}`);
      writeFileSync(path, data);
      assert.equal(sha256File(path, 4096), createHash('sha256').update(data).digest('hex'), `size ${size}`);
    }
    assert.throws(() => sha256File(join(dir, 'missing')), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
