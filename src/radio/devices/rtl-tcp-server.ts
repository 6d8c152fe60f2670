/**
 * An rtl_tcp server in front of any RX radio (loopback, a recording, a HackRF...), so GQRX, SDR++ and
 * GNU Radio's osmosdr source can receive from it as from `rtl_tcp` on a real dongle.
 *
 * - Binds 127.0.0.1 by default: an IQ stream is not something to offer the network by accident.
 * - One client at a time, like rtl_tcp: a second connection is refused (closed) while one is served.
 * - The device streams only while a client is connected; its commands are applied to the device
 *   (frequency, sample rate, tuner gain in dB or by index onto the device's first RX gain stage, clamped to
 *   its range; "automatic gain" restores the gain the device had before). Commands the device has no use
 *   for (ppm, AGC, test mode, direct sampling, bias tee, ...) are remembered in `state` and reported.
 * - The sample rate a client asks for is clamped to what an RTL2832U can deliver over rtl_tcp
 *   (225 001 .. 3 200 000 samples/s) and to the device's own range: a client cannot make a simulated radio
 *   generate 100 Msps. When the client leaves, the device gets back the frequency, rate and gains it had
 *   when serving started, so one client's settings do not carry over to the next.
 * - The server reads the device only as fast as the client reads the socket. While more than
 *   `maxBufferedBytes` wait in the socket it stops taking blocks: a radio that cannot wait drops its oldest
 *   blocks in its bounded queue, as the dongle's own FIFO would, and the loopback stops making blocks nobody
 *   will read (so an idle client costs no CPU). With `backpressure: 'drop'` (default) the block in hand is
 *   dropped too, and `stats.blocksDropped` counts both; with 'wait' it is sent once the client catches up
 *   (lossless replay of a recording, which simply waits).
 * - The source gone (unplug): the client's connection is closed and the server emits 'source-gone'
 *   (DeviceGoneError) and stops listening.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { cf32ToCu8, ci8ToCu8 } from '../iq/format.js';
import {
  CommandParser,
  RTL_TCP_COMMAND_NAMES,
  RTL_TCP_DEFAULT_PORT,
  RTL_TUNER_GAINS_TENTH_DB,
  RtlTcpCommand,
  RtlTuner,
  encodeHeader,
} from './rtl-tcp-protocol.js';
import { DEFAULT_BLOCK_SAMPLES } from './stream.js';
import { DeviceConfigError, DeviceGoneError, type DeviceConfig, type IqBlock, type SdrDevice } from './types.js';

export interface RtlTcpServerOptions {
  /** An opened RX-capable device; the server configures and streams it, and does not close it. */
  device: SdrDevice;
  host?: string;
  /** 0 picks a free port. Default 1234. */
  port?: number;
  blockSamples?: number;
  /** The device's RX queue (blocks) while a client is served (default 16). */
  queueBlocks?: number;
  /** Bytes allowed to wait in the socket for a slow client before blocks are dropped (default 4 MiB). */
  maxBufferedBytes?: number;
  backpressure?: 'drop' | 'wait';
  /** Tuner announced in the header (default R820T, whose gain table clients know). */
  tunerType?: number;
}

export interface RtlTcpServerStats {
  clients: number;
  refusedClients: number;
  bytesSent: number;
  blocksSent: number;
  blocksDropped: number;
  commands: number;
  commandErrors: number;
  /** Most bytes ever waiting in a client's socket (bounded by maxBufferedBytes plus one block). */
  maxQueuedBytes: number;
}

export interface RtlTcpCommandEvent {
  cmd: number;
  name: string;
  param: number;
  /** What was applied to the device, if anything. */
  applied?: Record<string, unknown>;
  /** Why what was applied differs from what was asked (a rate clamped to the served range). */
  note?: string;
  error?: string;
}

/** The sample rates an RTL2832U delivers through rtl_tcp (librtlsdr refuses anything outside). */
export const RTL_TCP_RATE_RANGE_HZ: readonly [number, number] = [225_001, 3_200_000];

/**
 * The rate a client's SetSampleRate gets on `caps`: inside the RTL2832U's range and the device's; a device
 * whose range lies wholly outside the RTL's (a recording at 10 Msps) keeps its own range.
 */
export function servedSampleRate(requestedHz: number, caps: { sampleRateRangeHz: [number, number] }): number {
  const [devLo, devHi] = caps.sampleRateRangeHz;
  let lo = Math.max(devLo, RTL_TCP_RATE_RANGE_HZ[0]);
  let hi = Math.min(devHi, RTL_TCP_RATE_RANGE_HZ[1]);
  if (lo > hi) [lo, hi] = [devLo, devHi];
  return Math.min(hi, Math.max(lo, requestedHz));
}

/** Settings the client asked for that have no device counterpart, by command name. */
export type RtlTcpServerState = Record<string, number>;

export class RtlTcpServer extends EventEmitter {
  readonly host: string;
  readonly device: SdrDevice;
  private readonly st: RtlTcpServerStats = { clients: 0, refusedClients: 0, bytesSent: 0, blocksSent: 0, blocksDropped: 0, commands: 0, commandErrors: 0, maxQueuedBytes: 0 };
  /** The device's overflow count when the current client's stream started (its queue's drops are ours too). */
  private overflowBase: number | undefined;
  readonly state: RtlTcpServerState = {};
  private readonly server: Server;
  private readonly opts: Required<Omit<RtlTcpServerOptions, 'device' | 'host' | 'port'>>;
  private active: { socket: Socket; done: Promise<void> } | undefined;
  private boundPort = 0;
  private closed = false;
  private readonly initialGains: Record<string, number>;
  private readonly initialConfig: Partial<DeviceConfig>;

  private constructor(opts: RtlTcpServerOptions) {
    super();
    this.device = opts.device;
    this.host = opts.host ?? '127.0.0.1';
    this.opts = {
      blockSamples: opts.blockSamples ?? DEFAULT_BLOCK_SAMPLES,
      queueBlocks: opts.queueBlocks ?? 16,
      maxBufferedBytes: opts.maxBufferedBytes ?? 4 << 20,
      backpressure: opts.backpressure ?? 'drop',
      tunerType: opts.tunerType ?? RtlTuner.R820T,
    };
    this.initialGains = { ...opts.device.config.gainsDb };
    const c = opts.device.config;
    this.initialConfig = { freqHz: c.freqHz, sampleRateHz: c.sampleRateHz, gainsDb: { ...c.gainsDb } };
    this.server = createServer((s) => this.accept(s));
  }

  /** Starts listening; resolves once bound. */
  static async listen(opts: RtlTcpServerOptions): Promise<RtlTcpServer> {
    if (!opts.device.isOpen) throw new DeviceConfigError(`${opts.device.info.id} is not open; open it before serving it`);
    if (!opts.device.capabilities.rx) throw new DeviceConfigError(`${opts.device.info.id} cannot receive, so there is nothing to serve`);
    const s = new RtlTcpServer(opts);
    s.server.listen(opts.port ?? RTL_TCP_DEFAULT_PORT, s.host);
    await Promise.race([once(s.server, 'listening'), once(s.server, 'error').then(([e]) => Promise.reject(e))]).catch((e: NodeJS.ErrnoException) => {
      throw new DeviceConfigError(`cannot listen on ${s.host}:${opts.port ?? RTL_TCP_DEFAULT_PORT}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? '; choose another --port' : ''}`);
    });
    const a = s.server.address();
    s.boundPort = typeof a === 'object' && a ? a.port : 0;
    s.server.on('error', (e) => s.emit('error', e));
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Counters so far; blocksDropped includes the blocks the device's queue dropped while the server waited. */
  get stats(): RtlTcpServerStats {
    const s = { ...this.st };
    if (this.overflowBase !== undefined) s.blocksDropped += Math.max(0, this.deviceOverflows() - this.overflowBase);
    return s;
  }

  private deviceOverflows(): number {
    try {
      return this.device.stats().overflows;
    } catch {
      return 0;
    }
  }

  /** Stops listening and drops the client; leaves the device open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.active?.socket.destroy();
    await this.active?.done;
    await closing;
  }

  private accept(socket: Socket): void {
    if (this.active || this.closed) {
      this.st.refusedClients++;
      this.emit('refused', `${socket.remoteAddress}:${socket.remotePort}`);
      socket.destroy();
      return;
    }
    this.st.clients++;
    socket.setNoDelay(true);
    const session = { socket, done: Promise.resolve() };
    this.active = session;
    session.done = this.serve(socket).finally(() => {
      if (this.active === session) this.active = undefined;
    });
  }

  private async serve(socket: Socket): Promise<void> {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.emit('client', peer);
    const gains = RTL_TUNER_GAINS_TENTH_DB[this.opts.tunerType] ?? [];
    socket.write(encodeHeader({ tunerType: this.opts.tunerType, gainCount: gains.length }));
    const rx = this.device.startRx({ blockSamples: this.opts.blockSamples, queueBlocks: this.opts.queueBlocks });
    this.overflowBase = this.deviceOverflows();
    const parser = new CommandParser();
    let commands = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      for (const c of parser.push(chunk)) commands = commands.then(() => this.apply(c.cmd, c.param));
    });
    const onGone = () => void rx.stop();
    socket.on('close', onGone);
    socket.on('error', () => undefined); // a reset by the client is a normal end of session
    try {
      for await (const block of rx) {
        if (socket.destroyed) break;
        if (socket.writableLength > this.opts.maxBufferedBytes) {
          // The client is not reading: stop taking blocks until it has (the device's bounded queue, or the
          // loopback's pacing, deals with what arrives meanwhile). Not events.once: it rejects on the
          // socket's 'error', and a client reset is a normal end here.
          const drop = this.opts.backpressure === 'drop';
          if (drop) this.st.blocksDropped++;
          await this.waitForRoom(socket);
          if (socket.destroyed) break;
          if (drop) continue;
        }
        const bytes = this.toCu8(block);
        socket.write(bytes);
        if (socket.writableLength > this.st.maxQueuedBytes) this.st.maxQueuedBytes = socket.writableLength;
        this.st.bytesSent += bytes.length;
        this.st.blocksSent++;
      }
      // The source ended (a recording without loop): finish the stream like a dongle that stops.
      if (!socket.destroyed) socket.end();
    } catch (e) {
      socket.destroy();
      if (e instanceof DeviceGoneError) {
        this.emit('source-gone', e);
        void this.close();
      } else if (!socket.destroyed || !isSocketError(e)) {
        // 'error' without a listener would throw out of a background task: report only to listeners.
        if (this.listenerCount('error') > 0) this.emit('error', e);
      }
    } finally {
      await rx.stop();
      await commands;
      // What the device's queue dropped for this client becomes a plain count.
      if (this.overflowBase !== undefined) this.st.blocksDropped += Math.max(0, this.deviceOverflows() - this.overflowBase);
      this.overflowBase = undefined;
      await this.restoreConfig();
      this.emit('client-gone', peer);
    }
  }

  /** Back to the configuration the device had when serving started (the next client starts from it). */
  private async restoreConfig(): Promise<void> {
    if (!this.device.isOpen) return;
    const now = this.device.config;
    const want = this.initialConfig;
    const changes: Partial<DeviceConfig> = {};
    if (want.freqHz !== now.freqHz) changes.freqHz = want.freqHz!;
    if (want.sampleRateHz !== now.sampleRateHz) changes.sampleRateHz = want.sampleRateHz!;
    const gains = Object.entries(want.gainsDb ?? {}).filter(([k, v]) => now.gainsDb[k] !== v);
    if (gains.length > 0) changes.gainsDb = Object.fromEntries(gains);
    if (Object.keys(changes).length === 0) return;
    try {
      await this.device.configure(changes);
    } catch (e) {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    }
  }

  /** Resolves once the socket holds at most maxBufferedBytes, or is closed. */
  private async waitForRoom(socket: Socket): Promise<void> {
    while (!socket.destroyed && socket.writableLength > this.opts.maxBufferedBytes) {
      if (socket.writableNeedDrain) {
        // Not events.once: it rejects on the socket's 'error', and a client reset is a normal end here.
        await new Promise<void>((resolve) => {
          const done = () => {
            socket.off('drain', done);
            socket.off('close', done);
            resolve();
          };
          socket.on('drain', done);
          socket.on('close', done);
        });
      } else {
        // Below the stream's own high-water mark no 'drain' will come: look again shortly.
        await sleep(5);
      }
    }
  }

  private toCu8(block: IqBlock): Uint8Array {
    const native = this.device.capabilities.nativeFormat;
    // The device's own bytes when it has them: what the client receives is exactly what the radio gave.
    if (block.raw && native === 'cu8') return block.raw;
    if (block.raw && native === 'ci8') return ci8ToCu8(new Int8Array(block.raw.buffer, block.raw.byteOffset, block.raw.length));
    return cf32ToCu8(block.iq);
  }

  private async apply(cmd: number, param: number): Promise<void> {
    this.st.commands++;
    const name = RTL_TCP_COMMAND_NAMES[cmd] ?? `unknown(0x${cmd.toString(16)})`;
    const ev: RtlTcpCommandEvent = { cmd, name, param };
    const stage = this.device.capabilities.gains.find((g) => g.direction === 'rx');
    const setGainDb = async (db: number): Promise<void> => {
      if (!stage) {
        ev.applied = {};
        return;
      }
      const v = Math.min(stage.maxDb, Math.max(stage.minDb, db));
      await this.device.configure({ gainsDb: { [stage.name]: v } });
      ev.applied = { [`gain:${stage.name}`]: this.device.config.gainsDb[stage.name] };
    };
    try {
      switch (cmd) {
        case RtlTcpCommand.SetFrequency:
          ev.applied = { freqHz: (await this.device.configure({ freqHz: param })).freqHz };
          break;
        case RtlTcpCommand.SetSampleRate: {
          const rate = servedSampleRate(param, this.device.capabilities);
          if (rate !== param) ev.note = `clamped to ${rate} samples/s (served range ${RTL_TCP_RATE_RANGE_HZ[0]}..${RTL_TCP_RATE_RANGE_HZ[1]} within the device's)`;
          ev.applied = { sampleRateHz: (await this.device.configure({ sampleRateHz: rate })).sampleRateHz };
          break;
        }
        case RtlTcpCommand.SetGainMode:
          this.state[name] = param;
          if (param === 0 && stage) {
            // automatic gain: back to what the device had when serving started
            await this.device.configure({ gainsDb: { [stage.name]: this.initialGains[stage.name] ?? stage.minDb } });
            ev.applied = { [`gain:${stage.name}`]: this.device.config.gainsDb[stage.name] };
          }
          break;
        case RtlTcpCommand.SetGain:
          await setGainDb((param | 0) / 10);
          break;
        case RtlTcpCommand.SetGainByIndex: {
          const table = RTL_TUNER_GAINS_TENTH_DB[this.opts.tunerType] ?? [];
          const g = table[Math.min(param, table.length - 1)];
          if (g === undefined) throw new DeviceConfigError(`gain index ${param}: the announced tuner has no gain table`);
          await setGainDb(g / 10);
          break;
        }
        default:
          // Settings a simulated or non-RTL radio has no use for are kept so a user can see what was asked.
          this.state[name] = cmd === RtlTcpCommand.SetFreqCorrection ? param | 0 : param;
      }
    } catch (e) {
      this.st.commandErrors++;
      ev.error = (e as Error).message;
    }
    this.emit('command', ev);
  }
}

function isSocketError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}
