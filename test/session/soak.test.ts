/**
 * Soak (issue 15): a three-process session of 50 prompts while a hostile local client keeps 50 idle
 * connections open to the cloud and 50 to the edge's feedback port (re-opening each one the roles close).
 * Every prompt must be received and each role's peak RSS (VmHWM) stay under 300 MB.
 *
 * Opt-in, it takes minutes: DEKAG_SOAK=1 node --test dist/test/session/soak.test.js
 * (DEKAG_SOAK_PROMPTS=N, DEKAG_SOAK_IDLE=N for other counts; DEKAG_SOAK_OUT=FILE.json keeps the numbers).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEMO_PROMPTS } from '../../src/cli/demo.js';
import { freePorts, IdleFlood, jsonLines, peakRssMiB, startRole, waitFor, type Proc } from '../robustness/roles-procs.js';

const SOAK = process.env['DEKAG_SOAK'] === '1';
const N = Number(process.env['DEKAG_SOAK_PROMPTS'] ?? 50);
const IDLE = Number(process.env['DEKAG_SOAK_IDLE'] ?? 50);
const LIMIT_MIB = 300;

test(`soak: ${N} prompts over three processes, ${IDLE} idle hostile connections each to the cloud and the edge: all received, every role under ${LIMIT_MIB} MB peak RSS`, { skip: SOAK ? false : 'opt-in: DEKAG_SOAK=1 (takes minutes)', timeout: 60 * 60_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'dekag-soak-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const [cloudPort, rxPort, fbPort] = (await freePorts(3)) as [number, number, number];
  const out = join(tmp, 'out');
  const promptsFile = join(tmp, 'prompts.txt');
  writeFileSync(promptsFile, Array.from({ length: N }, (_, i) => DEMO_PROMPTS[i % DEMO_PROMPTS.length]).join('\n') + '\n');
  const env = { DEKAG_KEY_FILE: join(tmp, 'session.key') };
  const procs: Proc[] = [];
  const floods: IdleFlood[] = [];
  t.after(() => {
    floods.forEach((f) => f.stop());
    procs.forEach((p) => p.kill());
  });
  const peaks: Record<string, number> = { cloud: 0, edge: 0, user: 0 };
  const pids: Record<string, number | undefined> = {};
  // Idle hostile connections open at once while the session runs (a role closes each after its 5 s deadline; the flood re-opens it).
  const open = { mean: 0, max: 0, samples: 0 };
  let sessionRunning = false;
  const sampler = setInterval(() => {
    for (const [role, pid] of Object.entries(pids)) peaks[role] = Math.max(peaks[role]!, peakRssMiB(pid) ?? 0);
    if (sessionRunning) {
      const n = floods.reduce((a, f) => a + f.count, 0);
      open.mean = Math.round(((open.mean * open.samples + n) / ++open.samples) * 10) / 10;
      open.max = Math.max(open.max, n);
    }
  }, 250);
  t.after(() => clearInterval(sampler));
  const start = (role: string, args: string[]): Proc => {
    const p = startRole([role, ...args], env);
    procs.push(p);
    pids[role] = p.child.pid;
    p.child.once('exit', () => (pids[role] = undefined)); // the last sample before exit stands
    return p;
  };
  const t0 = Date.now();
  const cloud = start('cloud', ['--listen', String(cloudPort), '--prompts', promptsFile, '--out', out, '--wait-s', '120']);
  await waitFor(() => /listening on/.test(cloud.log()), 120_000, 'the cloud to listen');
  // The hostile client is there before the edge says hello.
  const atCloud = new IdleFlood([cloudPort], IDLE);
  floods.push(atCloud);
  await atCloud.start();
  const edge = start('edge', ['--cloud', `127.0.0.1:${cloudPort}`, '--radio', 'loopback', '--snr', '20', '--serve-rx', String(rxPort), '--listen-feedback', String(fbPort)]);
  await waitFor(() => /feedback link listening/.test(edge.log()), 120_000, "the edge's feedback port");
  const atEdge = new IdleFlood([fbPort], IDLE);
  floods.push(atEdge);
  await atEdge.start();
  const user = start('user', ['--radio', `rtl_tcp:127.0.0.1:${rxPort}`, '--edge', `127.0.0.1:${fbPort}`]);
  sessionRunning = true;
  void cloud.exit.then(() => (sessionRunning = false));
  const codes = await Promise.all([cloud.exit, edge.exit, user.exit]);
  const seconds = (Date.now() - t0) / 1000;
  floods.forEach((f) => f.stop());
  const logs = `cloud:\n${cloud.log().slice(-3000)}\nedge:\n${edge.log().slice(-3000)}\nuser:\n${user.log().slice(-2000)}`;
  const recs = jsonLines(join(out, 'session.jsonl'));
  const numbers = {
    prompts: N,
    received: recs.filter((r) => r['status'] === 'received').length,
    seconds: Math.round(seconds),
    peak_rss_mib: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v)])),
    hostile: { idle_per_port: IDLE, connections_opened: atCloud.opened + atEdge.opened, closed_by_the_roles: atCloud.closedByServer + atEdge.closedByServer, open_during_session: open },
    exit_codes: codes,
  };
  t.diagnostic(JSON.stringify(numbers));
  if (process.env['DEKAG_SOAK_OUT']) writeFileSync(process.env['DEKAG_SOAK_OUT'], JSON.stringify(numbers, null, 2) + '\n');
  assert.deepEqual(codes, [0, 0, 0], logs);
  assert.equal(recs.length, N);
  assert.equal(numbers.received, N, logs);
  for (const [role, mib] of Object.entries(peaks)) assert.ok(mib > 0 && mib < LIMIT_MIB, `${role}: peak RSS ${mib.toFixed(0)} MiB`);
});
