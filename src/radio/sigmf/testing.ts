/** Helpers shared by the SigMF tests (not part of the library API). */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateMeta } from './schema.js';

/** The repository root: the nearest ancestor of this module with a package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

/** The official schema and example, read from ../shared/sigmf relative to the repository root. */
export const SHARED_SIGMF = resolve(repoRoot(), '..', 'shared', 'sigmf');
export const OFFICIAL_SCHEMA = join(SHARED_SIGMF, 'sigmf-schema.json');
export const OFFICIAL_EXAMPLE = join(SHARED_SIGMF, 'examples', 'sigmf_logo');

export function tempDir(t: { after: (fn: () => void) => void }, name = 'sigmf'): string {
  const dir = mkdtempSync(join(tmpdir(), `dekag-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Read BASE.sigmf-meta from disk and assert it is valid against the official schema. */
export function assertMetaOnDiskValid(base: string, when: string): Record<string, any> {
  const text = readFileSync(`${base}.sigmf-meta`, 'utf8');
  const meta = JSON.parse(text) as Record<string, any>;
  const v = validateMeta(meta, OFFICIAL_SCHEMA);
  assert.equal(v.schemaPath !== null, true, `official schema missing at ${OFFICIAL_SCHEMA}`);
  assert.deepEqual(v.errors, [], `meta invalid ${when}`);
  assert.equal(v.valid, true);
  return meta;
}

/** Deterministic complex test signal in [-amp, amp] (a seeded LCG; no Math.random). */
export function testSignal(samples: number, seed = 1, amp = 0.9): Float32Array {
  const out = new Float32Array(2 * samples);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * amp;
  }
  return out;
}
