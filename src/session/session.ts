/**
 * A whole session in one process: cloud, edge and user as separate components joined by in-process links
 * (cloud <-> edge, user -> edge feedback) and a loopback radio (edge TX -> channel simulator -> user RX).
 * The loopback runs at full speed (TX and RX in lock step, deterministic for a seed), so a session takes
 * as long as the models need, not the radio's real time.
 */
import type { ModelStore } from '../gsc/models.js';
import { rateLabel } from '../gsc/jscc.js';
import type { ProviderName } from '../gsc/onnx.js';
import type { SdrDevice } from '../radio/devices/types.js';
import { UsageError } from '../util/errors.js';
import { RxRecorder } from '../radio/sigmf/rx-recorder.js';
import { loadAdapterCatalog, type AdapterCatalog, type ImageRecord, type PromptFailureRecord } from './cloud.js';
import type { EdgeRole } from './edge.js';
import { loadRoleModels, startLocalRoles } from './local-roles.js';
import { openRadio } from './radio.js';
import type { LinkMode } from './policy.js';
import { CABLED_SDR_PAIR } from '../radio/channel/presets.js';
import type { UserRole } from './user.js';

export interface SessionOptions {
  store: ModelStore;
  prompts: string[];
  outDir: string;
  /** Configured channel SNR per image (cycled); the loopback's channel is set before each frame. */
  snrScheduleDb: number[];
  /** Fixed JSCC rate (no adaptation). */
  rate?: number;
  seed?: number;
  sessionId?: number;
  provider?: ProviderName;
  /** Fading on the loopback: 3GPP EPA multipath, one static draw per burst (block fading). */
  fading?: boolean;
  /** The usual impairments of a cabled SDR pair on the loopback (CFO, phase noise, IQ imbalance, 8-bit ADC); default on. */
  impairments?: boolean;
  /** How the edge sends each latent: 'hybrid' (default), 'jscc' or 'digital'. */
  linkMode?: LinkMode;
  /** SigMF base path for a recording of what the user received. */
  recordBase?: string;
  /**
   * Two radios instead of the one loopback: the edge transmits on `txRadio` and the user receives on
   * `rxRadio` (names as for `--radio`: hackrf, rtlsdr:0, rtl_tcp:HOST:PORT, pluto:HOST, loopback). Both or
   * neither; the same name twice opens one (full-duplex) radio. The SNR schedule is then not set by the
   * testbed unless both ends are the one loopback.
   */
  txRadio?: string;
  rxRadio?: string;
  /** Centre frequency for two radios (default 915 MHz: a HackRF, an RTL-SDR and a Pluto all tune it). */
  freqHz?: number;
  onProgress?: (done: number, total: number, last: ImageRecord) => void;
}

export interface SessionResult {
  records: ImageRecord[];
  catalog: AdapterCatalog;
  provider: string;
  jsonlPath: string;
  recording?: string;
  msLoad: number;
  msRun: number;
  userStats: UserRole['stats'];
  edgeStats: EdgeRole['stats'];
}

export async function runLocalSession(o: SessionOptions): Promise<SessionResult> {
  const t0 = performance.now();
  const models = await loadRoleModels(o.store, o.provider ?? 'cpu');
  const catalog = loadAdapterCatalog(o.store);
  const sessionId = o.sessionId ?? 1;
  const schedule = o.snrScheduleDb.length ? o.snrScheduleDb : [20];
  const loopbackOptions = {
    pace: 'full-speed' as const,
    seed: o.seed ?? 1,
    channel: {
      snrDb: schedule[0]!,
      ...(o.impairments === false ? {} : CABLED_SDR_PAIR),
      ...(o.fading ? { fading: { profile: 'epa' as const, maxDopplerHz: 0 } } : {}),
    },
  };
  if ((o.txRadio === undefined) !== (o.rxRadio === undefined)) throw new UsageError('name both radios (--tx NAME --rx NAME), or neither for the one loopback');
  const twoNames = o.txRadio !== undefined && o.rxRadio !== undefined && o.txRadio !== o.rxRadio;
  // Default: the one loopback, full speed (as it always was). Two names: a TX radio and an RX radio.
  const radio = o.rxRadio === undefined || o.rxRadio === 'loopback' && !twoNames
    ? await openRadio(o.rxRadio ?? 'loopback', loopbackOptions)
    : await openRadio(o.rxRadio, { freqHz: o.freqHz ?? 915e6, ...(o.rxRadio === 'loopback' ? loopbackOptions : {}) });
  let txRadio: SdrDevice | undefined;
  try {
    if (twoNames) {
      txRadio = await openRadio(o.txRadio!, { freqHz: radio.config.freqHz, sampleRateHz: radio.config.sampleRateHz, ...(o.txRadio === 'loopback' ? loopbackOptions : {}) });
      if (txRadio.config.sampleRateHz !== radio.config.sampleRateHz) await txRadio.configure({ sampleRateHz: radio.config.sampleRateHz });
      if (!txRadio.capabilities.tx) throw new UsageError(`--tx ${o.txRadio}: ${txRadio.info.id} cannot transmit`);
    } else if (!radio.capabilities.tx || !radio.capabilities.fullDuplex) {
      throw new UsageError(`${radio.info.id} cannot transmit and receive at once (half-duplex or receive-only): name a TX radio and another RX radio (--tx hackrf --rx rtlsdr:0)`);
    }
    if (!radio.capabilities.rx) throw new UsageError(`--rx ${o.rxRadio}: ${radio.info.id} cannot receive`);
  } catch (e) {
    await txRadio?.close().catch(() => undefined);
    await radio.close().catch(() => undefined);
    throw e;
  }
  // The loopback's channel sets the SNR only when it carries both ends.
  const loop = txRadio ? undefined : radio.channelSimulator;
  const recording = o.recordBase
    ? await RxRecorder.open(o.recordBase, {
        datatype: 'cf32_le',
        streamStart: 0,
        sampleRateHz: radio.config.sampleRateHz,
        freqHz: radio.config.freqHz,
        description: `DeKA-g session ${sessionId}: what the user received over the loopback radio`,
        hardware: radio.info.label,
        overwrite: true,
      })
    : undefined;
  let frameIndex = 0;
  const roles = startLocalRoles({
    store: o.store,
    models,
    radio,
    ...(txRadio ? { txRadio } : {}),
    catalog,
    outDir: o.outDir,
    sessionId,
    seed: o.seed ?? 0,
    ...(o.rate !== undefined ? { fixedRate: o.rate } : {}),
    ...(o.linkMode ? { linkMode: o.linkMode } : {}),
    ...(recording ? { recording } : {}),
    // The testbed's control of the channel: each frame sees the next SNR of the schedule.
    configuredSnrDb: () => {
      if (!loop) return null;
      const snr = schedule[frameIndex++ % schedule.length]!;
      loop.setChannel({ snrDb: snr });
      return snr;
    },
  });
  const { cloud, edge, user, cloudToEdge } = roles;
  const msLoad = performance.now() - t0;
  const t1 = performance.now();
  try {
    cloud.checkPrompts(o.prompts);
    for (const [i, p] of o.prompts.entries()) {
      const rec = await cloud.runPrompt(cloudToEdge, p);
      o.onProgress?.(i + 1, o.prompts.length, rec);
    }
    await cloudToEdge.send({ type: 'end', reason: 'all prompts done' });
    await roles.edgeDone;
    await user.stop();
    await roles.userDone;
  } finally {
    await roles.close();
    await radio.close();
    await txRadio?.close();
    if (recording) await recording.finish();
  }
  return {
    records: cloud.records,
    catalog,
    provider: models.cloud.provider,
    jsonlPath: cloud.jsonlPath,
    ...(recording ? { recording: recording.metaPath } : {}),
    msLoad,
    msRun: performance.now() - t1,
    userStats: user.stats,
    edgeStats: edge.stats,
  };
}

export interface SessionSummary {
  /** Prompts in the record: received + lost + failed. */
  images: number;
  received: number;
  /** Sent and never reported (the air, no user), or in flight when the edge went away. */
  lost: number;
  /** Never produced an image (the edge's or the cloud's error, no edge, interrupted). */
  failed: number;
  mean_consistency: number | null;
  mean_consistency_edge_base: number | null;
  mean_consistency_edge_adapter: number | null;
  mean_psnr_db: number | null;
  /** (received - edge base) / (edge adapter - edge base), mean consistencies over the images with an adapter. */
  adapter_gain_kept: number | null;
  /** Images sent as JSCC (by rate) and as the digital latent (by MCS). */
  links_used: Record<string, number>;
  snr_est_rmse_db: number | null;
  snr_est_bias_db: number | null;
  bytes_over_air_per_image: number;
  frame_samples_per_image: number;
  png_bytes_per_image: number;
  ms_per_image: number;
  mean_ms_by_stage: Record<string, number>;
  rates_used: Record<string, number>;
  adapters_used: Record<string, number>;
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const round = (x: number | null, d = 3): number | null => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);

/**
 * How much of the MAKD adapter's consistency gain survives the link, over the images that had an adapter and
 * arrived: (mean received - mean edge base) / (mean edge adapter - mean edge base). 1: all of it; 0: none;
 * null when the adapter gained nothing to keep (no adapter images, or no gain).
 */
export function adapterGainKept(records: readonly ImageRecord[]): number | null {
  const rs = records.filter((r) => r.received && r.adapter_available && r.consistency.received !== null && r.consistency.edge_base !== null && r.consistency.edge_adapter !== null);
  if (!rs.length) return null;
  const m = (f: (r: ImageRecord) => number): number => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  const base = m((r) => r.consistency.edge_base!);
  const gain = m((r) => r.consistency.edge_adapter!) - base;
  if (!(gain > 1e-6)) return null;
  return round((m((r) => r.consistency.received!) - base) / gain, 4);
}

/**
 * Means over the images (consistency of the received image, PSNR, SNR estimate error, bytes, time); the
 * counts include the prompts that produced no edge result (`failures`).
 */
export function summarize(records: readonly ImageRecord[], msRun: number, failures: readonly PromptFailureRecord[] = []): SessionSummary {
  const got = records.filter((r) => r.received);
  const nums = (f: (r: ImageRecord) => number | null | undefined, rs: readonly ImageRecord[] = records): number[] =>
    rs.map(f).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const errs = got.flatMap((r) => (r.snr.measured_db !== null && r.snr.configured_db !== null ? [r.snr.measured_db - r.snr.configured_db] : []));
  const stages: Record<string, number[]> = {};
  for (const r of records) for (const [k, v] of Object.entries(r.timings_ms)) (stages[k] ??= []).push(v);
  const count = (f: (r: ImageRecord) => string): Record<string, number> => {
    const c: Record<string, number> = {};
    for (const r of records) c[f(r)] = (c[f(r)] ?? 0) + 1;
    return c;
  };
  const prompts = records.length + failures.length;
  return {
    images: prompts,
    received: got.length,
    lost: records.length - got.length + failures.filter((f) => f.status === 'lost').length,
    failed: failures.filter((f) => f.status === 'failed').length,
    mean_consistency: round(mean(nums((r) => r.consistency.received)), 4),
    mean_consistency_edge_base: round(mean(nums((r) => r.consistency.edge_base)), 4),
    mean_consistency_edge_adapter: round(mean(nums((r) => r.consistency.edge_adapter)), 4),
    mean_psnr_db: round(mean(nums((r) => r.psnr_db))),
    adapter_gain_kept: adapterGainKept(records),
    links_used: count((r) => (r.link?.kind === 'digital' ? `digital ${r.link.mcs ?? '?'}` : `jscc ${rateLabel(r.rate)}`)),
    snr_est_rmse_db: errs.length ? round(Math.sqrt(errs.reduce((a, e) => a + e * e, 0) / errs.length)) : null,
    snr_est_bias_db: round(mean(errs)),
    bytes_over_air_per_image: round(mean(nums((r) => r.air.payload_bytes))) ?? 0,
    frame_samples_per_image: round(mean(nums((r) => r.air.frame_samples))) ?? 0,
    png_bytes_per_image: round(mean(nums((r) => r.air.png_bytes))) ?? 0,
    ms_per_image: round(prompts ? msRun / prompts : 0, 1)!,
    mean_ms_by_stage: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, round(mean(v), 2)!])),
    rates_used: count((r) => rateLabel(r.rate)),
    adapters_used: count((r) => r.adapter ?? 'none'),
  };
}
