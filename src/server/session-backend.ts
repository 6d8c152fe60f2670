/**
 * The engine's session port on top of src/session: the cloud, edge and user roles (CloudRole, EdgeRole,
 * UserRole) joined by in-process links, on the radio the engine hands over (the UI's connected radio,
 * wrapped with its RX taps) instead of a radio of their own. The models load once and stay loaded between
 * sessions, so the second session starts at once.
 *
 * The wiring mirrors src/session/session.ts runLocalSession (which opens its own full-speed loopback and
 * has no stop signal); when that function accepts a radio and an AbortSignal this file shrinks to a call.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Evaluator } from '../gsc/evaluate.js';
import { Generator } from '../gsc/generate.js';
import { encodePng } from '../gsc/image.js';
import { JsccCodec } from '../gsc/jscc.js';
import type { ModelStore } from '../gsc/models.js';
import type { OnnxModel, ProviderName } from '../gsc/onnx.js';
import { CloudRole, loadAdapterCatalog, type AdapterCatalog, type ImageRecord } from '../session/cloud.js';
import { EdgeRole } from '../session/edge.js';
import { linkPair } from '../session/link.js';
import { loadRateCurves, RatePolicy } from '../session/policy.js';
import { UserRole, type UserFrame } from '../session/user.js';
import type { ReplayOptions, SessionBackend, SessionImage, SessionRunOptions } from './ports.js';

interface Models {
  cloud: Generator;
  edge: Generator;
  evaluator: Evaluator;
  codec: JsccCodec;
  decoder: OnnxModel;
}

export interface RolesBackendOptions {
  store: () => ModelStore;
  provider: ProviderName;
  /** Where each session's record (session.jsonl, images/) goes. */
  outDir: string;
}

export function rolesBackend(o: RolesBackendOptions): SessionBackend {
  let models: Promise<Models> | undefined;
  let sessionCount = 0;
  const load = (): Promise<Models> => {
    const store = o.store();
    const opts = { provider: o.provider };
    models ??= Promise.all([
      Generator.load(store, 'cloud', opts),
      Generator.load(store, 'edge', opts),
      Evaluator.load(store, opts),
      JsccCodec.load(store, 'cala', opts),
      store.session('autoencoder_decoder.onnx', opts),
    ]).then(([cloud, edge, evaluator, codec, decoder]) => ({ cloud, edge, evaluator, codec, decoder }));
    models.catch(() => (models = undefined)); // a failed load (missing model) is retried next time
    return models;
  };

  return {
    async run(r: SessionRunOptions): Promise<void> {
      const store = o.store();
      const m = await load();
      const sessionId = ++sessionCount;
      const outDir = resolve(o.outDir, `session-${Date.now().toString(36)}-${sessionId}`);
      const catalog = chooseAdapters(mergeCatalogs(r.adapterDirs.map((d) => loadAdapterCatalog(store, d))), r.adapter);
      const radio = r.device;
      const [cloudToEdge, edgeFromCloud] = linkPair('cloud', 'edge');
      const [userToEdge, edgeFromUser] = linkPair('user', 'edge');
      let configured: number | null = null;
      const tx = radio.startTx();
      const edge = new EdgeRole({
        store,
        generator: m.edge,
        codec: m.codec,
        tx,
        policy: new RatePolicy(loadRateCurves(store.dir), r.rate === 'auto' ? {} : { fixedRate: r.rate }),
        sampleRateHz: radio.config.sampleRateHz,
        configuredSnrDb: () => configured,
      });
      const user = new UserRole({ codec: m.codec, decoder: m.decoder, radio, sessionId });
      edge.attachUser(edgeFromUser);
      user.attachEdge(userToEdge);
      const edgeDone = edge.serveCloud(edgeFromCloud);
      const userDone = user.run();
      userDone.catch(() => undefined);
      const cloud = new CloudRole({ store, generator: m.cloud, evaluator: m.evaluator, catalog, outDir, sessionId, seed: r.seed });
      try {
        cloud.checkPrompts(r.prompts);
        if (catalog.skipped.length) r.onLog('warn', `adapters skipped: ${catalog.skipped.map((s) => `${s.path} (${s.reason})`).join('; ')}`);
        for (let i = 0; i < r.images && !r.signal.aborted; i++) {
          configured = await r.beforeImage(i);
          const rec = await raceAbort(cloud.runPrompt(cloudToEdge, r.prompts[i % r.prompts.length]!), r.signal);
          if (!rec) break;
          r.onImage(toSessionImage(rec, i, outDir, m.cloud.provider));
        }
        await cloudToEdge.send({ type: 'end', reason: r.signal.aborted ? 'stopped by the user' : 'all images done' });
        await raceAbort(edgeDone, r.signal);
      } finally {
        // End the TX stream so the radio can serve the next session (a full-duplex radio allows one at a time);
        // bounded, because a radio that is gone never drains.
        await Promise.race([tx.end().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
        await user.stop();
        await userDone.catch(() => undefined);
        await Promise.all([cloudToEdge.close(), userToEdge.close()]);
      }
    },

    async replay(r: ReplayOptions): Promise<void> {
      const m = await load();
      const user = new UserRole({ codec: m.codec, decoder: m.decoder, radio: r.device });
      let index = 0;
      user.on('frame', (f: UserFrame) => {
        const png = encodePng(f.image);
        r.onImage({
            index: index++,
            prompt: `(replayed frame ${f.sequence})`,
            png: { received: png },
            configuredSnrDb: null,
            measuredSnrDb: f.measuredSnrDb,
            psnrDb: null,
            consistency: { edge: null, edgeAdapted: null, received: null },
            rate: f.rate,
            symbols: Math.round(f.rate * 256),
            bytesOverAir: Math.round(f.rate * 256),
            pngBytes: png.length,
            latencyMs: {},
            provider: m.codec.provider,
        });
      });
      const stop = (): void => void user.stop();
      r.signal.addEventListener('abort', stop, { once: true });
      try {
        await user.run(); // ends at the recording's end (the replay device ends its stream)
      } finally {
        r.signal.removeEventListener('abort', stop);
      }
    },
  };
}

function mergeCatalogs(cats: AdapterCatalog[]): AdapterCatalog {
  return { entries: cats.flatMap((c) => c.entries), skipped: cats.flatMap((c) => c.skipped) };
}

/** The catalog the cloud picks from: all adapters ('auto'), one, or none. */
function chooseAdapters(all: AdapterCatalog, choice: SessionRunOptions['adapter']): AdapterCatalog {
  if (choice === 'auto') return all;
  if (choice === null) return { entries: [], skipped: [] };
  const path = resolve(choice.path);
  return { entries: all.entries.filter((e) => resolve(e.path) === path), skipped: all.skipped.filter((s) => resolve(s.path) === path) };
}

/** Resolves with the promise's value, or undefined as soon as the signal aborts. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.resolve(undefined);
  }
  return new Promise<T | undefined>((res, rej) => {
    const onAbort = (): void => res(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        res(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        rej(e);
      },
    );
  });
}

function toSessionImage(rec: ImageRecord, index: number, outDir: string, provider: string): SessionImage {
  const read = (rel: string | null): Uint8Array | undefined => (rel ? readFileSync(join(outDir, rel)) : undefined);
  const png: SessionImage['png'] = {};
  const cloud = read(rec.images.cloud);
  const edge = read(rec.images.edge_base);
  const edgeAdapted = read(rec.images.edge_adapter);
  const received = read(rec.images.received);
  if (cloud) png.cloud = cloud;
  if (edge) png.edge = edge;
  if (edgeAdapted) png.edgeAdapted = edgeAdapted;
  if (received) png.received = received;
  return {
    index,
    prompt: rec.prompt,
    png,
    configuredSnrDb: rec.snr.configured_db,
    measuredSnrDb: rec.snr.measured_db,
    psnrDb: rec.psnr_db !== null && Number.isFinite(rec.psnr_db) ? rec.psnr_db : null,
    consistency: { edge: rec.consistency.edge_base, edgeAdapted: rec.consistency.edge_adapter, received: rec.consistency.received },
    rate: rec.rate,
    symbols: rec.air.symbols,
    bytesOverAir: rec.air.payload_bytes,
    pngBytes: rec.air.png_bytes,
    latencyMs: rec.timings_ms,
    provider,
  };
}
