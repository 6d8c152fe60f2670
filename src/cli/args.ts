/** Argument parsing for the `dekag` subcommands: strict, typed, with errors that name the flag. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';
import { ModelStore } from '../gsc/models.js';
import { parseProvider, type ProviderName } from '../gsc/onnx.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(argv: string[], options: Options, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function requireString(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

export function optionalInt(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${String(v)}'`);
  }
  return n;
}

export function optionalNumber(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got '${String(v)}'`);
  }
  return n;
}

/** Options every model-using command takes. */
export const MODEL_OPTIONS: Options = {
  models: { type: 'string' },
  provider: { type: 'string' },
};

/** The MODEL_OPTIONS' values: the model store (--models, default models/) and the provider (default cpu). */
export function openModelStore(values: Record<string, unknown>): { store: ModelStore; provider: ProviderName } {
  return { store: ModelStore.open(values['models'] as string | undefined), provider: parseProvider((values['provider'] as string | undefined) ?? 'cpu') };
}
