/**
 * `dekag rtl-tcp serve`: serve any receive radio (default the loopback) over the rtl_tcp protocol, for
 * GQRX, SDR++ or GNU Radio (`osmosdr.source("rtl_tcp=127.0.0.1:1234")`). Runs until Ctrl-C (exit 0) or
 * until the radio goes away (exit 1).
 */
import { once } from 'node:events';
import { UsageError } from '../util/errors.js';
import { parse } from './options.js';
import { loadDriverModules, openDevice } from '../radio/devices/registry.js';
import { RtlTcpServer, type RtlTcpCommandEvent } from '../radio/devices/rtl-tcp-server.js';
import { RTL_TCP_DEFAULT_PORT } from '../radio/devices/rtl-tcp-protocol.js';
import type { DeviceGoneError } from '../radio/devices/types.js';
import { RTL_TCP_HELP } from './help.js';

export { RTL_TCP_HELP };

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const defaultOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

export interface RtlTcpCliOptions {
  out?: Out;
  /** Stops serving (as Ctrl-C does); the CLI listens for SIGINT/SIGTERM itself when not given. */
  signal?: AbortSignal;
  /** Called once listening, with the bound port (tests use port 0). */
  onListening?: (port: number) => void;
}

/**
 * A log that writes at most `burst` lines at once and `perSecond` a second after that (a token bucket);
 * what it holds back is counted and reported in one line when it may write again, or at flush().
 */
export class RateLimitedLog {
  private tokens: number;
  private last = Date.now();
  private suppressed = 0;

  constructor(
    private readonly write: (s: string) => void,
    private readonly perSecond = 5,
    private readonly burst = 20,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  line(text: string): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) {
      this.suppressed++;
      return;
    }
    this.tokens -= 1;
    if (this.suppressed > 0) this.flush();
    this.write(text);
  }

  /** Reports how many lines were held back, if any. */
  flush(): void {
    if (this.suppressed === 0) return;
    this.write(`  ... ${this.suppressed} more command(s) not shown (at most ${this.perSecond} lines a second)\n`);
    this.suppressed = 0;
  }
}

export async function runRtlTcpCli(argv: string[], opts: RtlTcpCliOptions = {}): Promise<number> {
  const out = opts.out ?? defaultOut;
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    out.stdout(RTL_TCP_HELP + '\n');
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'serve') throw new UsageError(`unknown subcommand '${sub}'; use 'dekag rtl-tcp serve --device NAME'`);
  const { values } = parse(rest, {
    device: { type: 'string', default: 'loopback' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    freq: { type: 'string' },
    rate: { type: 'string' },
    snr: { type: 'string' },
    'max-buffer': { type: 'string' },
    lossless: { type: 'boolean' },
  });
  const port = values.port === undefined ? RTL_TCP_DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got '${String(values.port)}'`);
  const num = (name: string): number | undefined => {
    const v = values[name as keyof typeof values];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || (name !== 'snr' && n <= 0)) throw new UsageError(`--${name} must be a ${name === 'snr' ? '' : 'positive '}number, got '${String(v)}'`);
    return n;
  };
  const freqHz = num('freq');
  const sampleRateHz = num('rate');
  const snrDb = num('snr') ?? 30;
  const maxBuffer = num('max-buffer');

  for (const p of await loadDriverModules()) out.stderr(`dekag rtl-tcp: warning: ${p}\n`);
  const device = await openDevice(values.device as string, { loopback: { pace: 'realtime', channel: { snrDb } } });
  let server: RtlTcpServer | undefined;
  try {
    const changes: { freqHz?: number; sampleRateHz?: number } = {};
    if (freqHz !== undefined) changes.freqHz = freqHz;
    if (sampleRateHz !== undefined) changes.sampleRateHz = sampleRateHz;
    await device.configure(changes);
    server = await RtlTcpServer.listen({
      device,
      host: values.host as string,
      port,
      backpressure: values.lossless ? 'wait' : 'drop',
      ...(maxBuffer !== undefined ? { maxBufferedBytes: maxBuffer } : {}),
    });
    const s = server;
    s.on('client', (peer: string) => out.stderr(`client ${peer} connected\n`));
    s.on('client-gone', (peer: string) => {
      commandLog.flush();
      out.stderr(`client ${peer} left (sent ${s.stats.blocksSent} blocks, dropped ${s.stats.blocksDropped})\n`);
    });
    s.on('refused', (peer: string) => out.stderr(`client ${peer} refused: one client at a time\n`));
    // One line per command, but a client that floods commands gets a few lines a second and a count.
    const commandLog = new RateLimitedLog(out.stderr);
    s.on('command', (c: RtlTcpCommandEvent) => commandLog.line(`  ${c.name} ${c.param}${c.note ? ` (${c.note})` : ''}${c.error ? `: ${c.error}` : ''}\n`));
    s.on('error', (e: Error) => out.stderr(`dekag rtl-tcp: ${e.message}\n`));
    out.stdout(`serving ${device.info.id} over rtl_tcp on ${s.host}:${s.port} (GNU Radio: "rtl_tcp=${s.host}:${s.port}")\n`);
    opts.onListening?.(s.port);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    if (opts.signal) opts.signal.addEventListener('abort', onSignal, { once: true });
    else {
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    const gone = once(s, 'source-gone', { signal: stop.signal }).then(
      ([e]) => e as DeviceGoneError,
      () => undefined,
    );
    const result = await gone;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (result) {
      out.stderr(`dekag rtl-tcp: ${result.message}; stopped serving\n`);
      return 1;
    }
    return 0;
  } finally {
    await server?.close();
    await device.close();
  }
}
