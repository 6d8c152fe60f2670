/**
 * Running the session roles (`dekag cloud | edge | user`) as processes of this build, and being the hostile
 * local client of issue 15: idle connections, oversized frames, forged hellos. Shared by the robustness
 * tests of the session links and the soak test (test/session/soak.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const build = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'); // <build>/test/robustness -> <build>
const MAIN_URL = pathToFileURL(join(build, 'src', 'cli', 'main.js')).href;
/** Node's arguments that run `dekag ARGS...` from this build (what bin/dekag.js does for dist/); ARGS follow. */
export const DEKAG = ['--input-type=module', '-e', `const { runCli } = await import(${JSON.stringify(MAIN_URL)}); process.exitCode = await runCli(process.argv.slice(1));`, '--'];

export const PROMPTS = ['a large red striped star on the left on grass', 'a medium purple circle at the top on sand', 'a small blue heart in the center at night'];

export interface Proc {
  child: ChildProcess;
  log: () => string;
  exit: Promise<number | null>;
  /** Exit code, or 'running' if the process has not exited within `ms`. */
  exitWithin(ms: number): Promise<number | null | 'running'>;
  kill(): void;
}

/** Starts `dekag ARGS`; `env` adds to the environment (e.g. DEKAG_KEY_FILE). */
export function startRole(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [...DEKAG, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    log: () => out,
    exit,
    exitWithin: (ms) => Promise.race([exit, new Promise<'running'>((r) => setTimeout(() => r('running'), ms).unref())]),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * n distinct free ports on 127.0.0.1. All n are held open while the next is chosen: asked one at a time, the
 * kernel may hand out a port it just released again (a three-process run once got the cloud's port as the
 * edge's feedback port, and the edge connected to itself).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Whether 127.0.0.1:port can be bound (the process that had it let it go). */
export async function portIsFree(port: number): Promise<boolean> {
  const s = createServer();
  const ok = await new Promise<boolean>((r) => {
    s.once('error', () => r(false));
    s.listen(port, '127.0.0.1', () => r(true));
  });
  if (ok) await new Promise<void>((r) => s.close(() => r()));
  return ok;
}

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * Sends `bytes` on a fresh connection and collects what comes back until the peer closes or `ms` pass;
 * `closed` says whether the peer closed it.
 */
export async function exchange(port: number, bytes: Buffer, ms: number): Promise<{ text: string; closed: boolean }> {
  const s = await rawConnect(port);
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const closed = new Promise<boolean>((r) => {
    s.once('close', () => r(true));
    s.once('end', () => r(true));
    setTimeout(() => r(false), ms).unref();
  });
  s.write(bytes);
  const c = await closed;
  s.destroy();
  return { text, closed: c };
}

/**
 * A hostile local client: keeps `n` idle TCP connections open to each port (re-opening one whenever the
 * server closes it), never saying anything.
 */
export class IdleFlood {
  private readonly sockets = new Set<Socket>();
  private stopped = false;
  opened = 0;
  closedByServer = 0;

  constructor(private readonly ports: number[], private readonly n: number) {}

  async start(): Promise<void> {
    await Promise.all(this.ports.flatMap((p) => Array.from({ length: this.n }, () => this.openOne(p))));
  }

  private async openOne(port: number): Promise<void> {
    if (this.stopped) return;
    let s: Socket;
    try {
      s = await rawConnect(port);
    } catch {
      if (!this.stopped) setTimeout(() => void this.openOne(port), 200).unref();
      return;
    }
    this.opened++;
    this.sockets.add(s);
    s.resume();
    s.once('close', () => {
      this.sockets.delete(s);
      if (this.stopped) return;
      this.closedByServer++;
      setTimeout(() => void this.openOne(port), 20).unref();
    });
  }

  get count(): number {
    return this.sockets.size;
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.sockets) s.destroy();
  }
}

/** Peak resident set (VmHWM) of a live process, in MiB; undefined once it is gone or off Linux. */
export function peakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export const jsonLines = (path: string): Record<string, unknown>[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
