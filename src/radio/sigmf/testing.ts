/** Helpers shared by the SigMF tests (not part of the library API). */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { validateMeta } from './validate.js';

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

/**
 * The official schema and example, reference material that lives beside a development checkout in
 * ../shared/sigmf (relative to the repository root), never in the repository and never read by the product.
 * Tests that need them skip, with `NO_SHARED_SIGMF` as the reason, where that folder is absent (a user's clone).
 */
export const SHARED_SIGMF = resolve(repoRoot(), '..', 'shared', 'sigmf');
export const OFFICIAL_SCHEMA = join(SHARED_SIGMF, 'sigmf-schema.json');
export const OFFICIAL_EXAMPLE = join(SHARED_SIGMF, 'examples', 'sigmf_logo');

/** false where the official schema and example are present; otherwise the reason to skip (for `{ skip }`). */
export const NO_SHARED_SIGMF: string | false =
  existsSync(OFFICIAL_SCHEMA) && existsSync(`${OFFICIAL_EXAMPLE}.sigmf-meta`) && existsSync(`${OFFICIAL_EXAMPLE}.sigmf-data`)
    ? false
    : `the official SigMF schema and example are not beside this checkout (${SHARED_SIGMF})`;

let official: ValidateFunction | undefined;

/**
 * Errors of `meta` against the official SigMF JSON schema (ajv, draft 2020-12), for comparison with the
 * project's own validator; null when the schema is not there.
 */
export function officialSchemaErrors(meta: unknown): string[] | null {
  if (!existsSync(OFFICIAL_SCHEMA)) return null;
  if (!official) {
    const schema = JSON.parse(readFileSync(OFFICIAL_SCHEMA, 'utf8')) as Record<string, unknown>;
    // strict: false because the official schema carries draft-07 keywords (additionalItems, "!comment")
    // that 2020-12 ignores; unicodeRegExp: false because its datetime pattern escapes ':' (invalid with /u).
    const ajv = new Ajv2020Module.default({ strict: false, allErrors: true, unicodeRegExp: false });
    // The two formats the schema uses, without pulling in ajv-formats.
    ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:[^\s]*$/i);
    ajv.addFormat('uuid', /^(urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    official = ajv.compile(schema);
  }
  if (official(meta)) return [];
  return (official.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}

export function tempDir(t: { after: (fn: () => void) => void }, name = 'sigmf'): string {
  const dir = mkdtempSync(join(tmpdir(), `dekag-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Read BASE.sigmf-meta from disk and assert it is valid SigMF (the project's validator), and also against
 * the official schema where that is present.
 */
export function assertMetaOnDiskValid(base: string, when: string): Record<string, any> {
  const text = readFileSync(`${base}.sigmf-meta`, 'utf8');
  const meta = JSON.parse(text) as Record<string, any>;
  const v = validateMeta(meta);
  assert.deepEqual(v.errors, [], `meta invalid ${when}`);
  assert.equal(v.valid, true);
  const officialErrors = officialSchemaErrors(meta);
  if (officialErrors) assert.deepEqual(officialErrors, [], `meta invalid against the official schema ${when}`);
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
