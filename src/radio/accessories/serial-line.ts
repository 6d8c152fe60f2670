/**
 * Line-oriented serial accessories (GNSS receivers, step attenuators): a serial port (the `serialport`
 * package) read as text lines, with the failure modes of cheap USB-serial gear handled in one place:
 * garbage and overlong lines are counted and skipped, and an unplugged port (or a pseudo-terminal whose
 * other end closed) ends everything with one AccessoryGoneError instead of an exception from a callback.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { DekagError } from '../../util/errors.js';

/** Bad settings for an accessory: out-of-range value, off-step value, malformed template. */
export class AccessoryConfigError extends DekagError {
  constructor(message: string) {
    super(message, 'E_ACCESSORY_CONFIG');
  }
}

/** The accessory did not answer in time. */
export class AccessoryTimeoutError extends DekagError {
  constructor(message: string) {
    super(message, 'E_ACCESSORY_TIMEOUT');
  }
}

/** The accessory answered something the protocol does not allow (or reported an error). */
export class AccessoryProtocolError extends DekagError {
  constructor(message: string) {
    super(message, 'E_ACCESSORY_PROTOCOL');
  }
}

/** The serial port went away: unplugged, or cannot be opened. */
export class AccessoryGoneError extends DekagError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`serial accessory on ${path} is gone: ${reason}`, 'E_ACCESSORY_GONE');
  }
}

/**
 * Splits a byte stream into lines at "\n" (a "\r" before it is dropped). Lines longer than `maxLineBytes`
 * are discarded whole and counted, so a stream of noise cannot grow memory. Bytes are read as latin1 so
 * binary garbage never throws.
 */
export class LineSplitter {
  private partial = '';
  private dropping = false;
  /** Lines discarded for being longer than maxLineBytes. */
  overlong = 0;

  constructor(private readonly maxLineBytes = 512) {}

  /** Feeds bytes; calls `onLine` for each complete line. */
  push(chunk: Uint8Array | string, onLine: (line: string) => void): void {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      const piece = text.slice(from, nl);
      from = nl + 1;
      if (this.dropping || this.partial.length + piece.length > this.maxLineBytes) {
        if (!this.dropping) this.overlong++;
        this.dropping = false;
        this.partial = '';
        continue;
      }
      let line = this.partial + piece;
      this.partial = '';
      if (line.endsWith('\r')) line = line.slice(0, -1);
      onLine(line);
    }
    const rest = text.slice(from);
    if (this.dropping) return;
    if (this.partial.length + rest.length > this.maxLineBytes) {
      this.overlong++;
      this.dropping = true;
      this.partial = '';
    } else this.partial += rest;
  }
}

export interface SerialLineOptions {
  baudRate?: number;
  maxLineBytes?: number;
  /** Treat the device node's disappearance as an unplug (default true for ports opened by path). */
  watchDeviceNode?: boolean;
}

/** How often the device node is checked for (a stat call). */
const DEVICE_NODE_POLL_MS = 250;

/** What SerialLinePort needs of an open port: the `serialport` package's SerialPort has all of it. */
export type OpenSerialPort = Pick<SerialPort, 'on' | 'write' | 'drain' | 'close' | 'isOpen'>;

/**
 * A serial port as lines. Events: 'line' (string), 'gone' (AccessoryGoneError, once, when the port closes,
 * fails or reaches end of file without `close()`). `write` rejects with AccessoryGoneError after that.
 */
export class SerialLinePort extends EventEmitter {
  private readonly splitter: LineSplitter;
  private goneError: AccessoryGoneError | undefined;
  private closing = false;
  private nodeWatch: ReturnType<typeof setInterval> | undefined;

  private constructor(
    readonly path: string,
    private readonly port: OpenSerialPort,
    maxLineBytes: number,
    watchDeviceNode: boolean,
  ) {
    super();
    this.splitter = new LineSplitter(maxLineBytes);
    port.on('data', (d: Buffer) => this.splitter.push(d, (l) => this.emit('line', l)));
    port.on('close', (e?: Error & { disconnected?: boolean }) => {
      if (this.closing) return;
      this.markGone(e?.disconnected ? 'the port was disconnected (unplugged?)' : `the port closed${e ? `: ${e.message}` : ''}`);
    });
    port.on('error', (e: Error) => this.markGone(e.message));
    // A stream that ends (a binding reporting end of file) has lost its device as well.
    port.on('end', () => this.lostDevice('the port reached end of file (unplugged?)'));
    // A tty whose other side went away reads EIO until the kernel has hung it up, and 0 bytes after that.
    // The serialport binding turns EIO into 'close' above but retries 0-byte reads for ever, so on that
    // path, which timing and load decide, the port never reports anything. The device node does go away
    // (udev removes /dev/ttyUSB*; socat removes its pty links), so it is watched too.
    // Only a path that names a file now can vanish: Windows' COM3 is not one, and is never watched.
    if (watchDeviceNode && existsSync(this.path)) {
      this.nodeWatch = setInterval(() => {
        if (!existsSync(this.path)) this.lostDevice(`the device node ${this.path} disappeared (unplugged?)`);
      }, DEVICE_NODE_POLL_MS);
      this.nodeWatch.unref();
    }
  }

  /** Wraps a port that is already open (a SerialPort, or a stand-in that tests drive). */
  static fromOpenPort(path: string, port: OpenSerialPort, opts: Omit<SerialLineOptions, 'baudRate'> = {}): SerialLinePort {
    return new SerialLinePort(path, port, opts.maxLineBytes ?? 512, opts.watchDeviceNode ?? false);
  }

  /** Gone, and the port closed, which also ends the binding's reads on a dead file descriptor. */
  private lostDevice(reason: string): void {
    if (this.closing) return;
    this.markGone(reason);
    if (this.port.isOpen) this.port.close(() => undefined);
  }

  static async open(path: string, opts: SerialLineOptions = {}): Promise<SerialLinePort> {
    const baudRate = opts.baudRate ?? 9600;
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((e) => (e ? reject(new AccessoryGoneError(path, `cannot open it at ${baudRate} baud: ${e.message}`)) : resolve())),
    );
    return SerialLinePort.fromOpenPort(path, port, { ...opts, watchDeviceNode: opts.watchDeviceNode ?? true });
  }

  /** Lines dropped for being too long (noise, wrong baud rate). */
  get overlongLines(): number {
    return this.splitter.overlong;
  }

  get isGone(): boolean {
    return this.goneError !== undefined;
  }

  get gone(): AccessoryGoneError | undefined {
    return this.goneError;
  }

  private markGone(reason: string): void {
    if (this.goneError || this.closing) return;
    clearInterval(this.nodeWatch);
    this.goneError = new AccessoryGoneError(this.path, reason);
    this.emit('gone', this.goneError);
  }

  async write(text: string): Promise<void> {
    if (this.goneError) throw this.goneError;
    if (this.closing) throw new AccessoryGoneError(this.path, 'the port was closed by this program');
    await new Promise<void>((resolve, reject) =>
      this.port.write(text, 'latin1', (e) => {
        if (!e) return resolve();
        this.markGone(e.message);
        reject(this.goneError ?? e);
      }),
    );
    // A port that closes before it drains never calls back: settle on 'gone' too, or the caller hangs.
    if (this.goneError) throw this.goneError;
    await new Promise<void>((resolve, reject) => {
      const onGone = (e: AccessoryGoneError): void => reject(e);
      this.once('gone', onGone);
      this.port.drain((e) => {
        this.off('gone', onGone);
        if (!e) return resolve();
        this.markGone(e.message);
        reject(this.goneError ?? e);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.nodeWatch);
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
