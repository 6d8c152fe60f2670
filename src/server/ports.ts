/**
 * What the engine needs from the rest of the project, as small interfaces. The engine (engine.ts) only
 * talks to these; backends.ts connects them to the device registry, the session runner and the MAKD
 * trainer. Tests hand the engine the real implementations, or, at the hardware boundary, fakes.
 */
import type { DeviceInfo, SdrDevice } from '../radio/devices/types.js';

/** Finding and opening radios (src/radio/devices registry + discovery). */
export interface DeviceDirectory {
  list(): Promise<DeviceInfo[]>;
  /** The same list, with what limited the search (e.g. no USB bus here); optional. */
  discover?(): Promise<{ devices: DeviceInfo[]; problems: string[] }>;
  /** Opens the radio; the result is open and ready to configure. */
  open(id: string): Promise<SdrDevice>;
  /** Hotplug: calls `onChange` when radios come or go; returns the function that stops watching. */
  watch(onChange: () => void): () => void;
}

/** One image's worth of a session, as the session runner reports it. */
export interface SessionImage {
  index: number;
  prompt: string;
  /** The MAKD adapter the edge actually used for this image (null: the base model). */
  adapter: string | null;
  /** PNG bytes of each stage's image; undefined when the stage did not run. */
  png: { cloud?: Uint8Array; edge?: Uint8Array; edgeAdapted?: Uint8Array; received?: Uint8Array };
  configuredSnrDb: number | null;
  measuredSnrDb: number | null;
  psnrDb: number | null;
  consistency: { edge: number | null; edgeAdapted: number | null; received: number | null };
  rate: number;
  symbols: number;
  bytesOverAir: number;
  pngBytes: number;
  /** Received equalized points, interleaved complex; undefined when the runner does not expose them. */
  constellation?: Float32Array;
  latencyMs: Record<string, number>;
  provider: string;
}

export interface SessionRunOptions {
  /** The engine's id for this session (what the UI and its log show); the record's folder has this name. */
  sessionId: string;
  prompts: string[];
  /** 'auto': the cloud picks among all adapters by the prompt's subject; a path: only that adapter; null: none. */
  adapter: 'auto' | { path: string } | null;
  /** Folders holding the adapters (shipped, and the user's own distillations). */
  adapterDirs: string[];
  rate: number | 'auto';
  images: number;
  seed: number;
  /** The receiving radio (already open and configured); the runner transmits on it too unless `txDevice` is given. */
  device: SdrDevice;
  /** The transmitting radio when it is another radio than `device` (a HackRF sending to an RTL-SDR). */
  txDevice?: SdrDevice;
  /** Models still loading (the first session loads them): called with what is left, then null when ready. */
  onLoading?: (pending: string[] | null) => void;
  /** Called before image `index` is sent; returns the SNR configured for it (sweeps change it here). */
  beforeImage: (index: number) => Promise<number | null>;
  onImage: (image: SessionImage) => void;
  onLog: (level: 'info' | 'warn' | 'error', message: string) => void;
  signal: AbortSignal;
}

export interface ReplayOptions {
  /** An RX-only device playing the recording. */
  device: SdrDevice;
  /** Models still loading: called with what is left, then null when ready. */
  onLoading?: (pending: string[] | null) => void;
  onImage: (image: SessionImage) => void;
  onLog: (level: 'info' | 'warn' | 'error', message: string) => void;
  signal: AbortSignal;
}

/** The session runner (src/session): cloud, edge and user roles over the radio. */
export interface SessionBackend {
  /** Where each session's record goes: `<outDir>/<sessionId>/` (session.jsonl, images/); absent when not kept. */
  readonly outDir?: string;
  run(opts: SessionRunOptions): Promise<void>;
  /** Runs the user role alone on a recorded stream: frames are decoded into images again. */
  replay(opts: ReplayOptions): Promise<void>;
}

export interface DistillProgress {
  step: number;
  total: number;
}

/** MAKD distillation (src/cli/distill.ts: the Python trainer as a child process). */
export type DistillRunner = (opts: { subject: string; steps: number; quick: boolean; out: string; onProgress: (p: DistillProgress) => void }) => Promise<{ out: string; bytes: number }>;
