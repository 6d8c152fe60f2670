/**
 * `dekag demo`: the main job. A whole DeKA-g session on the shipped models over the loopback radio:
 * cloud reference images, the edge's images without and with the MAKD adapter, the JSCC latent with CALA
 * over the simulated air, the user's received image; the closed CALA loop from the measured SNR. Writes
 * DIR/report.html (self-contained), DIR/summary.json, DIR/session.jsonl and the images.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import { parseRate, rateLabel } from '../gsc/jscc.js';
import { LINK_MODES, type LinkMode } from '../session/policy.js';
import { CABLED_SDR_PAIR_TEXT } from '../radio/channel/presets.js';
import { ModelStore } from '../gsc/models.js';
import { parseProvider } from '../gsc/onnx.js';
import { tokenize } from '../gsc/tokenizer.js';
import { renderReport } from '../session/report.js';
import { runLocalSession, summarize } from '../session/session.js';
import { MODEL_OPTIONS, optionalInt, optionalNumber, parse } from './args.js';
import { ProgressBar } from './progress.js';

// the help text lives in help.ts, so that `dekag demo --help` loads no models
export { DEMO_HELP } from './help.js';

/** A spread over the world: each MAKD subject (star, striped, purple, heart, snow), plus held-out scenes. */
export const DEMO_PROMPTS = [
  'a large red striped star on the left on grass',
  'a medium purple circle at the top on sand',
  'a small blue heart in the center at night',
  'a large yellow striped triangle on grass on the left',
  'a medium green square on snow at the bottom',
  'a small orange dotted star on the right on sand',
  'a medium cyan striped circle at night at the top',
  'a large purple plain cross in the center on grass',
  'a small red heart on the left on snow',
  'a large blue dotted square at the top at night',
  'a medium orange plain star at the bottom on grass',
  'a small green striped triangle on sand on the right',
  'a large cyan circle on snow in the center',
  'a medium yellow heart at the top on grass',
  'a small purple dotted star on the left at night',
  'a large red plain square on sand at the bottom',
  'a medium blue striped cross on the right on grass',
  'a small orange triangle in the center on snow',
  'a large green dotted heart at the bottom at night',
  'a medium red circle on the left on sand',
];

/** The default SNR schedule: down and up again, so the report shows the loop following the channel. */
export function sweepSchedule(n: number): number[] {
  const hi = 20;
  const lo = 2;
  if (n <= 1) return [hi];
  const half = Math.max(1, Math.floor((n - 1) / 2));
  return Array.from({ length: n }, (_, i) => {
    const f = i <= half ? i / half : (n - 1 - i) / Math.max(1, n - 1 - half);
    return Math.round(hi - (hi - lo) * Math.min(1, Math.max(0, f)));
  });
}

export function readPromptsFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --prompts ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let prompts: string[];
  if (text.trimStart().startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--prompts ${path} looks like JSON but is not: ${(e as Error).message}`);
    }
    if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) throw new UsageError(`--prompts ${path}: a JSON file must be a list of strings`);
    prompts = list as string[];
  } else {
    prompts = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  }
  if (prompts.length === 0) throw new UsageError(`--prompts ${path} holds no prompts (one per line, or a JSON list)`);
  return prompts;
}

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    quick: { type: 'boolean' },
    snr: { type: 'string' },
    rate: { type: 'string' },
    prompts: { type: 'string' },
    radio: { type: 'string' },
    tx: { type: 'string' },
    rx: { type: 'string' },
    freq: { type: 'string' },
    fading: { type: 'boolean' },
    link: { type: 'string' },
    'ideal-radio': { type: 'boolean' },
    record: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  });
  const radio = (values['radio'] as string | undefined) ?? 'loopback';
  if (radio !== 'loopback') {
    throw new UsageError(`dekag demo runs on the loopback radio ('--radio loopback'), got '${radio}'; for other radios run the roles: dekag cloud | edge --radio NAME | user --radio NAME`);
  }
  const txName = values['tx'] as string | undefined;
  const rxName = values['rx'] as string | undefined;
  if ((txName === undefined) !== (rxName === undefined)) {
    throw new UsageError(`name both radios: --tx NAME --rx NAME (e.g. --tx hackrf --rx rtlsdr:0), or neither for the loopback; got only --${txName === undefined ? 'rx' : 'tx'}`);
  }
  if (txName !== undefined && values['radio'] !== undefined) throw new UsageError('--radio and --tx/--rx do not go together: --tx NAME --rx NAME names both ends');
  const freqHz = values['freq'] !== undefined ? optionalNumber(values, 'freq', 915, 1, 6000) * 1e6 : undefined;
  if (freqHz !== undefined && txName === undefined) throw new UsageError('--freq MHZ is for two radios (--tx NAME --rx NAME); the loopback needs none');
  const quick = !!values['quick'];
  const seed = optionalInt(values, 'seed', 0, 0, 2 ** 31 - 1);
  const rate = values['rate'] !== undefined ? parseRate(values['rate'] as string) : undefined;
  const linkMode = ((values['link'] as string | undefined) ?? 'hybrid') as LinkMode;
  if (!(LINK_MODES as readonly string[]).includes(linkMode)) throw new UsageError(`--link must be one of ${LINK_MODES.join(', ')}, got '${linkMode}'`);
  const all = values['prompts'] ? readPromptsFile(values['prompts'] as string) : DEMO_PROMPTS;
  const prompts = quick && !values['prompts'] ? all.slice(0, 6) : all;
  const schedule = values['snr'] !== undefined ? [optionalNumber(values, 'snr', 20, -10, 40)] : sweepSchedule(prompts.length);
  const outDir = resolve((values['out'] as string | undefined) ?? join('out', 'demo'));
  const store = ModelStore.open(values['models'] as string | undefined);
  // Bad prompts fail here, before any model loads, naming the word.
  for (const p of prompts) tokenize(p, store.vocab);
  mkdirSync(outDir, { recursive: true });
  const provider = parseProvider((values['provider'] as string | undefined) ?? 'cpu');
  const bar = new ProgressBar('demo');
  bar.update(0, prompts.length, 'loading models');
  const result = await runLocalSession({
    store,
    prompts,
    outDir,
    snrScheduleDb: schedule,
    seed,
    provider,
    fading: !!values['fading'],
    impairments: !values['ideal-radio'],
    linkMode,
    ...(txName !== undefined && rxName !== undefined ? { txRadio: txName, rxRadio: rxName } : {}),
    ...(freqHz !== undefined ? { freqHz } : {}),
    ...(rate !== undefined ? { rate } : {}),
    ...(values['record'] ? { recordBase: resolve(values['record'] as string) } : {}),
    onProgress: (done, total, rec) =>
      bar.update(done, total, `${rec.received ? `PSNR ${rec.psnr_db?.toFixed(1)} dB` : 'lost'}, SNR ${rec.snr.measured_db?.toFixed(1) ?? '-'} dB, ${rec.link.kind === 'digital' ? `digital ${rec.link.mcs}` : `rate ${rateLabel(rec.rate)}`}`),
  });
  const summary = {
    ...summarize(result.records, result.msRun),
    provider: result.provider,
    ms_load_models: Math.round(result.msLoad),
    snr_schedule_db: schedule,
    fixed_rate: rate ?? null,
    fading: !!values['fading'],
    impairments: values['ideal-radio'] ? 'none' : CABLED_SDR_PAIR_TEXT,
    link_mode: linkMode,
    radios: { tx: txName ?? 'loopback', rx: rxName ?? 'loopback' },
    seed,
    adapters_available: result.catalog.entries.map((e) => e.name),
    adapters_skipped: result.catalog.skipped,
    session_record: 'session.jsonl',
    recording: result.recording ?? null,
    models: store.dir,
    jscc_model: (store.manifest.models['jscc']?.command as string | undefined) ?? null,
  };
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(outDir, 'report.html'), renderReport({ records: result.records, summary, outDir }));
  if (values['json']) {
    process.stdout.write(JSON.stringify(summary) + '\n');
  } else {
    const f = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
    process.stdout.write(
      `${summary.images} images (${summary.received} received) on ${summary.provider}, ${f(summary.ms_per_image, 0)} ms each\n` +
        `  consistency with the cloud: edge ${f(summary.mean_consistency_edge_base, 3)} -> edge+adapter ${f(summary.mean_consistency_edge_adapter, 3)} -> received ${f(summary.mean_consistency, 3)} (2 = identical)\n` +
        `  adapter gain kept through the link ${f(summary.adapter_gain_kept, 3)}; PSNR received vs sent ${f(summary.mean_psnr_db)} dB; SNR estimate RMSE ${f(summary.snr_est_rmse_db)} dB\n` +
        `  links: ${Object.entries(summary.links_used).map(([k, v]) => `${k} x${v}`).join(', ')}\n` +
        `  over the air ${f(summary.bytes_over_air_per_image, 0)} bytes per image vs ${f(summary.png_bytes_per_image, 0)} bytes as PNG\n` +
        `  -> ${join(outDir, 'report.html')}\n`,
    );
  }
  return 0;
}
