/**
 * `dekag distill --subject TEXT [--steps N] [--rank R] [--mode makd|lora|metaword] [--device cpu|cuda] --out FILE.dkga`
 *
 * Parses the options, runs the Python trainer through src/gsc/distill.ts and draws its progress as a bar.
 */
import { UsageError } from '../util/errors.js';
import { distill, DISTILL_MODES, type DistillMode } from '../gsc/distill.js';
import { optionalInt, parse, requireString } from './args.js';
import { ProgressBar } from './progress.js';

export const DISTILL_HELP = `dekag distill --subject TEXT --out FILE.dkga [options]
  --subject TEXT    what to align: attribute:value (shape:star, texture:striped, colour:purple,
                    shape:heart, background:snow), several joined by commas, or a prompt
  --mode M          makd (LoRA + metaword, default) | lora | metaword (the ablations)
  --steps N         training steps (default 250)
  --rank R          LoRA rank (default 4)
  --device D        cpu (default) | cuda
  --seed N          training seed (default 1)
  --quick           a smoke run: a tiny distillation set and a few steps
  --models DIR      models folder (default: the shipped models/)
  --json            print the trainer's summary as JSON
  Python: $DEKAG_PYTHON, else /usr/bin/python3, else python3 on PATH; it needs PyTorch and numpy.`;

export async function runDistill(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    subject: { type: 'string' },
    out: { type: 'string' },
    mode: { type: 'string' },
    steps: { type: 'string' },
    rank: { type: 'string' },
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
  const bar = new ProgressBar(`distill ${subject} (${mode})`);
  const result = await distill({
    subject,
    out,
    mode: mode as DistillMode,
    device,
    quick: Boolean(values['quick']),
    ...(values['steps'] !== undefined ? { steps: optionalInt(values, 'steps', 500, 1, 1_000_000) } : {}),
    ...(values['rank'] !== undefined ? { rank: optionalInt(values, 'rank', 4, 1, 64) } : {}),
    ...(values['seed'] !== undefined ? { seed: optionalInt(values, 'seed', 1, 0, 2 ** 31 - 1) } : {}),
    ...(values['models'] ? { modelsDir: values['models'] as string } : {}),
    onProgress: (p) => bar.update(p.step, p.total, typeof p['loss'] === 'number' ? `loss ${(p['loss'] as number).toFixed(4)}` : ''),
  });
  process.stdout.write(values['json'] ? JSON.stringify(result) + '\n' : `wrote ${result.out} (${result.bytes} bytes, ${result.wall_time_s} s)\n`);
  return 0;
}
