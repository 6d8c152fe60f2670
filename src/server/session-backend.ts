/**
 * The engine's session port on top of src/session: the cloud, edge and user roles in one process
 * (startLocalRoles), on the radio the engine hands over (the UI's connected radio, wrapped with its RX
 * taps). The models load once and stay loaded between sessions, so the second session starts at once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodePng } from '../gsc/image.js';
import type { ModelStore } from '../gsc/models.js';
import type { ProviderName } from '../gsc/onnx.js';
import { loadAdapterCatalog, type AdapterCatalog, type ImageRecord } from '../session/cloud.js';
import { ROLE_MODEL_NAMES, loadRoleModels, startLocalRoles, type RoleModels } from '../session/local-roles.js';
import { UserRole, type UserFrame } from '../session/user.js';
import { summarize } from '../session/session.js';
import { renderReport } from '../session/report.js';
import type { ReplayOptions, SessionBackend, SessionImage, SessionRunOptions } from './ports.js';

export interface RolesBackendOptions {
  store: () => ModelStore;
  provider: ProviderName;
  /** Where each session's record (session.jsonl, images/) goes. */
  outDir: string;
}

export function rolesBackend(o: RolesBackendOptions): SessionBackend {
  let models: Promise<RoleModels> | undefined;
  let sessionCount = 0;
  /** The models not loaded yet while a load runs, and who wants to hear about it. */
  let pending: string[] | null = null;
  const watchers = new Set<(pending: string[] | null) => void>();
  const tell = (): void => {
    for (const w of watchers) w(pending ? [...pending] : null);
  };
  const load = async (onLoading?: (pending: string[] | null) => void): Promise<RoleModels> => {
    if (!models) {
      pending = [...ROLE_MODEL_NAMES];
      models = loadRoleModels(o.store(), o.provider, (name) => {
        pending = pending?.filter((n) => n !== name) ?? null;
        tell();
      });
      const settle = (): void => {
        pending = null;
        tell();
        watchers.clear();
      };
      models.then(settle, () => {
        models = undefined; // a failed load (missing model) is retried next time
        settle();
      });
    }
    if (pending && onLoading) {
      watchers.add(onLoading);
      onLoading([...pending]);
    }
    try {
      return await models;
    } finally {
      if (onLoading) watchers.delete(onLoading);
    }
  };

  const sessionsDir = resolve(o.outDir);
  return {
    outDir: sessionsDir,
    async run(r: SessionRunOptions): Promise<void> {
      if (!/^[A-Za-z0-9_-]{1,80}$/.test(r.sessionId)) throw new Error(`session id '${r.sessionId.slice(0, 80)}' is not a folder name`);
      const store = o.store();
      const m = await load(r.onLoading);
      const sessionId = ++sessionCount; // the roles' numeric session id (protocol); the folder is the engine's id
      const outDir = join(sessionsDir, r.sessionId);
      const catalog = chooseAdapters(mergeCatalogs(r.adapterDirs.map((d) => loadAdapterCatalog(store, d))), r.adapter);
      let configured: number | null = null;
      const roles = startLocalRoles({
        store,
        models: m,
        radio: r.device,
        ...(r.txDevice ? { txRadio: r.txDevice } : {}),
        catalog,
        outDir,
        sessionId,
        seed: r.seed,
        ...(r.rate === 'auto' ? {} : { fixedRate: r.rate }),
        configuredSnrDb: () => configured,
      });
      const { cloud, cloudToEdge } = roles;
      const t0 = performance.now();
      let outcome = 'complete';
      // The image in flight when Stop is pressed: awaited (bounded) before the session ends, so that its
      // record is in session.jsonl by the time the pages hear 'stopped' and read the history back.
      let inFlight: Promise<unknown> = Promise.resolve();
      try {
        cloud.checkPrompts(r.prompts);
        if (catalog.skipped.length) r.onLog('warn', `adapters skipped: ${catalog.skipped.map((s) => `${s.path} (${s.reason})`).join('; ')}`);
        for (let i = 0; i < r.images && !r.signal.aborted; i++) {
          configured = await r.beforeImage(i);
          const run = cloud.runPrompt(cloudToEdge, r.prompts[i % r.prompts.length]!);
          inFlight = run.catch(() => undefined);
          const rec = await raceAbort(run, r.signal);
          if (!rec) break;
          r.onImage(toSessionImage(rec, i, outDir, m.cloud.provider));
        }
        await cloudToEdge.send({ type: 'end', reason: r.signal.aborted ? 'stopped by the user' : 'all images done' });
        await raceAbort(roles.edgeDone, r.signal);
        if (r.signal.aborted) outcome = 'stopped by the user';
      } catch (e) {
        outcome = `stopped by an error: ${(e as Error).message}`;
        throw e;
      } finally {
        await Promise.race([inFlight, new Promise((r) => setTimeout(r, 5000).unref())]);
        // End the TX stream so the radio can serve the next session (a full-duplex radio allows one at a time);
        // bounded, because a radio that is gone never drains.
        await Promise.race([roles.tx.end().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
        await roles.close();
        // The session's record beside session.jsonl, as `dekag demo` and `dekag cloud` write it: what the
        // UI exports (engine.exportSession) and what a user opens later.
        try {
          const summary = { ...summarize(cloud.records, performance.now() - t0, cloud.failures), outcome, provider: m.cloud.provider, seed: r.seed, session_record: 'session.jsonl' };
          writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
          writeFileSync(join(outDir, 'report.html'), renderReport({ records: cloud.records, failures: cloud.failures, summary, outDir }));
        } catch (e) {
          r.onLog('warn', `could not write the session's summary and report in ${outDir}: ${(e as Error).message}`);
        }
      }
    },

    async replay(r: ReplayOptions): Promise<void> {
      const m = await load(r.onLoading);
      const user = new UserRole({ codec: m.codec, decoder: m.decoder, radio: r.device });
      let index = 0;
      user.on('frame', (f: UserFrame) => {
        const png = encodePng(f.image);
        r.onImage({
            index: index++,
            prompt: `(replayed frame ${f.sequence})`,
            adapter: null,
            png: { received: png },
            configuredSnrDb: null,
            measuredSnrDb: f.measuredSnrDb,
            psnrDb: null,
            consistency: { edge: null, edgeAdapted: null, received: null },
            rate: f.rate,
            symbols: Math.round(f.rate * m.codec.latentDim),
            bytesOverAir: Math.round(f.rate * m.codec.latentDim),
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
    adapter: rec.adapter_available ? rec.adapter : null,
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
