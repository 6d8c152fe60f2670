/**
 * Fixtures for the engine's tests (engine.test.ts, engine-progress.test.ts): a temporary folder, and the
 * device directory the engine sees with one full-speed loopback (deterministic, as fast as the test pulls).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackDevice } from '../radio/devices/loopback.js';
import { loadDriverModules, openDevice } from '../radio/devices/registry.js';
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
