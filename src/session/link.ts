/**
 * Links between the roles: messages made of a JSON header and an optional binary attachment (an adapter
 * file, a PNG). The roles only ever talk through a Link, never through shared objects, so the same role
 * code runs in one process (`linkPair`, the default) or in several (`TcpLink`).
 *
 * Wire format of the TCP link, per message:
 *   u32 BE  magic 0x444b4731 ("DKG1")
 *   u32 BE  JSON header length J (2..64 KiB)
 *   u32 BE  attachment length B (0..16 MiB)
 *   J bytes UTF-8 JSON object with a string `type`
 *   B bytes attachment
 * Anything else (garbage, an HTTP client, a truncated message at close) fails the link with a
 * LinkProtocolError naming what was wrong; it never reaches a role as a message.
 *
 * Each TCP link has limits (`LinkLimits`) below those maxima: a header that announces more is refused
 * before its bytes are buffered. A connection that has not authenticated yet may send only small
 * messages without attachments (`PREAUTH_LIMITS`); the roles raise the limits to what the peer's messages
 * need once it has proved it knows the session key (handshake.ts).
 */
import { EventEmitter, once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DekagError } from '../util/errors.js';

export const LINK_MAGIC = 0x444b4731;
/** The wire format's maxima (a session message's JSON is a few hundred bytes; an adapter file ~240 kB). */
export const MAX_JSON_BYTES = 64 << 10;
export const MAX_ATTACHMENT_BYTES = 16 << 20;
const PREFIX_BYTES = 12;

/** What one link accepts from its peer; a message announcing more closes the link. */
export interface LinkLimits {
  maxJsonBytes: number;
  maxAttachmentBytes: number;
}

export const DEFAULT_LIMITS: LinkLimits = { maxJsonBytes: MAX_JSON_BYTES, maxAttachmentBytes: MAX_ATTACHMENT_BYTES };
/** Before the handshake: hello/auth messages only, no attachments. */
export const PREAUTH_LIMITS: LinkLimits = { maxJsonBytes: 4096, maxAttachmentBytes: 0 };

/** A message: JSON fields with a `type`, and maybe bytes. */
export interface LinkMessage {
  type: string;
  [field: string]: unknown;
}

export interface Envelope {
  msg: LinkMessage;
  data?: Uint8Array;
}

/** The link is closed (the peer went away or close() was called). */
export class LinkClosedError extends DekagError {
  constructor(readonly peer: string, reason: string) {
    super(`link to ${peer} closed: ${reason}`, 'E_LINK_CLOSED');
  }
}

/** The peer sent something that is not a session message. */
export class LinkProtocolError extends DekagError {
  constructor(message: string) {
    super(message, 'E_LINK_PROTOCOL');
  }
}

/** A host:port that cannot be reached or bound. */
export class LinkConnectError extends DekagError {
  constructor(message: string) {
    super(message, 'E_LINK_CONNECT');
  }
}

/**
 * Events: 'message' (Envelope), 'close' (LinkClosedError | LinkProtocolError, exactly once).
 * `send` rejects with LinkClosedError once the link is closed.
 */
export interface Link extends EventEmitter {
  readonly peer: string;
  readonly isOpen: boolean;
  send(msg: LinkMessage, data?: Uint8Array): Promise<void>;
  close(reason?: string): Promise<void>;
  /** What the link accepts from the peer from now on (TCP links; in-process links take anything). */
  setLimits?(limits: LinkLimits): void;
}

/** Waits for the next message that `match` accepts; rejects when the link closes or after `timeoutMs`. */
export function nextMessage(link: Link, match: (e: Envelope) => boolean, timeoutMs = Infinity): Promise<Envelope> {
  return new Promise((resolve, reject) => {
    if (!link.isOpen) {
      reject(new LinkClosedError(link.peer, 'already closed'));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      link.off('message', onMessage);
      link.off('close', onClose);
      if (timer) clearTimeout(timer);
    };
    const onMessage = (e: Envelope): void => {
      if (!match(e)) return;
      cleanup();
      resolve(e);
    };
    const onClose = (err: Error): void => {
      cleanup();
      reject(err);
    };
    link.on('message', onMessage);
    link.on('close', onClose);
    if (Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => {
        cleanup();
        reject(new LinkClosedError(link.peer, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    }
  });
}

// --- in process ------------------------------------------------------------------------------------------

class InProcessLink extends EventEmitter implements Link {
  other: InProcessLink | undefined;
  private open = true;
  constructor(readonly peer: string) {
    super();
  }
  get isOpen(): boolean {
    return this.open;
  }
  async send(msg: LinkMessage, data?: Uint8Array): Promise<void> {
    if (!this.open || !this.other) throw new LinkClosedError(this.peer, 'closed');
    // Copy through JSON, as the wire would: a role must not share mutable objects with its peer.
    const copy = JSON.parse(JSON.stringify(msg)) as LinkMessage;
    const bytes = data ? Uint8Array.from(data) : undefined;
    const other = this.other;
    setImmediate(() => {
      if (other.open) other.emit('message', bytes ? { msg: copy, data: bytes } : { msg: copy });
    });
  }
  async close(reason = 'closed by this side'): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.emit('close', new LinkClosedError(this.peer, reason));
    const o = this.other;
    if (o?.open) setImmediate(() => void o.close('closed by the peer'));
  }
}

/** Two connected in-process links: what one sends, the other receives (asynchronously, copied). */
export function linkPair(nameA = 'a', nameB = 'b'): [Link, Link] {
  const a = new InProcessLink(nameB);
  const b = new InProcessLink(nameA);
  a.other = b;
  b.other = a;
  return [a, b];
}

// --- TCP -------------------------------------------------------------------------------------------------

export function encodeMessage(msg: LinkMessage, data?: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(msg), 'utf8');
  if (json.length > MAX_JSON_BYTES) throw new LinkProtocolError(`message '${msg.type}' has a ${json.length}-byte header; at most ${MAX_JSON_BYTES}`);
  const n = data?.length ?? 0;
  if (n > MAX_ATTACHMENT_BYTES) throw new LinkProtocolError(`message '${msg.type}' carries ${n} bytes; at most ${MAX_ATTACHMENT_BYTES}`);
  const out = Buffer.allocUnsafe(PREFIX_BYTES + json.length + n);
  out.writeUInt32BE(LINK_MAGIC, 0);
  out.writeUInt32BE(json.length, 4);
  out.writeUInt32BE(n, 8);
  json.copy(out, PREFIX_BYTES);
  if (data) out.set(data, PREFIX_BYTES + json.length);
  return out;
}

/** Incremental decoder of the wire format: feed chunks, get whole messages; throws LinkProtocolError. */
export class MessageDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(public limits: LinkLimits = DEFAULT_LIMITS) {}

  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Envelope[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Envelope[] = [];
    for (;;) {
      if (this.buffered < PREFIX_BYTES) break;
      const head = this.peek(PREFIX_BYTES);
      const magic = head.readUInt32BE(0);
      if (magic !== LINK_MAGIC) {
        throw new LinkProtocolError(`not a DeKA-g session message (starts with 0x${magic.toString(16).padStart(8, '0')}, expected "DKG1"); is the peer a dekag role?`);
      }
      const j = head.readUInt32BE(4);
      const b = head.readUInt32BE(8);
      const { maxJsonBytes, maxAttachmentBytes } = this.limits;
      if (j < 2 || j > maxJsonBytes) throw new LinkProtocolError(`message header of ${j} bytes is out of range (2..${maxJsonBytes})`);
      if (b > maxAttachmentBytes) throw new LinkProtocolError(`attachment of ${b} bytes exceeds this link's limit of ${maxAttachmentBytes}`);
      const total = PREFIX_BYTES + j + b;
      if (this.buffered < total) break;
      const all = this.take(total);
      let msg: unknown;
      try {
        msg = JSON.parse(all.subarray(PREFIX_BYTES, PREFIX_BYTES + j).toString('utf8'));
      } catch (e) {
        throw new LinkProtocolError(`message header is not JSON: ${(e as Error).message}`);
      }
      if (typeof msg !== 'object' || msg === null || typeof (msg as LinkMessage).type !== 'string') {
        throw new LinkProtocolError('message header is not an object with a string "type"');
      }
      out.push(b > 0 ? { msg: msg as LinkMessage, data: new Uint8Array(all.subarray(PREFIX_BYTES + j)) } : { msg: msg as LinkMessage });
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return Buffer.from(all.subarray(0, n));
  }
}

export class TcpLink extends EventEmitter implements Link {
  private open = true;
  private readonly decoder: MessageDecoder;

  constructor(private readonly socket: Socket, readonly peer: string, limits: LinkLimits = DEFAULT_LIMITS) {
    super();
    this.decoder = new MessageDecoder(limits);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (!this.open) return;
      let msgs: Envelope[];
      try {
        msgs = this.decoder.push(chunk);
      } catch (e) {
        this.finish(e as LinkProtocolError);
        return;
      }
      for (const m of msgs) this.emit('message', m);
    });
    socket.on('error', (e) => this.finish(new LinkClosedError(peer, (e as NodeJS.ErrnoException).code ?? e.message)));
    socket.on('close', () => {
      const cut = this.decoder.pendingBytes;
      this.finish(new LinkClosedError(peer, cut ? `the peer closed the connection in the middle of a message (${cut} bytes lost)` : 'the peer closed the connection'));
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** What this link accepts from now on (checked on every message header that arrives). */
  setLimits(limits: LinkLimits): void {
    this.decoder.limits = limits;
  }

  async send(msg: LinkMessage, data?: Uint8Array): Promise<void> {
    if (!this.open) throw new LinkClosedError(this.peer, 'closed');
    const buf = encodeMessage(msg, data);
    if (!this.socket.write(buf)) {
      // Backpressure: wait for the socket to drain, or for the link to close.
      await Promise.race([once(this.socket, 'drain'), once(this, 'close')]);
      if (!this.open) throw new LinkClosedError(this.peer, 'closed while sending');
    }
  }

  async close(reason = 'closed by this side'): Promise<void> {
    if (!this.open) return;
    this.finish(new LinkClosedError(this.peer, reason));
  }

  private finish(err: Error): void {
    if (!this.open) return;
    this.open = false;
    // Stop reading (a peer streaming an oversized message must stall, not be read and discarded at
    // full speed), let our last bytes leave, then make sure the socket is gone.
    this.socket.pause();
    this.socket.end();
    // Not unref'd: a paused socket does not keep the event loop alive, and a listener's close waits for it.
    setTimeout(() => this.socket.destroy(), 200);
    this.emit('close', err);
  }
}

/** `PORT`, `HOST:PORT` or `[V6]:PORT`; host defaults to 127.0.0.1 (never all interfaces by accident). */
export function parseEndpoint(spec: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d+)$/.exec(spec.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new LinkConnectError(`${what} '${spec}' is not [HOST:]PORT (e.g. 7000 or 127.0.0.1:7000)`);
  }
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

export interface ListenOptions {
  /** Limits of every accepted link until the role raises them (default DEFAULT_LIMITS). */
  limits?: LinkLimits;
  /** Connections beyond this many open at once are closed at accept (net.Server.maxConnections). */
  maxConnections?: number;
}

/** A listening TCP endpoint; each accepted connection becomes a TcpLink ('link' event). */
export class LinkServer extends EventEmitter {
  private readonly links = new Set<TcpLink>();
  private constructor(private readonly server: Server, readonly host: string, readonly port: number) {
    super();
  }

  /** Links accepted and still open. */
  get openLinks(): number {
    return this.links.size;
  }

  static async listen(host = '127.0.0.1', port = 0, what = 'link', opts: ListenOptions = {}): Promise<LinkServer> {
    const server = createServer();
    if (opts.maxConnections !== undefined) server.maxConnections = opts.maxConnections;
    const ready = new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new LinkConnectError(`cannot listen for the ${what} on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use; choose another' : e.code ?? e.message}`)),
      );
      server.listen(port, host, () => resolve());
    });
    await ready;
    const addr = server.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    const ls = new LinkServer(server, host, bound);
    server.on('connection', (socket) => {
      const link = new TcpLink(socket, `${socket.remoteAddress}:${socket.remotePort}`, opts.limits);
      ls.links.add(link);
      link.once('close', () => ls.links.delete(link));
      ls.emit('link', link);
    });
    return ls;
  }

  /** The next accepted link. */
  accept(): Promise<TcpLink> {
    return new Promise((resolve) => this.once('link', resolve));
  }

  /** Stops listening and closes the links it accepted (server.close alone would wait for them). */
  async close(): Promise<void> {
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.links].map((l) => l.close('the listener closed')));
    await closing;
  }
}

export interface ConnectOptions {
  /** Keep retrying a refused connection for this long (the peer may still be starting). Default 10 s. */
  timeoutMs?: number;
  retryMs?: number;
  /** Named in errors: "the cloud", "the edge's feedback port". */
  what?: string;
  /** Limits of the link (default DEFAULT_LIMITS). */
  limits?: LinkLimits;
}

/** Connects to a LinkServer, retrying while the peer is not up yet; fails with a message saying what to start. */
export async function connectLink(host: string, port: number, opts: ConnectOptions = {}): Promise<TcpLink> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const retryMs = opts.retryMs ?? 200;
  const what = opts.what ?? 'the peer';
  const t0 = Date.now();
  let last = '';
  for (;;) {
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host, port });
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
      return new TcpLink(socket, `${host}:${port}`, opts.limits);
    } catch (e) {
      last = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      if (Date.now() - t0 + retryMs > timeoutMs) {
        throw new LinkConnectError(`cannot reach ${what} at ${host}:${port} within ${timeoutMs} ms (${last}); is it running and listening there?`);
      }
      await sleep(retryMs);
    }
  }
}
