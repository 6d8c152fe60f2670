/**
 * The roles as separate processes on 127.0.0.1: cloud, edge (loopback radio served as rtl_tcp) and user
 * (rtl_tcp client), over real TCP links. Needs the shipped models including the JSCC codec (models/cala,
 * or DEKAG_MODELS_DIR pointing at a folder that has it).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openSigmf } from '../../src/radio/sigmf/reader.js';
import { freePorts } from '../robustness/roles-procs.js';

const build = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'); // <build>/test/session -> <build>
const MAIN_URL = pathToFileURL(join(build, 'src', 'cli', 'main.js')).href;
/** Node's arguments that run `dekag ARGS...` from this build (what bin/dekag.js does for dist/); ARGS follow. */
const DEKAG = ['--input-type=module', '-e', `const { runCli } = await import(${JSON.stringify(MAIN_URL)}); process.exitCode = await runCli(process.argv.slice(1));`, '--'];
const tmp = mkdtempSync(join(tmpdir(), 'dekag-sess-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Proc {
  child: ChildProcess;
  log: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [...DEKAG, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, log: () => out, exit };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function session(name: string, prompts: string[], extraEdge: string[] = []) {
  const [cloudPort, rxPort, fbPort] = (await freePorts(3)) as [number, number, number];
  const out = join(tmp, name);
  const promptArgs = prompts.flatMap((p) => ['--prompt', p]);
  // One session key for the three roles (the first role to start creates it).
  const key = ['--key-file', join(tmp, `${name}.key`)];
  const cloud = start(['cloud', '--listen', String(cloudPort), ...promptArgs, '--out', out, '--wait-s', '60', ...key]);
  const edge = start(['edge', '--cloud', `127.0.0.1:${cloudPort}`, '--radio', 'loopback', '--snr', '15', '--serve-rx', String(rxPort), '--listen-feedback', String(fbPort), ...key, ...extraEdge]);
  const user = start(['user', '--radio', `rtl_tcp:127.0.0.1:${rxPort}`, '--edge', `127.0.0.1:${fbPort}`, '--record', join(out, 'radio', 'rx'), ...key]);
  // 'radio' is a folder no other role creates: the user must make it, whenever the cloud makes DIR.
  return { cloud, edge, user, out };
}

const records = (out: string) =>
  readFileSync(join(out, 'session.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('three processes over TCP on 127.0.0.1: every image arrives, the loop measures the SNR, the recording is annotated', { timeout: 120_000 }, async () => {
  const s = await session('full', ['a large red striped star on the left on grass', 'a small blue heart in the center at night']);
  const codes = await Promise.all([s.cloud.exit, s.edge.exit, s.user.exit]);
  assert.deepEqual(codes, [0, 0, 0], `cloud:\n${s.cloud.log()}\nedge:\n${s.edge.log()}\nuser:\n${s.user.log()}`);
  const recs = records(s.out);
  assert.equal(recs.length, 2);
  for (const r of recs) {
    assert.equal(r.received, true);
    assert.equal(r.snr.configured_db, 15);
    assert.ok(Math.abs(r.snr.measured_db - 15) < 3, `measured ${r.snr.measured_db} dB on a 15 dB channel`);
    assert.ok(r.psnr_db > 10, `PSNR ${r.psnr_db}`);
    assert.ok(r.air.payload_bytes < r.air.png_bytes);
    assert.ok(existsSync(join(s.out, r.images.received)));
  }
  // the second frame's encoder was conditioned on the first frame's measurement
  assert.equal(recs[1].snr.encoder_source, 'feedback');
  assert.equal(recs[1].snr.encoder_db, recs[0].snr.measured_db);
  assert.ok(existsSync(join(s.out, 'report.html')));
  const rec = await openSigmf(join(s.out, 'radio', 'rx.sigmf-meta'));
  assert.ok(rec.sampleCount > 0);
  const ann = rec.meta.annotations ?? [];
  assert.deepEqual(ann.map((a) => a['dekag:sequence']), [0, 1]);
});

test('killing the user mid-session: edge and cloud carry on and finish (exit 3: a peer went away), the recording stays readable', { timeout: 120_000 }, async () => {
  const prompts = ['a large red striped star on the left on grass', 'a medium purple circle at the top on sand', 'a small blue heart in the center at night'];
  const s = await session('kill', prompts, ['--report-timeout-ms', '1500']);
  await waitFor(() => /frame 0:/.test(s.user.log()), 60_000, "the user's first frame");
  s.user.child.kill('SIGKILL');
  assert.equal(await s.user.exit, null);
  const codes = await Promise.all([s.cloud.exit, s.edge.exit]);
  assert.deepEqual(codes, [3, 3], `cloud:\n${s.cloud.log()}\nedge:\n${s.edge.log()}`);
  assert.match(s.edge.log(), /user gone/);
  const recs = records(s.out);
  assert.equal(recs.length, 3);
  assert.equal(recs[0].received, true);
  assert.ok(recs.slice(1).every((r: { received: boolean; status: string; lost_cause: string }) => !r.received && r.status === 'lost' && /user/.test(r.lost_cause)), JSON.stringify(recs.map((r: { received: boolean }) => r.received)));
  const summary = JSON.parse(readFileSync(join(s.out, 'summary.json'), 'utf8'));
  assert.deepEqual([summary.images, summary.received, summary.lost, summary.exit_code], [3, 1, 2, 3]);
  // the crash left a recording that opens as it is (the writer's meta only names durable samples)
  const rec = await openSigmf(join(s.out, 'radio', 'rx.sigmf-meta'));
  assert.equal(rec.unreadableReason, undefined);
  assert.ok(rec.sampleCount > 0);
});

test('bad prompts and unknown radios fail at once with a clear message', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [...DEKAG, ...args], { encoding: 'utf8', timeout: 30_000 });
  let r = run('cloud', '--listen', '0', '--prompt', 'a purpel star', '--out', join(tmp, 'bad'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown word 'purpel' in prompt; did you mean 'purple'/);
  r = run('demo', '--quick', '--prompts', '/nonexistent/prompts.txt', '--out', join(tmp, 'bad'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot read --prompts \/nonexistent\/prompts.txt: ENOENT/);
  r = run('edge', '--cloud', '127.0.0.1:1', '--radio', 'hackrf-please');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown radio 'hackrf-please'; use 'loopback', 'rtl_tcp:HOST:PORT'/);
  r = run('user', '--radio', 'rtl_tcp:localhost:http', '--edge', '127.0.0.1:1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /'localhost:http' is not HOST:PORT/);
  r = run('demo', '--radio', 'pluto', '--out', join(tmp, 'bad'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /dekag demo runs on the loopback radio/);
});
