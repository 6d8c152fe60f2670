/**
 * `dekag cloud | edge | user`: the three roles of a session as separate processes (or machines), joined
 * by TCP links (cloud <-> edge, user -> edge feedback) and a radio (edge TX -> user RX).
 *
 * On one machine with the loopback radio the edge owns the loopback and serves its receive side as an
 * rtl_tcp stream (`--serve-rx`), which the user opens as `--radio rtl_tcp:127.0.0.1:PORT`; the same user
 * command works against a real rtl_tcp dongle. Every listener binds 127.0.0.1 unless given a host.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Evaluator } from '../gsc/evaluate.js';
import { DekagError, UsageError } from '../util/errors.js';
import { Generator } from '../gsc/generate.js';
import { JsccCodec, parseRate } from '../gsc/jscc.js';
import { tokenize } from '../gsc/tokenizer.js';
import { LoopbackDevice } from '../radio/devices/loopback.js';
import { RtlTcpServer } from '../radio/devices/rtl-tcp-server.js';
import type { SdrDevice } from '../radio/devices/types.js';
import { SigmfWriter } from '../radio/sigmf/writer.js';
import { CloudRole, loadAdapterCatalog } from '../session/cloud.js';
import { EdgeRole } from '../session/edge.js';
import { connectLink, LinkServer, nextMessage, parseEndpoint, type Link } from '../session/link.js';
import { loadRateCurves, RatePolicy } from '../session/policy.js';
import { SESSION_PROTOCOL } from '../session/protocol.js';
import { openRadio, RADIO_NAMES_HELP } from '../session/radio.js';
import { renderReport } from '../session/report.js';
import { summarize } from '../session/session.js';
import { UserRole } from '../session/user.js';
import { MODEL_OPTIONS, openModelStore, optionalInt, optionalNumber, parse, requireString } from './args.js';
import { DEMO_PROMPTS, readPromptsFile } from './demo.js';

export const CLOUD_HELP = `dekag cloud --listen [HOST:]PORT [--prompts FILE | --prompt TEXT ...] [--out DIR]
  the cloud role: reference images, MAKD adapters, the session record (DIR/session.jsonl, summary.json,
  report.html; default out/session); waits for an edge to connect (--wait-s, default 120)`;
export const EDGE_HELP = `dekag edge --cloud HOST:PORT --radio NAME [--listen-feedback [HOST:]PORT] [--serve-rx [HOST:]PORT]
  the edge role: edge-GAI with the adapter, JSCC with CALA, the rate policy, radio TX on NAME (${RADIO_NAMES_HELP});
  --snr DB (loopback channel, default 20), --rate R (fixed), --sample-rate HZ (default 250000),
  --serve-rx [HOST:]PORT serves the loopback's receive side as rtl_tcp for a user in another process,
  --listen-feedback [HOST:]PORT (default 127.0.0.1:7101) where the user connects; before its first
  frame the edge waits up to --wait-user-s (default 30) for a user, later a missing user only loses frames`;
export const USER_HELP = `dekag user --radio NAME --edge HOST:PORT [--record BASE]
  the user role: radio RX (${RADIO_NAMES_HELP}), JSCC decoding with CALA from the measured SNR, feedback to
  the edge; --record BASE writes what it received as SigMF with an annotation per frame`;

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

async function hello(link: Link, role: 'cloud' | 'edge' | 'user'): Promise<void> {
  await link.send({ type: 'hello', protocol: SESSION_PROTOCOL, role });
}

async function expectHello(link: Link, from: string): Promise<void> {
  const { msg } = await nextMessage(link, (e) => e.msg.type === 'hello', 5000);
  if (msg['protocol'] !== SESSION_PROTOCOL) {
    await link.close('wrong protocol');
    throw new UsageError(`${from} speaks '${String(msg['protocol'])}', this build speaks '${SESSION_PROTOCOL}'; run the same dekag version on both ends`);
  }
}

export async function runCloud(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
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
  const waitMs = optionalNumber(values, 'wait-s', 120, 1, 86400) * 1000;
  const outDir = resolve((values['out'] as string | undefined) ?? join('out', 'session'));
  const [generator, evaluator] = await Promise.all([Generator.load(store, 'cloud', { provider }), Evaluator.load(store, { provider })]);
  const catalog = loadAdapterCatalog(store);
  for (const s of catalog.skipped) log('cloud', `adapter ${s.path} skipped: ${s.reason}`);
  const cloud = new CloudRole({
    store,
    generator,
    evaluator,
    catalog,
    outDir,
    sessionId: optionalInt(values, 'session-id', 1, 0, 65535),
    seed: optionalInt(values, 'seed', 0, 0, 2 ** 31 - 1),
    resultTimeoutMs: optionalNumber(values, 'result-timeout-s', 60, 1, 3600) * 1000,
  });
  const server = await LinkServer.listen(host, port, 'edge');
  log('cloud', `listening on ${host}:${server.port}; ${prompts.length} prompts; ${catalog.entries.length} adapters`);
  let edge: Link | undefined;
  const pending: Link[] = [];
  server.on('link', (l: Link) => pending.push(l));
  const nextEdge = async (): Promise<Link> => {
    const t0 = Date.now();
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const l =
        pending.shift() ??
        (await Promise.race([server.accept(), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), Math.max(1, waitMs - (Date.now() - t0)))))]));
      clearTimeout(timer);
      if (!l) throw new UsageError(`no edge connected to ${host}:${server.port} within ${waitMs / 1000} s; start 'dekag edge --cloud ${host}:${server.port} ...'`);
      const idx = pending.indexOf(l);
      if (idx >= 0) pending.splice(idx, 1);
      try {
        await expectHello(l, 'the edge');
        await hello(l, 'cloud');
        log('cloud', `edge connected from ${l.peer}`);
        return l;
      } catch (e) {
        log('cloud', `refused a connection from ${l.peer}: ${(e as Error).message}`);
        await l.close();
      }
    }
  };
  const t1 = performance.now();
  try {
    for (const [i, prompt] of prompts.entries()) {
      if (!edge?.isOpen) edge = await nextEdge();
      try {
        const rec = await cloud.runPrompt(edge, prompt);
        log('cloud', `${i + 1}/${prompts.length} ${rec.received ? `received, PSNR ${rec.psnr_db} dB, measured SNR ${rec.snr.measured_db} dB, rate 1/${Math.round(1 / rec.rate)}` : `lost (${rec.lost_reason ?? '?'})`}`);
      } catch (e) {
        log('cloud', `${i + 1}/${prompts.length} failed: ${(e as Error).message}`);
      }
    }
    if (edge?.isOpen) await edge.send({ type: 'end', reason: 'all prompts done' }).catch(() => undefined);
  } finally {
    await edge?.close();
    await server.close();
  }
  const summary = { ...summarize(cloud.records, performance.now() - t1), provider: generator.provider, session_record: 'session.jsonl' };
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(outDir, 'report.html'), renderReport({ records: cloud.records, summary, outDir }));
  log('cloud', `done: ${summary.received}/${summary.images} received -> ${join(outDir, 'report.html')}`);
  return 0;
}

export async function runEdge(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
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
  });
  const cloudAt = parseEndpoint(requireString(values, 'cloud'), '--cloud');
  const radioName = requireString(values, 'radio');
  const fb = parseEndpoint((values['listen-feedback'] as string | undefined) ?? '7101', '--listen-feedback');
  const rate = values['rate'] !== undefined ? parseRate(values['rate'] as string) : undefined;
  const snrDb = optionalNumber(values, 'snr', 20, -10, 40);
  const sampleRateHz = optionalNumber(values, 'sample-rate', 250e3, 1e3, 20e6);
  const serveRx = values['serve-rx'] !== undefined ? parseEndpoint(values['serve-rx'] as string, '--serve-rx') : undefined;
  if (serveRx && radioName !== 'loopback') throw new UsageError('--serve-rx serves the loopback radio; it needs --radio loopback');
  const { store, provider } = openModelStore(values);
  // The radio first: an unknown radio fails before the models load.
  // -12 dB digital RX gain keeps the loopback inside an 8-bit rtl_tcp stream's range (about 38 dB SQNR).
  const radio = await openRadio(radioName, { sampleRateHz, channel: { snrDb }, seed: optionalInt(values, 'seed', 1, 0, 2 ** 31 - 1), pace: 'realtime', rxGainDb: serveRx ? -12 : 0 });
  if (!radio.capabilities.tx) throw new UsageError(`radio '${radioName}' cannot transmit; the edge needs a TX radio (${RADIO_NAMES_HELP})`);
  const [generator, codec] = await Promise.all([Generator.load(store, 'edge', { provider }), JsccCodec.load(store, 'cala', { provider })]);
  const rtl = serveRx ? await RtlTcpServer.listen({ device: radio, host: serveRx.host, port: serveRx.port }) : undefined;
  if (rtl) log('edge', `serving the loopback's receive side as rtl_tcp on ${serveRx!.host}:${rtl.port}`);
  const edge = new EdgeRole({
    store,
    generator,
    codec,
    tx: radio.startTx(),
    policy: new RatePolicy(loadRateCurves(store.dir), rate !== undefined ? { fixedRate: rate } : {}),
    sampleRateHz: radio.config.sampleRateHz,
    reportTimeoutMs: optionalInt(values, 'report-timeout-ms', 5000, 100, 600_000),
    firstUserWaitMs: optionalNumber(values, 'wait-user-s', 30, 0, 3600) * 1000,
    ...(radio instanceof LoopbackDevice ? { configuredSnrDb: () => radio.channel.snrDb ?? null } : {}),
  });
  edge.on('user-gone', (e: Error) => log('edge', `user gone (${e.message}); still transmitting, waiting for a user to reconnect`));
  edge.on('job-error', (e: Error) => log('edge', `job failed: ${e.message}`));
  const fbServer = await LinkServer.listen(fb.host, fb.port, 'user feedback');
  log('edge', `feedback link listening on ${fb.host}:${fbServer.port}`);
  fbServer.on('link', (l: Link) => {
    expectHello(l, 'the user')
      .then(() => hello(l, 'edge'))
      .then(() => {
        edge.attachUser(l);
        log('edge', `user connected from ${l.peer}`);
      })
      .catch((e: Error) => {
        log('edge', `refused a feedback connection: ${e.message}`);
        void l.close();
      });
  });
  const cloud = await connectLink(cloudAt.host, cloudAt.port, { what: 'the cloud', timeoutMs: 30_000 });
  await hello(cloud, 'edge');
  await expectHello(cloud, 'the cloud');
  log('edge', `connected to the cloud at ${cloudAt.host}:${cloudAt.port}`);
  const why = await edge.serveCloud(cloud);
  await cloud.close();
  log('edge', `session over (${why}); ${edge.stats.framesSent} frames sent, ${edge.stats.reports} reported, ${edge.stats.lost} lost; radio ${JSON.stringify(radio.stats())}${rtl ? `; rtl_tcp ${JSON.stringify(rtl.stats)}` : ''}`);
  await fbServer.close();
  await rtl?.close();
  await radio.close();
  return 0;
}

export async function runUser(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    radio: { type: 'string' },
    edge: { type: 'string' },
    record: { type: 'string' },
    'sample-rate': { type: 'string' },
    'session-id': { type: 'string' },
  });
  const radioName = requireString(values, 'radio');
  const edgeAt = parseEndpoint(requireString(values, 'edge'), '--edge');
  const sampleRateHz = optionalNumber(values, 'sample-rate', 250e3, 1e3, 20e6);
  const { store, provider } = openModelStore(values);
  const radio = await openRadioRetrying(radioName, { sampleRateHz }, 30_000);
  if (!radio.capabilities.rx) throw new UsageError(`radio '${radioName}' cannot receive; the user needs an RX radio`);
  const [codec, decoder] = await Promise.all([JsccCodec.load(store, 'cala', { provider }), store.session('autoencoder_decoder.onnx', { provider })]);
  const recording = values['record']
    ? await SigmfWriter.open(resolve(values['record'] as string), {
        datatype: 'cf32_le',
        sampleRateHz: radio.config.sampleRateHz,
        freqHz: radio.config.freqHz,
        description: 'DeKA-g session: what the user received',
        hardware: radio.info.label,
        overwrite: true,
        fsyncIntervalMs: 250,
      })
    : undefined;
  const link = await connectLink(edgeAt.host, edgeAt.port, { what: "the edge's feedback port", timeoutMs: 30_000 });
  await hello(link, 'user');
  await expectHello(link, 'the edge');
  log('user', `connected to the edge at ${edgeAt.host}:${edgeAt.port}, receiving on ${radio.info.id}`);
  const sid = values['session-id'] !== undefined ? optionalInt(values, 'session-id', 1, 0, 65535) : undefined;
  const user = new UserRole({ codec, decoder, radio, ...(sid !== undefined ? { sessionId: sid } : {}), ...(recording ? { recording } : {}) });
  user.attachEdge(link);
  user.on('frame', (f: { sequence: number; measuredSnrDb: number; rate: number }) => log('user', `frame ${f.sequence}: SNR ${f.measuredSnrDb.toFixed(1)} dB, rate 1/${Math.round(1 / f.rate)}`));
  link.on('close', () => void user.stop());
  try {
    await user.run();
  } finally {
    await link.close();
    await radio.close();
    if (recording) await recording.finalize();
  }
  log('user', `done: ${user.stats.decoded} frames decoded; radio ${JSON.stringify(radio.stats())}; modem ${JSON.stringify(user.receiverStats)}`);
  return 0;
}
