/**
 * `dekag demo`: the main job on the embedded default. The cloud and the edge generate the same prompt;
 * the evaluator says how consistent the edge's image is with the cloud's.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { consistency, Evaluator } from '../gsc/evaluate.js';
import { DEFAULT_GUIDANCE, DEFAULT_STEPS, Generator } from '../gsc/generate.js';
import { hconcat, writePng } from '../gsc/image.js';
import { ModelStore } from '../gsc/models.js';
import { parseProvider } from '../gsc/onnx.js';
import { tokenize } from '../gsc/tokenizer.js';
import { MODEL_OPTIONS, optionalInt, parse } from './args.js';
import { round } from './generate.js';

export const DEMO_HELP = `dekag demo [--prompt TEXT] [--seed N] [--out DIR] [--json]
  runs the embedded default end to end on the shipped models and writes the images to DIR (default out/demo)`;

const DEFAULT_PROMPTS = ['a large red striped star on the left on grass', 'a medium blue circle at the top on sand'];

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, prompt: { type: 'string', multiple: true }, seed: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } });
  const prompts = (values['prompt'] as string[] | undefined) ?? DEFAULT_PROMPTS;
  const seed = optionalInt(values, 'seed', 0, 0, 2 ** 32 - 1);
  const outDir = (values['out'] as string | undefined) ?? join('out', 'demo');
  const store = ModelStore.open(values['models'] as string | undefined);
  for (const p of prompts) tokenize(p, store.vocab);
  const provider = parseProvider((values['provider'] as string | undefined) ?? 'cpu');
  const [cloud, edge, evaluator] = await Promise.all([
    Generator.load(store, 'cloud', { provider }),
    Generator.load(store, 'edge', { provider }),
    Evaluator.load(store, { provider }),
  ]);
  mkdirSync(outDir, { recursive: true });
  const report = [];
  for (const [i, prompt] of prompts.entries()) {
    const c = await cloud.generate({ prompt, seed, steps: DEFAULT_STEPS, guidance: DEFAULT_GUIDANCE });
    const e = await edge.generate({ prompt, seed, steps: DEFAULT_STEPS, guidance: DEFAULT_GUIDANCE });
    const [jc, je] = await evaluator.judgeImages([c.image, e.image]);
    const text = await evaluator.embedPrompt(prompt);
    const file = join(outDir, `prompt${i}-cloud-edge.png`);
    writePng(file, hconcat([c.image, e.image]));
    report.push({
      prompt,
      picture: file,
      cloud_ms: round(c.msTotal),
      edge_ms: round(e.msTotal),
      cloud_follows_prompt: evaluator.agreement(prompt, jc!).agrees,
      edge_follows_prompt: evaluator.agreement(prompt, je!).agrees,
      edge_cloud_consistency: round(consistency(je!.embedding, jc!.embedding, text), 4),
    });
  }
  const summary = { provider: cloud.provider, seed, results: report };
  if (values['json']) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    for (const r of report) {
      process.stdout.write(`${r.prompt}\n  cloud ${r.cloud_ms} ms, edge ${r.edge_ms} ms on ${cloud.provider}; consistency ${r.edge_cloud_consistency} (2 = identical); follows prompt: cloud ${r.cloud_follows_prompt}, edge ${r.edge_follows_prompt}\n  -> ${r.picture} (cloud | edge)\n`);
    }
  }
  return 0;
}
