/**
 * The engine with the real loopback radio and real files: recording through the RX tap, replay paths
 * confined to the recordings folder, loopback channel settings, sweeps, and the TappedDevice itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoopbackDevice } from '../radio/devices/loopback.js';
import { SigmfRecording } from '../radio/sigmf/reader.js';
import { SigmfWriter } from '../radio/sigmf/writer.js';
import type { SdrDevice } from '../radio/devices/types.js';
import type { EngineEvent, SessionRequest } from './api.js';
import { createEngine } from './backends.js';
import { decimatePoints, fromLoopbackChannel, snrSchedule, toLoopbackChannel } from './engine.js';
import { distillEvents, loopbackDirectory, tmp } from './testing.js';
import type { DeviceDirectory } from './ports.js';
import { TappedDevice } from './tap.js';

async function pull(dev: SdrDevice, blocks: number): Promise<number> {
  const rx = dev.startRx({ blockSamples: 4096 });
  let samples = 0;
  for await (const b of rx) {
    samples += b.samples;
    if (--blocks === 0) break;
  }
  await rx.stop();
  return samples;
}

test('recording to SigMF through the RX tap keeps exactly the samples the receiver saw', async () => {
  const dir = tmp();
  const { dir: devices, opened } = loopbackDirectory();
  const engine = createEngine({ recordingsDir: dir, devices, sessions: null });
  const events: EngineEvent[] = [];
  engine.subscribe((e) => events.push(e));
  try {
    await engine.connectDevice({ id: 'loopback' });
    const { path } = await engine.startRecording({ name: 'rx1' });
    await assert.rejects(engine.startRecording({ name: 'rx2' }), /already recording/);
    // the session's receiver would pull here; the tap sits on the device the engine handed out
    const tapped = (engine as unknown as { device: TappedDevice }).device;
    const seen = await pull(tapped, 10);
    const summary = await engine.stopRecording();
    assert.equal(summary?.samples, seen);
    const rec = await SigmfRecording.open(path);
    assert.equal(rec.sampleCount, seen);
    assert.equal(rec.sampleRateHz, 1e6);
    assert.equal(rec.finalized, true);
    assert.equal(await rec.verifyChecksum(), true);
    const listed = await engine.listRecordings();
    assert.deepEqual(listed.map((r) => [r.name, r.samples]), [['rx1', seen]]);
    await assert.rejects(engine.startRecording({ name: 'rx1' }), /exists/);
    assert.ok(events.some((e) => e.type === 'recording' && e.state === 'stopped' && e.samples === seen));
    assert.equal(opened.length, 1);
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay only reads recordings in the recordings folder', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'outside.sigmf-meta'), '{}');
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), devices: loopbackDirectory().dir, sessions: { run: async () => {}, replay: async () => {} } });
  try {
    await assert.rejects(engine.replayRecording({ path: '../outside' }), /is not a recording in/);
    await assert.rejects(engine.replayRecording({ path: join(dir, 'outside') }), /is not a recording in/);
    await assert.rejects(engine.replayRecording({ path: 'missing' }), /no recording 'missing'/);
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loopback channel settings reach the radio and come back', async () => {
  const dir = tmp();
  const { dir: devices, opened } = loopbackDirectory();
  const engine = createEngine({ recordingsDir: dir, devices, sessions: null });
  try {
    await assert.rejects(engine.setLoopbackChannel({ snrDb: 5 }), /no radio is connected/);
    const dev = await engine.connectDevice({ id: 'loopback' });
    assert.equal(dev.channel?.snrDb, 30);
    const c = await engine.setLoopbackChannel({ snrDb: 7.5, fading: true, dopplerHz: 5, cfoHz: 1200 });
    assert.deepEqual(c, { snrDb: 7.5, fading: true, dopplerHz: 5, cfoHz: 1200, sroPpm: 0, phaseNoiseLinewidthHz: 0, quantization: 'none' });
    const ch = opened[0]!.channel;
    assert.equal(ch.snrDb, 7.5);
    assert.equal(ch.cfoHz, 1200);
    assert.deepEqual(ch.fading, { profile: 'flat', maxDopplerHz: 5 });
    const cfg = await engine.configureDevice({ freqHz: 915e6, gainsDb: { rx: 6 } });
    assert.equal(cfg.freqHz, 915e6);
    assert.equal(opened[0]!.config.gainsDb['rx'], 6);
    await assert.rejects(engine.configureDevice({ gainsDb: { rx: 99 } }), /rx/); // the driver's range check
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(fromLoopbackChannel(toLoopbackChannel({ snrDb: 3, fading: false, dopplerHz: 0, cfoHz: 0, sroPpm: 2, phaseNoiseLinewidthHz: 0, quantization: 'ci8' })), {
    snrDb: 3, fading: false, dopplerHz: 0, cfoHz: 0, sroPpm: 2, phaseNoiseLinewidthHz: 0, quantization: 'ci8',
  });
});

test('a radio without a simulated channel (here a replay) shows no channel and refuses channel settings', async () => {
  const dir = tmp();
  const base = join(dir, 'r');
  const w = await SigmfWriter.open(base, { datatype: 'cf32_le', sampleRateHz: 1e6, freqHz: 915e6, durable: false });
  await w.append(new Float32Array(2 * 4096));
  await w.finalize();
  const engine = createEngine({ recordingsDir: dir, devices: loopbackDirectory({ replays: true }).dir, sessions: null });
  try {
    const dev = await engine.connectDevice({ id: `sigmf:${base}` });
    assert.equal(dev.channel, undefined);
    await assert.rejects(engine.setLoopbackChannel({ snrDb: 5 }), (e: Error & { code?: string }) => e.code === 'E_NOT_LOOPBACK');
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sweep schedules each step for imagesPerStep images, in either direction', () => {
  const req = (snr: SessionRequest['snr']): SessionRequest => ({ prompt: 'x', adapter: null, snr, rate: 'auto', images: 9, seed: 0 });
  assert.deepEqual(snrSchedule(req({ kind: 'sweep', fromDb: 25, toDb: 5, stepDb: 10, imagesPerStep: 2 })), [25, 25, 15, 15, 5, 5]);
  assert.deepEqual(snrSchedule(req({ kind: 'sweep', fromDb: 0, toDb: 1, stepDb: 0.5, imagesPerStep: 1 })), [0, 0.5, 1]);
  assert.deepEqual(snrSchedule(req({ kind: 'target', snrDb: 3 })), []);
});

test('constellations sent to the UI are bounded', () => {
  const pts = new Float32Array(2 * 2000).map((_, i) => i / 1000);
  const out = decimatePoints(pts, 512);
  assert.ok(out.length / 2 <= 512 && out.length / 2 >= 400);
  assert.deepEqual(out.slice(0, 4), [0, 0.001, 0.008, 0.009]);
  assert.deepEqual(decimatePoints(undefined, 10), []);
});

test('a tap that throws is removed and reported; the stream goes on', async () => {
  const inner = new LoopbackDevice({ pace: 'full-speed' });
  await inner.open();
  const errors: string[] = [];
  const dev = new TappedDevice(inner, (e) => errors.push(e.message));
  let good = 0;
  let bad = 0;
  dev.addTap(() => {
    bad++;
    throw new Error('broken tap');
  });
  const untap = dev.addTap((b) => (good += b.samples));
  const samples = await pull(dev, 5);
  assert.equal(good, samples);
  assert.equal(bad, 1);
  assert.deepEqual(errors, ['broken tap']);
  untap();
  await pull(dev, 2);
  assert.equal(good, samples);
  await dev.close();
  assert.equal(inner.isOpen, false);
});

test('distill from the UI: progress events, then the new adapter is listed as user/…', async (t) => {
  if (!existsSync('/usr/bin/python3') || !existsSync(join(process.cwd(), 'train', 'makd.py'))) {
    t.skip('needs /usr/bin/python3 with PyTorch and the repository checkout (train/makd.py)');
    return;
  }
  const dir = tmp();
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), userAdaptersDir: join(dir, 'adapters'), devices: loopbackDirectory().dir, sessions: null });
  const { events, finished } = distillEvents(engine);
  try {
    await assert.rejects(engine.distill({ subject: 'shape:hexagon', steps: 5, quick: true }), /unknown subject 'shape:hexagon'/);
    assert.deepEqual(await engine.distill({ subject: 'shape:star', steps: 5, quick: true }), { subject: 'shape:star' });
    await assert.rejects(engine.distill({ subject: 'shape:star', steps: 5, quick: true }), /already distilling/);
    await finished;
    const last = events[events.length - 1]!;
    assert.equal(last.state, 'done', last.message);
    assert.equal(last.adapter, 'user/shape-star.quick');
    assert.ok(events.some((e) => e.state === 'running' && e.step > 0), 'progress arrived before the end');
    const listed = await engine.listAdapters();
    const mine = listed.find((a) => a.name === 'user/shape-star.quick');
    assert.equal(mine?.subject, 'shape:star');
    assert.ok(existsSync(join(dir, 'adapters', 'shape-star.quick.dkga')));
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the engine's state: radio, session progress, recording; a change is broadcast; a stopped session stays known", async () => {
  const dir = tmp();
  let release: () => void = () => undefined;
  const ran: string[] = [];
  const sessions = {
    outDir: join(dir, 'sessions'),
    // two images, then waits until stopped (a long session)
    run: async (r: Parameters<import('./ports.js').SessionBackend['run']>[0]) => {
      ran.push(r.sessionId);
      for (let i = 0; i < 2; i++) {
        await r.beforeImage(i);
        r.onImage({ index: i, prompt: r.prompts[0]!, adapter: null, png: {}, configuredSnrDb: 12, measuredSnrDb: 11.5, psnrDb: 20, consistency: { edge: null, edgeAdapted: null, received: 1.5 }, rate: 0.25, symbols: 64, bytesOverAir: 64, pngBytes: 900, latencyMs: {}, provider: 'cpu' });
      }
      await new Promise<void>((res) => {
        release = res;
        r.signal.addEventListener('abort', () => res(), { once: true });
      });
    },
    replay: async () => {},
  };
  const engine = createEngine({ recordingsDir: dir, devices: loopbackDirectory().dir, sessions });
  const states: import('./api.js').EngineState[] = [];
  engine.subscribe((e) => e.type === 'state' && states.push(e.state));
  try {
    const empty = await engine.state();
    assert.deepEqual(empty, { device: null, txDevice: null, radios: { tx: null, rx: null }, deviceProblems: [], session: null, lastSession: null, recording: null, distill: null, attenuator: null, images: [] });
    await engine.connectDevice({ id: 'loopback' });
    assert.equal(states.at(-1)?.device?.id, 'loopback');
    await engine.startRecording({ name: 'r1' });
    assert.equal(states.at(-1)?.recording?.path, join(dir, 'r1'));
    const { sessionId } = await engine.startSession({ prompt: 'a red star on grass', adapter: null, snr: { kind: 'target', snrDb: 12 }, rate: 0.25, images: 5, seed: 0 });
    for (let i = 0; i < 100 && (states.at(-1)?.session?.imagesDone ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const mid = await engine.state();
    assert.equal(mid.session?.sessionId, sessionId);
    assert.equal(mid.session?.kind, 'session');
    assert.equal(mid.session?.imagesDone, 2);
    assert.equal(mid.session?.imagesTotal, 5);
    assert.equal(mid.session?.configuredSnrDb, 12);
    assert.equal(mid.session?.label, 'a red star on grass');
    // the id the UI shows is the id the runner got, and the name of the session's folder
    assert.match(sessionId, /^session-[0-9a-z]+-\d+$/);
    assert.deepEqual(ran, [sessionId]);
    assert.equal(mid.session?.folder, join(dir, 'sessions', sessionId));
    assert.deepEqual(mid.images.map((r) => [r.sessionId, r.index]), [[sessionId, 0], [sessionId, 1]]);
    assert.equal(mid.recording?.path, join(dir, 'r1'));
    // progress went out as it happened: imagesDone 0, 1, 2
    assert.deepEqual([...new Set(states.filter((s) => s.session).map((s) => s.session!.imagesDone))], [0, 1, 2]);
    await assert.rejects(engine.disconnectDevice(), /a session is running/);
    await engine.stopSession(); // any tab may: the engine has one session
    const after = await engine.state();
    assert.equal(after.session, null);
    assert.deepEqual(after.lastSession, { sessionId, state: 'stopped', folder: join(dir, 'sessions', sessionId) });
    assert.equal(after.images.length, 2, "the last session's images stay for a page opened later");
    assert.deepEqual(states.at(-1)?.lastSession, after.lastSession);
    await engine.stopRecording();
    assert.equal((await engine.state()).recording, null);
    assert.equal(states.at(-1)?.recording, null);
  } finally {
    release();
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kept sessions: listed, their every image read back from session.jsonl, exported as JSON, CSV and report.html; ids confined to the folder', async () => {
  const dir = tmp();
  const sessions = { outDir: join(dir, 'sessions'), run: async () => {}, replay: async () => {} };
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), devices: loopbackDirectory().dir, sessions });
  try {
    const id = 'session-abc123-1';
    const folder = join(dir, 'sessions', id);
    mkdirSync(join(folder, 'images'), { recursive: true });
    writeFileSync(join(folder, 'images', '0000-received.png'), Buffer.from([137, 80, 78, 71]));
    const rec = (i: number, extra: Record<string, unknown>) => ({
      sequence: i, prompt: i === 0 ? 'a red star, "big"' : 'a blue circle', seed: 7 + i, status: 'received', adapter: 'shape-star', adapter_available: i === 0, adapter_bytes: 10, received: true,
      images: { cloud: `images/000${i}-cloud.png`, edge_base: null, edge_adapter: null, received: `images/000${i}-received.png` },
      consistency: { edge_base: 1.2, edge_adapter: 1.5, received: 1.4 - i }, follows_prompt: {}, psnr_db: 25.5 - i, snr: { configured_db: 12, measured_db: 11.8, encoder_db: 12, encoder_source: 'x' },
      rate: 0.25, rate_reason: 'fixed', link: { kind: 'jscc', mcs: null }, air: { symbols: 64, bits: 512, payload_bytes: 64, frame_samples: 1000, png_bytes: 900, fraction_of_png: 0.07 }, crc_ok: true, evm_db: -20, timings_ms: {},
      ...extra,
    });
    const lines = [rec(0, {}), rec(1, { status: 'lost', received: false, lost_reason: 'timeout', images: { cloud: 'x', edge_base: null, edge_adapter: null, received: null } }), { sequence: 2, prompt: 'two hearts', seed: 9, status: 'failed', reason: 'edge error', adapter: null, images: { cloud: null }, timings_ms: {} }];
    writeFileSync(join(folder, 'session.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const list = await engine.listSessions();
    assert.deepEqual(list, [{ sessionId: id, folder, images: 3, done: false }]);
    const h = await engine.sessionHistory({ sessionId: id });
    assert.equal(h.rows.length, 3);
    assert.deepEqual(h.rows.map((r) => [r.status, r.adapter, r.psnrDb]), [['received', 'shape-star', 25.5], ['lost', null, 24.5], ['failed', null, null]]);
    assert.match(h.rows[0]!.received!, /^data:image\/png;base64,/);
    assert.equal(h.rows[1]!.reason, 'timeout');
    assert.equal(h.report, false);
    await assert.rejects(engine.exportSession({ sessionId: id, format: 'html' }), /no report.html yet/);
    const json = JSON.parse((await engine.exportSession({ sessionId: id, format: 'json' })).text) as { records: unknown[]; session_id: string };
    assert.equal(json.session_id, id);
    assert.deepEqual(json.records, lines);
    const csv = await engine.exportSession({ sessionId: id, format: 'csv' });
    assert.equal(csv.fileName, `${id}.csv`);
    const rows = csv.text.trimEnd().split('\r\n');
    assert.equal(rows.length, 4);
    assert.ok(rows[0]!.startsWith('sequence,prompt,seed,status,adapter,'));
    assert.ok(rows[1]!.startsWith('0,"a red star, ""big""",7,received,shape-star,12,11.8,25.5,'), rows[1]);
    writeFileSync(join(folder, 'report.html'), '<html>report</html>');
    assert.equal((await engine.exportSession({ sessionId: id, format: 'html' })).text, '<html>report</html>');
    await assert.rejects(engine.sessionHistory({ sessionId: 'session-nope-2' }), /no session 'session-nope-2'/);
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a connected receiver streams with no session: spectrum rows, an idle recording fills; a session shares the stream and its end leaves it running', async () => {
  const dir = tmp();
  const devices: DeviceDirectory = {
    list: async () => [{ id: 'loopback', driver: 'loopback', label: 'Loopback' }],
    open: async () => {
      const d = new LoopbackDevice({ pace: 'realtime', channel: { snrDb: 20 }, config: { sampleRateHz: 250e3 } });
      await d.open();
      return d;
    },
    watch: () => () => undefined,
  };
  let sessionBlocks = 0;
  const sessions = {
    outDir: join(dir, 'sessions'),
    // the user role's part: a subscription to the radio's stream, stopped when the session ends
    run: async (r: Parameters<import('./ports.js').SessionBackend['run']>[0]) => {
      const rx = r.device.startRx({ blockSamples: 4096, queueBlocks: 64 });
      for await (const b of rx) {
        sessionBlocks += b.samples > 0 ? 1 : 0;
        if (sessionBlocks >= 5) break;
      }
      await rx.stop();
    },
    replay: async () => {},
  };
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), devices, sessions });
  let rows = 0;
  engine.subscribe((e) => {
    if (e.type === 'spectrum') rows++;
  });
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  try {
    await engine.connectDevice({ id: 'loopback' });
    await sleep(500);
    assert.ok(rows >= 2, `spectrum rows with no session: ${rows}`);
    const { path } = await engine.startRecording({ name: 'idle' });
    await sleep(1000);
    const summary = await engine.stopRecording();
    assert.ok(summary && summary.samples > 100e3, `an idle 1 s recording holds ${summary?.samples} samples`);
    assert.equal((await SigmfRecording.open(path)).sampleCount, summary.samples);
    const tapped = (engine as unknown as { device: TappedDevice }).device;
    const { sessionId } = await engine.startSession({ prompt: 'a red star on grass', images: 1, seed: 1, rate: 'auto', adapter: null, snr: { kind: 'target', snrDb: 20 } } as SessionRequest);
    await (engine as unknown as { session?: { done: Promise<void> } }).session?.done;
    assert.ok(sessionId && sessionBlocks >= 5, `the session received ${sessionBlocks} blocks`);
    assert.equal(tapped.streaming, true, 'the idle stream outlives the session');
    const before = rows;
    await sleep(400);
    assert.ok(rows > before, 'spectrum rows go on after the session');
    assert.equal(tapped.rxStats().gaps, 0);
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TX and RX on two radios: chosen apart, the session gets both ends; a half-duplex radio cannot be both; network radios added', async () => {
  const dir = tmp();
  const open = async (id: string): Promise<SdrDevice> => {
    const d = new LoopbackDevice({ pace: 'full-speed', channel: { snrDb: 30 }, config: { sampleRateHz: id === 'rxer' ? 2e6 : 1e6 } });
    await d.open();
    // 'half' stands for a HackRF: it transmits and receives, one at a time
    if (id === 'half') Object.defineProperty(d, 'capabilities', { value: { ...d.capabilities, fullDuplex: false } });
    Object.defineProperty(d, 'info', { value: { ...d.info, id } });
    return d;
  };
  const devices: DeviceDirectory = {
    list: async () => ['loopback', 'half', 'rxer'].map((id) => ({ id, driver: 'loopback', label: id })),
    discover: async () => ({ devices: ['loopback', 'half', 'rxer'].map((id) => ({ id, driver: 'loopback', label: id })), problems: ['no USB bus (test)'] }),
    open,
    watch: () => () => undefined,
  };
  const ends: { rx: string; tx: string | undefined }[] = [];
  const sessions = {
    outDir: join(dir, 'sessions'),
    run: async (r: Parameters<import('./ports.js').SessionBackend['run']>[0]) => {
      ends.push({ rx: r.device.info.id, tx: r.txDevice?.info.id });
    },
    replay: async () => {},
  };
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), devices, sessions });
  const req: SessionRequest = { prompt: 'a red star on grass', images: 1, seed: 1, rate: 'auto', adapter: null, snr: { kind: 'target', snrDb: 20 } };
  const done = async (): Promise<void> => void (await (engine as unknown as { session?: { done: Promise<void> } }).session?.done);
  try {
    await engine.connectDevice({ id: 'half' });
    await assert.rejects(engine.startSession(req), /half-duplex/);
    // the HackRF transmits; the other radio receives, on the HackRF's frequency and rate
    await engine.connectDevice({ id: 'rxer', role: 'rx' });
    let st = await engine.state();
    assert.deepEqual(st.radios, { tx: 'half', rx: 'rxer' });
    assert.equal(st.device?.id, 'rxer');
    assert.equal(st.txDevice?.id, 'half');
    assert.equal(st.device?.settings.sampleRateHz, 1e6, 'the receiver took the transmitter sample rate');
    assert.deepEqual(st.deviceProblems, ['no USB bus (test)']);
    const listed = await engine.listDevices();
    assert.deepEqual(listed.map((d) => [d.id, d.roles]), [['loopback', []], ['half', ['tx']], ['rxer', ['rx']]]);
    const tapped = (engine as unknown as { tx: TappedDevice; rx: TappedDevice });
    assert.equal(tapped.tx.streaming, false, 'the half-duplex transmitter does not receive');
    assert.equal(tapped.rx.streaming, true, 'the receiver streams');
    await engine.startSession(req);
    await done();
    assert.deepEqual(ends, [{ rx: 'rxer', tx: 'half' }]);
    // Apply sets frequency and rate on both radios
    await engine.configureDevice({ freqHz: 915e6, sampleRateHz: 500e3 });
    st = await engine.state();
    assert.equal(st.txDevice?.settings.freqHz, 915e6);
    assert.equal(st.device?.settings.sampleRateHz, 500e3);
    // one radio as both again: the other radio is closed
    await engine.connectDevice({ id: 'loopback' });
    st = await engine.state();
    assert.deepEqual(st.radios, { tx: 'loopback', rx: 'loopback' });
    assert.equal(st.txDevice, null);
    await engine.startSession(req);
    await done();
    assert.deepEqual(ends.at(-1), { rx: 'loopback', tx: undefined });
    // 'as TX' on the radio that was both ends leaves it the transmitter only
    await engine.connectDevice({ id: 'loopback', role: 'tx' });
    assert.deepEqual((await engine.state()).radios, { tx: 'loopback', rx: null });
    await assert.rejects(engine.startSession(req), /no receiving radio/);
    // a receiver alone cannot run a session
    await engine.connectDevice({ id: 'rxer', role: 'rx' });
    await engine.disconnectDevice();
    await engine.connectDevice({ id: 'rxer', role: 'rx' });
    await assert.rejects(engine.startSession(req), /no transmitting radio/);
    // 'connect' (both) on a receive-only radio makes it the RX end and keeps the TX radio
    await engine.connectDevice({ id: 'half', role: 'tx' });
    Object.defineProperty(tapped.rx.inner, 'capabilities', { value: { ...tapped.rx.inner.capabilities, tx: false } });
    await engine.connectDevice({ id: 'rxer' });
    assert.deepEqual((await engine.state()).radios, { tx: 'half', rx: 'rxer' });
    // network radios added by the user are listed, and only well-formed hosts are taken
    const withNet = await engine.addNetworkRadio({ driver: 'rtl_tcp', host: '127.0.0.1', port: 1235 });
    assert.ok(withNet.some((d) => d.id === 'rtl_tcp:127.0.0.1:1235' && d.driver === 'rtl_tcp'));
    await engine.addNetworkRadio({ driver: 'pluto', host: 'pluto.local' });
    assert.ok((await engine.listDevices()).some((d) => d.id === 'pluto:pluto.local'));
    const { validateRequest } = await import('./api.js');
    assert.throws(() => validateRequest('addNetworkRadio', { driver: 'rtl_tcp', host: 'a b' }), /host name/);
    assert.throws(() => validateRequest('addNetworkRadio', { driver: 'rtl_tcp', host: 'x', port: 70000 }), /1 to 65535/);
    assert.throws(() => validateRequest('connectDevice', { id: 'loopback', role: 'sideways' }), /'both', 'tx', 'rx'/);
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a recording counts what it lost: the radio stream gaps and blocks dropped while the disk is behind, live and in the list', async () => {
  const dir = tmp();
  const { RxRecorder } = await import('../radio/sigmf/rx-recorder.js');
  const { recordingLosses, recordingSummary } = await import('./engine.js');
  try {
    const config = { freqHz: 2.4e9, sampleRateHz: 1e6, gainsDb: {} };
    // as the engine opens it: a tap that joins the stream where it is and drops blocks when the disk is behind
    const open = (name: string, maxPendingBytes?: number) =>
      RxRecorder.open(join(dir, name), { sampleRateHz: config.sampleRateHz, freqHz: config.freqHz, whenBehind: 'drop', hardware: 'test', ...(maxPendingBytes !== undefined ? { maxPendingBytes } : {}), onError: (e) => assert.fail(e.message) });
    const rec = await open('lossy');
    const block = (sampleIndex: number, samples = 1000) => ({ iq: new Float32Array(2 * samples).fill(0.1), samples, sampleIndex, receivedAtMs: Date.now() });
    rec.tap(block(0), config);
    rec.tap(block(1000), config);
    rec.tap(block(5000), config); // the radio lost 3000 samples before this block
    assert.deepEqual([rec.droppedSamples, rec.gaps], [3000, 1]);
    rec.tap(block(6000), config);
    const summary = await recordingSummary(rec, config);
    assert.deepEqual([summary.samples, summary.droppedSamples, summary.gaps], [4000, 3000, 1]);
    const meta = await SigmfRecording.open(join(dir, 'lossy'));
    assert.deepEqual(recordingLosses(meta.captures), { droppedSamples: 3000, gaps: 1 });

    // a writer that cannot keep up (no room at all for pending bytes): blocks are dropped, counted and marked
    const slow = await open('slow', -1);
    for (let i = 0; i < 5; i++) slow.tap(block(i * 1000), config);
    assert.equal(slow.droppedByWriter, 5000);
    const s2 = await recordingSummary(slow, config);
    assert.deepEqual([s2.samples, s2.droppedSamples, s2.gaps], [0, 5000, 1]);

    // the engine lists both with their losses
    const engine = createEngine({ recordingsDir: dir, devices: loopbackDirectory().dir, sessions: null });
    try {
      const listed = await engine.listRecordings();
      assert.deepEqual(
        listed.map((r) => [r.name, r.samples, r.droppedSamples, r.gaps]),
        [['lossy', 4000, 3000, 1], ['slow', 0, 5000, 1]],
      );
    } finally {
      await engine.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('network radios the user adds are kept (private file) and listed again by the next engine; bad entries are skipped', async () => {
  const dir = tmp();
  const file = join(dir, 'config', 'network-radios.json');
  try {
    const one = createEngine({ recordingsDir: join(dir, 'rec'), devices: loopbackDirectory().dir, sessions: null, networkRadiosFile: file });
    await one.addNetworkRadio({ driver: 'rtl_tcp', host: '192.168.1.20', port: 1234 });
    await one.addNetworkRadio({ driver: 'pluto', host: '192.168.2.1' });
    await one.addNetworkRadio({ driver: 'pluto', host: '192.168.2.1' }); // twice: listed once
    await one.dispose();
    const { statSync: st, readFileSync: rd } = await import('node:fs');
    if (process.platform !== 'win32') assert.equal(st(file).mode & 0o077, 0, 'only the user may read it');
    const kept = JSON.parse(rd(file, 'utf8')) as unknown[];
    assert.equal(kept.length, 2);
    writeFileSync(file, JSON.stringify([...kept, { driver: 'rtl_tcp', host: 'bad host' }, { driver: 'ftp', host: 'x' }]));
    const two = createEngine({ recordingsDir: join(dir, 'rec'), devices: loopbackDirectory().dir, sessions: null, networkRadiosFile: file });
    const logs: string[] = [];
    two.subscribe((e) => e.type === 'log' && logs.push(e.message));
    try {
      const ids = (await two.listDevices()).map((d) => d.id);
      assert.deepEqual(ids, ['loopback', 'rtl_tcp:192.168.1.20:1234', 'pluto:192.168.2.1']);
      assert.equal(logs.filter((l) => l.startsWith('skipping a network radio')).length, 2);
    } finally {
      await two.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
