/**
 * FAKE iiod server: speaks iiod's text protocol (libiio 0.x) on 127.0.0.1 for a backend that stands in for
 * the hardware (`src/radio/devices/fakes/iiod-pluto.ts` is a fake ADALM-Pluto). It exists so the Pluto driver can be tested
 * without a radio, and so independent libiio clients (`iio_info`, `iio_attr`, `iio_readdev` from Debian's
 * libiio-utils) can check that what we speak is iiod's protocol and not just our own idea of it.
 *
 * Behaviour follows libiio 0.24's iiod (parser.y / ops.c): integer reply lines, -errno on failure, -EINVAL
 * for what it cannot parse, READBUF chunks with the channel mask after the first length line, WRITEBUF
 * acknowledged with 0 before the data and with the byte count after it, EXIT and empty lines. What it
 * does not do: ZPRINT (answers -EINVAL, as an iiod built without zstd does, so clients fall back to PRINT),
 * reading all attributes at once (READ without an attribute name answers -EINVAL), triggers.
 *
 * Run standalone: `node dist/src/radio/devices/iio/fakes/iiod-server.js [--port P] [--chip ad9363|ad9364]`
 * prints `listening 127.0.0.1:P` and serves until killed (the tests kill it to play "iiod died").
 */
import { createServer, type Server, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import {
  contextToXml,
  findChannel,
  formatChannelMask,
  findDevice,
  parseChannelMask,
  sampleSize,
  type IioChannelModel,
  type IioContextModel,
  type IioDeviceModel,
} from '../context.js';
import { SocketReader, type AttrTarget } from '../iiod-client.js';

export const ERRNO = { EPERM: 1, ENOENT: 2, EIO: 5, ENXIO: 6, EBADF: 9, EACCES: 13, EBUSY: 16, ENODEV: 19, EINVAL: 22, ERANGE: 34 } as const;

/** Thrown by a backend to answer -errno. */
export class FakeErrno extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'FakeErrno';
  }
}

/** What the fake server serves: the hardware side of a fake IIO context. */
export interface FakeIioBackend {
  readonly context: IioContextModel;
  readAttr(dev: IioDeviceModel, target: AttrTarget, attr: string): string;
  writeAttr(dev: IioDeviceModel, target: AttrTarget, attr: string, value: string): void;
  /** Samples per second the device's buffer runs at (pacing). */
  sampleRateHz(dev: IioDeviceModel): number;
  /** Fill `dest` (whole samples of `enabled` channels) with the stream's samples from `firstSample` on. */
  fillRx(dev: IioDeviceModel, enabled: IioChannelModel[], firstSample: number, dest: Buffer): void;
  /** Samples pushed to an output device. */
  acceptTx(dev: IioDeviceModel, enabled: IioChannelModel[], data: Buffer): void;
}

export interface FakeIiodServerOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Deliver RX samples no faster than the device's sample rate (default true), like real hardware. */
  pace?: boolean;
  /** libiio version the server claims (default 0.24). */
  version?: string;
}

interface OpenBuffer {
  dev: IioDeviceModel;
  enabled: IioChannelModel[];
  samplesCount: number;
  sampleSize: number;
  cyclic: boolean;
  nextSample: number;
  startedAtMs: number;
  isOutput: boolean;
}

export class FakeIiodServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pace: boolean;
  private readonly versionText: string;
  /** Every command line received, in order (tests read it). */
  readonly commands: string[] = [];
  port = 0;
  readonly host: string;

  constructor(
    readonly backend: FakeIioBackend,
    private readonly opts: FakeIiodServerOptions = {},
  ) {
    this.host = opts.host ?? '127.0.0.1';
    this.pace = opts.pace ?? true;
    this.versionText = `${opts.version ?? '0.24'}.fake000`;
    this.server = createServer((s) => this.serve(s));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, this.host, () => resolve());
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** "iiod died": every connection is cut at once (no EXIT, no reply) and the port stops listening. */
  kill(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  /** Orderly shutdown. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.end();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new SocketReader(socket);
    const buffers = new Map<IioDeviceModel, OpenBuffer>();
    void this.loop(socket, reader, buffers).catch(() => socket.destroy());
  }

  private async loop(socket: Socket, reader: SocketReader, buffers: Map<IioDeviceModel, OpenBuffer>): Promise<void> {
    const out = (s: string | Buffer): boolean => !socket.destroyed && socket.write(s);
    for (;;) {
      let line: string;
      try {
        line = await reader.readLine(4096);
      } catch {
        return; // peer went away or sent garbage without newlines
      }
      if (line.trim() === '') continue;
      this.commands.push(line);
      const words = line.trim().split(/[ \t]+/);
      const cmd = words[0]!.toUpperCase();
      const reply = (n: number) => out(`${n}\n`);
      try {
        switch (cmd) {
          case 'EXIT':
          case 'QUIT':
            socket.end();
            return;
          case 'VERSION':
            out(`${this.versionText}\n`);
            break;
          case 'PRINT': {
            const xml = Buffer.from(contextToXml(this.backend.context), 'utf8');
            out(`${xml.length}\n`);
            out(xml);
            out('\n');
            break;
          }
          case 'TIMEOUT':
            if (words.length !== 2 || !/^\d+$/.test(words[1]!)) throw new FakeErrno(ERRNO.EINVAL, 'TIMEOUT needs milliseconds');
            reply(0);
            break;
          case 'OPEN':
            reply(this.open(words, buffers));
            break;
          case 'CLOSE': {
            const dev = this.device(words[1]);
            if (!buffers.delete(dev)) throw new FakeErrno(ERRNO.ENXIO, 'not open');
            reply(0);
            break;
          }
          case 'READ': {
            const { dev, target, attr } = this.attrAddress(words.slice(1));
            const v = Buffer.from(this.backend.readAttr(dev, target, attr), 'utf8');
            out(`${v.length}\n`);
            out(Buffer.concat([v, Buffer.from('\n')]));
            break;
          }
          case 'WRITE': {
            const nText = words[words.length - 1]!;
            if (words.length < 4 || !/^\d+$/.test(nText)) throw new FakeErrno(ERRNO.EINVAL, 'WRITE needs a byte count');
            const n = Number(nText);
            // libiio clients send the C string's terminating NUL too (sysfs stops reading there).
            const raw = n > 0 ? Buffer.from(await reader.readExact(n)) : Buffer.alloc(0);
            const nul = raw.indexOf(0);
            const value = raw.subarray(0, nul < 0 ? raw.length : nul).toString('utf8');
            const { dev, target, attr } = this.attrAddress(words.slice(1, -1));
            this.backend.writeAttr(dev, target, attr, value);
            reply(n);
            break;
          }
          case 'READBUF':
            await this.readBuf(words, buffers, out);
            break;
          case 'WRITEBUF':
            await this.writeBuf(words, buffers, reader, out);
            break;
          case 'GETTRIG':
            this.device(words[1]);
            reply(0); // no trigger assigned
            break;
          case 'SETTRIG':
            this.device(words[1]);
            throw new FakeErrno(ERRNO.ENOENT, 'no triggers in this fake');
          case 'SET':
            this.device(words[1]);
            if (words[2]?.toUpperCase() !== 'BUFFERS_COUNT' || !/^\d+$/.test(words[3] ?? '')) throw new FakeErrno(ERRNO.EINVAL, 'SET dev BUFFERS_COUNT n');
            reply(0);
            break;
          default:
            throw new FakeErrno(ERRNO.EINVAL, `unknown command ${cmd}`);
        }
      } catch (e) {
        if (e instanceof FakeErrno) reply(-e.errno);
        else throw e;
      }
    }
  }

  private device(word: string | undefined): IioDeviceModel {
    const dev = word === undefined ? undefined : findDevice(this.backend.context, word);
    if (!dev) throw new FakeErrno(ERRNO.ENODEV, `no device ${word}`);
    return dev;
  }

  /** `dev [INPUT|OUTPUT chn | DEBUG | BUFFER] attr` as the lexer reads it. */
  private attrAddress(w: string[]): { dev: IioDeviceModel; target: AttrTarget; attr: string } {
    const dev = this.device(w[0]);
    const kw = w[1]?.toUpperCase();
    let target: AttrTarget;
    let rest: string[];
    if (kw === 'INPUT' || kw === 'OUTPUT') {
      const chn = w[2] === undefined ? undefined : findChannel(dev, w[2], kw === 'OUTPUT');
      if (!chn) throw new FakeErrno(ERRNO.ENXIO, `no channel ${w[2]}`);
      target = { kind: 'channel', channel: chn.id, output: chn.output };
      rest = w.slice(3);
    } else if (kw === 'DEBUG') {
      target = { kind: 'debug' };
      rest = w.slice(2);
    } else if (kw === 'BUFFER') {
      target = { kind: 'buffer' };
      rest = w.slice(2);
    } else {
      target = { kind: 'device' };
      rest = w.slice(1);
    }
    // Without an attribute name iiod reads or writes all of them in a binary format; this fake does not.
    if (rest.length !== 1) throw new FakeErrno(ERRNO.EINVAL, 'one attribute name expected');
    return { dev, target, attr: rest[0]! };
  }

  private open(w: string[], buffers: Map<IioDeviceModel, OpenBuffer>): number {
    const dev = this.device(w[1]);
    if (w.length < 4 || w.length > 5 || !/^\d+$/.test(w[2]!)) throw new FakeErrno(ERRNO.EINVAL, 'OPEN dev samples mask [CYCLIC]');
    const cyclic = w.length === 5;
    if (cyclic && w[4]!.toUpperCase() !== 'CYCLIC') throw new FakeErrno(ERRNO.EINVAL, 'expected CYCLIC');
    const enabled = parseChannelMask(dev, w[3]!);
    if (!enabled) throw new FakeErrno(ERRNO.EINVAL, 'mask has the wrong number of words');
    const scan = enabled.filter((c) => c.scan);
    const samplesCount = Number(w[2]);
    if (scan.length === 0 || samplesCount === 0) throw new FakeErrno(ERRNO.EINVAL, 'no channels enabled or zero samples');
    if (buffers.has(dev)) throw new FakeErrno(ERRNO.EBUSY, 'already open on this connection');
    const isOutput = scan[0]!.output;
    buffers.set(dev, {
      dev,
      enabled: scan,
      samplesCount,
      sampleSize: sampleSize(dev, scan),
      cyclic,
      nextSample: 0,
      startedAtMs: Date.now(),
      isOutput,
    });
    return 0;
  }

  private async readBuf(w: string[], buffers: Map<IioDeviceModel, OpenBuffer>, out: (s: string | Buffer) => boolean): Promise<void> {
    const dev = this.device(w[1]);
    if (w.length !== 3 || !/^\d+$/.test(w[2]!)) throw new FakeErrno(ERRNO.EINVAL, 'READBUF dev nbytes');
    const buf = buffers.get(dev);
    if (!buf) throw new FakeErrno(ERRNO.EBADF, 'not open');
    if (buf.isOutput) throw new FakeErrno(ERRNO.EBADF, 'output device');
    let remaining = Number(w[2]);
    if (remaining < buf.sampleSize) {
      out('0\n');
      return;
    }
    const bufferBytes = buf.samplesCount * buf.sampleSize;
    const block = Buffer.alloc(bufferBytes);
    let first = true;
    while (remaining >= buf.sampleSize) {
      // A refill: one whole hardware buffer, of which the client gets what it asked for (rest is lost, as in iiod).
      await this.waitForSamples(buf);
      this.backend.fillRx(dev, buf.enabled, buf.nextSample, block);
      buf.nextSample += buf.samplesCount;
      const len = Math.min(bufferBytes, remaining);
      out(`${len}\n`);
      if (first) {
        out(`${formatChannelMask(dev, buf.enabled)}\n`);
        first = false;
      }
      if (!out(Buffer.from(block.subarray(0, len)))) await new Promise<void>((r) => setImmediate(r));
      remaining -= len;
    }
    if (remaining > 0) out('0\n');
  }

  private async waitForSamples(buf: OpenBuffer): Promise<void> {
    if (!this.pace) return;
    const rate = this.backend.sampleRateHz(buf.dev);
    const dueMs = buf.startedAtMs + ((buf.nextSample + buf.samplesCount) / rate) * 1000;
    const wait = dueMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  private async writeBuf(
    w: string[],
    buffers: Map<IioDeviceModel, OpenBuffer>,
    reader: SocketReader,
    out: (s: string | Buffer) => boolean,
  ): Promise<void> {
    const dev = this.device(w[1]);
    if (w.length !== 3 || !/^\d+$/.test(w[2]!)) throw new FakeErrno(ERRNO.EINVAL, 'WRITEBUF dev nbytes');
    const buf = buffers.get(dev);
    if (!buf) throw new FakeErrno(ERRNO.EBADF, 'not open');
    if (!buf.isOutput) throw new FakeErrno(ERRNO.EBADF, 'input device');
    const n = Number(w[2]);
    if (n < buf.sampleSize) {
      out('0\n');
      return;
    }
    out('0\n');
    const data = Buffer.from(await reader.readExact(n));
    const whole = n - (n % buf.sampleSize);
    this.backend.acceptTx(dev, buf.enabled, data.subarray(0, whole));
    out(`${whole}\n`);
  }
}

// --- standalone ------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const { FakePluto } = await import('../../fakes/iiod-pluto.js');
  let port = 0;
  let chip: 'ad9363' | 'ad9364' = 'ad9363';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') port = Number(argv[++i]);
    else if (argv[i] === '--chip') chip = argv[++i] === 'ad9364' ? 'ad9364' : 'ad9363';
  }
  const server = new FakeIiodServer(new FakePluto({ chip }), { port });
  const p = await server.start();
  process.stdout.write(`listening ${server.host}:${p}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`fake iiod: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
