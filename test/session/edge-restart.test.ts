/**
 * kill -9 of the edge mid-session (issue 15, item 5): the prompt it had is recorded as lost with the reason,
 * a restarted edge and user finish the others, and the summary and report count every prompt.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePorts, jsonLines, PROMPTS, startRole, waitFor, type Proc } from '../robustness/roles-procs.js';

const tmp = mkdtempSync(join(tmpdir(), 'dekag-restart-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('kill -9 of the edge: its prompt is lost (with the reason) in session.jsonl, a new edge finishes the rest, summary 2/3, exit 3', { timeout: 120_000 }, async (t) => {
  const [cloudPort, rxPort, fbPort] = (await freePorts(3)) as [number, number, number];
  const out = join(tmp, 'out');
  const env = { DEKAG_KEY_FILE: join(tmp, 'session.key') };
  const procs: Proc[] = [];
  t.after(() => procs.forEach((p) => p.kill()));
  const start = (args: string[]): Proc => {
    const p = startRole(args, env);
    procs.push(p);
    return p;
  };
  const cloud = start(['cloud', '--listen', String(cloudPort), ...PROMPTS.flatMap((p) => ['--prompt', p]), '--out', out, '--wait-s', '60']);
  const edgeArgs = ['edge', '--cloud', `127.0.0.1:${cloudPort}`, '--radio', 'loopback', '--snr', '15', '--serve-rx', String(rxPort), '--listen-feedback', String(fbPort)];
  // No user yet: the first edge holds the first prompt, waiting for one (--wait-user-s 60), when it is killed.
  const edge1 = start([...edgeArgs, '--wait-user-s', '60']);
  await waitFor(() => /edge connected from/.test(cloud.log()), 60_000, 'the first edge to connect');
  await new Promise((r) => setTimeout(r, 1500));
  edge1.child.kill('SIGKILL');
  assert.equal(await edge1.exit, null);
  const edge2 = start(edgeArgs);
  const user = start(['user', '--radio', `rtl_tcp:127.0.0.1:${rxPort}`, '--edge', `127.0.0.1:${fbPort}`]);
  const codes = await Promise.all([cloud.exit, edge2.exit, user.exit]);
  const logs = `cloud:\n${cloud.log()}\nedge 2:\n${edge2.log()}\nuser:\n${user.log()}`;
  assert.deepEqual(codes, [3, 0, 0], logs);
  const recs = jsonLines(join(out, 'session.jsonl'));
  assert.deepEqual(recs.map((r) => [r['sequence'], r['status']]), [[0, 'lost'], [1, 'received'], [2, 'received']], logs);
  assert.match(String(recs[0]!['reason']), /no result from the edge: link to 127\.0\.0\.1:\d+ closed/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual([summary.images, summary.received, summary.lost, summary.failed, summary.exit_code], [3, 2, 1, 0, 3]);
  assert.match(summary.outcome, /the edge went away/);
  assert.ok(existsSync(join(out, 'report.html')));
  assert.match(cloud.log(), /1\/3 lost: no result from the edge/);
});
