/**
 * `dekag bench makd [--quick] [--subjects "shape:star;texture:striped"] [--train] [--adapters DIR] --json [--out FILE]`
 *
 * For each subject and as a mean, for none / LoRA only / metaword only / MAKD: the evaluator's
 * consistency between the edge's and the cloud's image of the same prompt and seed (exactly as
 * `bench generate` measures it: the same prompt groups, seeds and `consistency()`), the cloud-vs-cloud
 * ceiling, improvement_pct and gap_closed_pct, distillation wall time, adapter bytes, and attribute
 * accuracy on the other subjects' prompts (the 'aligned' group) with and without each adapter.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { adapterFeeds, loadAdapter, type Adapter } from '../gsc/adapter.js';
import { UsageError } from '../util/errors.js';
import { consistency, Evaluator } from '../gsc/evaluate.js';
import { DEFAULT_GUIDANCE, DEFAULT_STEPS, Generator } from '../gsc/generate.js';
import type { RgbImage } from '../gsc/image.js';
import { MODEL_OPTIONS, openModelStore, optionalInt, parse } from './args.js';
import { machineDescription, mean, readEvalPromptSets } from './bench-common.js';
import { distill, type DistillMode } from '../gsc/distill.js';
import { round } from './generate.js';
import { ProgressBar } from './progress.js';

// the help text lives in help.ts, so that `dekag bench makd --help` loads no models
export { BENCH_MAKD_HELP } from './help.js';

export const MODES = ['none', 'lora', 'metaword', 'makd'] as const;
type Mode = (typeof MODES)[number];
type AdapterMode = Exclude<Mode, 'none'>;
const ADAPTER_MODES: AdapterMode[] = ['lora', 'metaword', 'makd'];
/** The subjects whose hyperparameters were tuned (docs/makd.md); every other subject is untuned. */
export const TUNED_SUBJECTS = ['shape:star'];
/** bench generate's seeds for the subject groups, so 'none' here is its edge_vs_cloud */
const SEED_BASE = 20_000;
const CEILING_SEED_OFFSET = 500;

export function adapterFileName(subject: string, mode: AdapterMode): string {
  return `${subject.replace(/[^a-z0-9]+/gi, '-')}.${mode}.dkga`;
}

const byMode = <T>(f: (m: Mode) => T): Record<Mode, T> => Object.fromEntries(MODES.map((m) => [m, f(m)])) as Record<Mode, T>;

export interface SubjectResult {
  n: number;
  tuned: boolean;
  consistency: Record<Mode, number>;
  ceiling: number;
  improvement_pct: number;
  gap_closed_pct: number;
  /** how often the evaluator sees the subject's own attribute value in the edge image */
  subject_attribute_accuracy: Record<Mode, number>;
  /** attribute accuracy on the 'aligned' group's prompts (no misaligned subject named) */
  other_prompts_attribute_accuracy: Record<Mode, number>;
  adapter_bytes: Record<AdapterMode, number>;
  distill_wall_s: Record<AdapterMode, number>;
  /** CPU seconds of the same runs: what they cost without other jobs competing for the cores */
  distill_cpu_s: Record<AdapterMode, number>;
}

export function improvementPct(makd: number, none: number): number {
  return ((makd - none) / none) * 100;
}

export function gapClosedPct(makd: number, none: number, ceiling: number): number {
  return ((makd - none) / (ceiling - none)) * 100;
}

export async function runBenchMakd(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    subjects: { type: 'string' },
    adapters: { type: 'string' },
    train: { type: 'boolean' },
    'train-steps': { type: 'string' },
    steps: { type: 'string' },
  });
  const quick = Boolean(values['quick']);
  const steps = optionalInt(values, 'steps', DEFAULT_STEPS, 1, 1000);
  const { store, provider } = openModelStore(values);
  const sets = readEvalPromptSets(store);
  const subjects = ((values['subjects'] as string | undefined) ?? Object.keys(store.vocab.misaligned).join(';'))
    .split(';').map((s) => s.trim()).filter(Boolean);
  if (subjects.length === 0) throw new UsageError('--subjects is empty; give e.g. "shape:star;texture:striped"');
  for (const s of subjects) {
    if (!sets.subjects[s]) throw new UsageError(`no prompt group for subject '${s}' in models/eval/prompts.json (has: ${Object.keys(sets.subjects).filter((k) => k !== 'aligned').join(', ')})`);
  }
  const perSubject = quick ? 2 : Infinity;
  const aligned = (sets.subjects['aligned'] ?? []).slice(0, quick ? 2 : Infinity);
  const adapterDir = resolve((values['adapters'] as string | undefined) ?? join(store.dir, 'adapters'));
  const train = Boolean(values['train']);

  const bar = new ProgressBar('bench makd');
  const adapters = new Map<string, Adapter>();
  const trainWall = new Map<string, number>();
  if (train) {
    mkdirSync(adapterDir, { recursive: true });
    const trainSteps = values['train-steps'] !== undefined ? optionalInt(values, 'train-steps', 500, 1, 1_000_000) : undefined;
    for (const subject of subjects) {
      for (const mode of ADAPTER_MODES) {
        const out = join(adapterDir, adapterFileName(subject, mode));
        const r = await distill({
          subject, out, mode: mode as DistillMode, quick, modelsDir: store.dir,
          ...(trainSteps !== undefined ? { steps: trainSteps } : {}),
          onProgress: (p) => bar.update(p.step, p.total, `train ${subject} ${mode}`),
        });
        trainWall.set(out, r.wall_time_s);
      }
    }
  }
  for (const subject of subjects) {
    for (const mode of ADAPTER_MODES) {
      const path = join(adapterDir, adapterFileName(subject, mode));
      if (!existsSync(path)) throw new UsageError(`no ${mode} adapter for ${subject} at ${path}; run with --train, or dekag distill --subject ${subject} --mode ${mode} --out ${path}`);
      const a = loadAdapter(path, store);
      if (a.header.mode !== mode) throw new UsageError(`${path} is a ${a.header.mode} adapter, expected ${mode}`);
      adapters.set(`${subject}/${mode}`, a);
    }
  }

  const cloud = await Generator.load(store, 'cloud', { provider });
  const edge = await Generator.load(store, 'edge', { provider });
  const evaluator = await Evaluator.load(store, { provider });
  const contextDim = 64;
  const edgeImage = async (mode: Mode, subject: string, prompt: string, seed: number): Promise<RgbImage> => {
    edge.setAdapter(mode === 'none' ? undefined : adapterFeeds(adapters.get(`${subject}/${mode}`)!, store.vocab, contextDim));
    return (await edge.generate({ prompt, seed, steps, guidance: DEFAULT_GUIDANCE })).image;
  };
  const attributeAccuracy = async (images: RgbImage[], prompts: string[]): Promise<number> => {
    const judged = await evaluator.judgeImages(images);
    const hits: boolean[] = [];
    judged.forEach((j, i) => {
      for (const [want, got] of Object.values(evaluator.agreement(prompts[i]!, j).checked)) hits.push(want === got);
    });
    return mean(hits.map(Number));
  };

  const total = subjects.reduce((s, k) => s + Math.min(perSubject, sets.subjects[k]!.length), 0) + aligned.length * (1 + subjects.length);
  let done = 0;
  // attribute accuracy on the aligned prompts without an adapter: the same for every subject
  const alignedNone: RgbImage[] = [];
  for (const [i, prompt] of aligned.entries()) {
    alignedNone.push(await edgeImage('none', '', prompt, SEED_BASE + i));
    bar.update(++done, total);
  }
  const otherNone = await attributeAccuracy(alignedNone, aligned);

  const results: Record<string, SubjectResult> = {};
  for (const subject of subjects) {
    const prompts = sets.subjects[subject]!.slice(0, perSubject);
    const [attr, value] = subject.split(':') as [string, string];
    const scores = byMode<number[]>(() => []);
    const subjectHits = byMode<number[]>(() => []);
    const ceiling: number[] = [];
    for (const [i, prompt] of prompts.entries()) {
      const seed = SEED_BASE + i;
      const c = (await cloud.generate({ prompt, seed, steps, guidance: DEFAULT_GUIDANCE })).image;
      const c2 = (await cloud.generate({ prompt, seed: seed + CEILING_SEED_OFFSET, steps, guidance: DEFAULT_GUIDANCE })).image;
      const edges: RgbImage[] = [];
      for (const mode of MODES) edges.push(await edgeImage(mode, subject, prompt, seed));
      const [jc, jc2, ...je] = await evaluator.judgeImages([c, c2, ...edges]);
      const text = await evaluator.embedPrompt(prompt);
      ceiling.push(consistency(jc2!.embedding, jc!.embedding, text));
      MODES.forEach((mode, k) => {
        scores[mode].push(consistency(je[k]!.embedding, jc!.embedding, text));
        subjectHits[mode].push(Number(je[k]!.attributes[attr] === value));
      });
      bar.update(++done, total);
    }
    const other = byMode<number>(() => otherNone);
    for (const mode of ADAPTER_MODES) {
      const imgs: RgbImage[] = [];
      for (const [i, prompt] of aligned.entries()) imgs.push(await edgeImage(mode, subject, prompt, SEED_BASE + i));
      other[mode] = await attributeAccuracy(imgs, aligned);
    }
    done += aligned.length;
    bar.update(done, total);
    const cons = byMode((m) => mean(scores[m]));
    const ceil = mean(ceiling);
    results[subject] = {
      n: prompts.length,
      tuned: TUNED_SUBJECTS.includes(subject),
      consistency: byMode((m) => round(cons[m], 4)),
      ceiling: round(ceil, 4),
      improvement_pct: round(improvementPct(cons.makd, cons.none), 2),
      gap_closed_pct: round(gapClosedPct(cons.makd, cons.none, ceil), 1),
      subject_attribute_accuracy: byMode((m) => round(mean(subjectHits[m]), 4)),
      other_prompts_attribute_accuracy: byMode((m) => round(other[m], 4)),
      adapter_bytes: Object.fromEntries(ADAPTER_MODES.map((m) => [m, adapters.get(`${subject}/${m}`)!.bytes])) as Record<AdapterMode, number>,
      distill_wall_s: Object.fromEntries(ADAPTER_MODES.map((m) => {
        const a = adapters.get(`${subject}/${m}`)!;
        return [m, trainWall.get(a.source) ?? Number(a.header.training['wall_time_s'])];
      })) as Record<AdapterMode, number>,
      distill_cpu_s: Object.fromEntries(ADAPTER_MODES.map((m) => [m, Number(adapters.get(`${subject}/${m}`)!.header.training['cpu_time_s'])])) as Record<AdapterMode, number>,
    };
  }

  // the means are over subjects (each subject weighs the same), from the unrounded per-subject means
  const rs = Object.values(results);
  const meanCons = byMode((m) => mean(rs.map((r) => r.consistency[m])));
  const meanCeil = mean(rs.map((r) => r.ceiling));
  const result = {
    bench: 'makd',
    quick,
    steps,
    guidance: DEFAULT_GUIDANCE,
    provider: edge.provider,
    adapters: { source: train ? 'trained by this run' : 'shipped', dir: adapterDir },
    tuned_on: TUNED_SUBJECTS.filter((s) => subjects.includes(s)),
    untuned: subjects.filter((s) => !TUNED_SUBJECTS.includes(s)),
    mean: {
      consistency: byMode((m) => round(meanCons[m], 4)),
      ceiling: round(meanCeil, 4),
      improvement_pct: round(improvementPct(meanCons.makd, meanCons.none), 2),
      gap_closed_pct: round(gapClosedPct(meanCons.makd, meanCons.none, meanCeil), 1),
      /** the most improvement_pct this metric allows: an edge image as consistent as a second cloud image */
      ceiling_improvement_pct: round(improvementPct(meanCeil, meanCons.none), 2),
      makd_beats_ablations: meanCons.makd > meanCons.lora && meanCons.makd > meanCons.metaword,
      subject_attribute_accuracy: byMode((m) => round(mean(rs.map((r) => r.subject_attribute_accuracy[m])), 4)),
      other_prompts_attribute_accuracy: byMode((m) => round(mean(rs.map((r) => r.other_prompts_attribute_accuracy[m])), 4)),
      adapter_bytes: Object.fromEntries(ADAPTER_MODES.map((m) => [m, Math.round(mean(rs.map((r) => r.adapter_bytes[m])))])),
      distill_wall_s: Object.fromEntries(ADAPTER_MODES.map((m) => [m, round(mean(rs.map((r) => r.distill_wall_s[m])), 1)])),
      max_distill_wall_s: round(Math.max(...rs.flatMap((r) => ADAPTER_MODES.map((m) => r.distill_wall_s[m]))), 1),
      distill_cpu_s: Object.fromEntries(ADAPTER_MODES.map((m) => [m, round(mean(rs.map((r) => r.distill_cpu_s[m])), 1)])),
    },
    per_subject: results,
    other_prompts: { group: 'aligned', n: aligned.length },
    metric: 'cos(edge image, cloud image) + cos(edge image, prompt), evaluator embeddings (as bench generate)',
    machine: machineDescription(),
  };
  if (values['out']) {
    mkdirSync(dirname(values['out'] as string), { recursive: true });
    writeFileSync(values['out'] as string, JSON.stringify(result, null, 2) + '\n');
  }
  process.stdout.write(JSON.stringify(result, null, values['json'] ? 0 : 2) + '\n');
  return 0;
}
