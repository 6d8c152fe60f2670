/**
 * ADALM-Pluto over the network: the iiod text protocol on TCP 30431 (the Pluto's USB Ethernet gadget is
 * 192.168.2.1 by default). Full duplex: RX and TX each stream on their own connection while a third
 * carries configuration, as libiio itself does.
 *
 * What the driver relies on, and where it comes from:
 *  - Names: the devices `ad9361-phy` (configuration), `cf-ad9361-lpc` (RX DMA) and
 *    `cf-ad9361-dds-core-lpc` (TX DMA) and their channels are looked up in the context XML from PRINT by
 *    name, so firmware that numbers them differently still works.
 *  - Configuration is ad9361-phy attributes: `altvoltage0` (RX_LO) and `altvoltage1` (TX_LO) `frequency`
 *    (`freqHz` sets both; `txFreqHz` tunes TX apart until it is cleared or meets RX again);
 *    `voltage0` `sampling_frequency` (one rate for RX and TX), `rf_bandwidth` (input and output),
 *    `hardwaregain` (input: RX gain, needs `gain_control_mode` = manual; output: TX attenuation as a
 *    negative gain). Ranges come from the radio's `*_available` attributes, not from a table here, so an
 *    AD9363 Pluto (325 MHz..3.8 GHz) and one switched to AD9364 mode (70 MHz..6 GHz) both report right.
 *  - RX samples are `le:S12/16>>0` (12-bit, sign-extended in 16-bit words), I on voltage0 and Q on
 *    voltage1; full scale ±2048 maps to ±1.0. The raw bytes are kept in `IqBlock.raw` (SigMF `ci16_le`).
 *  - TX samples are `le:S16/16>>0`; the AD9361's 12-bit DAC takes the upper 12 bits, so ±1.0 maps to
 *    ±32767 and the lowest 4 bits are dropped by the hardware.
 * iiod 0.x does not report RX overruns or TX underruns over the network, so `stats().overflows` counts
 * only blocks this host dropped for a slow consumer, and `underflows` stays 0.
 */
import {
  findChannel,
  findDevice,
  formatChannelMask,
  parseContextXml,
  type IioChannelModel,
  type IioContextModel,
  type IioDeviceModel,
} from './iio/context.js';
import { IiodCommandError, IiodConnection, describeAttr, type AttrTarget } from './iio/iiod-client.js';
import { registerRadio } from './registry.js';
import { BlockQueue, DEFAULT_BLOCK_SAMPLES, DEFAULT_QUEUE_BLOCKS, rxStreamFrom } from './stream.js';
import { DeviceBase } from './device-base.js';
import {
  DeviceConfigError,
  DeviceGoneError,
  DeviceIoError,
  type DeviceCapabilities,
  type DeviceConfig,
  type DeviceInfo,
  type IqBlock,
  type RxOptions,
  type RxStream,
  type TxStream,
} from './types.js';

export const PLUTO_DEFAULT_HOST = '192.168.2.1';
export const IIOD_PORT = 30431;

/** Gain stage names this driver exposes (`capabilities.gains`). */
export const PLUTO_RX_GAIN = 'hardwaregain';
export const PLUTO_TX_GAIN = 'tx_hardwaregain';

export type PlutoGainControlMode = 'manual' | 'fast_attack' | 'slow_attack' | 'hybrid';

export interface PlutoOptions {
  host?: string;
  port?: number;
  /** Connect and reply timeout, ms (default 5000). */
  timeoutMs?: number;
  /** Complex samples per TX buffer (default 16384). */
  txBlockSamples?: number;
}

/** `pluto:HOST[:PORT]`, `ip:HOST[:PORT]` or `HOST[:PORT]` → host and port. */
export function parsePlutoAddress(address: string): { host: string; port: number } {
  const rest = address.replace(/^(pluto|ip):/, '');
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(rest);
  if (!m || rest === '') throw new DeviceConfigError(`Pluto address '${address}' is not like pluto:192.168.2.1 or pluto:127.0.0.1:30431`);
  const port = m[2] === undefined ? IIOD_PORT : Number(m[2]);
  if (port < 1 || port > 65535) throw new DeviceConfigError(`Pluto address '${address}': port must be 1..65535`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** `[min step max]` as the ad9361 driver prints ranges. */
export function parseIioRange(text: string, what: string): { min: number; step: number; max: number } {
  const m = /^\s*\[\s*(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*\]\s*$/.exec(text);
  if (!m) throw new DeviceIoError(`${what} is '${text}', expected a range like [325000000 1 3800000000]`);
  return { min: Number(m[1]), step: Number(m[2]), max: Number(m[3]) };
}

/** "71.000000 dB" → 71. */
export function parseDb(text: string, what: string): number {
  const x = Number(text.trim().replace(/\s*dB$/i, ''));
  if (!Number.isFinite(x)) throw new DeviceIoError(`${what} is '${text}', expected a number of dB`);
  return x;
}

function parseHz(text: string, what: string): number {
  const x = Number(text.trim());
  if (!Number.isFinite(x)) throw new DeviceIoError(`${what} is '${text}', expected a number of Hz`);
  return x;
}

interface Attr {
  dev: IioDeviceModel;
  target: AttrTarget;
  name: string;
}

interface PlutoLayout {
  phy: IioDeviceModel;
  rxDev: IioDeviceModel;
  txDev: IioDeviceModel;
  rxIq: [IioChannelModel, IioChannelModel];
  txIq: [IioChannelModel, IioChannelModel];
  rxLo: Attr;
  txLo: Attr;
  rate: Attr;
  rxBw: Attr;
  txBw: Attr;
  rxGain: Attr;
  txGain: Attr;
  gainMode: Attr;
}

/**
 * Converts one READBUF of `le:S<bits>/16>>shift` I/Q words into cf32. Allocation-free: writes into `out`.
 * `words` holds [I, Q] pairs (two enabled channels, 16-bit storage each).
 */
export function convertS16Words(words: Int16Array, bits: number, shift: number, out: Float32Array): void {
  const n = words.length;
  const up = 32 - bits;
  const scale = 1 / (1 << (bits - 1));
  if (shift === 0 && bits === 16) {
    for (let k = 0; k < n; k++) out[k] = words[k]! * scale;
    return;
  }
  for (let k = 0; k < n; k++) out[k] = (((words[k]! >> shift) << up) >> up) * scale;
}

/** cf32 → `le:S16/16>>0` words, clipped to ±1. Allocation-free. */
export function floatsToS16(iq: Float32Array, from: number, count: number, out: Int16Array, at: number): void {
  for (let k = 0; k < count; k++) {
    let x = iq[from + k]!;
    x = x > 1 ? 1 : x < -1 ? -1 : x !== x ? 0 : x;
    out[at + k] = Math.round(x * 32767);
  }
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class PlutoDevice extends DeviceBase {
  readonly host: string;
  readonly port: number;
  private readonly timeoutMs: number;
  private readonly txBlockSamples: number;
  private infoValue: DeviceInfo;
  private caps: DeviceCapabilities | undefined;
  private control: IiodConnection | undefined;
  private layout: PlutoLayout | undefined;
  private ctx: IioContextModel | undefined;
  private bandwidthExplicit = false;
  /** TX was tuned apart by configure({ txFreqHz }); until then, and once the LOs meet, `freqHz` moves both. */
  private txApart = false;
  private rx: { stop: () => Promise<void>; queue: BlockQueue } | undefined;
  private tx: { abort: (e: Error) => void; end: () => Promise<void> } | undefined;

  constructor(opts: PlutoOptions = {}) {
    super({ freqHz: 0, sampleRateHz: 0, gainsDb: {} });
    this.host = opts.host ?? PLUTO_DEFAULT_HOST;
    this.port = opts.port ?? IIOD_PORT;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.txBlockSamples = opts.txBlockSamples ?? DEFAULT_BLOCK_SAMPLES;
    if (!Number.isInteger(this.txBlockSamples) || this.txBlockSamples < 1) {
      throw new DeviceConfigError(`txBlockSamples must be an integer >= 1, got ${opts.txBlockSamples}`);
    }
    const address = `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
    this.infoValue = { id: `pluto:${address}`, driver: 'pluto', label: `ADALM-Pluto at ${address}`, address };
  }

  get info(): DeviceInfo {
    return this.infoValue;
  }

  get capabilities(): DeviceCapabilities {
    if (!this.caps) throw new DeviceConfigError(`${this.infoValue.id}: capabilities are read from the radio; call open() first`);
    return this.caps;
  }

  /** The IIO context the radio described (devices, channels, attribute names). */
  get context(): IioContextModel | undefined {
    return this.ctx;
  }

  protected async openHardware(): Promise<void> {
    const id = this.infoValue.id;
    const conn = await IiodConnection.connect({ host: this.host, port: this.port, deviceId: id, timeoutMs: this.timeoutMs });
    try {
      await conn.version();
      const ctx = parseContextXml(await conn.print());
      await conn.setTimeout(this.timeoutMs);
      this.layout = this.findLayout(ctx);
      this.ctx = ctx;
      this.control = conn;
      conn.onGone((e) => this.markGone(e));
      this.caps = await this.readCapabilities();
      await this.readBack();
    } catch (e) {
      this.control = undefined;
      await conn.close();
      throw e;
    }
    const attr = (k: string) => this.ctx?.attrs.find((a) => a.name === k)?.value;
    const model = attr('hw_model');
    const serial = attr('hw_serial');
    this.infoValue = { ...this.infoValue, label: `${model ?? 'ADALM-Pluto'} at ${this.infoValue.address}` };
    if (serial) this.infoValue.serial = serial;
  }

  private findLayout(ctx: IioContextModel): PlutoLayout {
    const id = this.infoValue.id;
    const dev = (name: string): IioDeviceModel => {
      const d = findDevice(ctx, name);
      if (!d) {
        const names = ctx.devices.map((x) => x.name ?? x.id).join(', ');
        throw new DeviceIoError(`${id}: the IIO context has no '${name}' device (it has ${names || 'none'}); is this an ADALM-Pluto / AD936x?`);
      }
      return d;
    };
    const chan = (d: IioDeviceModel, names: string[], output: boolean): IioChannelModel => {
      for (const n of names) {
        const c = findChannel(d, n, output);
        if (c) return c;
      }
      throw new DeviceIoError(`${id}: ${d.name ?? d.id} has no ${output ? 'output' : 'input'} channel ${names.join(' / ')}`);
    };
    const phy = dev('ad9361-phy');
    const rxDev = dev('cf-ad9361-lpc');
    const txDev = dev('cf-ad9361-dds-core-lpc');
    const rxIq: [IioChannelModel, IioChannelModel] = [chan(rxDev, ['voltage0'], false), chan(rxDev, ['voltage1'], false)];
    const txIq: [IioChannelModel, IioChannelModel] = [chan(txDev, ['voltage0'], true), chan(txDev, ['voltage1'], true)];
    for (const c of [...rxIq, ...txIq]) {
      if (!c.scan || c.scan.format.storageBits !== 16 || c.scan.format.repeat !== 1 || c.scan.format.bigEndian || !HOST_LE) {
        throw new DeviceIoError(`${id}: channel ${c.id} of the DMA device is not a 16-bit little-endian scan element; this driver reads only those`);
      }
    }
    const rxLo = chan(phy, ['RX_LO', 'altvoltage0'], true);
    const txLo = chan(phy, ['TX_LO', 'altvoltage1'], true);
    const rxV = chan(phy, ['voltage0'], false);
    const txV = chan(phy, ['voltage0'], true);
    const at = (d: IioDeviceModel, c: IioChannelModel, name: string): Attr => {
      if (!c.attrs.some((a) => a.name === name)) throw new DeviceIoError(`${id}: ${d.name} ${c.id} has no attribute '${name}'`);
      return { dev: d, target: { kind: 'channel', channel: c.id, output: c.output }, name };
    };
    return {
      phy,
      rxDev,
      txDev,
      rxIq,
      txIq,
      rxLo: at(phy, rxLo, 'frequency'),
      txLo: at(phy, txLo, 'frequency'),
      rate: at(phy, rxV, 'sampling_frequency'),
      rxBw: at(phy, rxV, 'rf_bandwidth'),
      txBw: at(phy, txV, 'rf_bandwidth'),
      rxGain: at(phy, rxV, 'hardwaregain'),
      txGain: at(phy, txV, 'hardwaregain'),
      gainMode: at(phy, rxV, 'gain_control_mode'),
    };
  }

  private conn(): IiodConnection {
    if (this.goneError) throw this.goneError;
    if (!this.control || !this.layout) throw new DeviceConfigError(`${this.infoValue.id} is not open; call open() first`);
    return this.control;
  }

  private describe(a: Attr): string {
    return describeAttr(a.dev.name ?? a.dev.id, a.target, a.name);
  }

  private async read(a: Attr): Promise<string> {
    return this.conn().readAttr(a.dev.id, a.target, a.name);
  }

  private async readAvailable(a: Attr): Promise<{ min: number; step: number; max: number }> {
    const avail: Attr = { ...a, name: `${a.name}_available` };
    return parseIioRange(await this.read(avail), this.describe(avail));
  }

  /** Writes one attribute; the radio's refusal becomes a DeviceConfigError that names the attribute. */
  private async write(a: Attr, value: string): Promise<void> {
    try {
      await this.conn().writeAttr(a.dev.id, a.target, a.name, value);
    } catch (e) {
      if (e instanceof IiodCommandError && (e.errnoName === 'EINVAL' || e.errnoName === 'ERANGE')) {
        let hint = '';
        try {
          const avail = await this.read({ ...a, name: `${a.name}_available` });
          hint = `; the radio accepts ${avail}`;
        } catch {
          // no *_available attribute: the errno is all we know
        }
        throw new DeviceConfigError(`${this.infoValue.id}: the radio rejected '${value}' for ${this.describe(a)}: ${e.errnoName} (${e.errno})${hint}`);
      }
      throw e;
    }
  }

  private async readCapabilities(): Promise<DeviceCapabilities> {
    const l = this.layout!;
    const lo = await this.readAvailable(l.rxLo);
    const rate = await this.readAvailable(l.rate);
    const rxBw = await this.readAvailable(l.rxBw);
    const rxGain = await this.readAvailable(l.rxGain);
    const txGain = await this.readAvailable(l.txGain);
    return {
      rx: true,
      tx: true,
      // This driver streams the first RX and TX channel (a second pair needs the firmware's 2r2t mode).
      rxChannels: 1,
      txChannels: 1,
      fullDuplex: true,
      // Separate RX and TX LOs; one sampling_frequency for both directions.
      separateTx: { freqHz: true, sampleRateHz: false },
      hardwareTimestamps: false,
      rxWaitsForConsumer: false,
      freqRangeHz: [lo.min, lo.max],
      sampleRateRangeHz: [rate.min, rate.max],
      bandwidthRangeHz: [rxBw.min, rxBw.max],
      gains: [
        { name: PLUTO_RX_GAIN, minDb: rxGain.min, maxDb: rxGain.max, stepDb: rxGain.step, direction: 'rx' },
        { name: PLUTO_TX_GAIN, minDb: txGain.min, maxDb: txGain.max, stepDb: txGain.step, direction: 'tx' },
      ],
      nativeFormat: 'ci16_le',
    };
  }

  /** Reads the applied configuration back from the radio (values as the hardware rounded them). */
  private async readBack(): Promise<DeviceConfig> {
    const l = this.layout!;
    const rxLo = parseHz(await this.read(l.rxLo), this.describe(l.rxLo));
    const txLo = parseHz(await this.read(l.txLo), this.describe(l.txLo));
    const cfg: DeviceConfig = {
      freqHz: rxLo,
      ...(txLo !== rxLo ? { txFreqHz: txLo } : {}),
      sampleRateHz: parseHz(await this.read(l.rate), this.describe(l.rate)),
      bandwidthHz: parseHz(await this.read(l.rxBw), this.describe(l.rxBw)),
      gainsDb: {
        [PLUTO_RX_GAIN]: parseDb(await this.read(l.rxGain), this.describe(l.rxGain)),
        [PLUTO_TX_GAIN]: parseDb(await this.read(l.txGain), this.describe(l.txGain)),
      },
    };
    this.cfg = cfg;
    if (txLo === rxLo) this.txApart = false;
    return cfg;
  }

  protected async applyConfig(changes: Partial<DeviceConfig>): Promise<void> {
    this.conn();
    const l = this.layout!;
    const next = this.merged(changes);
    if (changes.sampleRateHz !== undefined) await this.write(l.rate, String(Math.round(next.sampleRateHz)));
    if (changes.bandwidthHz !== undefined) this.bandwidthExplicit = true;
    if (changes.bandwidthHz !== undefined || (changes.sampleRateHz !== undefined && !this.bandwidthExplicit)) {
      // Without an explicit bandwidth the analog filter follows the sample rate, within each side's range.
      const want = changes.bandwidthHz ?? next.sampleRateHz;
      const rxR = this.capabilities.bandwidthRangeHz!;
      await this.write(l.rxBw, String(Math.round(Math.min(rxR[1], Math.max(rxR[0], want)))));
      const txR = await this.readAvailable(l.txBw);
      await this.write(l.txBw, String(Math.round(Math.min(txR.max, Math.max(txR.min, want)))));
    }
    if ('txFreqHz' in changes) this.txApart = next.txFreqHz !== undefined;
    if (changes.freqHz !== undefined) await this.write(l.rxLo, String(Math.round(next.freqHz)));
    if ('txFreqHz' in changes || (changes.freqHz !== undefined && !this.txApart)) {
      await this.write(l.txLo, String(Math.round(this.txApart ? (next.txFreqHz ?? next.freqHz) : next.freqHz)));
    }
    const gains = changes.gainsDb ?? {};
    if (gains[PLUTO_RX_GAIN] !== undefined) {
      if ((await this.read(l.gainMode)).trim() !== 'manual') await this.write(l.gainMode, 'manual');
      await this.write(l.rxGain, String(next.gainsDb[PLUTO_RX_GAIN]));
    }
    if (gains[PLUTO_TX_GAIN] !== undefined) await this.write(l.txGain, String(next.gainsDb[PLUTO_TX_GAIN]));
    await this.readBack();
  }

  /** Automatic gain control on the RX side (`manual` is what setting the `hardwaregain` stage selects). */
  async setGainControlMode(mode: PlutoGainControlMode): Promise<void> {
    this.conn();
    await this.write(this.layout!.gainMode, mode);
  }

  async gainControlMode(): Promise<string> {
    this.conn();
    return (await this.read(this.layout!.gainMode)).trim();
  }

  startRx(options: RxOptions = {}): RxStream {
    this.conn();
    if (this.rx) throw new DeviceConfigError(`${this.infoValue.id}: an RX stream is already running; stop it first`);
    const l = this.layout!;
    const blockSamples = options.blockSamples ?? DEFAULT_BLOCK_SAMPLES;
    if (!Number.isInteger(blockSamples) || blockSamples < 1) throw new DeviceConfigError(`blockSamples must be an integer >= 1, got ${blockSamples}`);
    const queue = new BlockQueue(options.queueBlocks ?? DEFAULT_QUEUE_BLOCKS);
    const id = this.infoValue.id;
    const fmt = l.rxIq[0].scan!.format;
    const iFirst = l.rxIq[0].scan!.index < l.rxIq[1].scan!.index;
    const mask = formatChannelMask(l.rxDev, l.rxIq);
    const blockBytes = blockSamples * 4;
    let stopping = false;
    let conn: IiodConnection | undefined;
    const loop = (async () => {
      try {
        conn = await IiodConnection.connect({ host: this.host, port: this.port, deviceId: id, timeoutMs: this.timeoutMs });
        conn.onGone((e) => this.markGone(e));
        await conn.open(l.rxDev.id, blockSamples, mask);
        let sampleIndex = 0;
        while (!stopping) {
          const raw = new Uint8Array(blockBytes);
          // A READBUF takes as long as the radio needs to fill the block, plus the usual reply time.
          const got = await conn.readBuf(l.rxDev.id, raw, this.timeoutMs + (blockSamples / Math.max(1, this.cfg.sampleRateHz)) * 1000);
          const samples = got >>> 2;
          if (samples === 0) continue;
          const iq = new Float32Array(samples * 2);
          const words = new Int16Array(raw.buffer, 0, samples * 2);
          convertS16Words(words, fmt.bits, fmt.shift, iq);
          if (!iFirst) swapPairs(iq);
          const block: IqBlock = { iq, samples, sampleIndex, receivedAtMs: Date.now(), raw: samples * 4 === blockBytes ? raw : raw.subarray(0, samples * 4) };
          sampleIndex += samples;
          this.counters.samplesRx += samples;
          if (!queue.push(block)) this.counters.overflows++;
        }
        await conn.closeDevice(l.rxDev.id);
        queue.end();
      } catch (e) {
        const err = this.goneError ?? (e as Error);
        if (!stopping || err instanceof DeviceGoneError) queue.end(err);
        else queue.end();
        if (!(err instanceof DeviceGoneError) && !stopping) this.reportBackground(err);
      } finally {
        await conn?.close();
      }
    })();
    const stop = async (): Promise<void> => {
      stopping = true;
      queue.clear();
      await loop;
      queue.end();
      if (this.rx?.queue === queue) this.rx = undefined;
    };
    this.rx = { stop, queue };
    return rxStreamFrom(() => queue.next(), stop, options.signal);
  }

  startTx(): TxStream {
    this.conn();
    if (this.tx) throw new DeviceConfigError(`${this.infoValue.id}: a TX stream is already running; end it first`);
    const l = this.layout!;
    const id = this.infoValue.id;
    const blockSamples = this.txBlockSamples;
    const mask = formatChannelMask(l.txDev, l.txIq);
    const iFirst = l.txIq[0].scan!.index < l.txIq[1].scan!.index;
    let staging = new Int16Array(blockSamples * 2);
    let fill = 0;
    let failure: Error | undefined;
    let ended = false;
    const inflight: Promise<void>[] = [];
    const ready = (async () => {
      const conn = await IiodConnection.connect({ host: this.host, port: this.port, deviceId: id, timeoutMs: this.timeoutMs });
      conn.onGone((e) => this.markGone(e));
      try {
        await conn.open(l.txDev.id, blockSamples, mask);
      } catch (e) {
        await conn.close();
        throw e;
      }
      return conn;
    })();
    ready.catch((e: Error) => (failure ??= e));
    const send = (words: Int16Array): void => {
      const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
      const p = (async () => {
        const conn = await ready;
        const timeout = this.timeoutMs + (words.length / 2 / Math.max(1, this.cfg.sampleRateHz)) * 1000;
        const n = await conn.writeBuf(l.txDev.id, bytes, timeout);
        if (n !== bytes.length) throw new DeviceIoError(`${id}: iiod took ${n} of ${bytes.length} TX bytes`);
        this.counters.samplesTx += words.length / 2;
      })();
      p.catch((e: Error) => (failure ??= this.goneError ?? e));
      inflight.push(p.catch(() => undefined));
    };
    const check = (): void => {
      if (this.goneError) throw this.goneError;
      if (failure) throw failure;
    };
    const write = async (iq: Float32Array): Promise<void> => {
      check();
      if (ended) throw new DeviceConfigError(`${id}: write() after end() on a TX stream`);
      if (iq.length % 2 !== 0) throw new DeviceConfigError(`${id}: TX block of ${iq.length} floats is not whole I/Q pairs`);
      let from = 0;
      while (from < iq.length) {
        const take = Math.min(iq.length - from, staging.length - fill);
        floatsToS16(iq, from, take, staging, fill);
        from += take;
        fill += take;
        if (fill === staging.length) {
          if (!iFirst) swapPairsI16(staging);
          send(staging);
          staging = new Int16Array(blockSamples * 2);
          fill = 0;
        }
      }
      // Backpressure: at most one block in flight behind the one being sent.
      while (inflight.length > 1) await inflight.shift();
      check();
    };
    const end = async (): Promise<void> => {
      if (ended) {
        await Promise.all(inflight);
        check();
        return;
      }
      ended = true;
      if (fill > 0) {
        const part = staging.subarray(0, fill);
        if (!iFirst) swapPairsI16(part);
        send(part);
        fill = 0;
      }
      await Promise.all(inflight);
      inflight.length = 0;
      try {
        const conn = await ready;
        if (!this.goneError) await conn.closeDevice(l.txDev.id).catch(() => undefined);
        await conn.close();
      } catch {
        // the failure is reported below
      }
      if (this.tx?.end === end) this.tx = undefined;
      check();
    };
    this.tx = {
      abort: (e) => (failure ??= e),
      end,
    };
    return { write, end };
  }

  protected endStreams(err: DeviceGoneError): void {
    this.rx?.queue.end(err);
    this.tx?.abort(err);
  }

  protected async closeHardware(): Promise<void> {
    const rx = this.rx;
    const tx = this.tx;
    if (rx) await rx.stop().catch(() => undefined);
    if (tx) await tx.end().catch(() => undefined);
    this.rx = undefined;
    this.tx = undefined;
    await this.control?.close();
    this.control = undefined;
  }
}

function swapPairs(a: Float32Array): void {
  for (let k = 0; k + 1 < a.length; k += 2) {
    const t = a[k]!;
    a[k] = a[k + 1]!;
    a[k + 1] = t;
  }
}

function swapPairsI16(a: Int16Array): void {
  for (let k = 0; k + 1 < a.length; k += 2) {
    const t = a[k]!;
    a[k] = a[k + 1]!;
    a[k + 1] = t;
  }
}

// `pluto:HOST[:PORT]` in the registry; a bare `pluto` (what USB discovery reports for a Pluto's VID:PID)
// means the USB Ethernet gadget's default address. driverOptions: timeoutMs, txBlockSamples.
registerRadio({
  name: 'pluto',
  usage: 'pluto:HOST',
  usb: [
    { vendorId: 0x0456, productId: 0xb673, model: 'ADALM-Pluto (USB)' },
    // The bootloader (DFU) for firmware updates: users may open it, but it is not a radio.
    { vendorId: 0x0456, productId: 0xb674, model: 'ADALM-Pluto (DFU mode)', listed: false },
  ],
  usbIdBy: 'bare',
  factory: (spec, o) => {
    const { host, port } = spec.arg === undefined ? { host: PLUTO_DEFAULT_HOST, port: IIOD_PORT } : parsePlutoAddress(spec.arg);
    const d = o.driverOptions ?? {};
    const opts: PlutoOptions = { host, port };
    if (typeof d['timeoutMs'] === 'number') opts.timeoutMs = d['timeoutMs'];
    if (typeof d['txBlockSamples'] === 'number') opts.txBlockSamples = d['txBlockSamples'];
    return new PlutoDevice(opts);
  },
});
