/** `dekag generate --role cloud|edge --prompt TEXT [--seed N] [--steps N] [--guidance G] [--adapter FILE.dkga] --out FILE.png` */
import { adapterFeeds, loadAdapter } from '../gsc/adapter.js';
import { UsageError } from '../util/errors.js';
import { Generator, parseRole } from '../gsc/generate.js';
import { writePng } from '../gsc/image.js';
import { ModelStore } from '../gsc/models.js';
import { parseProvider } from '../gsc/onnx.js';
import { tokenize } from '../gsc/tokenizer.js';
import { MODEL_OPTIONS, optionalInt, optionalNumber, parse, requireString } from './args.js';
import { ProgressBar } from './progress.js';

// the help text lives in help.ts, so that `dekag generate --help` loads no models
export { GENERATE_HELP } from './help.js';

export async function runGenerate(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    role: { type: 'string' },
    prompt: { type: 'string' },
    seed: { type: 'string' },
    steps: { type: 'string' },
    guidance: { type: 'string' },
    out: { type: 'string' },
    adapter: { type: 'string' },
    json: { type: 'boolean' },
  });
  const role = parseRole(requireString(values, 'role'));
  const prompt = requireString(values, 'prompt');
  const out = requireString(values, 'out');
  const seed = optionalInt(values, 'seed', 0, 0, 2 ** 32 - 1);
  const provider = parseProvider((values['provider'] as string | undefined) ?? 'cpu');
  const store = ModelStore.open(values['models'] as string | undefined);
  // the defaults are the models' own (the manifest's pipeline.sampler: 20 steps, guidance 4 for the shipped ones)
  const { sampler, schedule } = store.pipeline;
  const steps = optionalInt(values, 'steps', sampler.steps, 1, schedule.trainTimesteps);
  const guidance = optionalNumber(values, 'guidance', sampler.guidance, 0, 50);
  tokenize(prompt, store.vocab); // fail on a bad prompt before loading models
  const adapterPath = values['adapter'] as string | undefined;
  if (adapterPath !== undefined && role !== 'edge') throw new UsageError('--adapter plugs into the edge-GAI only; use --role edge');
  // check the adapter (checksum, base model, shapes) before loading models too
  const adapter = adapterPath !== undefined ? loadAdapter(adapterPath, store) : undefined;
  const gen = await Generator.load(store, role, { provider });
  if (adapter) gen.setAdapter(adapterFeeds(adapter, store.vocab));
  if (gen.fallbackReason) process.stderr.write(`dekag: ${gen.fallbackReason}\n`);
  const bar = new ProgressBar(`${role} denoising`);
  const result = await gen.generate({ prompt, seed, steps, guidance, onStep: (i, n) => bar.update(i, n) });
  writePng(out, result.image);
  const summary = {
    role, prompt, seed, steps, guidance, out,
    ...(adapter ? { adapter: { file: adapterPath, subject: adapter.header.subject, mode: adapter.header.mode, bytes: adapter.bytes } } : {}),
    provider: gen.provider,
    ms_total: round(result.msTotal),
    ms_per_noise_predictor_eval: round(result.msNoisePredictor / result.noisePredictorEvals),
  };
  process.stdout.write(values['json'] ? JSON.stringify(summary) + '\n' : `wrote ${out} (${summary.ms_total} ms on ${gen.provider})\n`);
  return 0;
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
