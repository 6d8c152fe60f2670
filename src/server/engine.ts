/**
 * The engine behind the UI: one object implementing the API of api.ts over the project's parts (device
 * directory, session runner, MAKD trainer, SigMF). It runs in Electron's utility process or in the
 * browser-mode server, never in a renderer. Requests reach it already validated (dispatch.ts); it checks
 * what only it can know (is a radio connected, does the adapter exist, is the path a recording of ours).
 *
 * Heavy data leaves it UI-ready and bounded: images as PNG data URLs, at most 512 constellation points
 * per image, spectrum rows of 256 bins at most 10 per second. The UI never receives raw IQ.
 */
import { readdirSync, readFileSync, realpathSync, statSync, mkdirSync, existsSync, writeFileSync, renameSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, isAbsolute, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DekagError, PromptError } from '../util/errors.js';
import { MAX_ADAPTER_BYTES, parseAdapter } from '../gsc/adapter.js';
import { namedAttributes, splitWords, tokenize, nearestWords } from '../gsc/tokenizer.js';
import type { Vocab } from '../gsc/vocab.js';
import type { ChannelSimulatorControl, DeviceConfig, LoopbackChannel } from '../radio/devices/types.js';
import { SigmfRecording } from '../radio/sigmf/reader.js';
import { DEKAG_FIELDS } from '../radio/sigmf/meta.js';
import { StreamReceiver } from '../radio/phy/receiver.js';
import {
  ApiError,
  API_SCHEMA,
  type AdapterSummary,
  type ConnectedDevice,
  type DekagApi,
  type DeviceSettings,
  type DeviceSummary,
  type DistillRequest,
  type EngineEvent,
  type EngineInfo,
  type EngineSnapshot,
  type EngineState,
  type DistillStateView,
  type ExportFormat,
  type ExportedFile,
  type SessionHistory,
  type SessionHistoryRow,
  type SessionListEntry,
  type SessionEndView,
  type SessionStateView,
  MAX_PROMPT_CHARS,
  type ImageRecordView,
  type LoopbackChannelSettings,
  type PromptCheck,
  type RecordingSummary,
  type SessionRequest,
  type VocabularyInfo,
  type DeviceDriverName,
  type NetworkRadioRequest,
  type RadioRole,
  type AttenuatorView,
} from './api.js';
import { networkRadios, type NetworkRadioConfig } from '../radio/devices/discovery.js';
import { MAX_REQUEST_BYTES } from './dispatch.js';
import type { DeviceDirectory, DistillRunner, SessionBackend, SessionImage } from './ports.js';
import { RxRecorder } from '../radio/sigmf/rx-recorder.js';
import { Attenuator, GENERIC_ATTENUATOR } from '../radio/accessories/attenuator.js';
import { SpectrumMonitor } from './spectrum.js';
import { TappedDevice } from './tap.js';

export interface EngineOptions {
  devices: DeviceDirectory;
  /** null: sessions are not available in this build (the UI says so). */
  sessions: SessionBackend | null;
  distill: DistillRunner | null;
  vocab: () => Vocab;
  modelsDir: string;
  /** Shipped MAKD adapters (read-only in a packaged app). */
  adaptersDir: string;
  /** Where `distill` writes new adapters; listed as `user/NAME`. */
  userAdaptersDir: string;
  recordingsDir: string;
  /** Most constellation points per image sent to the UI. */
  maxConstellationPoints?: number;
  /** Where the network radios the user adds are kept (JSON, private to the user); absent: for the engine's life only. */
  networkRadiosFile?: string;
}

const MAX_POINTS = 512;
/** Image records of the current (or last) session that `state()` hands a page opened mid-session. */
const KEPT_IMAGES = 50;
const EXAMPLES = ['a large red striped star on the left on grass', 'a medium blue circle at the top on sand', 'two small purple hearts on snow'];

export class Engine implements DekagApi {
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  /** The transmitting and the receiving radio; the same object for one full-duplex radio. */
  private tx: TappedDevice | undefined;
  private rx: TappedDevice | undefined;
  private untapSpectrum: (() => void) | undefined;
  /** Network radios the user added (rtl_tcp servers, Plutos), listed with the discovered ones. */
  private readonly network: NetworkRadioConfig[] = [];
  private deviceProblems: string[] = [];
  private session: { id: string; abort: AbortController; done: Promise<void>; view: SessionStateView } | undefined;
  private lastSession: SessionEndView | null = null;
  /** The current (or last) session's most recent image records. */
  private images: ImageRecordView[] = [];
  private recorder: { rec: RxRecorder; untap: () => void; startedAtMs: number; progress: ReturnType<typeof setInterval>; config: DeviceConfig } | undefined;
  private distilling: string | undefined;
  /** The serial step attenuator (SNR sweeps over the air), when one is connected. */
  private attenuator: Attenuator | undefined;
  /** Its attenuation as read back when connected, then as last set (dB). */
  private attenuatorDb: number | null = null;
  private distillView: DistillStateView | null = null;
  private provider: string | null = null;
  /** Equalized points of the last JSCC frame the live-view receiver decoded. */
  private lastPoints: Float32Array | undefined;
  private sessionCount = 0;
  private readonly stopWatching: () => void;
  private disposed = false;

  constructor(private readonly o: EngineOptions) {
    mkdirSync(o.recordingsDir, { recursive: true });
    this.network.push(...this.loadNetworkRadios());
    this.stopWatching = o.devices.watch(() => {
      void this.listDevices().then(
        (devices) => this.emit({ type: 'devices', devices }),
        (e: Error) => this.log('warn', `device discovery failed: ${e.message}`),
      );
    });
  }

  // ------------------------------------------------------------------------------------------------
  // events

  subscribe(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: EngineEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a broken listener (closed socket) must not stop the others
      }
    }
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.emit({ type: 'log', level, message });
  }

  /** The state every page shows (the radio, the session, the recording, the distillation). */
  private currentState(): EngineState {
    return {
      device: this.device ? this.describeDevice() : null,
      txDevice: this.tx && this.tx !== this.device ? this.describeDevice(this.tx) : null,
      radios: { tx: this.tx?.info.id ?? null, rx: this.rx?.info.id ?? null },
      deviceProblems: [...this.deviceProblems],
      session: this.session
        ? { ...this.session.view, loading: this.session.view.loading ? [...this.session.view.loading] : null, replay: this.session.view.replay ? { ...this.session.view.replay } : null }
        : null,
      lastSession: this.lastSession ? { ...this.lastSession } : null,
      recording: this.recorder
        ? { path: this.recorder.rec.path, samples: this.recorder.rec.samples, droppedSamples: this.recorder.rec.droppedSamples, gaps: this.recorder.rec.gaps, startedAtMs: this.recorder.startedAtMs }
        : null,
      distill: this.distillView ? { ...this.distillView } : null,
      attenuator: this.attenuator ? { port: this.attenuator.path, attenuationDb: this.attenuatorDb } : null,
    };
  }

  /** Tells every page the new state; called after each change of radio, session, recording or distillation. */
  private changed(): void {
    if (this.disposed) return;
    this.emit({ type: 'state', state: this.currentState() });
  }

  async state(): Promise<EngineSnapshot> {
    return { ...this.currentState(), images: [...this.images] };
  }

  // ------------------------------------------------------------------------------------------------
  // info, vocabulary, prompts

  async info(): Promise<EngineInfo> {
    return {
      version: packageVersion(),
      provider: this.provider,
      modelsDir: this.o.modelsDir,
      recordingsDir: this.o.recordingsDir,
      features: { sessions: this.o.sessions !== null, distill: this.o.distill !== null, sweep: true },
      limits: { maxPromptChars: MAX_PROMPT_CHARS, maxRequestBytes: MAX_REQUEST_BYTES },
    };
  }

  async vocabulary(): Promise<VocabularyInfo> {
    const vocab = this.o.vocab();
    return {
      words: vocab.tokens.filter((t) => !t.startsWith('<')),
      maxWords: vocab.maxTokens - 1,
      attributes: Object.fromEntries(Object.entries(vocab.attributes).map(([a, vals]) => [a, Object.keys(vals)])),
      misalignedSubjects: Object.keys(vocab.misaligned),
      examples: EXAMPLES,
    };
  }

  async checkPrompt(p: { prompt: string }): Promise<PromptCheck> {
    const vocab = this.o.vocab();
    for (const line of promptLines(p.prompt)) {
      try {
        tokenize(line, vocab);
      } catch (e) {
        if (!(e instanceof PromptError)) throw e;
        const unknown = splitWords(line).find((w) => vocab.idOf(w) === undefined);
        const r: PromptCheck = { ok: false, error: e.message, suggestions: unknown ? nearestWords(unknown, vocab) : [] };
        if (unknown) r.word = unknown;
        return r;
      }
    }
    const first = promptLines(p.prompt)[0];
    if (first === undefined) return { ok: false, error: "empty prompt; describe an image, e.g. 'a red star on grass'", suggestions: [] };
    return { ok: true, words: splitWords(first), attributes: namedAttributes(first, vocab) };
  }

  // ------------------------------------------------------------------------------------------------
  // devices

  async listDevices(): Promise<DeviceSummary[]> {
    const found = this.o.devices.discover ? await this.o.devices.discover() : { devices: await this.o.devices.list(), problems: [] };
    const infos = [...found.devices, ...networkRadios({ network: this.network }).filter((n) => !found.devices.some((d) => d.id === n.id))];
    if (found.problems.join('\n') !== this.deviceProblems.join('\n')) {
      this.deviceProblems = [...found.problems];
      this.changed();
    }
    return infos.map((d) => {
      const roles: ('tx' | 'rx')[] = [];
      if (this.tx?.info.id === d.id) roles.push('tx');
      if (this.rx?.info.id === d.id) roles.push('rx');
      return { id: d.id, driver: d.driver as DeviceDriverName, label: d.label, connected: roles.length > 0, roles };
    });
  }

  async addNetworkRadio(p: NetworkRadioRequest): Promise<DeviceSummary[]> {
    const n: NetworkRadioConfig = p.port !== undefined ? { driver: p.driver, host: p.host, port: p.port } : { driver: p.driver, host: p.host };
    const id = networkRadios({ network: [n] })[0]!.id;
    if (!networkRadios({ network: this.network }).some((d) => d.id === id)) {
      if (this.network.length >= 32) throw new ApiError('at most 32 network radios may be added; restart the engine to clear the list', 'E_TOO_MANY');
      this.network.push(n);
      this.saveNetworkRadios();
    }
    this.log('info', `network radio ${id} added; connect it as TX or RX`);
    const devices = await this.listDevices();
    this.emit({ type: 'devices', devices });
    return devices;
  }

  /** The network radios kept from earlier runs; entries that do not pass the API's check are skipped and said. */
  private loadNetworkRadios(): NetworkRadioConfig[] {
    const file = this.o.networkRadiosFile;
    if (!file || !existsSync(file)) return [];
    try {
      const list = JSON.parse(readBounded(file, 1 << 20)) as unknown;
      if (!Array.isArray(list)) throw new Error('not a JSON list');
      const out: NetworkRadioConfig[] = [];
      for (const [i, entry] of list.slice(0, 32).entries()) {
        try {
          const n = API_SCHEMA.addNetworkRadio(entry, `${basename(file)}[${i}]`);
          out.push(n.port !== undefined ? { driver: n.driver, host: n.host, port: n.port } : { driver: n.driver, host: n.host });
        } catch (e) {
          queueMicrotask(() => this.log('warn', `skipping a network radio in ${file}: ${(e as Error).message}`));
        }
      }
      return out;
    } catch (e) {
      queueMicrotask(() => this.log('warn', `network radios in ${file} not read: ${(e as Error).message}`));
      return [];
    }
  }

  private saveNetworkRadios(): void {
    const file = this.o.networkRadiosFile;
    if (!file) return;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.network, null, 2) + '\n', { mode: 0o600 });
      renameSync(tmp, file);
    } catch (e) {
      this.log('warn', `network radios not kept in ${file}: ${(e as Error).message}`);
    }
  }

  /** The receiving radio, or with none the transmitting one: what the Devices screen sets up, what records. */
  private get device(): TappedDevice | undefined {
    return this.rx ?? this.tx;
  }

  async connectDevice(p: { id: string; role?: RadioRole }): Promise<ConnectedDevice> {
    if (this.session) throw new ApiError('a session is running; stop it before changing the radio', 'E_BUSY');
    let role: RadioRole = p.role ?? 'both';
    const id = await this.allowedDeviceId(p.id);
    const open = [this.tx, this.rx].find((d) => d?.info.id === id);
    const dev = open ?? (await this.openTapped(id));
    // 'both' on a radio that has one direction only (an RTL-SDR, a recording) makes it that end; the other keeps its radio.
    if (p.role === undefined || p.role === 'both') role = !dev.capabilities.tx && dev.capabilities.rx ? 'rx' : dev.capabilities.tx && !dev.capabilities.rx ? 'tx' : 'both';
    if (role !== 'tx' && !dev.capabilities.rx) {
      if (!open) await dev.close();
      throw new ApiError(`${id} cannot receive; connect it as TX and choose another radio as RX`, 'E_DEVICE_CONFIG');
    }
    if (role !== 'rx' && !dev.capabilities.tx) {
      if (!open) await dev.close();
      throw new ApiError(`${id} cannot transmit (a receiver only); connect it as RX and choose another radio as TX`, 'E_DEVICE_CONFIG');
    }
    // A second radio starts on the other one's frequency and rate, so TX and RX can hear each other.
    const other = role === 'tx' ? this.rx : role === 'rx' ? this.tx : undefined;
    if (!open && other && other !== dev) {
      await dev.configure({ freqHz: other.config.freqHz, sampleRateHz: other.config.sampleRateHz }).catch((e: Error) => this.log('warn', `${id} keeps its own settings: ${e.message}`));
    }
    // 'as TX' / 'as RX' give this radio exactly that role: a radio that was both ends keeps only this one.
    const keep = (d: TappedDevice | undefined): TappedDevice | undefined => (d === dev ? undefined : d);
    await this.setRadios(role === 'rx' ? keep(this.tx) : dev, role === 'tx' ? keep(this.rx) : dev);
    return this.describeDevice(dev);
  }

  private async openTapped(id: string): Promise<TappedDevice> {
    const inner = await this.o.devices.open(id);
    const tapped = new TappedDevice(inner, (e) => this.log('warn', `RX tap failed: ${e.message}`));
    tapped.on('gone', (e: Error) => {
      if (this.tx !== tapped && this.rx !== tapped) return;
      if (this.tx === tapped) this.tx = undefined;
      if (this.rx === tapped) {
        this.rx = undefined;
        this.untapSpectrum?.();
        this.untapSpectrum = undefined;
        if (this.recorder) void this.stopRecording();
      }
      this.session?.abort.abort();
      this.emit({ type: 'device', device: this.device ? this.describeDevice() : null, reason: e.message });
      this.changed();
      void this.listDevices().then((devices) => this.emit({ type: 'devices', devices }), () => undefined);
    });
    tapped.on('error', (e: Error) => this.log('warn', `${inner.info.id}: ${e.message}`));
    return tapped;
  }

  /**
   * Makes `tx` and `rx` the connected radios: a radio no longer used is closed, a receiver that stops being
   * one stops streaming (a half-duplex HackRF moved to TX only must be free to transmit), and the new
   * receiver streams at once, feeding the spectrum, the waterfall and any recording.
   */
  private async setRadios(tx: TappedDevice | undefined, rx: TappedDevice | undefined): Promise<void> {
    const oldTx = this.tx;
    const oldRx = this.rx;
    if (oldRx && oldRx !== rx) {
      if (this.recorder) await this.stopRecording();
      this.untapSpectrum?.();
      this.untapSpectrum = undefined;
      await oldRx.stopStreaming();
    }
    this.tx = tx;
    this.rx = rx;
    for (const d of new Set([oldTx, oldRx])) if (d && d !== tx && d !== rx) await d.close().catch((e: Error) => this.log('warn', `closing ${d.info.id}: ${e.message}`));
    if (rx && rx !== oldRx) {
      // A connected receiver streams with or without a session: the spectrum and waterfall are live, and a
      // recording captures whatever is received. Sessions subscribe to this one stream.
      this.untapSpectrum = this.addSpectrumTap(rx, () => this.session?.view.kind === 'replay'); // a replay shows its own spectrum
      rx.startStreaming();
    }
    this.emit({ type: 'device', device: this.device ? this.describeDevice() : null, ...(this.device ? {} : { reason: 'disconnected' }) });
    this.changed();
    void this.listDevices().then((devices) => this.emit({ type: 'devices', devices }), () => undefined);
  }

  /**
   * The id the engine may open for `requested`: a radio the directory lists (loopback, USB radios, network
   * radios the user added), or `sigmf:` naming a recording in the recordings folder. Anything else is
   * refused before any file is opened or any connection made: an arbitrary `sigmf:PATH` would read files
   * anywhere, and an arbitrary `rtl_tcp:HOST:PORT` would make the engine a port scanner for the page.
   */
  private async allowedDeviceId(requested: string): Promise<string> {
    if (requested.startsWith('sigmf:')) return `sigmf:${this.confineRecording(requested.slice('sigmf:'.length)).metaPath}`;
    const listed = [...(await this.o.devices.list()), ...networkRadios({ network: this.network })];
    if (!listed.some((d) => d.id === requested)) {
      throw new ApiError(`no radio '${requested.slice(0, 80)}' is available; connect one from the Devices list (add a network radio there first: Add a network radio)`, 'E_NO_DEVICE');
    }
    return requested;
  }

  async connectAttenuator(p: { port: string; baudRate?: number }): Promise<AttenuatorView> {
    if (this.session) throw new ApiError('a session is running; stop it before changing the attenuator', 'E_BUSY');
    await this.disconnectAttenuator();
    const protocol = p.baudRate !== undefined ? { ...GENERIC_ATTENUATOR, baudRate: p.baudRate } : GENERIC_ATTENUATOR;
    let att: Attenuator;
    try {
      att = await Attenuator.open(p.port, protocol);
    } catch (e) {
      throw new ApiError(`could not open the attenuator on ${p.port}: ${(e as Error).message}`, 'E_DEVICE_CONFIG');
    }
    let db: number;
    try {
      db = await att.get(); // a device that answers, on this port and baud rate
    } catch (e) {
      await att.close().catch(() => undefined);
      throw new ApiError(`no attenuator answered on ${p.port}: ${(e as Error).message}`, 'E_DEVICE_CONFIG');
    }
    this.attenuator = att;
    this.attenuatorDb = db;
    this.log('info', `attenuator on ${p.port} at ${db} dB; SNR sweeps now set its attenuation`);
    this.changed();
    return { port: att.path, attenuationDb: db };
  }

  async disconnectAttenuator(): Promise<null> {
    const att = this.attenuator;
    if (!att) return null;
    if (this.session?.view.sweepBy === 'attenuator') throw new ApiError('a sweep is driving the attenuator; stop the session first', 'E_BUSY');
    this.attenuator = undefined;
    this.attenuatorDb = null;
    await att.close().catch(() => undefined);
    this.changed();
    return null;
  }

  async disconnectDevice(): Promise<null> {
    if (this.session) throw new ApiError('a session is running; stop it before disconnecting the radio', 'E_BUSY');
    if (!this.tx && !this.rx) return null;
    await this.setRadios(undefined, undefined);
    return null;
  }

  /**
   * Frequency and sample rate go to both radios (TX and RX must agree to hear each other); each gain goes to
   * the radio that has a stage of that name. Answers the receiving radio's applied settings.
   */
  async configureDevice(p: Partial<DeviceSettings>): Promise<DeviceSettings> {
    const main = this.requireDevice();
    const radios = [...new Set([this.rx, this.tx])].filter((d): d is TappedDevice => d !== undefined);
    for (const dev of [main, ...radios.filter((d) => d !== main)]) {
      const changes: Partial<DeviceConfig> = {};
      if (p.freqHz !== undefined) changes.freqHz = p.freqHz;
      if (p.sampleRateHz !== undefined) changes.sampleRateHz = p.sampleRateHz;
      if (p.gainsDb !== undefined) {
        const own = Object.entries(p.gainsDb).filter(([k]) => dev === main || dev.capabilities.gains.some((g) => g.name === k));
        if (own.length) changes.gainsDb = Object.fromEntries(own);
      }
      await dev.configure(changes); // the driver checks ranges against its capabilities
    }
    this.emit({ type: 'device', device: this.describeDevice() });
    this.changed();
    const cfg = main.config;
    return { freqHz: cfg.freqHz, sampleRateHz: cfg.sampleRateHz, gainsDb: { ...cfg.gainsDb } };
  }

  async setLoopbackChannel(p: Partial<LoopbackChannelSettings>): Promise<LoopbackChannelSettings> {
    const loop = this.requireLoopback();
    const now = fromLoopbackChannel(loop.channel);
    const next = { ...now, ...p };
    loop.setChannel(toLoopbackChannel(next));
    const result = fromLoopbackChannel(loop.channel);
    this.emit({ type: 'device', device: this.describeDevice() });
    this.changed();
    return result;
  }

  private requireDevice(): TappedDevice {
    if (!this.device) throw new ApiError('no radio is connected; connect one on the Devices screen (the loopback radio is always there)', 'E_NO_DEVICE');
    return this.device;
  }

  private requireLoopback(): ChannelSimulatorControl {
    const dev = this.requireDevice();
    const sim = dev.channelSimulator;
    if (!sim) throw new ApiError(`${dev.info.id} is a real radio; channel settings apply to the loopback radio only`, 'E_NOT_LOOPBACK');
    return sim;
  }

  private describeDevice(dev: TappedDevice = this.requireDevice()): ConnectedDevice {
    const caps = dev.capabilities;
    const cfg = dev.config;
    const d: ConnectedDevice = {
      id: dev.info.id,
      driver: dev.info.driver as DeviceDriverName,
      label: dev.info.label,
      rx: caps.rx,
      tx: caps.tx,
      fullDuplex: caps.fullDuplex,
      freqRangeHz: [...caps.freqRangeHz],
      sampleRateRangeHz: [...caps.sampleRateRangeHz],
      gains: caps.gains.map((g) => ({ ...g })),
      settings: { freqHz: cfg.freqHz, sampleRateHz: cfg.sampleRateHz, gainsDb: { ...cfg.gainsDb } },
    };
    const sim = dev.channelSimulator;
    if (sim) d.channel = fromLoopbackChannel(sim.channel);
    return d;
  }

  // ------------------------------------------------------------------------------------------------
  // adapters and distillation

  private adapters(): { name: string; path: string }[] {
    return [...findAdapters(this.o.adaptersDir, ''), ...findAdapters(this.o.userAdaptersDir, 'user/')];
  }

  async listAdapters(): Promise<AdapterSummary[]> {
    return this.adapters().map(({ name, path }) => {
      const st = statSync(path);
      if (!st.isFile() || st.size > MAX_ADAPTER_BYTES) return { name, subject: '(not an adapter file)', bytes: st.size };
      const buf = readFileSync(path);
      try {
        const a = parseAdapter(buf, path);
        return { name, subject: a.header.subject, bytes: a.bytes };
      } catch {
        return { name, subject: '(unreadable adapter file)', bytes: buf.length };
      }
    });
  }

  async distill(p: DistillRequest): Promise<{ subject: string }> {
    const run = this.o.distill;
    if (!run) throw new ApiError('distillation is not available here (it needs the repository checkout with train/ and PyTorch)', 'E_UNAVAILABLE');
    if (this.distilling) throw new ApiError(`already distilling '${this.distilling}'; wait for it to finish`, 'E_BUSY');
    const vocab = this.o.vocab();
    for (const part of p.subject.split(',').map((s) => s.trim())) {
      const [attr, value] = part.split(':');
      // Own keys only: 'constructor:name' must not pass through the object prototype.
      const values = attr && Object.hasOwn(vocab.attributes, attr) ? vocab.attributes[attr] : undefined;
      if (!attr || !value || !values || !Object.hasOwn(values, value)) {
        throw new ApiError(`unknown subject '${part}'; use attribute:value from the vocabulary, e.g. ${Object.keys(vocab.misaligned).join(', ')}`);
      }
    }
    const name = p.subject.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') + (p.quick ? '.quick' : '');
    const out = join(this.o.userAdaptersDir, `${name}.dkga`);
    mkdirSync(dirname(out), { recursive: true });
    this.distilling = p.subject;
    const report = (e: DistillStateView): void => {
      this.distillView = e;
      this.emit({ type: 'distill', ...e });
      this.changed();
    };
    // The total is not known until the trainer says it (its first progress line: the training steps plus the
    // cloud's sampling); 0 until then, and fixed from that line on, so the bar never jumps back.
    report({ subject: p.subject, state: 'running', step: 0, total: 0, message: 'starting the trainer' });
    let last = 0;
    let progress = { step: 0, total: 0 };
    run({
      subject: p.subject,
      steps: p.steps,
      quick: p.quick,
      out,
      onProgress: (p0) => {
        const total = progress.total > 0 ? progress.total : Math.max(1, p0.total);
        const step = Math.min(Math.max(p0.step, progress.step), total);
        progress = { step, total };
        const now = Date.now();
        if (now - last < 200 && step < total) return; // the UI needs a few updates a second, not every step
        last = now;
        report({ subject: p.subject, state: 'running', step, total });
      },
    }).then(
      (r) => {
        this.distilling = undefined;
        report({ subject: p.subject, state: 'done', step: Math.max(progress.total, 1), total: Math.max(progress.total, 1), adapter: `user/${basename(r.out, '.dkga')}`, message: `${r.bytes} bytes` });
      },
      (e: Error) => {
        this.distilling = undefined;
        report({ subject: p.subject, state: 'failed', step: progress.step, total: progress.total, message: e.message });
      },
    );
    return { subject: p.subject };
  }

  // ------------------------------------------------------------------------------------------------
  // sessions

  async startSession(p: SessionRequest): Promise<{ sessionId: string }> {
    const backend = this.requireSessions();
    const { tx, rx } = this.requireEnds();
    const dev = rx;
    const prompts = promptLines(p.prompt);
    const vocab = this.o.vocab();
    for (const line of prompts) tokenize(line, vocab); // a PromptError says which word and what was meant
    if (prompts.length === 0) throw new PromptError("empty prompt; describe an image, e.g. 'a red star on grass'");
    const adapter = p.adapter === null || p.adapter === 'auto' ? p.adapter : { path: this.adapterPath(p.adapter) };
    const schedule = snrSchedule(p);
    // The loopback's channel sets the SNR only when it carries both ends (TX and RX on the same loopback).
    const loop = tx === rx ? dev.channelSimulator : undefined;
    const att = this.attenuator;
    if (p.snr.kind === 'sweep' && !loop && !att) {
      throw new ApiError('an SNR sweep needs the loopback radio (its channel) or a step attenuator; no attenuator is connected', 'E_DEVICE_CONFIG');
    }
    // A sweep attenuates the signal: by the attenuator when one is connected (over the air), else the loopback's
    // (its noise floor set once, for the sweep's highest SNR). Step s is attenuated by (highest - s) dB.
    const sweepBy = schedule.length === 0 ? null : att ? ('attenuator' as const) : ('loopback' as const);
    const topDb = schedule.length > 0 ? Math.max(...schedule) : 0;
    // Over the air the testbed sets an attenuation, not an SNR: the record's configured SNR stays null there.
    const setsSnr = loop !== undefined && sweepBy !== 'attenuator';
    const images = schedule.length > 0 ? schedule.length : p.images;
    const firstSnrDb = schedule.length > 0 ? schedule[0]! : p.snr.kind === 'target' ? p.snr.snrDb : null;
    const view = {
      kind: 'session' as const,
      label: prompts.join(' | '),
      imagesTotal: images,
      configuredSnrDb: setsSnr ? firstSnrDb : null,
      sweepBy,
      attenuationDb: sweepBy ? topDb - schedule[0]! : null,
    };
    const before = loop ? { snrDb: loop.channel.snrDb, attenuationDb: loop.attenuationDb } : undefined;
    if (sweepBy === 'loopback' && loop) {
      loop.setChannel({ snrDb: topDb });
      this.log('info', `loopback sweep: noise floor fixed for ${topDb} dB SNR; each step attenuates the signal`);
    }
    const restore = async (): Promise<void> => {
      // the loopback's channel as the user set it (the Channel SNR), without attenuation
      if (sweepBy === 'loopback' && loop && before) {
        loop.setAttenuation(before.attenuationDb);
        if (before.snrDb !== undefined) loop.setChannel({ snrDb: before.snrDb });
        this.changed();
      }
    };
    const setStep = (sessionId: string, configuredSnrDb: number | null, attenuationDb: number | null): void => {
      this.emit({ type: 'session', sessionId, state: 'running', ...(configuredSnrDb !== null ? { configuredSnrDb } : {}), ...(attenuationDb !== null ? { attenuationDb } : {}) });
      if (this.session?.id === sessionId) Object.assign(this.session.view, { configuredSnrDb, attenuationDb });
      this.changed();
    };
    return this.runSession(backend, dev, view, (signal, sessionId) =>
      backend.run({
        sessionId,
        prompts,
        adapter,
        adapterDirs: [this.o.adaptersDir, this.o.userAdaptersDir],
        rate: p.rate,
        images,
        seed: p.seed,
        device: rx,
        ...(tx !== rx ? { txDevice: tx } : {}),
        signal,
        beforeImage: async (index) => {
          const snrDb = schedule.length > 0 ? schedule[Math.min(index, schedule.length - 1)]! : p.snr.kind === 'target' ? p.snr.snrDb : null;
          if (sweepBy === 'attenuator' && att && snrDb !== null) {
            const want = Math.round((topDb - snrDb) * 100) / 100;
            if (this.attenuatorDb !== want) {
              const applied = await att.set(want); // rounded to the attenuator's step
              this.attenuatorDb = applied;
              this.log('info', `attenuator set to ${applied} dB for the sweep step ${snrDb} dB (relative to ${topDb} dB)`);
              setStep(sessionId, null, applied);
            }
            return null;
          }
          if (sweepBy === 'loopback' && loop && snrDb !== null) {
            const a = Math.round((topDb - snrDb) * 100) / 100;
            if (loop.attenuationDb !== a || index === 0) {
              loop.setAttenuation(a);
              setStep(sessionId, (loop.channel.snrDb ?? topDb) - a, a);
            }
            return (loop.channel.snrDb ?? topDb) - loop.attenuationDb;
          }
          if (loop && snrDb !== null && loop.channel.snrDb !== snrDb) {
            loop.setChannel({ snrDb });
            setStep(sessionId, snrDb, null);
          }
          return loop && loop.channel.snrDb !== undefined ? loop.channel.snrDb - loop.attenuationDb : null;
        },
        onLoading: (pending) => this.setLoading(sessionId, pending),
        onImage: (img) => this.onImage(sessionId, img),
        onLog: (level, message) => this.log(level, message),
      }),
      restore,
    );
  }

  /** The session's two ends: a TX radio and an RX radio that can work together, or an error saying what to change. */
  private requireEnds(): { tx: TappedDevice; rx: TappedDevice } {
    const { tx, rx } = this;
    if (!tx && !rx) this.requireDevice();
    if (!tx) throw new ApiError(`no transmitting radio: ${rx!.info.id} receives only here; connect a radio as TX (or the loopback as both)`, 'E_NO_DEVICE');
    if (!rx) throw new ApiError(`no receiving radio: ${tx.info.id} transmits only here; connect a radio as RX (e.g. an RTL-SDR)`, 'E_NO_DEVICE');
    if (tx === rx && !(tx.capabilities.tx && tx.capabilities.rx && tx.capabilities.fullDuplex)) {
      throw new ApiError(
        `${tx.info.id} cannot transmit and receive at the same time (half-duplex); connect it as TX and another radio (e.g. an RTL-SDR) as RX, or use a full-duplex radio such as the loopback`,
        'E_DEVICE_CONFIG',
      );
    }
    if (tx !== rx && tx.config.sampleRateHz !== rx.config.sampleRateHz) {
      throw new ApiError(`TX ${tx.info.id} runs at ${tx.config.sampleRateHz} S/s and RX ${rx.info.id} at ${rx.config.sampleRateHz} S/s; set one sample rate (Apply sets both)`, 'E_DEVICE_CONFIG');
    }
    if (tx !== rx && tx.config.freqHz !== rx.config.freqHz) {
      this.log('warn', `TX ${tx.info.id} is on ${tx.config.freqHz / 1e6} MHz and RX ${rx.info.id} on ${rx.config.freqHz / 1e6} MHz; Apply sets both to one frequency`);
    }
    return { tx, rx };
  }

  async replayRecording(p: { path: string }): Promise<{ sessionId: string }> {
    const backend = this.requireSessions();
    const { metaPath } = this.confineRecording(p.path);
    const dev = await this.o.devices.open(`sigmf:${metaPath}`);
    const tapped = new TappedDevice(dev, (e) => this.log('warn', `RX tap failed: ${e.message}`));
    // The replay's own stream (started by the user role) feeds the spectrum; the radio's taps are not fed meanwhile.
    this.addSpectrumTap(tapped);
    // Progress: samples played of the recording's total, from the stream's sample index (a few updates a second).
    let totalSamples = 0;
    let sampleRateHz = dev.config.sampleRateHz;
    try {
      const rec = await SigmfRecording.open(metaPath);
      totalSamples = rec.sampleCount;
      sampleRateHz = rec.sampleRateHz ?? sampleRateHz;
      await rec.close();
    } catch {
      // the replay itself says what is wrong with the recording
    }
    let lastMs = 0;
    let id = '';
    tapped.addTap((block) => {
      const v = this.session?.id === id ? this.session.view.replay : null;
      if (!v) return;
      v.samples = Math.min(v.totalSamples || Infinity, block.sampleIndex + block.samples);
      const now = Date.now();
      if (now - lastMs < 250) return;
      lastMs = now;
      this.changed();
    });
    const r = this.runSession(
      backend,
      tapped,
      { kind: 'replay', label: basename(metaPath, '.sigmf-meta'), imagesTotal: null, configuredSnrDb: null, replay: { samples: 0, totalSamples, sampleRateHz } },
      (signal, sessionId) =>
        backend.replay({
          device: tapped,
          signal,
          onLoading: (pending) => this.setLoading(sessionId, pending),
          onImage: (img) => this.onImage(sessionId, img),
          onLog: (level, message) => this.log(level, message),
        }),
      () => tapped.close(),
    );
    id = r.sessionId;
    return r;
  }

  /** The live view's spectrum and waterfall: rows of the radio's RX stream, at most 10 a second. */
  private addSpectrumTap(dev: TappedDevice, muted: () => boolean = () => false): () => void {
    const monitor = new SpectrumMonitor();
    return dev.addTap((block, cfg) => {
      if (muted()) return;
      const row = monitor.push(block.iq, cfg.sampleRateHz);
      if (row) this.emit({ type: 'spectrum', row: { freqHz: cfg.freqHz, sampleRateHz: cfg.sampleRateHz, binsDb: row, tMs: block.receivedAtMs } });
    });
  }

  private runSession(
    _backend: SessionBackend,
    dev: TappedDevice,
    what: Pick<SessionStateView, 'kind' | 'label' | 'imagesTotal' | 'configuredSnrDb'> & Partial<Pick<SessionStateView, 'sweepBy' | 'attenuationDb' | 'replay'>>,
    body: (signal: AbortSignal, id: string) => Promise<void>,
    cleanup?: () => Promise<void>,
  ): { sessionId: string } {
    if (this.session) throw new ApiError(`session ${this.session.id} is running; stop it first`, 'E_BUSY');
    // The id is also the name of the session's folder (session-backend.ts), so the log and the disk agree.
    const sessionId = `session-${Date.now().toString(36)}-${++this.sessionCount}`;
    const folder = what.kind === 'session' && _backend.outDir ? join(_backend.outDir, sessionId) : null;
    const abort = new AbortController();
    // A second, independent receiver on the same stream gives the live view the received points of each
    // JSCC frame (the session's own receiver keeps them to itself); it is a pure block, cheap at radio rates.
    let receiver: StreamReceiver | undefined;
    let receiverRate = 0;
    this.lastPoints = undefined;
    const untap = dev.addTap((block, cfg) => {
      if (!receiver || receiverRate !== cfg.sampleRateHz) {
        receiver = new StreamReceiver({ params: { sampleRateHz: cfg.sampleRateHz } });
        receiverRate = cfg.sampleRateHz;
      }
      for (const f of receiver.push(block.iq)) if (f.symbols) this.lastPoints = f.symbols;
    });
    this.emit({ type: 'session', sessionId, state: 'running' });
    // The final state is announced after the session is cleared, so a UI that starts the next session on
    // 'done' is not told that one is still running.
    // The body starts once the session is known (its first reports, e.g. models loading, find it).
    const done = Promise.resolve()
      .then(() => body(abort.signal, sessionId))
      .then(
        (): EngineEvent => ({ type: 'session', sessionId, state: abort.signal.aborted ? 'stopped' : 'done' }),
        (e: Error): EngineEvent =>
          abort.signal.aborted
            ? { type: 'session', sessionId, state: 'stopped' }
            : { type: 'session', sessionId, state: 'failed', message: e instanceof DekagError ? e.message : `${e.name}: ${e.message}` },
      )
      .then(async (final) => {
        untap();
        if (this.session?.id === sessionId) this.session = undefined;
        await cleanup?.().catch(() => undefined);
        if (final.type === 'session' && final.state !== 'running') {
          this.lastSession = { sessionId, state: final.state, ...(final.message !== undefined ? { message: final.message } : {}), folder };
        }
        this.emit(final);
        this.changed();
      });
    this.session = { id: sessionId, abort, done, view: { sessionId, sweepBy: null, attenuationDb: null, loading: null, replay: null, ...what, imagesDone: 0, startedAtMs: Date.now(), folder } };
    this.images = [];
    this.changed();
    return { sessionId };
  }

  /** The models the session still waits for (the first session loads them), as every page shows it. */
  private setLoading(sessionId: string, pending: string[] | null): void {
    if (this.session?.id !== sessionId) return;
    const next = pending && pending.length > 0 ? pending : null;
    if (JSON.stringify(next) === JSON.stringify(this.session.view.loading) && next === null) return; // said once
    this.session.view.loading = next;
    this.log('info', pending && pending.length > 0 ? `loading models: ${pending.join(', ')}` : 'models loaded');
    this.changed();
  }

  async stopSession(): Promise<null> {
    const s = this.session;
    if (!s) return null;
    s.abort.abort();
    await s.done;
    return null;
  }

  private onImage(sessionId: string, img: SessionImage): void {
    this.provider = img.provider;
    const record: ImageRecordView = {
      sessionId,
      index: img.index,
      prompt: img.prompt,
      adapter: img.adapter,
      images: { cloud: dataUrl(img.png.cloud), edge: dataUrl(img.png.edge), edgeAdapted: dataUrl(img.png.edgeAdapted), received: dataUrl(img.png.received) },
      configuredSnrDb: img.configuredSnrDb,
      measuredSnrDb: img.measuredSnrDb,
      psnrDb: img.psnrDb,
      consistency: { ...img.consistency },
      rate: img.rate,
      symbols: img.symbols,
      bytesOverAir: img.bytesOverAir,
      pngBytes: img.pngBytes,
      constellation: decimatePoints(img.constellation ?? this.lastPoints, this.o.maxConstellationPoints ?? MAX_POINTS),
      latencyMs: { ...img.latencyMs },
      provider: img.provider,
      tMs: Date.now(),
    };
    this.images.push(record);
    if (this.images.length > KEPT_IMAGES) this.images.splice(0, this.images.length - KEPT_IMAGES);
    if (this.session?.id === sessionId) this.session.view.imagesDone++;
    this.emit({ type: 'image', record });
    this.changed();
  }

  private requireSessions(): SessionBackend {
    if (!this.o.sessions) throw new ApiError('sessions are not available in this build (src/session is missing)', 'E_UNAVAILABLE');
    return this.o.sessions;
  }

  private adapterPath(name: string): string {
    const hit = this.adapters().find((a) => a.name === name);
    if (!hit) {
      const names = this.adapters().map((a) => a.name);
      throw new ApiError(`no adapter named '${name}'; available: ${names.length ? names.join(', ') : 'none (distill one on the Session screen)'}`);
    }
    return hit.path;
  }

  // ------------------------------------------------------------------------------------------------
  // kept sessions: history and export, read from each session's record on disk

  private sessionsDir(): string {
    const d = this.o.sessions?.outDir;
    if (!d) throw new ApiError('sessions are not kept here (no sessions folder)', 'E_UNAVAILABLE');
    return resolve(d);
  }

  /** The folder of a kept session: `<sessions>/<id>/` holding session.jsonl, never a link out of the folder. */
  private sessionFolder(sessionId: string): string {
    const dir = this.sessionsDir();
    const folder = join(dir, sessionId);
    if (!existsSync(join(folder, 'session.jsonl'))) {
      const running = this.session?.id === sessionId;
      throw new ApiError(running ? `session ${sessionId} has no image yet` : `no session '${sessionId}' in ${dir}`, 'E_NO_SESSION');
    }
    const real = realpathSync(join(folder, 'session.jsonl'));
    const rel = relative(realpathSync(dir), real);
    if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).length !== 2) throw new ApiError(`session '${sessionId}' points outside ${dir}`, 'E_OUTSIDE');
    return folder;
  }

  /** Every line of session.jsonl (one record per prompt: received, lost or failed), and summary.json when written. */
  private readSessionRecord(folder: string): { records: Record<string, unknown>[]; summary: Record<string, unknown> | null } {
    const text = readBounded(join(folder, 'session.jsonl'), MAX_RECORD_BYTES);
    const records: Record<string, unknown>[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as unknown;
        if (typeof r === 'object' && r !== null && !Array.isArray(r)) records.push(r as Record<string, unknown>);
      } catch {
        // a line cut by a crash: the record keeps the lines before it
      }
    }
    let summary: Record<string, unknown> | null = null;
    const sp = join(folder, 'summary.json');
    if (existsSync(sp)) {
      try {
        summary = JSON.parse(readBounded(sp, 1 << 20)) as Record<string, unknown>;
      } catch {
        summary = null;
      }
    }
    return { records, summary };
  }

  async listSessions(): Promise<SessionListEntry[]> {
    const dir = this.o.sessions?.outDir;
    if (!dir || !existsSync(dir)) return [];
    const out: (SessionListEntry & { mtime: number })[] = [];
    for (const name of readdirSync(dir)) {
      if (!/^session-[a-z0-9]+-[0-9]+$/.test(name)) continue;
      const jsonl = join(dir, name, 'session.jsonl');
      if (!existsSync(jsonl)) continue;
      const st = statSync(jsonl);
      const lines = st.size <= MAX_RECORD_BYTES ? readFileSync(jsonl, 'utf8').split('\n').filter((l) => l.trim()).length : 0;
      out.push({ sessionId: name, folder: join(resolve(dir), name), images: lines, done: existsSync(join(dir, name, 'summary.json')), mtime: st.mtimeMs });
    }
    return out
      .sort((a, b) => b.mtime - a.mtime)
      .slice(0, 200)
      .map(({ mtime: _m, ...e }) => e);
  }

  async sessionHistory(p: { sessionId: string }): Promise<SessionHistory> {
    const folder = this.sessionFolder(p.sessionId);
    const { records, summary } = this.readSessionRecord(folder);
    const rows = records.map((r) => historyRow(r, folder));
    return { sessionId: p.sessionId, folder: resolve(folder), summary, rows, report: existsSync(join(folder, 'report.html')) };
  }

  async exportSession(p: { sessionId: string; format: ExportFormat }): Promise<ExportedFile> {
    const folder = this.sessionFolder(p.sessionId);
    if (p.format === 'html') {
      const path = join(folder, 'report.html');
      if (!existsSync(path)) throw new ApiError(`session ${p.sessionId} has no report.html yet; it is written when the session ends`, 'E_NO_REPORT');
      return { fileName: `${p.sessionId}-report.html`, mimeType: 'text/html', text: readBounded(path, 64 * 2 ** 20) };
    }
    const { records, summary } = this.readSessionRecord(folder);
    if (p.format === 'json') {
      return { fileName: `${p.sessionId}.json`, mimeType: 'application/json', text: JSON.stringify({ session_id: p.sessionId, folder: resolve(folder), summary, records }, null, 2) + '\n' };
    }
    return { fileName: `${p.sessionId}.csv`, mimeType: 'text/csv', text: sessionCsv(records) };
  }

  // ------------------------------------------------------------------------------------------------
  // recordings

  async startRecording(p: { name: string }): Promise<{ path: string }> {
    const dev = this.requireDevice();
    if (this.recorder) throw new ApiError(`already recording to ${this.recorder.rec.path}`, 'E_BUSY');
    if (existsSync(join(this.o.recordingsDir, `${p.name}.sigmf-meta`))) {
      throw new ApiError(`a recording named '${p.name}' exists in ${this.o.recordingsDir}; choose another name`);
    }
    // A tap on the live receive path: it joins the stream where it is and never waits for the disk
    // (blocks are dropped and marked as a discontinuity when the disk falls behind).
    const rec = await RxRecorder.open(join(this.o.recordingsDir, p.name), {
      datatype: 'cf32_le',
      whenBehind: 'drop',
      sampleRateHz: dev.config.sampleRateHz,
      freqHz: dev.config.freqHz,
      hardware: dev.info.label,
      description: 'DeKA-g testbed session, received stream',
      onError: (e) => {
        this.log('error', `recording stopped: ${e.message}`);
        void this.stopRecording();
      },
    });
    const untap = dev.addTap(rec.tap);
    // Every page shows how much has been recorded and lost: samples (so duration and size), dropped samples and gaps.
    const progress = setInterval(() => this.emit({ type: 'recording', state: 'recording', path: rec.path, samples: rec.samples, droppedSamples: rec.droppedSamples, gaps: rec.gaps }), 1000);
    progress.unref?.();
    this.recorder = { rec, untap, startedAtMs: Date.now(), progress, config: { ...dev.config } };
    this.emit({ type: 'recording', state: 'recording', path: rec.path, samples: 0, droppedSamples: 0, gaps: 0 });
    this.changed();
    return { path: rec.path };
  }

  async stopRecording(): Promise<RecordingSummary | null> {
    const r = this.recorder;
    if (!r) return null;
    this.recorder = undefined;
    clearInterval(r.progress);
    r.untap();
    const summary = await recordingSummary(r.rec, r.config);
    this.emit({ type: 'recording', state: 'stopped', path: summary.path, samples: summary.samples, droppedSamples: summary.droppedSamples, gaps: summary.gaps });
    if (summary.gaps > 0) this.log('warn', `recording ${summary.name} lost ${summary.droppedSamples} samples in ${summary.gaps} gaps (marked as discontinuities in the file)`);
    this.changed();
    return summary;
  }

  async listRecordings(): Promise<RecordingSummary[]> {
    const out: RecordingSummary[] = [];
    for (const f of readdirSync(this.o.recordingsDir).filter((n) => n.endsWith('.sigmf-meta')).sort()) {
      const base = join(this.o.recordingsDir, f.slice(0, -'.sigmf-meta'.length));
      try {
        // Only what lies in the folder once links are resolved (a symlinked meta is not listed or read).
        const { metaPath } = this.confineRecording(base);
        const rec = await SigmfRecording.open(metaPath);
        out.push({
          path: base,
          name: basename(base),
          samples: rec.sampleCount,
          sampleRateHz: rec.sampleRateHz ?? 0,
          freqHz: (rec.captures[0]?.['core:frequency'] as number | undefined) ?? 0,
          datatype: rec.datatype.name,
          ...recordingLosses(rec.captures),
        });
      } catch (e) {
        this.log('warn', `skipping ${base}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /**
   * A recording the UI names must live in the recordings folder, after every link is resolved: its meta,
   * and the data file the meta points at (BASE.sigmf-data, or a bare core:dataset name beside it). The meta
   * is not parsed here beyond its core:dataset; errors name the recording, never what its files hold.
   */
  private confineRecording(path: string): { base: string; metaPath: string } {
    const dir = resolve(this.o.recordingsDir);
    const base = resolve(dir, path.replace(/\.sigmf-(meta|data)$/, ''));
    const rel = relative(dir, base);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.includes(`..${sep}`)) {
      throw new ApiError(`'${path.slice(0, 120)}' is not a recording in ${dir}; pick one from the list`);
    }
    const name = basename(base);
    if (!existsSync(`${base}.sigmf-meta`)) throw new ApiError(`no recording '${name}' in ${dir} (no ${name}.sigmf-meta)`);
    const realDir = realpathSync(dir);
    const inside = (p: string): boolean => {
      const r = relative(realDir, p);
      return r !== '' && !r.startsWith('..') && !isAbsolute(r);
    };
    const outside = new ApiError(`recording '${name}' points outside ${dir} (a link or core:dataset); only recordings in the folder are read`, 'E_OUTSIDE');
    const metaPath = realpathSync(`${base}.sigmf-meta`);
    if (!inside(metaPath)) throw outside;
    if (!statSync(metaPath).isFile() || !metaPath.endsWith('.sigmf-meta')) throw new ApiError(`recording '${name}' is not a regular .sigmf-meta file`);
    let dataset: unknown;
    try {
      if (statSync(metaPath).size <= 64 * 2 ** 20) dataset = (JSON.parse(readFileSync(metaPath, 'utf8')) as { global?: Record<string, unknown> })?.global?.['core:dataset'];
    } catch {
      dataset = undefined; // not JSON: the reader says so when it opens it (without quoting it)
    }
    if (dataset !== undefined && (typeof dataset !== 'string' || /[/\\]/.test(dataset) || dataset === '.' || dataset === '..')) throw outside;
    const realBase = metaPath.replace(/\.sigmf-meta$/, '');
    const dataName = typeof dataset === 'string' ? dataset : `${basename(realBase)}.sigmf-data`;
    const dataPath = join(dirname(metaPath), dataName);
    if (existsSync(dataPath) && !inside(realpathSync(dataPath))) throw outside;
    return { base: realBase, metaPath };
  }

  // ------------------------------------------------------------------------------------------------

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.stopWatching();
    this.session?.abort.abort();
    await this.session?.done;
    await this.stopRecording().catch(() => null);
    await this.attenuator?.close().catch(() => undefined);
    this.attenuator = undefined;
    const radios = new Set([this.tx, this.rx]);
    this.tx = this.rx = undefined;
    for (const d of radios) await d?.close().catch(() => undefined);
    this.listeners.clear();
  }
}

// ---------------------------------------------------------------------------------------------------
// helpers

/** The UI's summary of a recording the engine made, once finished (finalized, or closed after a write error). */
export async function recordingSummary(rec: RxRecorder, config: DeviceConfig): Promise<RecordingSummary> {
  const s = await rec.finish();
  return {
    path: s.path,
    name: s.name,
    samples: s.samples,
    sampleRateHz: config.sampleRateHz,
    freqHz: config.freqHz,
    datatype: s.datatype,
    droppedSamples: s.droppedSamples,
    gaps: s.gaps,
  };
}

/** What a recording lost, as its captures say: each discontinuity the recorder wrote (dekag:lost_samples). */
export function recordingLosses(captures: readonly Record<string, unknown>[]): { droppedSamples: number; gaps: number } {
  let droppedSamples = 0;
  let gaps = 0;
  for (const c of captures) {
    const lost = c[DEKAG_FIELDS.lostSamples];
    if (typeof lost === 'number' && Number.isFinite(lost) && lost > 0) {
      droppedSamples += lost;
      gaps++;
    }
  }
  return { droppedSamples, gaps };
}

/** Largest session.jsonl the engine reads back (a 1 280-image sweep writes about 2 MB). */
const MAX_RECORD_BYTES = 32 * 2 ** 20;

function readBounded(path: string, max: number): string {
  const size = statSync(path).size;
  if (size > max) throw new ApiError(`${basename(path)} has ${size} bytes; at most ${max} are read`, 'E_TOO_LARGE');
  return readFileSync(path, 'utf8');
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const obj = (x: unknown): Record<string, unknown> => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {});
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);

/** The adapter the edge actually used for a record: named and available (a failure record used none). */
function usedAdapter(r: Record<string, unknown>): string | null {
  return r['adapter_available'] === true ? str(r['adapter']) : null;
}

/** One line of session.jsonl as a history row; the received image is read from the folder (confined to it). */
export function historyRow(r: Record<string, unknown>, folder: string): SessionHistoryRow {
  const status = r['status'] === 'received' || r['status'] === 'lost' || r['status'] === 'failed' ? r['status'] : 'failed';
  const snr = obj(r['snr']);
  const air = obj(r['air']);
  const rel = str(obj(r['images'])['received']);
  let received: string | null = null;
  if (rel && /^[A-Za-z0-9_./-]+$/.test(rel) && !rel.split('/').includes('..')) {
    const path = join(folder, rel);
    if (existsSync(path) && statSync(path).size <= 1 << 20) received = dataUrl(readFileSync(path));
  }
  const row: SessionHistoryRow = {
    sequence: num(r['sequence']) ?? -1,
    prompt: str(r['prompt']) ?? '',
    status,
    adapter: usedAdapter(r),
    configuredSnrDb: num(snr['configured_db']),
    measuredSnrDb: num(snr['measured_db']),
    psnrDb: num(r['psnr_db']),
    consistency: num(obj(r['consistency'])['received']),
    rate: num(r['rate']),
    bytesOverAir: num(air['payload_bytes']),
    pngBytes: num(air['png_bytes']),
    received,
  };
  const reason = str(r['lost_reason']) ?? str(r['reason']);
  if (reason) row.reason = reason;
  return row;
}

/** The CSV export's columns: one row per image, named after the session.jsonl fields they come from. */
export const CSV_COLUMNS = [
  'sequence', 'prompt', 'seed', 'status', 'adapter', 'configured_snr_db', 'measured_snr_db', 'psnr_db_vs_sent', 'consistency_edge_base',
  'consistency_edge_adapter', 'consistency_received', 'rate', 'rate_reason', 'link_kind', 'mcs', 'symbols', 'bits', 'payload_bytes', 'png_bytes',
  'crc_ok', 'evm_db', 'reason', 'image_received',
] as const;

function csvField(x: unknown): string {
  if (x === null || x === undefined) return '';
  const s = typeof x === 'string' ? x : String(x);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** session.jsonl as CSV (RFC 4180: comma, CRLF, quoted where needed); empty fields where a value is absent. */
export function sessionCsv(records: readonly Record<string, unknown>[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of records) {
    const snr = obj(r['snr']);
    const air = obj(r['air']);
    const cons = obj(r['consistency']);
    const link = obj(r['link']);
    const row: Record<(typeof CSV_COLUMNS)[number], unknown> = {
      sequence: r['sequence'],
      prompt: r['prompt'],
      seed: r['seed'],
      status: r['status'],
      adapter: usedAdapter(r),
      configured_snr_db: snr['configured_db'],
      measured_snr_db: snr['measured_db'],
      psnr_db_vs_sent: r['psnr_db'],
      consistency_edge_base: cons['edge_base'],
      consistency_edge_adapter: cons['edge_adapter'],
      consistency_received: cons['received'],
      rate: r['rate'],
      rate_reason: r['rate_reason'],
      link_kind: link['kind'],
      mcs: link['mcs'],
      symbols: air['symbols'],
      bits: air['bits'],
      payload_bytes: air['payload_bytes'],
      png_bytes: air['png_bytes'],
      crc_ok: r['crc_ok'],
      evm_db: r['evm_db'],
      reason: r['lost_reason'] ?? r['reason'],
      image_received: obj(r['images'])['received'],
    };
    lines.push(CSV_COLUMNS.map((c) => csvField(row[c])).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

export function promptLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** Configured SNR per image for a sweep (empty for a fixed target). */
export function snrSchedule(p: SessionRequest): number[] {
  if (p.snr.kind !== 'sweep') return [];
  const { fromDb, toDb, stepDb, imagesPerStep } = p.snr;
  const dir = toDb >= fromDb ? 1 : -1;
  const steps = Math.floor(Math.abs(toDb - fromDb) / stepDb + 1e-9) + 1;
  const out: number[] = [];
  for (let s = 0; s < steps; s++) for (let i = 0; i < imagesPerStep; i++) out.push(Math.round((fromDb + dir * s * stepDb) * 100) / 100);
  return out;
}

export function fromLoopbackChannel(c: LoopbackChannel): LoopbackChannelSettings {
  return {
    snrDb: c.snrDb ?? 60,
    fading: c.fading !== undefined,
    dopplerHz: c.fading?.maxDopplerHz ?? 0,
    cfoHz: c.cfoHz ?? 0,
    sroPpm: c.sroPpm ?? 0,
    phaseNoiseLinewidthHz: c.phaseNoiseLinewidthHz ?? 0,
    quantization: c.quantization ?? 'none',
  };
}

export function toLoopbackChannel(s: LoopbackChannelSettings): LoopbackChannel {
  const c: LoopbackChannel = { snrDb: s.snrDb, quantization: s.quantization };
  // Flat Rayleigh fading (the paper's block-fading channel); the Doppler spread sets how fast it moves.
  if (s.fading) c.fading = { profile: 'flat', maxDopplerHz: s.dopplerHz };
  if (s.cfoHz) c.cfoHz = s.cfoHz;
  if (s.sroPpm) c.sroPpm = s.sroPpm;
  if (s.phaseNoiseLinewidthHz) c.phaseNoiseLinewidthHz = s.phaseNoiseLinewidthHz;
  return c;
}

function dataUrl(png: Uint8Array | undefined): string | null {
  return png ? `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}` : null;
}

/** Every k-th point so at most `max` remain, rounded to 1e-3 (the plot's resolution) to keep messages small. */
export function decimatePoints(points: Float32Array | undefined, max: number): number[] {
  if (!points) return [];
  const n = points.length >> 1;
  const step = Math.max(1, Math.ceil(n / max));
  const out: number[] = [];
  for (let i = 0; i < n; i += step) out.push(Math.round(points[2 * i]! * 1000) / 1000, Math.round(points[2 * i + 1]! * 1000) / 1000);
  return out;
}

function findAdapters(dir: string, prefix: string): { name: string; path: string }[] {
  const out: { name: string; path: string }[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 3 || !existsSync(d)) return;
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p, depth + 1);
      else if (entry.name.endsWith('.dkga') && statSync(p).size > 0) out.push({ name: prefix + relative(dir, p).slice(0, -'.dkga'.length).split(sep).join('/'), path: p });
    }
  };
  walk(dir, 0);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

let versionCache: string | undefined;
function packageVersion(): string {
  if (versionCache) return versionCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        versionCache = String((JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version ?? '0.0.0');
        return versionCache;
      } catch {
        break;
      }
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}
