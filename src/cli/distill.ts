/**
 * `dekag distill --subject TEXT [--steps N] [--rank R] [--conv-rank C] [--lora-dtype float32|float16] [--mode makd|lora|metaword] [--device cpu|cuda] --out FILE.dkga`
 *
 * Parses the options, runs the Python trainer through src/gsc/distill.ts and draws its progress as a bar.
 */
import { UsageError } from '../util/errors.js';
import { distill, DISTILL_MODES, type DistillMode } from '../gsc/distill.js';
import { optionalInt, parse, requireString } from './options.js';
import { ProgressBar } from './progress.js';

export { DISTILL_HELP } from './help.js';

export async function runDistill(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    subject: { type: 'string' },
    out: { type: 'string' },
    mode: { type: 'string' },
    steps: { type: 'string' },
    rank: { type: 'string' },
    'conv-rank': { type: 'string' },
    'lora-dtype': { type: 'string' },
    device: { type: 'string' },
    seed: { type: 'string' },
    quick: { type: 'boolean' },
    models: { type: 'string' },
    json: { type: 'boolean' },
  });
  const subject = requireString(values, 'subject');
  const out = requireString(values, 'out');
  const mode = (values['mode'] as string | undefined) ?? 'makd';
  if (!(DISTILL_MODES as readonly string[]).includes(mode)) throw new UsageError(`--mode must be one of ${DISTILL_MODES.join(', ')}, got '${mode}'`);
  const device = (values['device'] as string | undefined) ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new UsageError(`--device must be cpu or cuda, got '${device}'`);
  const loraDtype = values['lora-dtype'] as string | undefined;
  if (loraDtype !== undefined && loraDtype !== 'float32' && loraDtype !== 'float16') throw new UsageError(`--lora-dtype must be float32 or float16, got '${loraDtype}'`);
  const bar = new ProgressBar(`distill ${subject} (${mode})`);
  const result = await distill({
    subject,
    out,
    mode: mode as DistillMode,
    device,
    quick: Boolean(values['quick']),
    ...(values['steps'] !== undefined ? { steps: optionalInt(values, 'steps', 1200, 1, 1_000_000) } : {}),
    ...(values['rank'] !== undefined ? { rank: optionalInt(values, 'rank', 16, 1, 64) } : {}),
    ...(values['conv-rank'] !== undefined ? { convRank: optionalInt(values, 'conv-rank', 8, 0, 64) } : {}),
    ...(loraDtype !== undefined ? { loraDtype: loraDtype as 'float32' | 'float16' } : {}),
    ...(values['seed'] !== undefined ? { seed: optionalInt(values, 'seed', 1, 0, 2 ** 31 - 1) } : {}),
    ...(values['models'] ? { modelsDir: values['models'] as string } : {}),
    onProgress: (p) => bar.update(p.step, p.total, typeof p['loss'] === 'number' ? `loss ${(p['loss'] as number).toFixed(4)}` : ''),
  });
  process.stdout.write(values['json'] ? JSON.stringify(result) + '\n' : `wrote ${result.out} (${result.bytes} bytes, ${result.wall_time_s} s)\n`);
  return 0;
}
