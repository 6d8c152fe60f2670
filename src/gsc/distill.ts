/**
 * MAKD distillation: runs the Python trainer (`python3 -m train.makd`, train/makd.py) as a child process,
 * since the training needs PyTorch, which has no usable TypeScript counterpart. Python reports progress as
 * JSON lines on stdout (`{"event": "progress", ...}`, then one `{"event": "done", ...}`); this parses them
 * and turns a missing Python or PyTorch into one clear DistillError.
 *
 * Its layer: gsc, the generative side, next to the adapters it writes (adapter.ts) and the model store
 * whose folder locates the trainer (models.ts). It is not pure computation (it spawns a process), but
 * neither is the rest of gsc (ONNX sessions, model files); `dekag distill` (src/cli/distill.ts), `dekag
 * bench makd` and the engine's distillations (src/server/backends.ts) all run it.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { DekagError } from '../util/errors.js';
import { defaultModelsDir } from './models.js';

export const DISTILL_MODES = ['makd', 'lora', 'metaword'] as const;
export type DistillMode = (typeof DISTILL_MODES)[number];

/** The trainer cannot run: no Python, no PyTorch, or it failed. */
export class DistillError extends DekagError {
  constructor(message: string) {
    super(message, 'E_DISTILL');
  }
}

export interface DistillOptions {
  subject: string;
  out: string;
  mode?: DistillMode;
  steps?: number;
  /** the attention projections' LoRA rank */
  rank?: number;
  /** the convolutions' LoCon rank (0: attention only) */
  convRank?: number;
  /** how the file stores the low-rank matrices (the trainer's default: float16) */
  loraDtype?: 'float32' | 'float16';
  device?: 'cpu' | 'cuda';
  seed?: number;
  quick?: boolean;
  modelsDir?: string;
  /** more trainer arguments, e.g. ['--prompts', '64'] */
  extraArgs?: string[];
  onProgress?: (event: ProgressEvent) => void;
  env?: NodeJS.ProcessEnv;
}

export interface ProgressEvent {
  event: 'progress';
  task: string;
  step: number;
  total: number;
  elapsed_s: number;
  [metric: string]: unknown;
}

export interface DistillResult {
  event: 'done';
  out: string;
  bytes: number;
  wall_time_s: number;
  distillation_set_s: number;
  mode: DistillMode;
  subject: string;
  [metric: string]: unknown;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** $DEKAG_PYTHON, else /usr/bin/python3 (Debian's, which has python3-torch), else python3 on PATH. */
export function findPython(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env['DEKAG_PYTHON'];
  if (chosen) {
    if (!executable(chosen)) throw new DistillError(`DEKAG_PYTHON=${chosen} is not an executable file; point it at a Python 3 with PyTorch`);
    return chosen;
  }
  if (executable('/usr/bin/python3')) return '/usr/bin/python3';
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'python3'))) return join(dir, 'python3');
  }
  throw new DistillError('no Python 3 found (looked at $DEKAG_PYTHON, /usr/bin/python3 and python3 on PATH); install python3 and python3-torch, or set DEKAG_PYTHON');
}

/** The folder that holds train/ (the trainer runs as `python -m train.makd` from there). */
export function repoRoot(modelsDir: string = defaultModelsDir()): string {
  const root = dirname(resolve(modelsDir));
  if (!existsSync(join(root, 'train', 'makd.py'))) {
    throw new DistillError(`train/makd.py is not next to ${modelsDir}; run from a checkout of the repository (the trainer is not part of the installed app)`);
  }
  return root;
}

export function distillArgs(o: DistillOptions): string[] {
  const args = ['-m', 'train.makd', '--subject', o.subject, '--out', resolve(o.out), '--mode', o.mode ?? 'makd'];
  if (o.steps !== undefined) args.push('--steps', String(o.steps));
  if (o.rank !== undefined) args.push('--rank', String(o.rank));
  if (o.convRank !== undefined) args.push('--conv-rank', String(o.convRank));
  if (o.loraDtype !== undefined) args.push('--lora-dtype', o.loraDtype);
  if (o.device) args.push('--device', o.device);
  if (o.seed !== undefined) args.push('--seed', String(o.seed));
  if (o.quick) args.push('--quick');
  if (o.modelsDir) args.push('--models-dir', resolve(o.modelsDir));
  return [...args, ...(o.extraArgs ?? [])];
}

/** Run the trainer; resolves with its final summary line. */
export function distill(o: DistillOptions): Promise<DistillResult> {
  const env = o.env ?? process.env;
  const python = findPython(env);
  const cwd = repoRoot(o.modelsDir);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python, distillArgs(o), {
      cwd,
      env: { ...env, PYTHONPATH: cwd + (env['PYTHONPATH'] ? delimiter + env['PYTHONPATH'] : ''), PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let pending = '';
    let done: DistillResult | undefined;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr = (stderr + s).slice(-20_000); // the tail is what explains a failure
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      pending += s;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        let msg: { event?: string };
        try {
          msg = JSON.parse(line) as { event?: string };
        } catch {
          continue; // a stray line that only looks like JSON is not progress
        }
        if (msg.event === 'progress') o.onProgress?.(msg as ProgressEvent);
        else if (msg.event === 'done') done = msg as DistillResult;
      }
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new DistillError(`could not start Python at ${python}: ${e.code ?? e.message}; install python3 and python3-torch, or set DEKAG_PYTHON`));
    });
    child.on('close', (code, signal) => {
      if (code === 0 && done) return resolvePromise(done);
      const missing = /No module named '([\w.]+)'/.exec(stderr);
      if (missing) {
        const mod = missing[1]!.split('.')[0]!;
        const hint = mod === 'torch' ? 'PyTorch' : mod;
        return reject(new DistillError(
          `${python} has no module '${mod}' (${hint}); the trainer needs PyTorch and numpy: install python3-torch python3-numpy (Debian) or pip install torch numpy, or set DEKAG_PYTHON to a Python that has them`,
        ));
      }
      const last = stderr.trim().split('\n').slice(-3).join(' | ');
      const why = signal ? `was killed by ${signal}` : code === 0 ? 'ended without its summary line' : `exited with code ${code}`;
      reject(new DistillError(`the trainer (${python} -m train.makd) ${why}${last ? `: ${last}` : ''}`));
    });
  });
}
