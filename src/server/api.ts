/**
 * The engine API: every call and event the UI uses, in one typed, validated table.
 *
 * The same table serves the Electron preload (IPC to the engine's utility process) and browser mode
 * (WebSocket). The engine side validates every request against `API_SCHEMA` (types, ranges, no unknown
 * fields) and rejects unknown methods, so a compromised or buggy renderer can only ask for what is listed
 * here. This file imports nothing at run time except the error base class (pure), so the renderer can
 * import its types without pulling Node in.
 */
import { DekagError } from '../util/errors.js';

// ---------------------------------------------------------------------------------------------------
// Data the calls exchange

/** A registered driver's name (src/radio/devices/registry.ts: the built-in ones, and any registered from one file). */
export type DeviceDriverName = string;

export interface DeviceSummary {
  id: string;
  driver: DeviceDriverName;
  label: string;
  /** Whether this radio is connected now (as TX, RX or both). */
  connected: boolean;
  /** The roles it holds now: [] when not connected. */
  roles: ('tx' | 'rx')[];
}

/**
 * Which end a radio is connected as: 'both' (one full-duplex radio such as the loopback or a Pluto; the
 * default), 'tx' (the transmitter, e.g. a HackRF: half-duplex) or 'rx' (the receiver, e.g. an RTL-SDR).
 */
export type RadioRole = 'both' | 'tx' | 'rx';

/** A network radio the user adds from the Devices screen: an rtl_tcp server (host:port) or a Pluto by host. */
export interface NetworkRadioRequest {
  driver: 'rtl_tcp' | 'pluto';
  host: string;
  port?: number;
}

export interface GainStageSummary {
  name: string;
  minDb: number;
  maxDb: number;
  stepDb: number;
  direction: 'rx' | 'tx';
}

export interface DeviceSettings {
  freqHz: number;
  sampleRateHz: number;
  gainsDb: Record<string, number>;
}

export interface ConnectedDevice {
  id: string;
  driver: DeviceDriverName;
  label: string;
  rx: boolean;
  tx: boolean;
  fullDuplex: boolean;
  freqRangeHz: [number, number];
  sampleRateRangeHz: [number, number];
  gains: GainStageSummary[];
  settings: DeviceSettings;
  /** Loopback only: the simulated channel. */
  channel?: LoopbackChannelSettings;
}

/** The loopback radio's channel, as the UI offers it (a subset of the simulator's settings). */
export interface LoopbackChannelSettings {
  snrDb: number;
  /** Rayleigh block fading on/off, and its Doppler spread. */
  fading: boolean;
  dopplerHz: number;
  cfoHz: number;
  sroPpm: number;
  phaseNoiseLinewidthHz: number;
  quantization: 'none' | 'ci8' | 'cu8';
}

export interface VocabularyInfo {
  /** Every word the tokenizer accepts (metaword tokens excluded). */
  words: string[];
  /** Most words a prompt may have. */
  maxWords: number;
  /** attribute -> values, e.g. shape -> [star, circle, ...] (for the subject picker). */
  attributes: Record<string, string[]>;
  /** Subjects where cloud and edge disagree (the ones MAKD adapters exist for). */
  misalignedSubjects: string[];
  examples: string[];
}

export type PromptCheck =
  | { ok: true; words: string[]; attributes: Record<string, string> }
  | { ok: false; error: string; word?: string; suggestions: string[] };

export interface AdapterSummary {
  /** Name to pass as `adapter` (file name without .dkga). */
  name: string;
  subject: string;
  bytes: number;
}

export type SnrPlan =
  | { kind: 'target'; snrDb: number }
  /** A step attenuator (or the loopback's channel) walks the SNR from `fromDb` to `toDb`. */
  | { kind: 'sweep'; fromDb: number; toDb: number; stepDb: number; imagesPerStep: number };

export interface SessionRequest {
  /** One prompt, or several separated by newlines. */
  prompt: string;
  /**
   * MAKD adapters the cloud may pick from: 'auto' = every adapter, picked by the subject the prompt names;
   * a name (see listAdapters) = only that one (used when the prompt names its subject); null = none.
   */
  adapter: string | null;
  snr: SnrPlan;
  /** JSCC rate K/dim(z) (1/16 .. 1/2), or 'auto' for the session's closed-loop choice. */
  rate: number | 'auto';
  /** Images to send (ignored for sweeps, which send imagesPerStep per step). */
  images: number;
  seed: number;
}

export interface DistillRequest {
  subject: string;
  steps: number;
  quick: boolean;
}

export interface RecordingSummary {
  /** Base path (without .sigmf-meta / .sigmf-data). */
  path: string;
  name: string;
  samples: number;
  sampleRateHz: number;
  freqHz: number;
  datatype: string;
  /** Samples lost while recording (the radio's gaps and blocks dropped when the disk fell behind), as the file's discontinuities say. */
  droppedSamples: number;
  /** Discontinuities in the recording (runs of lost samples). */
  gaps: number;
}

/** Most characters a prompt (all its lines) may have: the engine's validator and the page use this one number. */
export const MAX_PROMPT_CHARS = 4000;

export interface EngineInfo {
  version: string;
  /** Execution provider that actually ran (cpu, cuda, webgpu, ...), or null before models are loaded. */
  provider: string | null;
  modelsDir: string;
  recordingsDir: string;
  /** What the engine can do here; the UI greys out what is missing. */
  features: { sessions: boolean; distill: boolean; sweep: boolean };
  /** Limits the page checks before sending (the engine checks them again). */
  limits: { maxPromptChars: number; maxRequestBytes: number };
}

/** The session (or replay) running now, as every tab shows it. */
export interface SessionStateView {
  sessionId: string;
  kind: 'session' | 'replay';
  /** The prompt(s), or the recording being replayed. */
  label: string;
  /** Images received so far, and how many the session sends (null for a replay: as many as the recording holds). */
  imagesDone: number;
  imagesTotal: number | null;
  /** The SNR set on the channel now (sweeps change it), or null when nobody sets it (over the air). */
  configuredSnrDb: number | null;
  /**
   * What an SNR sweep moves: the serial step attenuator (over the air: its attenuation, the SNR is only
   * measured), or the loopback's attenuation (the signal drops, the noise floor stays); null without a sweep.
   */
  sweepBy: 'attenuator' | 'loopback' | null;
  /** The attenuation the sweep set for the image now being sent (dB), or null. */
  attenuationDb: number | null;
  /** Models the engine is still loading (the first session or replay loads them); null once ready. */
  loading: string[] | null;
  /** A replay's progress through its recording (samples played of the total); null for a session. */
  replay: { samples: number; totalSamples: number; sampleRateHz: number } | null;
  startedAtMs: number;
  /** The folder holding the session's record (session.jsonl, images/), named after sessionId; null for a replay. */
  folder: string | null;
}

/** How the last session ended (a page opened afterwards shows it). */
export interface SessionEndView {
  sessionId: string;
  state: 'done' | 'stopped' | 'failed';
  message?: string;
  folder: string | null;
}

export interface RecordingStateView {
  path: string;
  /** Samples handed to the writer so far. */
  samples: number;
  /** Samples lost so far (the radio's gaps and blocks dropped because the disk fell behind), in `gaps` runs. */
  droppedSamples: number;
  gaps: number;
  startedAtMs: number;
}

/** The serial step attenuator the engine drives (SNR sweeps over the air). */
export interface AttenuatorView {
  port: string;
  /** Its attenuation as last set or read back (dB). */
  attenuationDb: number | null;
}

export interface DistillStateView {
  subject: string;
  state: 'running' | 'done' | 'failed';
  step: number;
  /** Steps in all, as the trainer's first progress line says; 0 until then (never changes afterwards). */
  total: number;
  message?: string;
  adapter?: string;
}

/**
 * Everything a page needs to show and control what the engine is doing: the engine's state is the truth,
 * every tab loads it on (re)connect and gets it again (event 'state') whenever it changes.
 */
export interface EngineState {
  /** The receiving radio (or, with no receiver, the transmitting one): the one the Devices screen sets up. */
  device: ConnectedDevice | null;
  /** The transmitting radio when it is another radio than `device`; null when it is the same or none. */
  txDevice: ConnectedDevice | null;
  /** The ids of the TX and RX radios (the same id for one full-duplex radio). */
  radios: { tx: string | null; rx: string | null };
  /** What limited the search for radios, e.g. "no USB bus (…); USB radios cannot be listed here". */
  deviceProblems: string[];
  session: SessionStateView | null;
  lastSession: SessionEndView | null;
  recording: RecordingStateView | null;
  /** The distillation running now, or the last one's result; null before any. */
  distill: DistillStateView | null;
  /** The step attenuator connected to the engine, or null. */
  attenuator: AttenuatorView | null;
}

/** What `state()` answers: the state, and the current (or last) session's most recent image records. */
export interface EngineSnapshot extends EngineState {
  images: ImageRecordView[];
}

/** One image of a kept session, read back from its record on disk (session.jsonl). */
export interface SessionHistoryRow {
  sequence: number;
  prompt: string;
  /** received, lost (sent, never reported) or failed (no image made). */
  status: 'received' | 'lost' | 'failed';
  /** The adapter the edge actually used (null: base model). */
  adapter: string | null;
  configuredSnrDb: number | null;
  measuredSnrDb: number | null;
  /** PSNR of the received image against the image the edge sent. */
  psnrDb: number | null;
  consistency: number | null;
  rate: number | null;
  bytesOverAir: number | null;
  pngBytes: number | null;
  /** The received image as a PNG data URL (null when lost or failed). */
  received: string | null;
  reason?: string;
}

/** A kept session: its folder, summary (summary.json, null while it runs) and every image (session.jsonl). */
export interface SessionHistory {
  sessionId: string;
  folder: string;
  summary: Record<string, unknown> | null;
  rows: SessionHistoryRow[];
  /** Whether report.html exists (written when the session ends). */
  report: boolean;
}

export type ExportFormat = 'json' | 'csv' | 'html';

/** A file the page saves: the engine builds it from the session's record on disk. */
export interface ExportedFile {
  fileName: string;
  mimeType: string;
  text: string;
}

/** Sessions kept in the sessions folder, newest first. */
export interface SessionListEntry {
  sessionId: string;
  folder: string;
  /** Prompts in the record (lines of session.jsonl). */
  images: number;
  done: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Events (engine -> UI)

export interface ImageRecordView {
  sessionId: string;
  index: number;
  prompt: string;
  /** The MAKD adapter the edge actually used for this image; null: the base model (none picked, or it failed). */
  adapter: string | null;
  /** PNG data URLs; null when the stage did not run (e.g. no adapter). */
  images: { cloud: string | null; edge: string | null; edgeAdapted: string | null; received: string | null };
  /** null when nobody set the channel (a replayed recording, a real radio without an attenuator). */
  configuredSnrDb: number | null;
  /** null when the frame was lost. */
  measuredSnrDb: number | null;
  psnrDb: number | null;
  /** Evaluator consistency with the cloud image (2 = identical). */
  consistency: { edge: number | null; edgeAdapted: number | null; received: number | null };
  rate: number;
  symbols: number;
  bytesOverAir: number;
  pngBytes: number;
  /** Received, equalized constellation points, interleaved [re, im, ...] (at most 512 points). */
  constellation: number[];
  latencyMs: Record<string, number>;
  provider: string;
  tMs: number;
}

export interface SpectrumRow {
  freqHz: number;
  sampleRateHz: number;
  /** Power per bin in dBFS, DC in the middle (fftshifted). */
  binsDb: number[];
  tMs: number;
}

export type EngineEvent =
  | { type: 'state'; state: EngineState }
  | { type: 'devices'; devices: DeviceSummary[] }
  | { type: 'device'; device: ConnectedDevice | null; reason?: string }
  | { type: 'session'; sessionId: string; state: 'running' | 'done' | 'stopped' | 'failed'; message?: string; configuredSnrDb?: number; attenuationDb?: number }
  | { type: 'image'; record: ImageRecordView }
  | { type: 'spectrum'; row: SpectrumRow }
  | { type: 'distill'; subject: string; state: 'running' | 'done' | 'failed'; step: number; total: number; message?: string; adapter?: string }
  | { type: 'recording'; state: 'recording' | 'stopped'; path: string; samples: number; droppedSamples: number; gaps: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type EngineEventType = EngineEvent['type'];

// ---------------------------------------------------------------------------------------------------
// The calls

export interface DekagApi {
  info(): Promise<EngineInfo>;
  /** The engine's whole state (radio, session, recording, distillation) and the session's recent images. */
  state(): Promise<EngineSnapshot>;
  listDevices(): Promise<DeviceSummary[]>;
  /** Connects a radio as TX, RX or both (default both); the other role keeps its radio. */
  connectDevice(p: { id: string; role?: RadioRole }): Promise<ConnectedDevice>;
  /** Adds a network radio (rtl_tcp server, Pluto) to the Devices list for this engine's life. */
  addNetworkRadio(p: NetworkRadioRequest): Promise<DeviceSummary[]>;
  disconnectDevice(): Promise<null>;
  /** Opens a serial step attenuator (generic 'ATT {db}' protocol); SNR sweeps then set its attenuation. */
  connectAttenuator(p: { port: string; baudRate?: number }): Promise<AttenuatorView>;
  disconnectAttenuator(): Promise<null>;
  configureDevice(p: Partial<DeviceSettings>): Promise<DeviceSettings>;
  setLoopbackChannel(p: Partial<LoopbackChannelSettings>): Promise<LoopbackChannelSettings>;
  vocabulary(): Promise<VocabularyInfo>;
  checkPrompt(p: { prompt: string }): Promise<PromptCheck>;
  listAdapters(): Promise<AdapterSummary[]>;
  distill(p: DistillRequest): Promise<{ subject: string }>;
  startSession(p: SessionRequest): Promise<{ sessionId: string }>;
  stopSession(): Promise<null>;
  startRecording(p: { name: string }): Promise<{ path: string }>;
  stopRecording(): Promise<RecordingSummary | null>;
  listRecordings(): Promise<RecordingSummary[]>;
  replayRecording(p: { path: string }): Promise<{ sessionId: string }>;
  /** Kept sessions (folders in the sessions folder), newest first. */
  listSessions(): Promise<SessionListEntry[]>;
  /** A kept session's every image, read from its session.jsonl, and its summary. */
  sessionHistory(p: { sessionId: string }): Promise<SessionHistory>;
  /** A kept session as JSON (summary + every record), CSV (one row per image) or its report.html. */
  exportSession(p: { sessionId: string; format: ExportFormat }): Promise<ExportedFile>;
}

export type ApiMethod = keyof DekagApi;
export type ApiParams<M extends ApiMethod> = Parameters<DekagApi[M]> extends [infer P] ? P : undefined;
export type ApiResult<M extends ApiMethod> = Awaited<ReturnType<DekagApi[M]>>;

/** What the preload exposes as `window.dekag`, and what the browser-mode WebSocket client implements. */
export interface DekagBridge extends DekagApi {
  /** Subscribes to engine events; returns the unsubscribe function. */
  onEvent(listener: (event: EngineEvent) => void): () => void;
}

// ---------------------------------------------------------------------------------------------------
// Wire protocol (WebSocket and the Electron utility process carry the same JSON messages)

export interface RequestMessage {
  id: number;
  method: string;
  params?: unknown;
}
export type ResponseMessage =
  | { id: number; result: unknown }
  | { id: number; error: { code: string; message: string } };
export interface EventMessage {
  event: EngineEvent;
}

// ---------------------------------------------------------------------------------------------------
// Validation

/** A request the engine refuses: unknown method, wrong type, out of range, unknown field. */
export class ApiError extends DekagError {
  constructor(message: string, code = 'E_API') {
    super(message, code);
  }
}

type Check<T> = (v: unknown, path: string) => T;

function fail(path: string, want: string, got: unknown): never {
  const shown = typeof got === 'string' ? `'${got.length > 40 ? got.slice(0, 40) + '…' : got}'` : got === null ? 'null' : Array.isArray(got) ? 'an array' : typeof got === 'object' ? 'an object' : String(got);
  throw new ApiError(`${path} must be ${want}, got ${shown}`);
}

export const v = {
  string(opts: { min?: number; max: number; pattern?: RegExp; what?: string }): Check<string> {
    return (x, path) => {
      if (typeof x !== 'string') fail(path, 'a string', x);
      if (x.length < (opts.min ?? 0) || x.length > opts.max) fail(path, `a string of ${opts.min ?? 0} to ${opts.max} characters`, x);
      if (opts.pattern && !opts.pattern.test(x)) fail(path, opts.what ?? `a string matching ${opts.pattern}`, x);
      return x;
    };
  },
  number(min: number, max: number, integer = false): Check<number> {
    return (x, path) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(path, 'a finite number', x);
      if (integer && !Number.isInteger(x)) fail(path, 'an integer', x);
      if (x < min || x > max) fail(path, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`, x);
      return x;
    };
  },
  boolean(): Check<boolean> {
    return (x, path) => (typeof x === 'boolean' ? x : fail(path, 'true or false', x));
  },
  literal<T extends string>(values: readonly T[]): Check<T> {
    return (x, path) => ((values as readonly unknown[]).includes(x) ? (x as T) : fail(path, `one of ${values.map((s) => `'${s}'`).join(', ')}`, x));
  },
  nullable<T>(inner: Check<T>): Check<T | null> {
    return (x, path) => (x === null ? null : inner(x, path));
  },
  /** An object with exactly these fields (those marked optional may be missing); unknown fields are refused. */
  object<T>(fields: { [K in keyof T]-?: Check<T[K]> }, optional: readonly (keyof T)[] = []): Check<T> {
    return (x, path) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(path, 'an object', x);
      const rec = x as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        if (!Object.prototype.hasOwnProperty.call(fields, k)) throw new ApiError(`${path} has an unknown field '${k}'; allowed: ${Object.keys(fields).join(', ')}`);
      }
      const out: Record<string, unknown> = {};
      for (const [k, check] of Object.entries(fields) as [string, Check<unknown>][]) {
        if (rec[k] === undefined) {
          if ((optional as readonly string[]).includes(k)) continue;
          throw new ApiError(`${path}.${k} is missing`);
        }
        out[k] = check(rec[k], `${path}.${k}`);
      }
      return out as T;
    };
  },
  record<T>(key: Check<string>, value: Check<T>, maxKeys: number): Check<Record<string, T>> {
    return (x, path) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(path, 'an object', x);
      const entries = Object.entries(x as Record<string, unknown>);
      if (entries.length > maxKeys) throw new ApiError(`${path} has ${entries.length} entries; at most ${maxKeys}`);
      // fromEntries defines own properties: a key named __proto__ stays a key (and is then refused by name
      // where it is looked up), it never replaces the object's prototype.
      return Object.fromEntries(entries.map(([k, val]) => [key(k, `${path} key`), value(val, `${path}.${k}`)]));
    };
  },
  /** Tagged union on `kind`. */
  union<T>(tag: string, variants: Record<string, Check<T>>): Check<T> {
    return (x, path) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(path, 'an object', x);
      const kind = (x as Record<string, unknown>)[tag];
      const check = typeof kind === 'string' && Object.prototype.hasOwnProperty.call(variants, kind) ? variants[kind] : undefined;
      if (!check) fail(`${path}.${tag}`, `one of ${Object.keys(variants).map((s) => `'${s}'`).join(', ')}`, kind);
      return check(x, path);
    };
  },
  none(): Check<undefined> {
    return (x, path) => {
      if (x === undefined || x === null) return undefined;
      if (typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 0) return undefined;
      return fail(path, 'absent (this call takes no parameters)', x);
    };
  },
};

/** JSCC rates the codec serves (src/gsc/jscc.ts JSCC_RATES; repeated here so the renderer needs no engine code). */
export const RATES = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1] as const;

const rate: Check<number | 'auto'> = (x, path) => {
  if (x === 'auto') return 'auto';
  if (typeof x === 'number' && RATES.some((r) => Math.abs(r - x) < 1e-9)) return x;
  return fail(path, "'auto' or one of 1/16, 1/8, 1/4, 1/2, 1 (as a number)", x);
};

const snrDb = v.number(-10, 60);
const gainName = v.string({ min: 1, max: 32, pattern: /^[a-z_][a-z0-9_]*$/, what: 'a gain stage name like lna or rx' });

const snrPlan: Check<SnrPlan> = v.union<SnrPlan>('kind', {
  target: v.object<{ kind: 'target'; snrDb: number }>({ kind: v.literal(['target'] as const), snrDb }) as Check<SnrPlan>,
  sweep: ((x: unknown, path: string) => {
    const s = v.object<{ kind: 'sweep'; fromDb: number; toDb: number; stepDb: number; imagesPerStep: number }>({
      kind: v.literal(['sweep'] as const),
      fromDb: snrDb,
      toDb: snrDb,
      stepDb: v.number(0.5, 30),
      imagesPerStep: v.number(1, 20, true),
    })(x, path);
    const steps = Math.floor(Math.abs(s.toDb - s.fromDb) / s.stepDb) + 1;
    if (steps > 64) throw new ApiError(`${path}: the sweep has ${steps} steps; at most 64 (raise stepDb)`);
    return s;
  }) as Check<SnrPlan>,
});

/** A session id as the engine makes them (session-<time>-<n>); also its folder's name. */
const sessionId = v.string({ min: 1, max: 80, pattern: /^session-[a-z0-9]+-[0-9]+$/, what: "a session id like 'session-mh3k2x-1'" });

/** Paths the UI may name: recordings live in the recordings folder; the engine resolves and confines them. */
const recordingPath = v.string({ min: 1, max: 1024, pattern: /^[^\0]+$/, what: 'a recording path' });

export const API_SCHEMA: { [M in ApiMethod]: Check<ApiParams<M>> } = {
  info: v.none(),
  state: v.none(),
  listDevices: v.none(),
  connectDevice: v.object<{ id: string; role?: RadioRole }>(
    { id: v.string({ min: 1, max: 512, pattern: /^[a-z_]+(:[^\0]*)?$/, what: "a device id like 'loopback' or 'rtl_tcp:127.0.0.1:1234'" }), role: v.literal(['both', 'tx', 'rx'] as const) },
    ['role'],
  ),
  addNetworkRadio: v.object<NetworkRadioRequest>(
    {
      driver: v.literal(['rtl_tcp', 'pluto'] as const),
      host: v.string({ min: 1, max: 253, pattern: /^(?=.*[A-Za-z0-9])[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/, what: 'a host name or IPv4 address like 127.0.0.1 or pluto.local' }),
      port: v.number(1, 65535, true),
    },
    ['port'],
  ),
  disconnectDevice: v.none(),
  connectAttenuator: v.object<{ port: string; baudRate?: number }>(
    {
      port: v.string({ min: 1, max: 256, pattern: /^(\/dev\/(?!.*\.\.)[A-Za-z0-9._/-]+|COM[0-9]{1,3})$/, what: 'a serial port like /dev/ttyUSB0 or COM3' }),
      baudRate: v.number(300, 4_000_000, true),
    },
    ['baudRate'],
  ),
  disconnectAttenuator: v.none(),
  configureDevice: v.object<Partial<DeviceSettings>>(
    { freqHz: v.number(0, 100e9), sampleRateHz: v.number(1e3, 100e6), gainsDb: v.record(gainName, v.number(-100, 100), 8) },
    ['freqHz', 'sampleRateHz', 'gainsDb'],
  ),
  setLoopbackChannel: v.object<Partial<LoopbackChannelSettings>>(
    {
      snrDb,
      fading: v.boolean(),
      dopplerHz: v.number(0, 1000),
      cfoHz: v.number(-100e3, 100e3),
      sroPpm: v.number(-200, 200),
      phaseNoiseLinewidthHz: v.number(0, 10e3),
      quantization: v.literal(['none', 'ci8', 'cu8'] as const),
    },
    ['snrDb', 'fading', 'dopplerHz', 'cfoHz', 'sroPpm', 'phaseNoiseLinewidthHz', 'quantization'],
  ),
  vocabulary: v.none(),
  checkPrompt: v.object({ prompt: v.string({ max: MAX_PROMPT_CHARS }) }),
  listAdapters: v.none(),
  distill: v.object<DistillRequest>({
    subject: v.string({ min: 1, max: 200, pattern: /^[a-z:, ]+$/, what: "a subject like 'shape:star' (attribute:value, several joined by commas)" }),
    steps: v.number(1, 20000, true),
    quick: v.boolean(),
  }),
  startSession: v.object<SessionRequest>({
    prompt: v.string({ min: 1, max: MAX_PROMPT_CHARS }),
    adapter: v.nullable(v.string({ min: 1, max: 200, pattern: /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, what: "'auto' or an adapter name from listAdapters" })),
    snr: snrPlan,
    rate,
    images: v.number(1, 100, true),
    seed: v.number(0, 2 ** 32 - 1, true),
  }),
  stopSession: v.none(),
  startRecording: v.object({ name: v.string({ min: 1, max: 80, pattern: /^[A-Za-z0-9_-]+$/, what: 'a name of letters, digits, - and _' }) }),
  stopRecording: v.none(),
  listRecordings: v.none(),
  replayRecording: v.object({ path: recordingPath }),
  listSessions: v.none(),
  sessionHistory: v.object({ sessionId }),
  exportSession: v.object({ sessionId, format: v.literal(['json', 'csv', 'html'] as const) }),
} as { [M in ApiMethod]: Check<ApiParams<M>> };

export const API_METHODS = Object.keys(API_SCHEMA) as ApiMethod[];

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(API_SCHEMA, name);
}

/** Validates one request; returns the method and its checked parameters, or throws ApiError. */
export function validateRequest(method: unknown, params: unknown): { method: ApiMethod; params: unknown } {
  if (!isApiMethod(method)) {
    throw new ApiError(`unknown call '${typeof method === 'string' ? method.slice(0, 60) : typeof method}'; the engine answers: ${API_METHODS.join(', ')}`, 'E_API_UNKNOWN');
  }
  const check = API_SCHEMA[method] as Check<unknown>;
  return { method, params: check(params, method) };
}
