/**
 * Fixtures for the engine's tests (engine.test.ts, engine-progress.test.ts, the browser-mode e2e): a temporary
 * folder, the device directory the engine sees with one full-speed loopback (deterministic, as fast as the test
 * pulls), a stand-in for the trainer's Python, and the distill events an engine emits.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackDevice } from '../radio/devices/loopback.js';
import { loadDriverModules, openDevice } from '../radio/devices/registry.js';
import type { EngineEvent } from './api.js';
import type { DeviceDirectory } from './ports.js';

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'dekag-engine-'));
}

/** One loopback radio; with `replays`, `sigmf:<meta>` ids open as full-speed replays too. */
export function loopbackDirectory(o: { replays?: boolean } = {}): { dir: DeviceDirectory; opened: LoopbackDevice[] } {
  const opened: LoopbackDevice[] = [];
  return {
    opened,
    dir: {
      list: async () => [{ id: 'loopback', driver: 'loopback', label: 'Loopback' }],
      open: async (id) => {
        if (o.replays && id.startsWith('sigmf:')) {
          await loadDriverModules();
          return openDevice(id, { sigmf: { pace: 'full-speed' } });
        }
        if (id !== 'loopback') throw new Error(`no ${id}`);
        const d = new LoopbackDevice({ pace: 'full-speed', channel: { snrDb: 30 }, config: { sampleRateHz: 1e6 } });
        await d.open();
        opened.push(d);
        return d;
      },
      watch: () => () => {},
    },
  };
}

/**
 * A stand-in for the trainer's Python (`DEKAG_PYTHON`), written to `dir/fake-python.sh`: it prints the given
 * progress lines as train.makd does, `delayS` seconds apart, then writes a 4-byte adapter to its `--out` and
 * prints the 'done' line. Returns the script's path.
 */
export function writeFakeTrainer(dir: string, progress: { step: number; total: number }[], delayS: number): string {
  const path = join(dir, 'fake-python.sh');
  const lines = progress.map((p) => `sleep ${delayS}\necho '{"event": "progress", "task": "makd", "step": ${p.step}, "total": ${p.total}}'`);
  writeFileSync(
    path,
    `#!/bin/sh
out=""; while [ $# -gt 0 ]; do [ "$1" = "--out" ] && out="$2"; shift; done
${lines.join('\n')}
sleep ${delayS}
printf 'DKGA' > "$out"
echo "{\\"event\\": \\"done\\", \\"out\\": \\"$out\\", \\"bytes\\": 4}"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Every 'distill' event the engine emits from now on, and a promise settled by the first one not 'running'. */
export function distillEvents(engine: { subscribe(listener: (e: EngineEvent) => void): unknown }): {
  events: Extract<EngineEvent, { type: 'distill' }>[];
  finished: Promise<void>;
} {
  const events: Extract<EngineEvent, { type: 'distill' }>[] = [];
  const finished = new Promise<void>((resolve) =>
    engine.subscribe((e) => {
      if (e.type !== 'distill') return;
      events.push(e);
      if (e.state !== 'running') resolve();
    }),
  );
  return { events, finished };
}
