/**
 * Validation of a meta against the official SigMF JSON schema (draft 2020-12), read at run time from the
 * shared reference folder. The writer never needs it; the reader, `sigmf info` and the tests use it.
 *
 * Where the schema is looked for, first hit wins:
 *   1. an explicit path (options / `--schema`),
 *   2. $DEKAG_SIGMF_SCHEMA,
 *   3. `shared/sigmf/sigmf-schema.json` under each ancestor of this module's folder and of the working
 *      directory (from /work/main/dist/src/radio/sigmf that finds /work/shared/sigmf/, i.e. the repository
 *      root's `../shared/sigmf/`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';

export interface SchemaValidation {
  /** null when no schema could be found (then `errors` says so). */
  valid: boolean | null;
  errors: string[];
  schemaPath: string | null;
}

const SCHEMA_RELATIVE = join('shared', 'sigmf', 'sigmf-schema.json');

export function findSchemaPath(explicit?: string): string | null {
  if (explicit) return existsSync(explicit) ? resolve(explicit) : null;
  const env = process.env['DEKAG_SIGMF_SCHEMA'];
  if (env) return existsSync(env) ? resolve(env) : null;
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, SCHEMA_RELATIVE);
      if (existsSync(candidate)) return candidate;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return null;
}

const compiled = new Map<string, ValidateFunction>();

function validatorFor(schemaPath: string): ValidateFunction {
  let v = compiled.get(schemaPath);
  if (v) return v;
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // strict: false because the official schema carries draft-07 keywords (additionalItems, "!comment")
  // that 2020-12 ignores; unicodeRegExp: false because its datetime pattern escapes ':' (invalid with /u).
  const Ajv2020 = Ajv2020Module.default;
  const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false });
  // The two formats the schema uses, without pulling in ajv-formats.
  ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:[^\s]*$/i);
  ajv.addFormat('uuid', /^(urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  v = ajv.compile(schema);
  compiled.set(schemaPath, v);
  return v;
}

/** Validate a parsed meta object. Never throws for an invalid meta; throws only for an unreadable schema. */
export function validateMeta(meta: unknown, schemaPath?: string): SchemaValidation {
  const path = findSchemaPath(schemaPath);
  if (!path) {
    const where = schemaPath ?? 'shared/sigmf/sigmf-schema.json above the repository (or $DEKAG_SIGMF_SCHEMA)';
    return { valid: null, errors: [`official SigMF schema not found at ${where}; not validated`], schemaPath: null };
  }
  const validate = validatorFor(path);
  const ok = validate(meta) as boolean;
  const errors = ok
    ? []
    : (validate.errors ?? []).map((e) => {
        const extra = e.keyword === 'additionalProperties' ? ` ('${String(e.params['additionalProperty'])}')` : '';
        return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
      });
  return { valid: ok, errors, schemaPath: path };
}
