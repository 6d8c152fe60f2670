/**
 * Who may talk to a role: every TCP link starts with a handshake that proves both ends know the session
 * key, and a listener that keeps unauthenticated connections cheap, few and short-lived.
 *
 * The session key is a file (`--key-file`, default ~/.dekag/session.key) of at least 32 characters that
 * only its owner can read; the first role that needs it creates it (64 random hex digits, mode 0600).
 * Copy it to run the roles on several machines.
 *
 * Handshake (mutual, challenge-response; the key never crosses the wire):
 *   client -> server  {type:'hello', protocol, role, nonce: Nc}
 *   server -> client  {type:'hello', protocol, role, nonce: Ns, proof: HMAC(key, 'server'|protocol|roles|Nc|Ns)}
 *   client -> server  {type:'auth', proof: HMAC(key, 'client'|protocol|roles|Nc|Ns)}
 *   server -> client  {type:'welcome'}
 * Either side may instead send {type:'refused', reason, retry} and close. Nonces are 16 random bytes
 * (hex), fresh per connection, so a recorded proof is worth nothing on another connection.
 *
 * A listener (`PeerListener`) runs every handshake concurrently with its own deadline (default 5 s), holds
 * at most `maxPending` unauthenticated connections (default 64: when one more arrives, the oldest is
 * dropped if it has had 0.5 s to authenticate, else the newcomer is refused and told to retry), and
 * admits one peer at a time: while the admitted peer's link is open, another authenticated connection is
 * refused (retry: true), so nobody can take over a session, and a peer that dropped can come back.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { DekagError, UsageError } from '../util/errors.js';
import { connectLink, LinkClosedError, LinkConnectError, LinkServer, nextMessage, PREAUTH_LIMITS, type Link, type LinkLimits, type TcpLink } from './link.js';
import { SESSION_PROTOCOL } from './protocol.js';

export type RoleName = 'cloud' | 'edge' | 'user';

export const HANDSHAKE_TIMEOUT_MS = 5000;
export const MAX_PENDING = 64;
/** An unauthenticated connection this young is never dropped to make room for a newer one. */
export const MIN_PENDING_AGE_MS = 500;
/** Listener backstop: connections (authenticated or not) beyond this are closed by the kernel accept path. */
export const MAX_CONNECTIONS = 256;
const MIN_KEY_CHARS = 32;

/** A peer that cannot be reached, refuses us, fails the handshake or goes away: exit code 3. */
export class PeerError extends DekagError {
  constructor(message: string, readonly retry = false) {
    super(message, 'E_PEER');
  }
}

export interface SessionKey {
  bytes: Buffer;
  path: string;
  /** This call created the file. */
  created: boolean;
}

export function defaultKeyFile(): string {
  return process.env['DEKAG_KEY_FILE'] || join(homedir(), '.dekag', 'session.key');
}

/**
 * Reads the session key from `path`, creating it (64 random hex digits, mode 0600, atomically: a role
 * starting at the same moment reads the same key) when it does not exist. A key file that others can
 * read, that belongs to someone else, or that is too short is refused.
 */
export function loadSessionKey(path: string, opts: { create?: boolean } = {}): SessionKey {
  let created = false;
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`cannot read the key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    if (opts.create === false) throw new UsageError(`the key file ${path} does not exist; copy the session's key file there or give --key-file`);
    created = createKeyFile(path);
    st = statSync(path);
  }
  if (!st.isFile()) throw new UsageError(`the key file ${path} is not a file`);
  if (process.platform !== 'win32') {
    if ((st.mode & 0o077) !== 0) {
      throw new UsageError(`the key file ${path} can be read by other users (mode ${(st.mode & 0o777).toString(8)}); run 'chmod 600 ${path}'`);
    }
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
      throw new UsageError(`the key file ${path} belongs to another user (uid ${st.uid}); use a key file of your own`);
    }
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new UsageError(`cannot read the key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (text.length < MIN_KEY_CHARS) throw new UsageError(`the key file ${path} holds ${text.length} characters; a session key has at least ${MIN_KEY_CHARS} (delete it to get a new one)`);
  return { bytes: Buffer.from(text, 'utf8'), path, created };
}

function createKeyFile(path: string): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, randomBytes(32).toString('hex') + '\n');
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path); // atomic, and fails if another role made the file meanwhile: then both use that one
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new UsageError(`cannot create the key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    unlinkSync(tmp);
  }
}

// --- the handshake -----------------------------------------------------------------------------------------

const NONCE_RE = /^[0-9a-f]{32}$/;

function proof(key: Buffer, side: 'server' | 'client', client: RoleName, server: RoleName, nc: string, ns: string): string {
  return createHmac('sha256', key).update(`dekag|${side}|${SESSION_PROTOCOL}|${client}|${server}|${nc}|${ns}`).digest('hex');
}

function sameHex(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

async function refuse(link: Link, reason: string, retry: boolean): Promise<void> {
  await link.send({ type: 'refused', reason, retry }).catch(() => undefined);
  await link.close(`refused: ${reason}`);
}

export interface ServerHandshakeOptions {
  key: Buffer;
  /** This side's role. */
  role: RoleName;
  /** The roles allowed to connect. */
  accept: readonly RoleName[];
  deadlineMs?: number;
  /** Called once the peer proved the key: a reason to refuse it (retry: true), or undefined to admit. */
  admit?: (role: RoleName) => string | undefined;
  /** The link's limits once the peer proved the key (set before 'welcome', so its next message fits). */
  limits?: LinkLimits;
}

/** The server's half: resolves with the peer's role once it is authenticated and admitted; otherwise refuses, closes and rejects. */
export async function serverHandshake(link: Link, o: ServerHandshakeOptions): Promise<RoleName> {
  const deadline = Date.now() + (o.deadlineMs ?? HANDSHAKE_TIMEOUT_MS);
  const left = (): number => Math.max(1, deadline - Date.now());
  const fail = async (reason: string, retry = false): Promise<never> => {
    await refuse(link, reason, retry);
    throw new PeerError(`${link.peer}: ${reason}`, retry);
  };
  let hello;
  try {
    hello = (await nextMessage(link, () => true, left())).msg;
  } catch (e) {
    await link.close('no hello');
    throw new PeerError(`${link.peer}: no hello (${(e as Error).message})`);
  }
  if (hello.type !== 'hello') return fail(`expected a hello, got '${String(hello.type).slice(0, 40)}'`);
  if (hello['protocol'] !== SESSION_PROTOCOL) return fail(`speaks '${String(hello['protocol']).slice(0, 40)}', this build speaks '${SESSION_PROTOCOL}'; run the same dekag version on both ends`);
  const role = hello['role'] as RoleName;
  if (!o.accept.includes(role)) return fail(`a ${String(role).slice(0, 20)} cannot connect here (this is the ${o.role}; it takes ${o.accept.join(', ')})`);
  const nc = hello['nonce'];
  if (typeof nc !== 'string' || !NONCE_RE.test(nc)) return fail('the hello has no valid nonce');
  const ns = randomBytes(16).toString('hex');
  const authP = nextMessage(link, () => true, left());
  authP.catch(() => undefined);
  await link.send({ type: 'hello', protocol: SESSION_PROTOCOL, role: o.role, nonce: ns, proof: proof(o.key, 'server', role, o.role, nc, ns) }).catch(() => undefined);
  let auth;
  try {
    auth = (await authP).msg;
  } catch (e) {
    await link.close('no auth');
    throw new PeerError(`${link.peer}: did not authenticate (${(e as Error).message})`);
  }
  if (auth.type !== 'auth' || !sameHex(auth['proof'], proof(o.key, 'client', role, o.role, nc, ns))) return fail('wrong session key');
  const busy = o.admit?.(role);
  if (busy) return fail(busy, true);
  if (o.limits) link.setLimits?.(o.limits);
  await link.send({ type: 'welcome' });
  return role;
}

export interface ClientHandshakeOptions {
  key: Buffer;
  role: RoleName;
  /** The role expected at the other end. */
  expect: RoleName;
  deadlineMs?: number;
  /** Named in errors. */
  what?: string;
  /** The link's limits once the server proved the key (set before our auth, so a job right after 'welcome' fits). */
  limits?: LinkLimits;
}

/** The client's half: resolves once both sides proved the key and the server admitted us; else rejects with PeerError. */
export async function clientHandshake(link: Link, o: ClientHandshakeOptions): Promise<void> {
  const what = o.what ?? `the ${o.expect}`;
  const deadline = Date.now() + (o.deadlineMs ?? HANDSHAKE_TIMEOUT_MS);
  const left = (): number => Math.max(1, deadline - Date.now());
  const next = async (stage: string) => {
    try {
      return (await nextMessage(link, () => true, left())).msg;
    } catch (e) {
      await link.close(`no ${stage}`);
      // Closed before answering: a listener full of other connections, or one restarting; worth a retry.
      const closed = e instanceof LinkClosedError && !/no answer within/.test(e.message);
      throw new PeerError(`${what} at ${link.peer} did not answer the ${stage} (${(e as Error).message})`, closed);
    }
  };
  const refusedBy = (m: Record<string, unknown>): PeerError => new PeerError(`${what} at ${link.peer} refused this ${o.role}: ${String(m['reason']).slice(0, 200)}`, m['retry'] === true);
  const nc = randomBytes(16).toString('hex');
  const helloP = next('hello');
  helloP.catch(() => undefined);
  await link.send({ type: 'hello', protocol: SESSION_PROTOCOL, role: o.role, nonce: nc });
  const hello = await helloP;
  if (hello.type === 'refused') {
    await link.close('refused');
    throw refusedBy(hello);
  }
  const ns = hello['nonce'];
  if (hello.type !== 'hello' || hello['protocol'] !== SESSION_PROTOCOL) {
    await refuse(link, `expected a ${SESSION_PROTOCOL} hello`, false);
    throw new PeerError(`${what} at ${link.peer} speaks '${String(hello['protocol'] ?? hello.type).slice(0, 40)}', this build speaks '${SESSION_PROTOCOL}'; run the same dekag version on both ends`);
  }
  if (hello['role'] !== o.expect || typeof ns !== 'string' || !NONCE_RE.test(ns) || !sameHex(hello['proof'], proof(o.key, 'server', o.role, o.expect, nc, ns))) {
    await refuse(link, 'wrong session key', false);
    throw new PeerError(`${what} at ${link.peer} is not a ${o.expect} of this session: it does not prove the session key (different --key-file?)`);
  }
  const answerP = next('authentication');
  answerP.catch(() => undefined);
  if (o.limits) link.setLimits?.(o.limits);
  await link.send({ type: 'auth', proof: proof(o.key, 'client', o.role, o.expect, nc, ns) });
  const answer = await answerP;
  if (answer.type === 'welcome') return;
  await link.close('refused');
  throw answer.type === 'refused' ? refusedBy(answer) : new PeerError(`${what} at ${link.peer} answered '${String(answer.type).slice(0, 40)}' instead of welcome`);
}

export interface ConnectPeerOptions extends ClientHandshakeOptions {
  /** Keep trying (refused connections, a full or busy listener) for this long; default 30 s. */
  timeoutMs?: number;
}

/** Connects and authenticates, retrying while the peer is starting, full or busy; the link's limits are raised on success. */
export async function connectPeer(host: string, port: number, o: ConnectPeerOptions): Promise<TcpLink> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const what = o.what ?? `the ${o.expect}`;
  const t0 = Date.now();
  let backoff = 100;
  for (;;) {
    const remaining = timeoutMs - (Date.now() - t0);
    let link: TcpLink;
    try {
      link = await connectLink(host, port, { what, timeoutMs: Math.max(1, remaining), limits: PREAUTH_LIMITS });
    } catch (e) {
      throw e instanceof LinkConnectError ? new PeerError(e.message) : e;
    }
    try {
      await clientHandshake(link, o);
      return link;
    } catch (e) {
      if (!(e instanceof PeerError) || !e.retry || Date.now() - t0 + backoff > timeoutMs) throw e;
      await sleep(backoff);
      backoff = Math.min(2000, backoff * 2);
    }
  }
}

// --- the listener ----------------------------------------------------------------------------------------

export interface PeerListenerOptions {
  key: Buffer;
  role: RoleName;
  accept: readonly RoleName[];
  /** Limits of an admitted peer's link. */
  limits: LinkLimits;
  /** Named in errors ("edge", "user feedback"). */
  what: string;
  handshakeMs?: number;
  maxPending?: number;
  minPendingAgeMs?: number;
  maxConnections?: number;
}

export interface PeerListenerStats {
  connections: number;
  admitted: number;
  refused: number;
  /** Unauthenticated connections dropped to make room (the oldest when full). */
  evicted: number;
}

/**
 * Listens, authenticates every connection concurrently, admits one peer at a time.
 * Events: 'peer' (link, role) when a peer is admitted; 'refused' (peer address, reason).
 */
export class PeerListener extends EventEmitter {
  readonly stats: PeerListenerStats = { connections: 0, admitted: 0, refused: 0, evicted: 0 };
  /** Unauthenticated connections, oldest first, with the time each arrived. */
  private readonly pending = new Map<Link, number>();
  private current: Link | undefined;
  private waiting: Link[] = [];

  private constructor(private readonly server: LinkServer, private readonly o: PeerListenerOptions) {
    super();
    server.on('link', (l: TcpLink) => this.onLink(l));
  }

  get host(): string {
    return this.server.host;
  }
  get port(): number {
    return this.server.port;
  }
  get pendingCount(): number {
    return this.pending.size;
  }

  static async listen(host: string, port: number, o: PeerListenerOptions): Promise<PeerListener> {
    const server = await LinkServer.listen(host, port, o.what, { limits: PREAUTH_LIMITS, maxConnections: o.maxConnections ?? MAX_CONNECTIONS });
    return new PeerListener(server, o);
  }

  /** The admitted peer, if its link is still open. */
  get peer(): Link | undefined {
    return this.current?.isOpen ? this.current : undefined;
  }

  private onLink(link: TcpLink): void {
    this.stats.connections++;
    const now = Date.now();
    if (this.pending.size >= (this.o.maxPending ?? MAX_PENDING)) {
      const [oldest, since] = this.pending.entries().next().value as [Link, number];
      if (now - since >= (this.o.minPendingAgeMs ?? MIN_PENDING_AGE_MS)) {
        this.stats.evicted++;
        this.pending.delete(oldest);
        void refuse(oldest, 'too many unauthenticated connections; dropped the oldest', true);
      } else {
        this.stats.refused++;
        void refuse(link, 'too many connections are authenticating; try again', true);
        this.emit('refused', link.peer, 'too many connections are authenticating');
        return;
      }
    }
    this.pending.set(link, now);
    serverHandshake(link, {
      key: this.o.key,
      role: this.o.role,
      accept: this.o.accept,
      deadlineMs: this.o.handshakeMs ?? HANDSHAKE_TIMEOUT_MS,
      limits: this.o.limits,
      admit: () => {
        if (this.current?.isOpen) return `a ${this.o.accept.join('/')} is already attached to this ${this.o.role}`;
        this.current = link; // at once: a second handshake finishing meanwhile sees the slot taken
        return undefined;
      },
    }).then(
      (role) => {
        this.pending.delete(link);
        if (!link.isOpen) return;
        this.stats.admitted++;
        this.waiting = this.waiting.filter((l) => l.isOpen);
        this.waiting.push(link);
        this.emit('peer', link, role);
      },
      (e: Error) => {
        this.pending.delete(link);
        this.stats.refused++;
        this.emit('refused', link.peer, e.message);
      },
    );
  }

  /**
   * The next admitted peer (one admitted earlier and not taken yet first); undefined after `timeoutMs`
   * or when `signal` aborts.
   */
  async nextPeer(timeoutMs: number, signal?: AbortSignal): Promise<Link | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const queued = this.waiting.shift();
      if (queued) {
        if (queued.isOpen) return queued;
        continue;
      }
      if (signal?.aborted || Date.now() >= deadline) return undefined;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.off('peer', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
        this.on('peer', done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Stops listening; closes every link it accepted. */
  async close(): Promise<void> {
    await this.server.close();
  }
}
