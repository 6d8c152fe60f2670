/** Helpers of the robustness tests: temporary folders, and running a snippet in a child process with a deadline. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function tempDir(t: { after: (fn: () => void) => void }, name = 'robust'): string {
  const dir = mkdtempSync(join(tmpdir(), `dekag-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** file:// URL of a built module under dist/src, e.g. srcModule('radio/sigmf/tar.js'). */
export function srcModule(rel: string): string {
  const here = fileURLToPath(new URL('.', import.meta.url)); // dist/test/robustness/
  return pathToFileURL(resolve(here, '..', '..', 'src', rel)).href;
}

export interface IsolatedResult {
  /** What the snippet printed with `out(value)` (JSON), or undefined. */
  value: unknown;
  timedOut: boolean;
  status: number | null;
  stderr: string;
}

/**
 * Runs an ES module snippet in a fresh node process, killed after `timeoutMs`: for inputs that make old
 * code loop for ever or block a thread, which would otherwise hang the test runner itself. The snippet
 * calls `out(x)` to hand back a JSON value.
 */
export function runIsolated(snippet: string, timeoutMs = 20_000, extraArgs: string[] = []): IsolatedResult {
  const script = `const out = (v) => process.stdout.write('\\n@@' + JSON.stringify(v) + '\\n');\n${snippet}\nprocess.exit(0);`;
  const r = spawnSync(process.execPath, [...extraArgs, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@'));
  return {
    value: line ? JSON.parse(line.slice(2)) : undefined,
    timedOut: r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT',
    status: r.status,
    stderr: r.stderr ?? '',
  };
}
