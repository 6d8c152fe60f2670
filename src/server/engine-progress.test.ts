/**
 * The engine's SNR sweeps (the loopback's attenuation, or a serial step attenuator on a pseudo-terminal),
 * and what every page shows of progress: models loading, a replay's samples played of the recording,
 * and a distillation's total fixed from the trainer's first progress line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FakeAttenuator } from '../radio/accessories/fakes/fake-attenuator.js';
import { openPtyPair } from '../radio/accessories/fakes/pty-pair.js';
import type { EngineEvent, EngineState, SessionRequest } from './api.js';
import { createEngine } from './backends.js';
import { distillEvents, loopbackDirectory, tmp, writeFakeTrainer } from './testing.js';
import type { SessionBackend, SessionRunOptions } from './ports.js';
import type { TappedDevice } from './tap.js';

const sweep = (fromDb: number, toDb: number, stepDb: number): SessionRequest => ({
  prompt: 'a red star on grass',
  adapter: null,
  snr: { kind: 'sweep', fromDb, toDb, stepDb, imagesPerStep: 1 },
  rate: 0.25,
  images: 1,
  seed: 1,
});

/** A session runner that only asks for each image's channel (what a sweep sets) and reports an image. */
interface Seen {
  /** What beforeImage answered for each image (the record's configured SNR). */
  configured: (number | null)[];
  /** The probe's reading while each image is sent. */
  snapshots: unknown[];
}

function stepper(seen: Seen, probe: () => unknown): SessionBackend {
  return {
    run: async (r: SessionRunOptions) => {
      for (let i = 0; i < r.images && !r.signal.aborted; i++) {
        seen.configured.push(await r.beforeImage(i));
        seen.snapshots.push(probe());
      }
    },
    replay: async () => {},
  };
}

async function waitState(engine: ReturnType<typeof createEngine>, ok: (s: EngineState) => boolean): Promise<EngineState> {
  for (let i = 0; i < 500; i++) {
    const s = await engine.state();
    if (ok(s)) return s;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('timed out waiting for the engine state');
}

test("a loopback sweep attenuates the signal: the noise floor fixed for the highest step, the record's SNR is each step, the channel comes back after", async () => {
  const dir = tmp();
  const { dir: devices, opened } = loopbackDirectory({ replays: true });
  const seen: Seen = { configured: [], snapshots: [] };
  const probe = (): unknown => ({ snrDb: opened[0]!.channel.snrDb, attenuationDb: opened[0]!.attenuationDb });
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), devices, sessions: stepper(seen, probe) });
  const states: EngineState[] = [];
  engine.subscribe((e: EngineEvent) => e.type === 'state' && states.push(e.state));
  try {
    await engine.connectDevice({ id: 'loopback' });
    await engine.startSession(sweep(25, 5, 10));
    await waitState(engine, (s) => s.session === null && s.lastSession !== null);
    assert.deepEqual(seen.configured, [25, 15, 5], 'the SNR each image is sent at (what the record says)');
    assert.deepEqual(seen.snapshots, [
      { snrDb: 25, attenuationDb: 0 },
      { snrDb: 25, attenuationDb: 10 },
      { snrDb: 25, attenuationDb: 20 },
    ]);
    const during = states.filter((s) => s.session).map((s) => s.session!);
    assert.ok(during.every((v) => v.sweepBy === 'loopback'));
    assert.ok(during.some((v) => v.attenuationDb === 20 && v.configuredSnrDb === 5), 'every page sees the step and its attenuation');
    assert.equal(opened[0]!.channel.snrDb, 30, "the Channel SNR as the user set it, after the sweep");
    assert.equal(opened[0]!.attenuationDb, 0);
    const end = await engine.state();
    assert.equal(end.device?.channel?.snrDb, 30);
    assert.equal(end.attenuator, null);
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a step attenuator on a serial port drives the sweep instead of the loopback; over the air the record sets no SNR', async () => {
  const dir = tmp();
  const pty = await openPtyPair();
  const fake = await FakeAttenuator.open(pty.b, { maxDb: 31.75 });
  const { dir: devices, opened } = loopbackDirectory({ replays: true });
  const seen: Seen = { configured: [], snapshots: [] };
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), devices, sessions: stepper(seen, () => fake.db) });
  const states: EngineState[] = [];
  engine.subscribe((e: EngineEvent) => e.type === 'state' && states.push(e.state));
  try {
    await engine.connectDevice({ id: 'loopback' });
    const port = realpathSync(pty.a); // /dev/pts/N, as a user names a port
    assert.deepEqual(await engine.connectAttenuator({ port }), { port, attenuationDb: 0 });
    assert.deepEqual((await engine.state()).attenuator, { port, attenuationDb: 0 });
    await engine.startSession(sweep(20, 5, 5));
    await waitState(engine, (s) => s.session === null && s.lastSession !== null);
    assert.equal((await engine.state()).lastSession?.state, 'done', (await engine.state()).lastSession?.message);
    assert.deepEqual(seen.snapshots, [0, 5, 10, 15], 'attenuation per step: highest - step');
    assert.deepEqual(seen.configured, [null, null, null, null], 'the testbed sets no SNR over the air');
    assert.deepEqual(fake.received.filter((c) => c.startsWith('ATT ')), ['ATT 5.00', 'ATT 10.00', 'ATT 15.00']);
    const views = states.filter((s) => s.session).map((s) => s.session!);
    assert.ok(views.every((v) => v.sweepBy === 'attenuator' && v.configuredSnrDb === null));
    assert.ok(views.some((v) => v.attenuationDb === 15));
    assert.deepEqual({ snrDb: opened[0]!.channel.snrDb, att: opened[0]!.attenuationDb }, { snrDb: 30, att: 0 }, 'the loopback is untouched');
    assert.deepEqual((await engine.state()).attenuator, { port, attenuationDb: 15 });
    // a sweep the attenuator cannot do is the session's error, said as the device said it
    await engine.startSession(sweep(60, 0, 30));
    const failed = await waitState(engine, (s) => s.session === null && s.lastSession?.state === 'failed');
    assert.match(failed.lastSession!.message!, /60 dB is out of range|ERR range/);
    assert.equal(await engine.disconnectAttenuator(), null);
    assert.equal((await engine.state()).attenuator, null);
    await assert.rejects(engine.connectAttenuator({ port: join(dir, 'no-such-port') }), /could not open the attenuator/);
  } finally {
    await engine.dispose();
    await fake.close().catch(() => undefined);
    await pty.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sweep with neither the loopback as both ends nor an attenuator is refused', async () => {
  const dir = tmp();
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), devices: loopbackDirectory({ replays: true }).dir, sessions: stepper({ configured: [], snapshots: [] }, () => 0) });
  try {
    await engine.connectDevice({ id: 'loopback', role: 'rx' });
    await assert.rejects(engine.startSession(sweep(20, 10, 5)), /no transmitting radio/);
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('models loading and a replay\'s progress (samples played of the recording) are in the state every page reads', async () => {
  const dir = tmp();
  const { dir: devices } = loopbackDirectory({ replays: true });
  let releaseLoad: () => void = () => undefined;
  const sessions: SessionBackend = {
    run: async () => {},
    replay: async (r) => {
      r.onLoading?.(['cloud generator', 'JSCC codec']);
      await new Promise<void>((res) => (releaseLoad = res));
      r.onLoading?.(null);
      const rx = r.device.startRx({ blockSamples: 4096 });
      for await (const _ of rx) await new Promise((res) => setTimeout(res, 2)); // a few updates a second
    },
  };
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), devices, sessions });
  const states: EngineState[] = [];
  engine.subscribe((e: EngineEvent) => e.type === 'state' && states.push(e.state));
  try {
    await engine.connectDevice({ id: 'loopback' });
    const { path } = await engine.startRecording({ name: 'r1' });
    const tapped = (engine as unknown as { device: TappedDevice }).device;
    const rx = tapped.startRx({ blockSamples: 4096 });
    let n = 0;
    for await (const b of rx) if ((n += b.samples) >= 400 * 4096) break;
    await rx.stop();
    const rec = await engine.stopRecording();
    const total = rec!.samples;
    await engine.replayRecording({ path });
    const loading = await waitState(engine, (s) => s.session?.loading !== null && s.session?.loading !== undefined);
    assert.deepEqual(loading.session!.loading, ['cloud generator', 'JSCC codec']);
    assert.deepEqual(loading.session!.replay, { samples: 0, totalSamples: total, sampleRateHz: 1e6 });
    releaseLoad();
    await waitState(engine, (s) => s.session === null);
    const views = states.filter((s) => s.session?.kind === 'replay').map((s) => s.session!);
    assert.ok(views.some((v) => v.loading === null && v.replay!.samples > 0 && v.replay!.samples < total), 'progress part way through');
    const played = views.map((v) => v.replay!.samples);
    assert.deepEqual(played, [...played].sort((a, b) => a - b), 'never goes back');
    assert.ok(played.every((p) => p <= total));
  } finally {
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("distillation: the total is fixed from the trainer's first progress line (0 until then), and never jumps", async () => {
  const dir = tmp();
  // A stand-in for Python: prints the trainer's JSON lines (a later line with another total must not move it).
  const fake = writeFakeTrainer(dir, [{ step: 20, total: 25 }, { step: 23, total: 40 }], 0.3);
  const saved = process.env['DEKAG_PYTHON'];
  process.env['DEKAG_PYTHON'] = fake;
  const engine = createEngine({ recordingsDir: join(dir, 'rec'), userAdaptersDir: join(dir, 'adapters'), devices: loopbackDirectory({ replays: true }).dir, sessions: null });
  const { events, finished } = distillEvents(engine);
  try {
    await engine.distill({ subject: 'shape:star', steps: 5, quick: true });
    assert.equal((await engine.state()).distill?.state, 'running');
    await assert.rejects(engine.distill({ subject: 'shape:star', steps: 5, quick: true }), /already distilling/);
    await finished;
    assert.deepEqual(events[0], { type: 'distill', subject: 'shape:star', state: 'running', step: 0, total: 0, message: 'starting the trainer' });
    const after = events.slice(1);
    assert.ok(after.length >= 2, JSON.stringify(events));
    assert.ok(after.every((e) => e.total === 25), `totals ${after.map((e) => e.total).join(', ')}`);
    assert.deepEqual(after.map((e) => e.step), [20, 23, 25]);
    assert.equal(events.at(-1)!.state, 'done');
  } finally {
    if (saved === undefined) delete process.env['DEKAG_PYTHON'];
    else process.env['DEKAG_PYTHON'] = saved;
    await engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
