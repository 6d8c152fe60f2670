/**
 * `dekag bench generate [--quick] [--json] [--out FILE.json] [--picture FILE.png]`
 *
 * Speed of both generators, how often the evaluator finds what held-out prompts ask for, and the
 * cloud-edge consistency on subjects where the two renderings agree and where they differ.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { consistency, Evaluator } from '../gsc/evaluate.js';
import { DEFAULT_GUIDANCE, DEFAULT_STEPS, Generator, type Role } from '../gsc/generate.js';
import { hconcat, vconcat, writePng, type RgbImage } from '../gsc/image.js';
import { MODEL_OPTIONS, openModelStore, optionalInt, parse } from './args.js';
import { machineDescription, mean, readEvalPromptSets } from './bench-common.js';
import { round } from './generate.js';
import { ProgressBar } from './progress.js';

export async function runBenchGenerate(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    picture: { type: 'string' },
    steps: { type: 'string' },
  });
  const quick = Boolean(values['quick']);
  const steps = optionalInt(values, 'steps', DEFAULT_STEPS, 1, 1000);
  const { store, provider } = openModelStore(values);
  const sets = readEvalPromptSets(store);
  const heldout = quick ? sets.heldout.slice(0, 24) : sets.heldout;
  const perSubject = quick ? 4 : Infinity;

  const gens: Record<Role, Generator> = {
    cloud: await Generator.load(store, 'cloud', { provider }),
    edge: await Generator.load(store, 'edge', { provider }),
  };
  const evaluator = await Evaluator.load(store, { provider });
  const ms: Record<Role, number[]> = { cloud: [], edge: [] };
  const msEval: Record<Role, number[]> = { cloud: [], edge: [] };
  const make = async (role: Role, prompt: string, seed: number): Promise<RgbImage> => {
    const g = await gens[role].generate({ prompt, seed, steps, guidance: DEFAULT_GUIDANCE });
    ms[role].push(g.msTotal);
    msEval[role].push(g.msNoisePredictor / g.noisePredictorEvals);
    return g.image;
  };
  // warm-up, so the first session run's one-time costs do not count
  await make('cloud', 'a red circle', 0);
  await make('edge', 'a red circle', 0);
  ms.cloud.length = ms.edge.length = msEval.cloud.length = msEval.edge.length = 0;

  const subjectEntries = Object.entries(sets.subjects).map(([k, v]) => [k, v.slice(0, perSubject)] as const);
  const total = heldout.length + subjectEntries.reduce((s, [, v]) => s + v.length, 0);
  const bar = new ProgressBar('bench generate');
  let done = 0;

  // 1. prompt following on held-out prompts
  const agree: Record<Role, boolean[]> = { cloud: [], edge: [] };
  const agreeCombo: Record<Role, boolean[]> = { cloud: [], edge: [] };
  const perAttribute: Record<Role, Record<string, boolean[]>> = { cloud: {}, edge: {} };
  for (const [i, h] of heldout.entries()) {
    for (const role of ['cloud', 'edge'] as const) {
      const [judged] = await evaluator.judgeImages([await make(role, h.prompt, 10_000 + i)]);
      const a = evaluator.agreement(h.prompt, judged!);
      agree[role].push(a.agrees);
      if (h.held_out_combination) agreeCombo[role].push(a.agrees);
      for (const [attr, [want, got]] of Object.entries(a.checked)) {
        (perAttribute[role][attr] ??= []).push(want === got);
      }
    }
    bar.update(++done, total);
  }

  // 2. cloud-edge consistency per subject (same prompt, same seed), and the cloud-cloud ceiling
  const subjectScores: Record<string, { edge_vs_cloud: number; cloud_vs_cloud: number; n: number }> = {};
  const rows: RgbImage[] = [];
  for (const [subject, prompts] of subjectEntries) {
    const edgeScores: number[] = [];
    const ceiling: number[] = [];
    for (const [i, prompt] of prompts.entries()) {
      const seed = 20_000 + i;
      const imgs = [await make('cloud', prompt, seed), await make('edge', prompt, seed), await make('cloud', prompt, seed + 500)];
      const [c, e, c2] = await evaluator.judgeImages(imgs);
      const text = await evaluator.embedPrompt(prompt);
      edgeScores.push(consistency(e!.embedding, c!.embedding, text));
      ceiling.push(consistency(c2!.embedding, c!.embedding, text));
      if (i < 2) rows.push(hconcat(imgs.slice(0, 2)));
      bar.update(++done, total);
    }
    subjectScores[subject] = { edge_vs_cloud: round(mean(edgeScores), 4), cloud_vs_cloud: round(mean(ceiling), 4), n: prompts.length };
  }
  const misalignedKeys = Object.keys(subjectScores).filter((k) => k !== 'aligned');
  const result = {
    bench: 'generate',
    quick,
    steps,
    guidance: DEFAULT_GUIDANCE,
    provider: gens.cloud.provider,
    cloud_ms_per_image: round(mean(ms.cloud)),
    edge_ms_per_image: round(mean(ms.edge)),
    cloud_ms_per_noise_predictor_eval: round(mean(msEval.cloud), 3),
    edge_ms_per_noise_predictor_eval: round(mean(msEval.edge), 3),
    heldout_prompts: heldout.length,
    prompt_accuracy: { cloud: round(mean(agree.cloud.map(Number)), 4), edge: round(mean(agree.edge.map(Number)), 4) },
    prompt_accuracy_held_out_combinations: {
      cloud: round(mean(agreeCombo.cloud.map(Number)), 4),
      edge: round(mean(agreeCombo.edge.map(Number)), 4),
      n: agreeCombo.cloud.length,
    },
    attribute_accuracy: Object.fromEntries(
      (['cloud', 'edge'] as const).map((r) => [r, Object.fromEntries(Object.entries(perAttribute[r]).map(([k, v]) => [k, round(mean(v.map(Number)), 4)]))]),
    ),
    consistency: {
      aligned_subjects: subjectScores['aligned']?.edge_vs_cloud ?? NaN,
      misaligned_subjects: round(mean(misalignedKeys.map((k) => subjectScores[k]!.edge_vs_cloud)), 4),
      cloud_ceiling: round(mean(Object.values(subjectScores).map((s) => s.cloud_vs_cloud)), 4),
      per_subject: subjectScores,
      metric: 'cos(edge image, cloud image) + cos(edge image, prompt), evaluator embeddings',
    },
    machine: machineDescription(),
  };
  const picture = (values['picture'] as string | undefined) ?? (quick ? undefined : 'docs/img/generate-cloud-vs-edge.png');
  if (picture && rows.length) {
    mkdirSync(dirname(picture), { recursive: true });
    writePng(picture, vconcat(rows));
  }
  const json = JSON.stringify(result, null, values['json'] ? 0 : 2);
  if (values['out']) {
    mkdirSync(dirname(values['out'] as string), { recursive: true });
    writeFileSync(values['out'] as string, JSON.stringify(result, null, 2) + '\n');
  }
  process.stdout.write(json + '\n');
  return 0;
}
