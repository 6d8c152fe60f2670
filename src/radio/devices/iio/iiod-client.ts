/**
 * A client for iiod's text protocol (libiio 0.x, as the ADALM-Pluto firmware runs it), over TCP.
 *
 * Protocol facts (libiio 0.24 iiod/parser.y, iiod/ops.c, iiod-client.c; read to learn, no code taken):
 *  - Commands are one line ending "\r\n". Every reply starts with an integer line "<n>\n"; negative n is
 *    -errno. Unknown or malformed commands answer -22 (EINVAL).
 *  - PRINT: <length>\n, then the XML and "\n". VERSION: "0.24.abcdefg\n" (no integer).
 *  - READ dev [INPUT|OUTPUT chn | DEBUG | BUFFER] attr: <length>\n, then the value and "\n".
 *  - WRITE dev [...] attr <nbytes>\r\n then the raw value bytes; reply <written>\n.
 *  - OPEN dev <samples_count> <mask> [CYCLIC]: reply 0 or -errno. CLOSE dev likewise.
 *  - READBUF dev <nbytes>: one or more chunks "<len>\n" + data; the first chunk of each READBUF carries
 *    the channel mask as a line of hex words between its length line and its data. A trailing "0\n"
 *    ends a READBUF that could not be filled to a whole sample; a negative length is an error.
 *  - WRITEBUF dev <nbytes>: reply 0 (or -errno), then the client sends nbytes; reply <nbytes written>.
 *  - TIMEOUT ms: reply 0. EXIT closes the connection; an empty line is ignored.
 * One connection carries one command at a time; libiio opens a separate connection per streaming
 * device, and so do we (control, RX and TX each get their own socket, which makes full duplex work).
 */
import { Socket, connect } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { DeviceGoneError, DeviceIoError } from '../types.js';

/** The radio answered a command with -errno. */
export class IiodCommandError extends DeviceIoError {
  constructor(
    readonly command: string,
    readonly errno: number,
    what?: string,
  ) {
    super(`${what ?? `iiod command '${command}'`} failed: ${errnoText(errno)}`);
  }

  /** The errno's symbolic name, e.g. EINVAL. */
  get errnoName(): string {
    return errnoName(this.errno);
  }
}

export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-Math.abs(errno));
  } catch {
    return `errno ${Math.abs(errno)}`;
  }
}

const ERRNO_MEANING: Record<string, string> = {
  EINVAL: 'invalid argument (the value is out of range or not accepted)',
  ENOENT: 'no such attribute',
  ENODEV: 'no such device',
  ENXIO: 'no such channel',
  EBADF: 'device is not open for streaming (OPEN it first)',
  EBUSY: 'device or resource busy',
  ERANGE: 'value out of range',
  EPERM: 'operation not permitted',
  EIO: 'I/O error on the radio',
  ETIMEDOUT: 'timed out on the radio',
  ENOMEM: 'out of memory on the radio',
  EPIPE: 'broken pipe',
};

export function errnoText(errno: number): string {
  const name = errnoName(errno);
  return `${name} (-${Math.abs(errno)}${ERRNO_MEANING[name] ? `: ${ERRNO_MEANING[name]}` : ''})`;
}

/** The socket closed under a pending read (the owner turns this into DeviceGoneError). */
export class SocketClosedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SocketClosedError';
  }
}

/**
 * Pull-style reads over a socket's stream of chunks: whole lines or exact byte counts, copied into a
 * caller's buffer where given (the RX path reads into preallocated buffers, no per-block allocation beyond
 * what the socket hands us).
 */
export class SocketReader {
  private readonly chunks: Buffer[] = [];
  private offset = 0;
  private buffered = 0;
  private waiter: (() => void) | undefined;
  private closedWith: Error | undefined;

  constructor(socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.buffered += b.length;
      this.wake();
    });
    socket.on('close', () => this.fail(new SocketClosedError('connection closed by the peer')));
    socket.on('error', (e) => this.fail(new SocketClosedError(`connection failed: ${e.message}`)));
  }

  get available(): number {
    return this.buffered;
  }

  /** Makes pending and later reads fail with `e` once the buffered bytes are used up. */
  fail(e: Error): void {
    this.closedWith ??= e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async need(): Promise<void> {
    if (this.closedWith) throw this.closedWith;
    await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  /** One line without its "\n" (and a "\r" before it). Lines longer than `maxBytes` are a protocol error. */
  async readLine(maxBytes = 65536): Promise<string> {
    for (;;) {
      let scanned = 0;
      for (let c = 0; c < this.chunks.length; c++) {
        const chunk = this.chunks[c]!;
        const from = c === 0 ? this.offset : 0;
        const nl = chunk.indexOf(0x0a, from);
        if (nl >= 0) {
          const len = scanned + (nl - from);
          const line = Buffer.allocUnsafe(len + 1);
          this.readInto(line, 0, len + 1);
          let end = len;
          if (end > 0 && line[end - 1] === 0x0d) end--;
          return line.toString('latin1', 0, end);
        }
        scanned += chunk.length - from;
      }
      if (scanned > maxBytes) throw new DeviceIoError(`protocol error: a line longer than ${maxBytes} bytes (is this an iiod server?)`);
      await this.need();
    }
  }

  /** Exactly `n` bytes into `dest` at `at` (a new buffer when not given). */
  async readExact(n: number, dest?: Uint8Array, at = 0): Promise<Uint8Array> {
    const out = dest ?? Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      if (this.buffered === 0) {
        await this.need();
        continue;
      }
      done += this.readInto(out, at + done, n - done);
    }
    return out;
  }

  /** Copies up to `n` buffered bytes; returns how many. */
  private readInto(dest: Uint8Array, at: number, n: number): number {
    let copied = 0;
    while (copied < n && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const take = Math.min(n - copied, chunk.length - this.offset);
      dest.set(chunk.subarray(this.offset, this.offset + take), at + copied);
      copied += take;
      this.offset += take;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.buffered -= copied;
    return copied;
  }
}

export interface IiodConnectionOptions {
  host: string;
  port: number;
  /** Used in error messages (`pluto:127.0.0.1:30431`). */
  deviceId: string;
  /** Connect timeout and the default reply timeout, ms (default 5000, libiio's default). */
  timeoutMs?: number;
}

/** Where an attribute lives: the device itself, one of its channels, or its debug/buffer attributes. */
export type AttrTarget =
  | { kind: 'device' }
  | { kind: 'channel'; channel: string; output: boolean }
  | { kind: 'debug' }
  | { kind: 'buffer' };

function targetWords(t: AttrTarget): string {
  switch (t.kind) {
    case 'device':
      return '';
    case 'channel':
      return ` ${t.output ? 'OUTPUT' : 'INPUT'} ${t.channel}`;
    case 'debug':
      return ' DEBUG';
    case 'buffer':
      return ' BUFFER';
  }
}

/** Where an attribute lives, for messages: `ad9361-phy OUTPUT altvoltage0 frequency`. */
export function describeAttr(device: string, t: AttrTarget, attr: string): string {
  return `${device}${targetWords(t)} ${attr}`;
}

/**
 * One TCP connection to iiod. Commands are serialized (one in flight). When the socket closes without
 * `close()` having been called, every pending and later command rejects with DeviceGoneError and
 * `onGone` runs once.
 */
export class IiodConnection {
  private readonly socket: Socket;
  private readonly reader: SocketReader;
  private tail: Promise<unknown> = Promise.resolve();
  private closing = false;
  private goneError: DeviceGoneError | undefined;
  private readonly goneListeners: ((e: DeviceGoneError) => void)[] = [];
  readonly timeoutMs: number;

  private constructor(
    socket: Socket,
    readonly opts: IiodConnectionOptions,
  ) {
    this.socket = socket;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    socket.setNoDelay(true);
    // A reset arrives as 'error' before 'close': either way the radio is gone (unless we closed it).
    const lost = (why?: string) => {
      if (this.closing || this.goneError) return;
      this.goneError = new DeviceGoneError(opts.deviceId, `iiod at ${opts.host}:${opts.port} closed the connection${why ? ` (${why})` : ''}`);
      this.reader.fail(this.goneError);
      for (const l of this.goneListeners) l(this.goneError);
    };
    socket.on('error', (e: NodeJS.ErrnoException) => lost(e.code ?? e.message));
    socket.on('close', () => lost());
    this.reader = new SocketReader(socket);
  }

  static connect(opts: IiodConnectionOptions): Promise<IiodConnection> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: opts.host, port: opts.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DeviceIoError(`${opts.deviceId}: no answer from iiod at ${opts.host}:${opts.port} within ${timeoutMs} ms; is the Pluto connected and its address right?`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new IiodConnection(socket, opts));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new DeviceIoError(
            `${opts.deviceId}: cannot connect to iiod at ${opts.host}:${opts.port}: ${e.code ?? e.message}` +
              (e.code === 'ECONNREFUSED' ? ' (nothing listens there; is iiod running, is the port 30431?)' : ''),
          ),
        );
      });
    });
  }

  get isGone(): boolean {
    return this.goneError !== undefined;
  }

  onGone(listener: (e: DeviceGoneError) => void): void {
    if (this.goneError) listener(this.goneError);
    else this.goneListeners.push(listener);
  }

  /** Sends EXIT and closes the socket. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.tail.catch(() => undefined);
    if (!this.goneError && !this.socket.destroyed) {
      await new Promise<void>((resolve) => {
        this.socket.end('\r\nEXIT\r\n', () => resolve());
        setTimeout(resolve, 200).unref();
      });
    }
    this.socket.destroy();
    this.reader.fail(new DeviceIoError(`${this.opts.deviceId}: the iiod connection is closed`));
  }

  /** Closes at once without EXIT (used when a command timed out and the stream is out of step). */
  destroy(): void {
    this.closing = true;
    this.socket.destroy();
    this.reader.fail(new DeviceIoError(`${this.opts.deviceId}: the iiod connection is closed`));
  }

  /** Runs `op` when the previous command finished; a reply slower than `timeoutMs` kills the connection. */
  private run<T>(command: string, op: () => Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    const go = async (): Promise<T> => {
      if (this.goneError) throw this.goneError;
      if (this.closing) throw new DeviceIoError(`${this.opts.deviceId}: the iiod connection is closed`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // The reply may still come; the connection can no longer tell which command it belongs to.
          this.destroy();
          reject(new DeviceIoError(`${this.opts.deviceId}: iiod did not answer '${command}' within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([op(), timeout]);
      } catch (e) {
        if (e instanceof SocketClosedError) {
          throw this.goneError ?? new DeviceGoneError(this.opts.deviceId, e.message);
        }
        throw e;
      } finally {
        clearTimeout(timer);
      }
    };
    const p = this.tail.then(go, go);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private send(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  private async readInt(command: string): Promise<number> {
    const line = await this.reader.readLine(1024);
    const t = line.trim();
    if (!/^-?\d+$/.test(t)) {
      this.destroy();
      throw new DeviceIoError(`${this.opts.deviceId}: iiod answered '${line.slice(0, 60)}' to '${command}', expected an integer`);
    }
    return Number(t);
  }

  /** "major.minor.git" of the server's libiio. */
  version(): Promise<{ major: number; minor: number; git: string }> {
    return this.run('VERSION', async () => {
      this.send('VERSION\r\n');
      const line = await this.reader.readLine(256);
      const m = /^(\d+)\.(\d+)\.(\S*)/.exec(line.trim());
      if (!m) throw new DeviceIoError(`${this.opts.deviceId}: iiod VERSION answer '${line.slice(0, 40)}' is not like 0.24.abcdefg`);
      return { major: Number(m[1]), minor: Number(m[2]), git: m[3]! };
    });
  }

  /** The context XML. */
  print(): Promise<string> {
    return this.run('PRINT', async () => {
      this.send('PRINT\r\n');
      const n = await this.readInt('PRINT');
      if (n < 0) throw new IiodCommandError('PRINT', n);
      const xml = await this.reader.readExact(n + 1);
      return Buffer.from(xml.buffer, xml.byteOffset, n).toString('utf8');
    });
  }

  setTimeout(ms: number): Promise<void> {
    const cmd = `TIMEOUT ${Math.round(ms)}`;
    return this.run(cmd, async () => {
      this.send(`${cmd}\r\n`);
      const n = await this.readInt(cmd);
      if (n < 0) throw new IiodCommandError(cmd, n);
    });
  }

  readAttr(device: string, target: AttrTarget, attr: string): Promise<string> {
    const cmd = `READ ${device}${targetWords(target)} ${attr}`;
    return this.run(cmd, async () => {
      this.send(`${cmd}\r\n`);
      const n = await this.readInt(cmd);
      if (n < 0) throw new IiodCommandError(cmd, n, `reading ${describeAttr(device, target, attr)}`);
      const v = await this.reader.readExact(n + 1);
      return Buffer.from(v.buffer, v.byteOffset, n).toString('utf8');
    });
  }

  /** Writes `value` (as text); returns the byte count the server reports. */
  writeAttr(device: string, target: AttrTarget, attr: string, value: string): Promise<number> {
    const bytes = Buffer.from(value, 'utf8');
    const cmd = `WRITE ${device}${targetWords(target)} ${attr} ${bytes.length}`;
    return this.run(cmd, async () => {
      this.send(`${cmd}\r\n`);
      this.send(bytes);
      const n = await this.readInt(cmd);
      if (n < 0) throw new IiodCommandError(cmd, n, `writing '${value}' to ${describeAttr(device, target, attr)}`);
      return n;
    });
  }

  open(device: string, samples: number, mask: string, cyclic = false): Promise<void> {
    const cmd = `OPEN ${device} ${samples} ${mask}${cyclic ? ' CYCLIC' : ''}`;
    return this.run(cmd, async () => {
      this.send(`${cmd}\r\n`);
      const n = await this.readInt(cmd);
      if (n < 0) throw new IiodCommandError(cmd, n, `opening ${device} for streaming`);
    });
  }

  closeDevice(device: string): Promise<void> {
    const cmd = `CLOSE ${device}`;
    return this.run(cmd, async () => {
      this.send(`${cmd}\r\n`);
      const n = await this.readInt(cmd);
      if (n < 0) throw new IiodCommandError(cmd, n, `closing ${device}`);
    });
  }

  /**
   * READBUF: fills `dest` (whose length is the byte count asked for) and returns the bytes received
   * (less than asked only when the server ended early with "0"). `onMask` gets the mask line.
   */
  readBuf(device: string, dest: Uint8Array, timeoutMs = this.timeoutMs, onMask?: (mask: string) => void): Promise<number> {
    const cmd = `READBUF ${device} ${dest.length}`;
    return this.run(
      cmd,
      async () => {
        this.send(`${cmd}\r\n`);
        let got = 0;
        let first = true;
        while (got < dest.length) {
          const n = await this.readInt(cmd);
          if (n < 0) throw new IiodCommandError(cmd, n, `reading samples from ${device}`);
          if (n === 0) break;
          if (n > dest.length - got) {
            this.destroy();
            throw new DeviceIoError(`${this.opts.deviceId}: iiod sent a ${n}-byte chunk for ${dest.length - got} bytes still expected`);
          }
          if (first) {
            const mask = await this.reader.readLine(1024);
            onMask?.(mask);
            first = false;
          }
          await this.reader.readExact(n, dest, got);
          got += n;
        }
        return got;
      },
      timeoutMs,
    );
  }

  /** WRITEBUF: sends `data`; resolves with the byte count the server reports. */
  writeBuf(device: string, data: Uint8Array, timeoutMs = this.timeoutMs): Promise<number> {
    const cmd = `WRITEBUF ${device} ${data.length}`;
    return this.run(
      cmd,
      async () => {
        this.send(`${cmd}\r\n`);
        const ok = await this.readInt(cmd);
        if (ok < 0) throw new IiodCommandError(cmd, ok, `sending samples to ${device}`);
        this.send(data);
        const n = await this.readInt(cmd);
        if (n < 0) throw new IiodCommandError(cmd, n, `sending samples to ${device}`);
        return n;
      },
      timeoutMs,
    );
  }
}
