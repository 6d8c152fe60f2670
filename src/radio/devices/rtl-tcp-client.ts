/**
 * An rtl_tcp server (ours, or `rtl_tcp` on a machine with a dongle) as an RX-only radio: `rtl_tcp:HOST:PORT`.
 *
 * rtl_tcp streams from the moment a client connects and has no way to pause, so this client reads the
 * socket all the time: while no RX stream is running the samples are discarded, and a slow consumer loses
 * the oldest blocks beyond `queueBlocks` (counted as overflows; `sampleIndex` shows the gap). The server
 * closing the connection (it died, the dongle was pulled) ends the RX stream with DeviceGoneError.
 *
 * rtl_tcp reports nothing but the tuner type, so the configuration starts as rtl_tcp's defaults would be
 * unknown; `open()` therefore sends the initial frequency and sample rate (options, or 100 MHz / 2.048 Msps),
 * so `config` is what the server was told.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { cu8ToCf32 } from '../iq/format.js';
import {
  RTL_TCP_DEFAULT_PORT,
  RTL_TCP_HEADER_BYTES,
  RTL_TUNER_GAINS_TENTH_DB,
  RTL_TUNER_NAMES,
  RtlTcpCommand,
  decodeHeader,
  encodeCommand,
  type RtlTcpHeader,
} from './rtl-tcp-protocol.js';
import { BlockQueue, RECEIVE_ONLY, rxStreamFrom } from './stream.js';
import { DeviceBase } from './device-base.js';
import {
  DeviceConfigError,
  DeviceGoneError,
  DeviceIoError,
  type DeviceCapabilities,
  type DeviceConfig,
  type DeviceInfo,
  type RxOptions,
  type RxStream,
  type StreamStats,
  type TxStream,
} from './types.js';

export interface RtlTcpClientOptions {
  connectTimeoutMs?: number;
  /** Sent on open (default 100 MHz, 2.048 Msps: what rtl_tcp itself starts with). */
  freqHz?: number;
  sampleRateHz?: number;
}

/** Parses `HOST:PORT` (IPv6 in brackets: `[::1]:1234`); the port defaults to 1234. */
export function parseHostPort(spec: string, defaultPort = RTL_TCP_DEFAULT_PORT): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec) ?? /^([^:]+)(?::(\d+))?$/.exec(spec);
  const port = m?.[2] !== undefined ? Number(m[2]) : defaultPort;
  if (!m || !m[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DeviceConfigError(`'${spec}' is not HOST:PORT (e.g. 127.0.0.1:1234 or [::1]:1234)`);
  }
  return { host: m[1], port };
}

export class RtlTcpClient extends DeviceBase {
  readonly info: DeviceInfo;
  private caps: DeviceCapabilities;
  private socket: Socket | undefined;
  private hdr: RtlTcpHeader | undefined;
  private rx: { queue: BlockQueue; blockSamples: number; buf: Uint8Array; fill: number; index: number; skip: number } | undefined;
  /** IQ bytes received since the header, kept so a new RX stream starts on an I sample, never on a Q. */
  private streamBytes = 0;

  constructor(
    readonly host: string,
    readonly port: number = RTL_TCP_DEFAULT_PORT,
    private readonly opts: RtlTcpClientOptions = {},
  ) {
    super({ freqHz: opts.freqHz ?? 100e6, sampleRateHz: opts.sampleRateHz ?? 2.048e6, gainsDb: {} });
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.info = { id: `rtl_tcp:${address}`, driver: 'rtl_tcp', label: `rtl_tcp server at ${address}`, address };
    this.caps = capabilitiesFor(RTL_TUNER_GAINS_TENTH_DB[5]!);
  }

  get capabilities(): DeviceCapabilities {
    return this.caps;
  }

  /** The server's dongle info (after open). */
  get header(): RtlTcpHeader | undefined {
    return this.hdr;
  }

  protected async openHardware(): Promise<void> {
    const where = `${this.host}:${this.port}`;
    const socket = connect({ host: this.host, port: this.port });
    const timeoutMs = this.opts.connectTimeoutMs ?? 3000;
    socket.setTimeout(timeoutMs);
    const header = await new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      const fail = (why: string) => {
        socket.destroy();
        reject(new DeviceIoError(`cannot open rtl_tcp server at ${where}: ${why}`));
      };
      socket.on('error', (e: NodeJS.ErrnoException) =>
        fail(`${e.code ?? e.message}${e.code === 'ECONNREFUSED' ? ' (is `dekag rtl-tcp serve` or rtl_tcp running there?)' : ''}`),
      );
      socket.on('timeout', () => fail(`no answer within ${timeoutMs} ms`));
      socket.on('close', () => fail('the server closed the connection before sending its 12-byte header (busy with another client?)'));
      const onData = (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length < RTL_TCP_HEADER_BYTES) return;
        socket.off('data', onData);
        socket.removeAllListeners('error').removeAllListeners('timeout').removeAllListeners('close');
        socket.pause();
        resolve(got);
      };
      socket.on('data', onData);
    });
    const h = decodeHeader(header);
    if (!h) {
      socket.destroy();
      throw new DeviceIoError(`${where} is not an rtl_tcp server: expected the magic "RTL0", got ${JSON.stringify(header.subarray(0, 4).toString('latin1'))}`);
    }
    socket.setTimeout(0);
    this.hdr = h;
    const gains = RTL_TUNER_GAINS_TENTH_DB[h.tunerType];
    this.caps = capabilitiesFor(gains ?? []);
    this.info.label = `rtl_tcp server at ${this.info.address} (tuner ${RTL_TUNER_NAMES[h.tunerType] ?? `type ${h.tunerType}`})`;
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.lost(`connection error: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    socket.on('close', () => this.lost('the rtl_tcp server closed the connection'));
    // Samples after the header belong to the stream.
    if (header.length > RTL_TCP_HEADER_BYTES) this.onData(header.subarray(RTL_TCP_HEADER_BYTES));
    socket.resume();
    await this.send(RtlTcpCommand.SetSampleRate, this.cfg.sampleRateHz);
    await this.send(RtlTcpCommand.SetFrequency, this.cfg.freqHz);
  }

  protected async applyConfig(changes: Partial<DeviceConfig>): Promise<void> {
    const next = this.merged(changes);
    if (changes.sampleRateHz !== undefined) await this.send(RtlTcpCommand.SetSampleRate, Math.round(next.sampleRateHz));
    if (changes.freqHz !== undefined) await this.send(RtlTcpCommand.SetFrequency, Math.round(next.freqHz));
    const g = changes.gainsDb?.['tuner'];
    if (g !== undefined) {
      await this.send(RtlTcpCommand.SetGainMode, 1);
      await this.send(RtlTcpCommand.SetGain, Math.round(next.gainsDb['tuner']! * 10));
    }
    this.cfg = next;
  }

  /** Any rtl_tcp command (ppm, AGC, bias tee, ...), for settings the device interface has no field for. */
  async send(cmd: number, param: number): Promise<void> {
    this.requireSocket();
    const s = this.socket!;
    if (!s.write(encodeCommand(cmd, param))) await Promise.race([once(s, 'drain'), once(s, 'close')]);
    if (this.goneError) throw this.goneError;
  }

  startRx(options: RxOptions = {}): RxStream {
    const { blockSamples, queue } = this.rxStart(this.rx !== undefined, options);
    const rx = { queue, blockSamples, buf: new Uint8Array(2 * blockSamples), fill: 0, index: 0, skip: this.streamBytes & 1 };
    this.rx = rx;
    return rxStreamFrom(
      () => queue.next(),
      () => {
        if (this.rx !== rx) return;
        this.counters.overflows += queue.dropped;
        this.rx = undefined;
        queue.end();
      },
      options.signal,
    );
  }

  startTx(): TxStream {
    throw new DeviceConfigError(`${this.info.id}: rtl_tcp is receive-only; use a TX-capable radio (loopback, HackRF, Pluto)`);
  }

  override stats(): StreamStats {
    return { ...this.counters, overflows: this.counters.overflows + (this.rx?.queue.dropped ?? 0) };
  }

  protected async closeHardware(): Promise<void> {
    this.rx?.queue.end();
    this.rx = undefined;
    const s = this.socket;
    this.socket = undefined;
    if (s && !s.destroyed) {
      const closed = once(s, 'close');
      s.destroy();
      await closed;
    }
  }

  /** The connection is up (also while open() sends its first commands). */
  private requireSocket(): void {
    this.throwIfGone();
    if (!this.socket) throw new DeviceConfigError(`${this.info.id} is not open; call open() first`);
  }

  private lost(reason: string): void {
    if (this.isClosing) return; // our own close, not the server going away
    this.markGone(reason);
  }

  protected endStreams(err: DeviceGoneError): void {
    this.rx?.queue.end(err);
  }

  /** Cuts the byte stream into blocks of exactly `blockSamples` (a sample may straddle two TCP chunks). */
  private onData(chunk: Uint8Array): void {
    this.streamBytes += chunk.length;
    const rx = this.rx;
    if (!rx) return; // nobody receives: rtl_tcp cannot pause, so the samples go
    let o = 0;
    if (rx.skip > 0) {
      o = Math.min(rx.skip, chunk.length);
      rx.skip -= o;
    }
    while (o < chunk.length) {
      const take = Math.min(chunk.length - o, rx.buf.length - rx.fill);
      rx.buf.set(chunk.subarray(o, o + take), rx.fill);
      rx.fill += take;
      o += take;
      if (rx.fill === rx.buf.length) {
        const raw = rx.buf;
        rx.buf = new Uint8Array(raw.length);
        rx.fill = 0;
        rx.queue.push({ iq: cu8ToCf32(raw), samples: rx.blockSamples, sampleIndex: rx.index, receivedAtMs: Date.now(), raw });
        rx.index += rx.blockSamples;
        this.counters.samplesRx += rx.blockSamples;
      }
    }
  }
}

function capabilitiesFor(gainsTenthDb: readonly number[]): DeviceCapabilities {
  const lo = gainsTenthDb.length ? Math.min(...gainsTenthDb) / 10 : 0;
  const hi = gainsTenthDb.length ? Math.max(...gainsTenthDb) / 10 : 0;
  return {
    ...RECEIVE_ONLY,
    rxWaitsForConsumer: false,
    // What the protocol can carry (u32 Hz); the server's radio decides what it really accepts.
    freqRangeHz: [1, 0xffffffff],
    sampleRateRangeHz: [1, 0xffffffff],
    // rtl_tcp sets the tuner gain in tenths of a dB; the tuner rounds to its nearest table entry.
    gains: gainsTenthDb.length ? [{ name: 'tuner', minDb: lo, maxDb: hi, stepDb: 0.1, direction: 'rx' }] : [],
    nativeFormat: 'cu8',
  };
}
