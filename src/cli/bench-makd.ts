/**
 * `dekag bench makd [--quick] [--subjects "shape:star;texture:striped"] [--seeds 1,2,3] [--train] [--adapters DIR] --json [--out FILE]`
 *
 * For each subject and as a mean over subjects, for none / LoRA only / metaword only / MAKD: the evaluator's
 * consistency between the edge's and the cloud's image of the same prompt and seed (exactly as
 * `bench generate` measures it: the same prompt groups, seeds and `consistency()`), the cloud-vs-cloud
 * ceiling, improvement_pct and gap_closed_pct (with a paired bootstrap interval over prompts), attribute
 * accuracy and consistency on the other subjects' prompts (the 'aligned' group) with and without each
 * adapter, distillation wall and CPU time, adapter bytes. Every figure is the mean over the adapters'
 * training seeds (seed 1 in DIR, seed N in DIR/seedN), with its spread and per-seed values
 * (bench-makd-stats.ts does the arithmetic).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { adapterFeeds, loadAdapter, SEED_FOLDER, seedFolderName, type Adapter } from '../gsc/adapter.js';
import { UsageError } from '../util/errors.js';
import { consistency, Evaluator } from '../gsc/evaluate.js';
import { DEFAULT_GUIDANCE, DEFAULT_STEPS, Generator } from '../gsc/generate.js';
import type { RgbImage } from '../gsc/image.js';
import type { ModelStore } from '../gsc/models.js';
import type { SessionOptions } from '../gsc/onnx.js';
import { MODEL_OPTIONS, openModelStore, optionalInt, parse } from './args.js';
import { machineDescription, mean, readEvalPromptSets } from './bench-common.js';
import {
  ADAPTER_MODES, byAdapterMode, byMode, gapClosedCi95, makdTriples, meanOverSubjects, seedFigures, seedReport,
  type AdapterMode, type Mode, type SeedFigures, type SubjectScores,
} from './bench-makd-stats.js';
import { distill } from '../gsc/distill.js';
import { ProgressBar } from './progress.js';
import { round } from './generate.js';

// the help text lives in help.ts, so that `dekag bench makd --help` loads no models
export { BENCH_MAKD_HELP } from './help.js';
export { gapClosedPct, improvementPct, MODES } from './bench-makd-stats.js';

/** The subjects whose hyperparameters were tuned (docs/makd.md); every other subject is untuned. */
export const TUNED_SUBJECTS = ['shape:star'];
/** The training seeds `--train` distils when --seeds is not given (issue 14: every figure over 3 seeds). */
export const TRAIN_SEEDS = [1, 2, 3];
/** bench generate's seeds for the subject groups, so 'none' here is its edge_vs_cloud */
const SEED_BASE = 20_000;
const CEILING_SEED_OFFSET = 500;

export function adapterFileName(subject: string, mode: AdapterMode): string {
  return `${subject.replace(/[^a-z0-9]+/gi, '-')}.${mode}.dkga`;
}

/** Where the adapters of one training seed live: seed 1 (the shipped ones) in DIR itself, seed N in DIR/seedN. */
export function seedDir(adapterDir: string, seed: number): string {
  return seed === 1 ? adapterDir : join(adapterDir, seedFolderName(seed));
}

const hasEveryAdapter = (dir: string, subjects: string[]): boolean =>
  subjects.every((s) => ADAPTER_MODES.every((m) => existsSync(join(dir, adapterFileName(s, m)))));

/** Seed 1 and every DIR/seedN that holds all the subjects' adapters in every mode, ascending. */
export function availableSeeds(adapterDir: string, subjects: string[]): number[] {
  const names = existsSync(adapterDir) ? readdirSync(adapterDir) : [];
  const more = names.map((n) => SEED_FOLDER.exec(n)).filter((m) => m !== null).map((m) => Number(m[1]))
    .filter((seed) => seed > 1 && hasEveryAdapter(seedDir(adapterDir, seed), subjects));
  return [1, ...more.sort((a, b) => a - b)];
}

/** `--seeds 1,2,3`: distinct training seeds, in the order given. */
export function parseSeeds(text: string): number[] {
  const seeds = text.split(',').map((t) => t.trim()).filter(Boolean).map(Number);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 1 || s > 1_000_000) || new Set(seeds).size !== seeds.length) {
    throw new UsageError(`--seeds: expected distinct training seeds 1..1000000 separated by commas, e.g. 1,2,3; got '${text}'`);
  }
  return seeds;
}

const adapterKey = (seed: number, subject: string, mode: AdapterMode): string => `${seed}/${subject}/${mode}`;

interface TrainOptions {
  store: ModelStore;
  adapterDir: string;
  subjects: string[];
  seeds: number[];
  quick: boolean;
  steps: number | undefined;
  bar: ProgressBar;
}

/** --train: distils every subject, mode and seed into its seed's folder. */
async function trainAdapters(o: TrainOptions): Promise<void> {
  for (const seed of o.seeds) {
    mkdirSync(seedDir(o.adapterDir, seed), { recursive: true });
    for (const subject of o.subjects) {
      for (const mode of ADAPTER_MODES) {
        await distill({
          subject, mode, seed, quick: o.quick, modelsDir: o.store.dir,
          out: join(seedDir(o.adapterDir, seed), adapterFileName(subject, mode)),
          ...(o.steps !== undefined ? { steps: o.steps } : {}),
          onProgress: (p) => o.bar.update(p.step, p.total, `train ${subject} ${mode} seed ${seed}`),
        });
      }
    }
  }
}

function loadSeedAdapter(store: ModelStore, adapterDir: string, seed: number, subject: string, mode: AdapterMode): Adapter {
  const path = join(seedDir(adapterDir, seed), adapterFileName(subject, mode));
  if (!existsSync(path)) {
    throw new UsageError(`no ${mode} adapter for ${subject}, seed ${seed}, at ${path}; run with --train, or dekag distill --subject ${subject} --mode ${mode} --seed ${seed} --out ${path}`);
  }
  const a = loadAdapter(path, store);
  if (a.header.mode !== mode) throw new UsageError(`${path} is a ${a.header.mode} adapter, expected ${mode}`);
  const trained = a.header.training['seed'];
  if (trained !== undefined && trained !== seed) throw new UsageError(`${path} was distilled with seed ${String(trained)}, but its folder is seed ${seed}'s`);
  return a;
}

function loadAdapters(store: ModelStore, adapterDir: string, subjects: string[], seeds: number[]): Map<string, Adapter> {
  const adapters = new Map<string, Adapter>();
  for (const seed of seeds) {
    for (const subject of subjects) {
      for (const mode of ADAPTER_MODES) adapters.set(adapterKey(seed, subject, mode), loadSeedAdapter(store, adapterDir, seed, subject, mode));
    }
  }
  return adapters;
}

/** A prompt, the seed its images are drawn at, and the evaluator's embeddings of its cloud image and its text. */
interface Reference {
  prompt: string;
  seed: number;
  cloud: Float32Array;
  text: Float32Array;
}

/** The models and what every measurement shares. */
class MakdBench {
  constructor(
    private readonly cloud: Generator,
    readonly edge: Generator,
    private readonly evaluator: Evaluator,
    private readonly store: ModelStore,
    private readonly adapters: Map<string, Adapter>,
    private readonly steps: number,
  ) {}

  static async load(store: ModelStore, opts: SessionOptions, adapters: Map<string, Adapter>, steps: number): Promise<MakdBench> {
    const cloud = await Generator.load(store, 'cloud', opts);
    const edge = await Generator.load(store, 'edge', opts);
    return new MakdBench(cloud, edge, await Evaluator.load(store, opts), store, adapters, steps);
  }

  private async draw(gen: Generator, prompt: string, seed: number): Promise<RgbImage> {
    return (await gen.generate({ prompt, seed, steps: this.steps, guidance: DEFAULT_GUIDANCE })).image;
  }

  /** The edge image with the given adapter (undefined: none). */
  async edgeImage(key: string | undefined, prompt: string, seed: number): Promise<RgbImage> {
    this.edge.setAdapter(key === undefined ? undefined : adapterFeeds(this.adapters.get(key)!, this.store.vocab, 64));
    return this.draw(this.edge, prompt, seed);
  }

  async references(prompts: string[]): Promise<Reference[]> {
    const refs: Reference[] = [];
    for (const [i, prompt] of prompts.entries()) {
      const [c] = await this.evaluator.judgeImages([await this.draw(this.cloud, prompt, SEED_BASE + i)]);
      refs.push({ prompt, seed: SEED_BASE + i, cloud: c!.embedding, text: await this.evaluator.embedPrompt(prompt) });
    }
    return refs;
  }

  /** Attribute accuracy and mean consistency of the edge's images of the references' prompts. */
  async followsPrompts(refs: Reference[], key: string | undefined): Promise<{ accuracy: number; consistency: number }> {
    const images: RgbImage[] = [];
    for (const r of refs) images.push(await this.edgeImage(key, r.prompt, r.seed));
    const judged = await this.evaluator.judgeImages(images);
    const hits = judged.flatMap((j, i) =>
      Object.values(this.evaluator.agreement(refs[i]!.prompt, j).checked).map(([want, got]) => Number(want === got)));
    return { accuracy: mean(hits), consistency: mean(judged.map((j, i) => consistency(j.embedding, refs[i]!.cloud, refs[i]!.text))) };
  }

  /** One prompt of a subject's group: the ceiling, and each mode's consistency and subject hit per seed. */
  async scorePrompt(subject: string, prompt: string, seed: number, seeds: number[], sc: SubjectScores): Promise<void> {
    const [attr, value] = subject.split(':') as [string, string];
    const images = [await this.draw(this.cloud, prompt, seed), await this.draw(this.cloud, prompt, seed + CEILING_SEED_OFFSET), await this.edgeImage(undefined, prompt, seed)];
    for (const s of seeds) {
      for (const mode of ADAPTER_MODES) images.push(await this.edgeImage(adapterKey(s, subject, mode), prompt, seed));
    }
    const [jc, jc2, jNone, ...jAdapted] = await this.evaluator.judgeImages(images);
    const text = await this.evaluator.embedPrompt(prompt);
    sc.ceiling.push(consistency(jc2!.embedding, jc!.embedding, text));
    sc.cloudSubjectHits.push(Number(jc!.attributes[attr] === value));
    seeds.forEach((_, k) => {
      sc.consistency.none[k]!.push(consistency(jNone!.embedding, jc!.embedding, text));
      sc.subjectHits.none[k]!.push(Number(jNone!.attributes[attr] === value));
      ADAPTER_MODES.forEach((mode, j) => {
        const judged = jAdapted[k * ADAPTER_MODES.length + j]!;
        sc.consistency[mode][k]!.push(consistency(judged.embedding, jc!.embedding, text));
        sc.subjectHits[mode][k]!.push(Number(judged.attributes[attr] === value));
      });
    });
  }
}

function emptyScores(seeds: number[]): SubjectScores {
  const rows = (): number[][] => seeds.map(() => []);
  return {
    ceiling: [], consistency: byMode(rows), subjectHits: byMode(rows), cloudSubjectHits: [],
    otherAccuracy: byMode(() => []), alignedConsistency: byMode(() => []), adapters: byAdapterMode(() => []),
  };
}

function adapterCost(a: Adapter): { bytes: number; wall_s: number; cpu_s: number } {
  return { bytes: a.bytes, wall_s: Number(a.header.training['wall_time_s']), cpu_s: Number(a.header.training['cpu_time_s']) };
}

interface Measurement {
  bench: MakdBench;
  seeds: number[];
  aligned: Reference[];
  alignedNone: { accuracy: number; consistency: number };
  adapters: Map<string, Adapter>;
  bar: ProgressBar;
  progress: { done: number; total: number };
}

/** Everything the bench measures for one subject, over its prompts and every seed's adapters. */
async function measureSubject(m: Measurement, subject: string, prompts: string[]): Promise<SubjectScores> {
  const sc = emptyScores(m.seeds);
  const tick = (n: number): void => m.bar.update((m.progress.done += n), m.progress.total);
  for (const [i, prompt] of prompts.entries()) {
    await m.bench.scorePrompt(subject, prompt, SEED_BASE + i, m.seeds, sc);
    tick(1);
  }
  for (const seed of m.seeds) {
    sc.otherAccuracy.none.push(m.alignedNone.accuracy);
    sc.alignedConsistency.none.push(m.alignedNone.consistency);
    for (const mode of ADAPTER_MODES) {
      const key = adapterKey(seed, subject, mode);
      const other = await m.bench.followsPrompts(m.aligned, key);
      sc.otherAccuracy[mode].push(other.accuracy);
      sc.alignedConsistency[mode].push(other.consistency);
      sc.adapters[mode].push(adapterCost(m.adapters.get(key)!));
      tick(m.aligned.length);
    }
  }
  return sc;
}

const maxOf = (figs: SeedFigures[], f: (x: SeedFigures) => Record<AdapterMode, number>): number =>
  Math.max(...figs.flatMap((x) => Object.values(f(x))));

/** The report's `mean` section: the mean over subjects of every figure, over seeds as for one subject. */
function meanSection(figs: SeedFigures[][], scores: SubjectScores[]): Record<string, unknown> {
  const perSeed = meanOverSubjects(figs);
  const all = figs.flat();
  const cons = byMode((m: Mode) => mean(perSeed.map((f) => f.consistency[m])));
  return {
    ...seedReport(perSeed),
    gap_closed_ci95: gapClosedCi95(scores.map(makdTriples)),
    cloud_subject_attribute_accuracy: round(mean(scores.map((sc) => mean(sc.cloudSubjectHits))), 4),
    makd_beats_ablations: cons.makd > cons.lora && cons.makd > cons.metaword,
    max_adapter_bytes: maxOf(all, (f) => f.adapter_bytes),
    max_distill_wall_s: maxOf(all, (f) => f.distill_wall_s),
    max_distill_cpu_s: maxOf(all, (f) => f.distill_cpu_s),
  };
}

export async function runBenchMakd(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    subjects: { type: 'string' },
    seeds: { type: 'string' },
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
  const alignedPrompts = (sets.subjects['aligned'] ?? []).slice(0, quick ? 2 : Infinity);
  const adapterDir = resolve((values['adapters'] as string | undefined) ?? join(store.dir, 'adapters'));
  const train = Boolean(values['train']);
  const seedsText = values['seeds'] as string | undefined;
  const seeds = seedsText !== undefined ? parseSeeds(seedsText) : train ? TRAIN_SEEDS : availableSeeds(adapterDir, subjects);

  const bar = new ProgressBar('bench makd');
  if (train) {
    const trainSteps = values['train-steps'] !== undefined ? optionalInt(values, 'train-steps', 500, 1, 1_000_000) : undefined;
    await trainAdapters({ store, adapterDir, subjects, seeds, quick, steps: trainSteps, bar });
  }
  const adapters = loadAdapters(store, adapterDir, subjects, seeds);
  const bench = await MakdBench.load(store, { provider }, adapters, steps);

  const groups = subjects.map((s) => sets.subjects[s]!.slice(0, perSubject));
  const alignedRuns = 1 + subjects.length * seeds.length * ADAPTER_MODES.length;
  const progress = { done: 0, total: groups.reduce((a, g) => a + g.length, 0) + alignedPrompts.length * alignedRuns };
  const aligned = await bench.references(alignedPrompts);
  const alignedNone = await bench.followsPrompts(aligned, undefined);
  bar.update((progress.done += aligned.length), progress.total);
  const m: Measurement = { bench, seeds, aligned, alignedNone, adapters, bar, progress };
  const scores: SubjectScores[] = [];
  for (const [k, subject] of subjects.entries()) scores.push(await measureSubject(m, subject, groups[k]!));

  const figs = scores.map((sc) => seeds.map((_, s) => seedFigures(sc, s)));
  const perSubjectReport = Object.fromEntries(subjects.map((subject, k) => [subject, {
    n: groups[k]!.length,
    tuned: TUNED_SUBJECTS.includes(subject),
    ...seedReport(figs[k]!),
    gap_closed_ci95: gapClosedCi95([makdTriples(scores[k]!)]),
    // the reference for subject_attribute_accuracy: an edge image drawn as the cloud draws it is seen this often
    cloud_subject_attribute_accuracy: round(mean(scores[k]!.cloudSubjectHits), 4),
  }]));
  const result = {
    bench: 'makd',
    quick,
    steps,
    guidance: DEFAULT_GUIDANCE,
    provider: bench.edge.provider,
    seeds,
    adapters: {
      source: train ? 'trained by this run' : 'shipped',
      dir: adapterDir,
      seed_dirs: Object.fromEntries(seeds.map((s) => [s, seedDir(adapterDir, s)])),
    },
    tuned_on: TUNED_SUBJECTS.filter((s) => subjects.includes(s)),
    untuned: subjects.filter((s) => !TUNED_SUBJECTS.includes(s)),
    mean: meanSection(figs, scores),
    per_subject: perSubjectReport,
    other_prompts: { group: 'aligned', n: aligned.length },
    bootstrap: { resamples: 2000, over: 'prompts, paired (none, MAKD averaged over seeds, ceiling)', interval: 0.95 },
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
