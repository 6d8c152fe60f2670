/**
 * The three roles in one process: cloud, edge and user joined by in-process links (cloud <-> edge, user ->
 * edge feedback) on one radio that the edge transmits on and the user receives from. Both in-process
 * front ends use it: `runLocalSession` (the demo, with its own loopback) and the engine's session backend
 * (the radio the UI connected).
 */
import { LatentDecoder } from '../gsc/decoder.js';
import { Evaluator } from '../gsc/evaluate.js';
import { Generator } from '../gsc/generate.js';
import { JsccCodec } from '../gsc/jscc.js';
import type { ModelStore } from '../gsc/models.js';
import type { ProviderName } from '../gsc/onnx.js';
import type { SdrDevice, TxStream } from '../radio/devices/types.js';
import type { RxRecorder } from '../radio/sigmf/rx-recorder.js';
import { CloudRole, type AdapterCatalog } from './cloud.js';
import { EdgeRole } from './edge.js';
import { linkPair, type Link } from './link.js';
import { loadLinkCurves, loadRateCurves, RatePolicy, type LinkCurves, type LinkMode } from './policy.js';
import { KLT_FILE, loadLatentKlt, type LatentKlt } from './digital-latent.js';
import { UserRole } from './user.js';

/** Every model the three roles run, loaded once. */
export interface RoleModels {
  cloud: Generator;
  edge: Generator;
  evaluator: Evaluator;
  codec: JsccCodec;
  /** The pipeline's latent decoder, for the user */
  decoder: LatentDecoder;
  /** The latent's KLT (the digital latent), or undefined when the models folder has none. */
  klt: LatentKlt | undefined;
  linkCurves: LinkCurves | null;
}

/** The models a session loads, as the UI names them while they load. */
export const ROLE_MODEL_NAMES = ['cloud generator', 'edge generator', 'evaluator', 'JSCC codec', 'image decoder'] as const;

export async function loadRoleModels(store: ModelStore, provider: ProviderName, onLoaded?: (name: (typeof ROLE_MODEL_NAMES)[number]) => void): Promise<RoleModels> {
  const opts = { provider };
  const said = <T>(name: (typeof ROLE_MODEL_NAMES)[number], p: Promise<T>): Promise<T> => p.then((v) => (onLoaded?.(name), v));
  const [cloud, edge, evaluator, codec, decoder] = await Promise.all([
    said('cloud generator', Generator.load(store, 'cloud', opts)),
    said('edge generator', Generator.load(store, 'edge', opts)),
    said('evaluator', Evaluator.load(store, opts)),
    said('JSCC codec', JsccCodec.load(store, 'cala', opts)),
    said('image decoder', LatentDecoder.load(store, opts)),
  ]);
  const klt = store.manifest.models['jscc']?.files[KLT_FILE] ? loadLatentKlt(store) : undefined;
  return { cloud, edge, evaluator, codec, decoder, klt, linkCurves: loadLinkCurves(store.dir) };
}

export interface LocalRolesOptions {
  store: ModelStore;
  models: RoleModels;
  /** The user receives from it; the edge transmits on it too (full duplex) unless `txRadio` is given. */
  radio: SdrDevice;
  /** The edge's transmitter when it is another radio (a HackRF sending to an RTL-SDR). */
  txRadio?: SdrDevice;
  catalog: AdapterCatalog;
  outDir: string;
  sessionId: number;
  seed: number;
  /** 'hybrid' (default), 'jscc' or 'digital': how the edge sends the latent. */
  linkMode?: LinkMode;
  /** A fixed JSCC rate; undefined lets the rate policy choose from the user's feedback. */
  fixedRate?: number;
  /** The channel's configured SNR for the next frame (called once per frame), or null when unknown. */
  configuredSnrDb: () => number | null;
  /** What the user received, as SigMF. */
  recording?: RxRecorder;
}

export interface LocalRoles {
  cloud: CloudRole;
  edge: EdgeRole;
  user: UserRole;
  /** The cloud's end of its link to the edge: `cloud.runPrompt(cloudToEdge, prompt)`. */
  cloudToEdge: Link;
  tx: TxStream;
  /** Resolves, with why, when the edge's link to the cloud closes or says 'end'. */
  edgeDone: Promise<string>;
  /** Settles when the user's receiver stops. */
  userDone: Promise<void>;
  /** Stops the user and closes both links (the radio stays the caller's). */
  close(): Promise<void>;
}

export function startLocalRoles(o: LocalRolesOptions): LocalRoles {
  const [cloudToEdge, edgeFromCloud] = linkPair('cloud', 'edge');
  const [userToEdge, edgeFromUser] = linkPair('user', 'edge');
  const txRadio = o.txRadio ?? o.radio;
  const tx = txRadio.startTx();
  const edge = new EdgeRole({
    store: o.store,
    generator: o.models.edge,
    codec: o.models.codec,
    tx,
    policy: new RatePolicy(loadRateCurves(o.store.dir), {
      flatCurves: loadRateCurves(o.store.dir, 'cala', 'flat'),
      ...(o.fixedRate !== undefined ? { fixedRate: o.fixedRate } : {}),
    }),
    sampleRateHz: txRadio.config.sampleRateHz,
    configuredSnrDb: o.configuredSnrDb,
    ...(o.models.klt ? { klt: o.models.klt } : {}),
    linkCurves: o.models.linkCurves,
    ...(o.linkMode ? { linkMode: o.linkMode } : {}),
  });
  const user = new UserRole({
    codec: o.models.codec,
    decoder: o.models.decoder,
    radio: o.radio,
    sessionId: o.sessionId,
    ...(o.recording ? { recording: o.recording } : {}),
    ...(o.models.klt ? { klt: o.models.klt } : {}),
  });
  edge.attachUser(edgeFromUser);
  user.attachEdge(userToEdge);
  const edgeDone = edge.serveCloud(edgeFromCloud);
  const userDone = user.run();
  // Callers await these when they need them; an early failure must not go unhandled meanwhile.
  edgeDone.catch(() => undefined);
  userDone.catch(() => undefined);
  const cloud = new CloudRole({
    store: o.store,
    generator: o.models.cloud,
    evaluator: o.models.evaluator,
    catalog: o.catalog,
    outDir: o.outDir,
    sessionId: o.sessionId,
    seed: o.seed,
  });
  return {
    cloud,
    edge,
    user,
    cloudToEdge,
    tx,
    edgeDone,
    userDone,
    async close() {
      await user.stop();
      await userDone.catch(() => undefined);
      await Promise.all([cloudToEdge.close(), userToEdge.close()]);
    },
  };
}
