/**
 * `dekag cloud | edge | user`: the three roles of a session as separate processes (or machines), joined
 * by TCP links (cloud <-> edge, user -> edge feedback) and a radio (edge TX -> user RX).
 *
 * On one machine with the loopback radio the edge owns the loopback and serves its receive side as an
 * rtl_tcp stream (`--serve-rx`), which the user opens as `--radio rtl_tcp:127.0.0.1:PORT`; the same user
 * command works against a real rtl_tcp dongle. Every listener binds 127.0.0.1 unless given a host.
 *
 * Every link is authenticated with the session key (--key-file, handshake.ts); each listener admits one
 * peer at a time. The cloud writes the session record, summary and report on every exit but a usage error
 * or a crash; exit codes are in exit.ts.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Evaluator } from '../gsc/evaluate.js';
import { DekagError, UsageError } from '../util/errors.js';
import { Generator } from '../gsc/generate.js';
import { LatentDecoder } from '../gsc/decoder.js';
import { JsccCodec, parseRate } from '../gsc/jscc.js';
import { tokenize } from '../gsc/tokenizer.js';
import { RtlTcpServer } from '../radio/devices/rtl-tcp-server.js';
import type { SdrDevice } from '../radio/devices/types.js';
import { RxRecorder } from '../radio/sigmf/rx-recorder.js';
import { CloudRole, loadAdapterCatalog, PromptFailedError } from '../session/cloud.js';
import { EdgeRole } from '../session/edge.js';
import { connectPeer, defaultKeyFile, loadSessionKey, PeerListener, type SessionKey } from '../session/handshake.js';
import { parseEndpoint, type Envelope, type Link } from '../session/link.js';
import { loadLinkCurves, loadRateCurves, RatePolicy } from '../session/policy.js';
import { KLT_FILE, loadLatentKlt, type LatentKlt } from '../session/digital-latent.js';
import type { ModelStore } from '../gsc/models.js';
import { LIMITS_FROM_CLOUD_AT_EDGE, LIMITS_FROM_EDGE_AT_CLOUD, LIMITS_FROM_EDGE_AT_USER, LIMITS_FROM_USER_AT_EDGE } from '../session/protocol.js';
import { openRadio, RADIO_NAMES_HELP } from '../session/radio.js';
import { renderReport } from '../session/report.js';
import { summarize } from '../session/session.js';
import { UserRole } from '../session/user.js';
import { MODEL_OPTIONS, openModelStore, optionalInt, optionalNumber, parse, requireString } from './args.js';
import { DEMO_PROMPTS, readPromptsFile } from './demo.js';
import { EXIT } from './exit.js';

/** The latent's KLT when the models ship one (then the edge may send the digital latent and the user decode it). */
function optionalKlt(store: ModelStore): LatentKlt | undefined {
  return store.manifest.models['jscc']?.files[KLT_FILE] ? loadLatentKlt(store) : undefined;
}

// the help texts live in help-roles.ts, so that `dekag cloud|edge|user --help` loads no models
export { CLOUD_HELP, EDGE_HELP, USER_HELP } from './help-roles.js';

/** A network radio whose server is still starting (the edge's --serve-rx) is retried for a while. */
async function openRadioRetrying(name: string, opts: Parameters<typeof openRadio>[1], timeoutMs: number): Promise<SdrDevice> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await openRadio(name, opts);
    } catch (e) {
      const refused = e instanceof DekagError && /ECONNREFUSED/.test(e.message);
      if (!refused || Date.now() - t0 > timeoutMs) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function log(role: string, text: string): void {
  process.stderr.write(`[${role}] ${text}\n`);
}

/** The session key a role uses (--key-file, else $DEKAG_KEY_FILE, else ~/.dekag/session.key). */
function sessionKey(values: Record<string, unknown>, role: string): SessionKey {
  const key = loadSessionKey(resolve((values['key-file'] as string | undefined) ?? defaultKeyFile()));
  if (key.created) log(role, `created the session key ${key.path}; the other roles need the same file (--key-file)`);
  return key;
}

const KEY_OPTIONS = { 'key-file': { type: 'string' } } as const;

/** Logs refused connections, at most 3 per 10 s (a hostile client must not flood the log). */
function logRefusals(listener: PeerListener, role: string): void {
  let windowStart = Date.now();
  let shown = 0;
  let hidden = 0;
  listener.on('refused', (peer: string, reason: string) => {
    const now = Date.now();
    if (now - windowStart > 10_000) {
      if (hidden) log(role, `... and ${hidden} more connections refused`);
      windowStart = now;
      shown = 0;
      hidden = 0;
    }
    if (shown++ < 3) log(role, `refused a connection from ${peer}: ${reason.replace(`${peer}: `, '')}`);
    else hidden++;
  });
}

export async function runCloud(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    ...KEY_OPTIONS,
    listen: { type: 'string' },
    prompt: { type: 'string', multiple: true },
    prompts: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    'session-id': { type: 'string' },
    'wait-s': { type: 'string' },
    'result-timeout-s': { type: 'string' },
  });
  const { host, port } = parseEndpoint(requireString(values, 'listen'), '--listen');
  const prompts = (values['prompt'] as string[] | undefined) ?? (values['prompts'] ? readPromptsFile(values['prompts'] as string) : DEMO_PROMPTS.slice(0, 6));
  const { store, provider } = openModelStore(values);
  for (const p of prompts) tokenize(p, store.vocab);
  const waitS = optionalNumber(values, 'wait-s', 120, 0.1, 86400);
  const waitMs = waitS * 1000;
  const sessionId = optionalInt(values, 'session-id', 1, 0, 65535);
  const seed = optionalInt(values, 'seed', 0, 0, 2 ** 31 - 1);
  const resultTimeoutMs = optionalNumber(values, 'result-timeout-s', 60, 1, 3600) * 1000;
  const outDir = resolve((values['out'] as string | undefined) ?? join('out', 'session'));
  const key = sessionKey(values, 'cloud');
  const [generator, evaluator] = await Promise.all([Generator.load(store, 'cloud', { provider }), Evaluator.load(store, { provider })]);
  const catalog = loadAdapterCatalog(store);
  for (const s of catalog.skipped) log('cloud', `adapter ${s.path} skipped: ${s.reason}`);
  const cloud = new CloudRole({ store, generator, evaluator, catalog, outDir, sessionId, seed, resultTimeoutMs });

  // From here on every exit path writes the record's summary and report, and every prompt ends in the record.
  let interruptedBy: string | undefined;
  let peerLost = false;
  let noEdge: string | undefined;
  let edge: Link | undefined;
  let listener: PeerListener | undefined;
  let next = 0;
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interruptedBy) return;
    interruptedBy = sig;
    log('cloud', `${sig}: stopping; the record, summary and report are written`);
    stop.abort();
    void edge?.close(`the cloud was interrupted (${sig})`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t1 = performance.now();
  let fatal: Error | undefined;
  try {
    listener = await PeerListener.listen(host, port, { key: key.bytes, role: 'cloud', accept: ['edge'], limits: LIMITS_FROM_EDGE_AT_CLOUD, what: 'edge' });
    logRefusals(listener, 'cloud');
    log('cloud', `listening on ${host}:${listener.port}; ${prompts.length} prompts; ${catalog.entries.length} adapters; key ${key.path}`);
    for (; next < prompts.length; next++) {
      const prompt = prompts[next]!;
      const tag = `${next + 1}/${prompts.length}`;
      if (!interruptedBy && !noEdge && !edge?.isOpen) {
        if (edge) {
          peerLost = true;
          log('cloud', `the edge went away; waiting up to ${waitS} s for an edge`);
        }
        edge = await listener.nextPeer(waitMs, stop.signal);
        if (edge) log('cloud', `edge connected from ${edge.peer}`);
        else if (!interruptedBy) {
          peerLost = true;
          noEdge = `no edge connected to ${host}:${listener.port} within ${waitS} s`;
          log('cloud', `${noEdge}; start 'dekag edge --cloud ${host}:${listener.port} ...'`);
        }
      }
      if (interruptedBy || !edge?.isOpen) {
        const f = cloud.recordNotRun(prompt, `not run: ${interruptedBy ? `the cloud was interrupted (${interruptedBy})` : noEdge ?? 'no edge'}`);
        log('cloud', `${tag} ${f.status}: ${f.reason}`);
        continue;
      }
      try {
        const rec = await cloud.runPrompt(edge, prompt);
        log('cloud', `${tag} ${rec.received ? `received, PSNR ${rec.psnr_db} dB, measured SNR ${rec.snr.measured_db} dB, rate 1/${Math.round(1 / rec.rate)}` : `lost (${rec.lost_reason ?? '?'})`}`);
      } catch (e) {
        if (!(e instanceof PromptFailedError)) throw e;
        log('cloud', `${tag} ${e.record.status}: ${e.record.reason}`);
      }
    }
    if (edge?.isOpen) await edge.send({ type: 'end', reason: 'all prompts done' }).catch(() => undefined);
  } catch (e) {
    fatal = e as Error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await edge?.close();
    await listener?.close();
  }
  for (; next < prompts.length; next++) cloud.recordNotRun(prompts[next]!, `not run: ${fatal ? fatal.message : 'the cloud stopped'}`);
  const userLost = cloud.records.some((r) => r.lost_cause === 'no-user' || r.lost_cause === 'user-gone');
  const summary0 = summarize(cloud.records, performance.now() - t1, cloud.failures);
  const [code, outcome] = fatal
    ? [EXIT.ERROR, `stopped by an error: ${fatal.message}`]
    : interruptedBy
      ? [EXIT.INTERRUPTED, `interrupted (${interruptedBy})`]
      : peerLost || userLost
        ? [EXIT.PEER, noEdge ?? (peerLost ? 'the edge went away during the session' : 'the user was missing or went away: frames were lost')]
        : summary0.failed > 0 || summary0.received === 0
          ? [EXIT.INCOMPLETE, summary0.failed > 0 ? `${summary0.failed} prompts failed` : 'no image was received']
          : [EXIT.OK, 'complete'];
  const summary = { ...summary0, outcome, exit_code: code, provider: generator.provider, session_record: 'session.jsonl' };
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(outDir, 'report.html'), renderReport({ records: cloud.records, failures: cloud.failures, summary, outDir }));
  log('cloud', `done (${outcome}): ${summary.received}/${summary.images} received, ${summary.lost} lost, ${summary.failed} failed -> ${join(outDir, 'report.html')}`);
  if (fatal) throw fatal;
  return code;
}

export async function runEdge(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    ...KEY_OPTIONS,
    cloud: { type: 'string' },
    radio: { type: 'string' },
    'listen-feedback': { type: 'string' },
    'serve-rx': { type: 'string' },
    snr: { type: 'string' },
    rate: { type: 'string' },
    'sample-rate': { type: 'string' },
    seed: { type: 'string' },
    'report-timeout-ms': { type: 'string' },
    'wait-user-s': { type: 'string' },
    'connect-timeout-s': { type: 'string' },
  });
  const cloudAt = parseEndpoint(requireString(values, 'cloud'), '--cloud');
  const radioName = requireString(values, 'radio');
  const fb = parseEndpoint((values['listen-feedback'] as string | undefined) ?? '7101', '--listen-feedback');
  const rate = values['rate'] !== undefined ? parseRate(values['rate'] as string) : undefined;
  const snrDb = optionalNumber(values, 'snr', 20, -10, 40);
  const sampleRateHz = optionalNumber(values, 'sample-rate', 250e3, 1e3, 20e6);
  const connectTimeoutMs = optionalNumber(values, 'connect-timeout-s', 30, 0.1, 3600) * 1000;
  const serveRx = values['serve-rx'] !== undefined ? parseEndpoint(values['serve-rx'] as string, '--serve-rx') : undefined;
  if (serveRx && radioName !== 'loopback') throw new UsageError('--serve-rx serves the loopback radio; it needs --radio loopback');
  const { store, provider } = openModelStore(values);
  // The radio first: an unknown radio fails before the models load.
  // -12 dB digital RX gain keeps the loopback inside an 8-bit rtl_tcp stream's range (about 38 dB SQNR).
  const radio = await openRadio(radioName, { sampleRateHz, channel: { snrDb }, seed: optionalInt(values, 'seed', 1, 0, 2 ** 31 - 1), pace: 'realtime', rxGainDb: serveRx ? -12 : 0 });
  // Whatever happens next, the edge closes what it opened and exits (no port stays bound, no radio open).
  const closers: (() => Promise<unknown>)[] = [() => radio.close()];
  try {
    if (!radio.capabilities.tx) throw new UsageError(`radio '${radioName}' cannot transmit; the edge needs a TX radio (${RADIO_NAMES_HELP})`);
    const key = sessionKey(values, 'edge');
    const [generator, codec] = await Promise.all([Generator.load(store, 'edge', { provider }), JsccCodec.load(store, 'cala', { provider })]);
    const rtl = serveRx ? await RtlTcpServer.listen({ device: radio, host: serveRx.host, port: serveRx.port }) : undefined;
    if (rtl) {
      closers.push(() => rtl.close());
      log('edge', `serving the loopback's receive side as rtl_tcp on ${serveRx!.host}:${rtl.port}`);
    }
    const klt = optionalKlt(store);
    const sim = radio.channelSimulator;
    const edge = new EdgeRole({
      store,
      generator,
      codec,
      tx: radio.startTx(),
      policy: new RatePolicy(loadRateCurves(store.dir), { flatCurves: loadRateCurves(store.dir, 'cala', 'flat'), ...(rate !== undefined ? { fixedRate: rate } : {}) }),
      ...(klt ? { klt } : {}),
      linkCurves: loadLinkCurves(store.dir),
      sampleRateHz: radio.config.sampleRateHz,
      reportTimeoutMs: optionalInt(values, 'report-timeout-ms', 5000, 100, 600_000),
      firstUserWaitMs: optionalNumber(values, 'wait-user-s', 30, 0, 3600) * 1000,
      ...(sim ? { configuredSnrDb: () => sim.channel.snrDb ?? null } : {}),
    });
    let ended = false;
    edge.on('user-gone', (e: Error) => {
      if (!ended) log('edge', `user gone (${e.message}); still transmitting, waiting for a user to reconnect`);
    });
    edge.on('job-error', (e: Error) => log('edge', `job failed: ${e.message}`));
    const fbListener = await PeerListener.listen(fb.host, fb.port, { key: key.bytes, role: 'edge', accept: ['user'], limits: LIMITS_FROM_USER_AT_EDGE, what: 'user feedback' });
    closers.push(() => fbListener.close());
    logRefusals(fbListener, 'edge');
    fbListener.on('peer', (l: Link) => {
      edge.attachUser(l);
      log('edge', `user connected from ${l.peer}`);
    });
    log('edge', `feedback link listening on ${fb.host}:${fbListener.port}`);
    const cloud = await connectPeer(cloudAt.host, cloudAt.port, { key: key.bytes, role: 'edge', expect: 'cloud', limits: LIMITS_FROM_CLOUD_AT_EDGE, timeoutMs: connectTimeoutMs, what: 'the cloud' });
    closers.push(() => cloud.close());
    log('edge', `connected to the cloud at ${cloudAt.host}:${cloudAt.port}`);
    const why = await edge.serveCloud(cloud);
    ended = true;
    const s = edge.stats;
    log('edge', `session over (${why}); ${s.framesSent} frames sent, ${s.reports} reported, ${s.lost} lost, ${s.jobErrors} jobs failed; radio ${JSON.stringify(radio.stats())}${rtl ? `; rtl_tcp ${JSON.stringify(rtl.stats)}` : ''}`);
    if (why !== 'end') {
      log('edge', `the cloud went away before the end of the session (${why})`);
      return EXIT.PEER;
    }
    if (s.lostNoUser + s.lostUserGone > 0) return EXIT.PEER;
    return s.jobErrors > 0 ? EXIT.INCOMPLETE : EXIT.OK;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

export async function runUser(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    ...KEY_OPTIONS,
    radio: { type: 'string' },
    edge: { type: 'string' },
    record: { type: 'string' },
    'sample-rate': { type: 'string' },
    'session-id': { type: 'string' },
    'connect-timeout-s': { type: 'string' },
  });
  const radioName = requireString(values, 'radio');
  const edgeAt = parseEndpoint(requireString(values, 'edge'), '--edge');
  const sampleRateHz = optionalNumber(values, 'sample-rate', 250e3, 1e3, 20e6);
  const connectTimeoutMs = optionalNumber(values, 'connect-timeout-s', 30, 0.1, 3600) * 1000;
  const sid = values['session-id'] !== undefined ? optionalInt(values, 'session-id', 1, 0, 65535) : undefined;
  const { store, provider } = openModelStore(values);
  const radio = await openRadioRetrying(radioName, { sampleRateHz }, 30_000);
  let recording: RxRecorder | undefined;
  let link: Link | undefined;
  try {
    if (!radio.capabilities.rx) throw new UsageError(`radio '${radioName}' cannot receive; the user needs an RX radio`);
    const key = sessionKey(values, 'user');
    const [codec, decoder] = await Promise.all([JsccCodec.load(store, 'cala', { provider }), LatentDecoder.load(store, { provider })]);
    recording = values['record']
      ? await RxRecorder.open(resolve(values['record'] as string), {
          datatype: 'cf32_le',
          streamStart: 0,
          sampleRateHz: radio.config.sampleRateHz,
          freqHz: radio.config.freqHz,
          description: 'DeKA-g session: what the user received',
          hardware: radio.info.label,
          overwrite: true,
          fsyncIntervalMs: 250,
        })
      : undefined;
    const edgeLink = await connectPeer(edgeAt.host, edgeAt.port, { key: key.bytes, role: 'user', expect: 'edge', limits: LIMITS_FROM_EDGE_AT_USER, timeoutMs: connectTimeoutMs, what: "the edge's feedback port" });
    link = edgeLink;
    log('user', `connected to the edge at ${edgeAt.host}:${edgeAt.port}, receiving on ${radio.info.id}`);
    let ended = false;
    edgeLink.on('message', (e: Envelope) => {
      if (e.msg.type === 'end') ended = true;
    });
    const closed = new Promise<void>((r) => edgeLink.once('close', () => r()));
    const klt = optionalKlt(store);
    const user = new UserRole({ codec, decoder, radio, ...(klt ? { klt } : {}), ...(sid !== undefined ? { sessionId: sid } : {}), ...(recording ? { recording } : {}) });
    user.attachEdge(edgeLink);
    user.on('frame', (f: { sequence: number; measuredSnrDb: number; rate: number }) => log('user', `frame ${f.sequence}: SNR ${f.measuredSnrDb.toFixed(1)} dB, rate 1/${Math.round(1 / f.rate)}`));
    edgeLink.on('close', () => void user.stop());
    try {
      await user.run();
    } catch (e) {
      // The edge's process died: its rtl_tcp stream and the feedback link go at once, in either order.
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
      if (ended || edgeLink.isOpen) throw e;
      log('user', `the edge went away (${(e as Error).message})`);
      return EXIT.PEER;
    }
    log('user', `done: ${user.stats.decoded} frames decoded; radio ${JSON.stringify(radio.stats())}; modem ${JSON.stringify(user.receiverStats)}`);
    if (!ended) {
      log('user', 'the edge went away before the end of the session');
      return EXIT.PEER;
    }
    return EXIT.OK;
  } finally {
    await link?.close();
    await radio.close();
    if (recording) await recording.finish();
  }
}
