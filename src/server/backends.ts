/**
 * The engine's ports connected to the project: radios, the session runner, the MAKD trainer.
 * Kept apart from engine.ts so tests can give the engine other implementations at the hardware boundary.
 */
import { join, resolve } from 'node:path';
import { ModelStore, defaultModelsDir } from '../gsc/models.js';
import { distill } from '../gsc/distill.js';
import { discoverDevices, watchUsbRadios, type DiscoveryConfig, type UsbLike } from '../radio/devices/discovery.js';
import { loadDriverModules, openDevice } from '../radio/devices/registry.js';
import type { SdrDevice } from '../radio/devices/types.js';
import { Engine } from './engine.js';
import { rolesBackend } from './session-backend.js';
import { parseProvider } from '../gsc/onnx.js';
import type { DeviceDirectory, DistillRunner, SessionBackend } from './ports.js';

export interface CreateEngineOptions {
  modelsDir?: string | undefined;
  recordingsDir?: string | undefined;
  /** Where the UI's distillations go (default out/adapters). */
  userAdaptersDir?: string | undefined;
  devices?: DeviceDirectory;
  sessions?: SessionBackend | null;
  /** Execution provider for the models (cpu, cuda, webgpu, dml, coreml); falls back to cpu. */
  provider?: string | undefined;
  /** Where the network radios added in the UI are kept (browser mode: in the config folder beside the token). */
  networkRadiosFile?: string | undefined;
}

/** Loopback defaults for the app: paced like a radio so the waterfall moves in real time. */
export const APP_LOOPBACK = { sampleRateHz: 1e6, freqHz: 2.4e9, snrDb: 20 } as const;

/**
 * Radios through the device layer: discovery (loopback, USB radios by VID/PID, configured network radios),
 * USB hotplug, and the registry that opens any id (`loopback`, `hackrf[:SERIAL]`, `rtl_tcp:HOST:PORT`,
 * `sigmf:PATH`, ...). The loopback is paced like a radio so the waterfall moves in real time.
 */
export function registryDevices(config: DiscoveryConfig = {}, usb?: UsbLike): DeviceDirectory {
  let drivers: Promise<string[]> | undefined;
  return {
    list: async () => (await discoverDevices(config, usb)).devices,
    discover: () => discoverDevices(config, usb),
    open: async (id: string): Promise<SdrDevice> => {
      await (drivers ??= loadDriverModules());
      return openDevice(id, {
        loopback: {
          channel: { snrDb: APP_LOOPBACK.snrDb },
          pace: 'realtime',
          config: { sampleRateHz: APP_LOOPBACK.sampleRateHz, freqHz: APP_LOOPBACK.freqHz },
        },
        sigmf: { pace: 'realtime' },
      });
    },
    watch: (onChange) => {
      let stop: (() => void) | undefined;
      let cancelled = false;
      void watchUsbRadios(() => onChange(), usb).then((r) => {
        if (cancelled) r.stop?.();
        else stop = r.stop;
      });
      return () => {
        cancelled = true;
        stop?.();
      };
    },
  };
}

export const distillRunner: DistillRunner = async ({ subject, steps, quick, out, onProgress }) => {
  const r = await distill({ subject, steps, quick, out, onProgress: (p) => onProgress({ step: p.step, total: p.total }) });
  return { out: r.out, bytes: r.bytes };
};

export function createEngine(o: CreateEngineOptions = {}): Engine {
  const modelsDir = resolve(o.modelsDir ?? defaultModelsDir());
  let store: ModelStore | undefined;
  const getStore = (): ModelStore => (store ??= ModelStore.open(modelsDir));
  const recordingsDir = resolve(o.recordingsDir ?? join('out', 'recordings'));
  return new Engine({
    devices: o.devices ?? registryDevices(),
    // Session records (session.jsonl, images/) go next to the recordings: out/sessions, or ~/Documents/DeKA-g/sessions.
    sessions: o.sessions !== undefined ? o.sessions : rolesBackend({ store: getStore, provider: parseProvider(o.provider ?? 'cpu'), outDir: join(recordingsDir, '..', 'sessions') }),
    distill: distillRunner,
    vocab: () => getStore().vocab,
    modelsDir,
    adaptersDir: join(modelsDir, 'adapters'),
    userAdaptersDir: resolve(o.userAdaptersDir ?? join('out', 'adapters')),
    recordingsDir,
    ...(o.networkRadiosFile ? { networkRadiosFile: o.networkRadiosFile } : {}),
  });
}
