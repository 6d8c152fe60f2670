/**
 * Argument parsing for the model-using `dekag` subcommands: the strict parser and typed readers of
 * options.ts, plus the model-store options. Importing this module loads the model store and onnxruntime;
 * a command that needs no model imports options.ts instead.
 */
import { ModelStore } from '../gsc/models.js';
import { parseProvider, type ProviderName } from '../gsc/onnx.js';
import type { Options } from './options.js';

export { optionalInt, optionalNumber, parse, requireString, type Options } from './options.js';

/** Options every model-using command takes. */
export const MODEL_OPTIONS: Options = {
  models: { type: 'string' },
  provider: { type: 'string' },
};

/** The MODEL_OPTIONS' values: the model store (--models, default models/) and the provider (default cpu). */
export function openModelStore(values: Record<string, unknown>): { store: ModelStore; provider: ProviderName } {
  return { store: ModelStore.open(values['models'] as string | undefined), provider: parseProvider((values['provider'] as string | undefined) ?? 'cpu') };
}
