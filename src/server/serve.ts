/**
 * Browser mode: `dekag serve` serves the desktop app's renderer over HTTP on 127.0.0.1 and implements
 * the preload API over a WebSocket, so the app runs in any browser (and in the end-to-end tests).
 *
 * Access control: a random token (128 bits, kept in the user's config folder across runs: token.ts) is the
 * first path segment of every URL:
 *   http://127.0.0.1:PORT/TOKEN/            the app          (relative URLs keep the token)
 *   ws://127.0.0.1:PORT/TOKEN/ws            the API
 * A request without the right token gets 401 and nothing else; a WebSocket upgrade without it is refused
 * with 401 before the handshake. The Host header must name the loopback address we listen on (DNS
 * rebinding), and a WebSocket's Origin, when sent, must be this server (cross-site WebSocket hijacking).
 * Every response carries the same strict CSP as the Electron window.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { UsageError } from '../util/errors.js';
import type { EngineEvent, EventMessage } from './api.js';
import { dispatchText } from './dispatch.js';
import type { Engine } from './engine.js';
import { loadOrCreateToken } from './token.js';
import { contentSecurityPolicy, MIME, rendererFiles, type RendererFiles } from './static.js';

export interface ServeOptions {
  engine: Engine;
  host?: string;
  port?: number;
  /** The access token (`dekag serve`: the stored one, token.ts); default 32 random hex digits. */
  token?: string;
  files?: RendererFiles;
  /** Most events queued for a slow browser before the oldest spectrum rows are dropped. */
  maxBufferedBytes?: number;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  host: string;
  server: Server;
  close(): Promise<void>;
}

/** Largest WebSocket message the server reads (and answers) rather than closing the connection. */
export const MAX_WS_MESSAGE_BYTES = 16 * 2 ** 20;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether a host name only reaches this machine (127.0.0.1, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host);
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  const token = o.token ?? randomBytes(16).toString('hex');
  const files = o.files ?? rendererFiles();
  const tokenBuf = Buffer.from(token);
  const maxBuffered = o.maxBufferedBytes ?? 8 * 2 ** 20;
  let port = 0;

  const hostOk = (req: IncomingMessage): boolean => {
    const h = req.headers.host;
    if (!h) return false;
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h);
    if (!m) return false;
    const name = m[1]!.replace(/^\[|\]$/g, '');
    return Number(m[2] ?? 80) === port && (name === host || (LOOPBACK_HOSTS.has(name) && LOOPBACK_HOSTS.has(host)));
  };
  /** The path after a valid token, or undefined. */
  const afterToken = (url: string | undefined): string | undefined => {
    const path = (url ?? '').split('?')[0]!;
    const m = /^\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) return undefined;
    const given = Buffer.from(decodeURIComponentSafe(m[1]!));
    if (given.length !== tokenBuf.length || !timingSafeEqual(given, tokenBuf)) return undefined;
    return m[2] ?? '';
  };
  const security = (res: ServerResponse): void => {
    res.setHeader('Content-Security-Policy', contentSecurityPolicy([`ws://${hostForUrl(host)}:${port}`]));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cache-Control', 'no-store');
  };

  const server = createServer((req, res) => {
    security(res);
    if (!hostOk(req)) {
      res.writeHead(421, { 'Content-Type': 'text/plain' }).end('wrong Host header\n');
      return;
    }
    const rest = afterToken(req.url);
    if (rest === undefined) {
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('missing or wrong access token: open the URL that `dekag serve` printed\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('only GET\n');
      return;
    }
    if (rest === '') {
      // /TOKEN -> /TOKEN/ so that relative URLs in the page keep the token
      res.writeHead(308, { Location: `/${token}/` }).end();
      return;
    }
    const name = rest === '/' ? 'index.html' : rest.slice(1);
    const file = files.files.get(name);
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (e: NodeJS.ErrnoException) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`cannot read ${name}: ${e.code ?? e.message}${e.code === 'ENOENT' ? ' (build the renderer: tsc -p app/renderer/tsconfig.json)' : ''}\n`);
      },
    );
  });

  // The socket takes messages far larger than any request (MAX_WS_MESSAGE_BYTES), so an oversized request
  // (a pasted 100 kB prompt) is answered by dispatchText with an error instead of closing the connection
  // (1009); only a message beyond this bound closes it.
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const refuse = (code: number, why: string): void => {
      socket.end(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!hostOk(req)) return refuse(421, 'Misdirected Request');
    if (afterToken(req.url) !== '/ws') return refuse(401, 'Unauthorized');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) return refuse(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, o.engine, maxBuffered));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'EADDRINUSE' ? new UsageError(`port ${o.port} on ${host} is in use; pick another with --port (0 = any free port)`) : e);
    });
    server.listen(o.port ?? 8620, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${hostForUrl(host)}:${port}/${token}/`;
  return {
    url,
    token,
    port,
    host,
    server,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** One browser tab: requests in, responses and events out. */
function serveSocket(ws: WebSocket, engine: Engine, maxBuffered: number): void {
  const send = (msg: unknown): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  const unsubscribe = engine.subscribe((event: EngineEvent) => {
    // A tab that cannot keep up loses spectrum rows (there is a new one every 100 ms), never results.
    if (event.type === 'spectrum' && ws.bufferedAmount > maxBuffered) return;
    send({ event } satisfies EventMessage);
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      send({ id: -1, error: { code: 'E_API', message: 'binary messages are not part of the API' } });
      return;
    }
    void dispatchText(engine, data.toString()).then(send);
  });
  ws.on('close', unsubscribe);
  ws.on('error', unsubscribe);
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}

/** What `dekag serve` runs (src/cli/serve.ts parses its command line into this). */
export interface RunServeOptions {
  host: string;
  port: number;
  modelsDir?: string | undefined;
  recordingsDir?: string | undefined;
  userAdaptersDir?: string | undefined;
  provider?: string | undefined;
  /** Make a new access token instead of the one stored in the config folder (token.ts). */
  newToken?: boolean | undefined;
  /** The config folder holding the token (default $DEKAG_CONFIG_DIR, else ~/.dekag). */
  configDir?: string | undefined;
  /** Called once the server listens (the CLI prints the URL), with where the token is kept. */
  onListening?: (running: RunningServer, token: { path: string; created: boolean }) => void;
}

/** Browser mode until interrupted (SIGINT/SIGTERM): the engine and the server, then stops the session and closes the radio. */
export async function runServe(o: RunServeOptions): Promise<void> {
  // First of all: a token file others may read stops here, with the fix, before anything is opened.
  const stored = loadOrCreateToken({ ...(o.configDir !== undefined ? { dir: o.configDir } : {}), fresh: o.newToken === true });
  const { createEngine } = await import('./backends.js');
  const engine = createEngine({
    modelsDir: o.modelsDir,
    recordingsDir: o.recordingsDir,
    userAdaptersDir: o.userAdaptersDir,
    provider: o.provider,
    // the network radios the user adds are kept beside the token, so a restarted server lists them again
    networkRadiosFile: join(dirname(stored.path), 'network-radios.json'),
  });
  let running: RunningServer;
  try {
    running = await startServer({ engine, host: o.host, port: o.port, token: stored.token });
  } catch (e) {
    await engine.dispose();
    throw e;
  }
  o.onListening?.(running, { path: stored.path, created: stored.created });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  await engine.dispose();
}
