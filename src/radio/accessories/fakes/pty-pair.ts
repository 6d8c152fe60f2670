/**
 * Two connected pseudo-terminals from `socat` (a Debian package): what one end writes, the other reads,
 * through the kernel's tty layer, just as a USB-serial adapter appears to a program. Killing socat closes
 * both ends: the tests' "unplug".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** Path of the end the program under test opens. */
  a: string;
  /** Path of the end the fake device opens. */
  b: string;
  /** Kills socat: both ends close, as when the cable is pulled. */
  unplug(): void;
  /** Kills socat (if still running) and removes the links. */
  close(): Promise<void>;
}

export async function openPtyPair(timeoutMs = 5000): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'dekag-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const child: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(a) && existsSync(b) && /starting data transfer loop/.test(log)) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`socat did not make a pty pair (is socat installed?): ${log.trim().slice(-300)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    a,
    b,
    unplug: () => void child.kill(),
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
