/**
 * `dekag edge` under hostile peers (issue 15, items 1, 6 and 7): a local process without the session key
 * saying hello as the user, a second user, a user that drops and comes back, bad jobs, and clouds that
 * are not there or never answer. The test itself plays the cloud and the users, with the session key
 * (DEKAG_KEY_FILE) where a real one would have it.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectPeer, loadSessionKey, PeerListener } from '../../src/session/handshake.js';
import { encodeMessage, nextMessage, type Link } from '../../src/session/link.js';
import { LIMITS_FROM_EDGE_AT_CLOUD } from '../../src/session/protocol.js';
import { tempDir } from './helpers.js';
import { exchange, freePort, freePorts, portIsFree, PROMPTS, startRole, waitFor } from './roles-procs.js';

test('edge: no hello as the user without the key; one user at a time; a dropped user re-attaches; bad jobs are answered at once', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t, 'edge-links');
  const keyFile = join(dir, 'session.key');
  const key = loadSessionKey(keyFile).bytes;
  const cloudSide = await PeerListener.listen('127.0.0.1', 0, { key, role: 'cloud', accept: ['edge'], limits: LIMITS_FROM_EDGE_AT_CLOUD, what: 'edge' });
  t.after(() => cloudSide.close());
  const fbPort = await freePort();
  const edge = startRole(['edge', '--cloud', `127.0.0.1:${cloudSide.port}`, '--radio', 'loopback', '--listen-feedback', String(fbPort), '--wait-user-s', '0', '--report-timeout-ms', '300'], { DEKAG_KEY_FILE: keyFile });
  t.after(() => edge.kill());
  await waitFor(() => /feedback link listening/.test(edge.log()), 60_000, "the edge's feedback port");

  // item 1: a local process without the key says hello as the user (the old protocol's hello, then this one's)
  for (const hello of [{ type: 'hello', protocol: 'dekag-session/1', role: 'user' }, { type: 'hello', protocol: 'dekag-session/2', role: 'user', nonce: 'ab'.repeat(16) }]) {
    const forged = Buffer.concat([encodeMessage(hello), encodeMessage({ type: 'feedback', sessionId: 1, sequence: 0, snrDb: -5, crcOk: true, evmDb: 0, cfoHz: 0 })]);
    const { text, closed } = await exchange(fbPort, forged, 8000);
    assert.doesNotMatch(text, /"type":"welcome"/, 'a forger was welcomed');
    assert.ok(closed, 'the edge kept a connection that did not prove the key past the handshake deadline');
  }
  assert.doesNotMatch(edge.log(), /user connected/, edge.log());

  // one user at a time; the first one dropping lets a user attach again
  const asUser = (timeoutMs: number) => connectPeer('127.0.0.1', fbPort, { key, role: 'user', expect: 'edge', limits: { maxJsonBytes: 4096, maxAttachmentBytes: 0 }, timeoutMs });
  const u1 = await asUser(5000);
  await waitFor(() => /user connected/.test(edge.log()), 5000, 'the user attached');
  await assert.rejects(asUser(600), /already attached/);
  await u1.close();
  await new Promise((r) => setTimeout(r, 200));
  const u2 = await asUser(5000);
  t.after(() => u2.close());
  await waitFor(() => (edge.log().match(/user connected/g) ?? []).length === 2, 5000, 'the user re-attached');

  // item 6: the edge answers a job it cannot run at once (the cloud records it failed, no waiting)
  const link: Link | undefined = await cloudSide.nextPeer(30_000);
  assert.ok(link, `the edge never reached the cloud:\n${edge.log()}`);
  const jobs = [
    { type: 'job', sessionId: 1, sequence: 0, prompt: 'a purpel star', seed: 0, adapter: null, compareBase: true },
    { type: 'job', sessionId: 1, sequence: 1, prompt: 42, seed: -1, adapter: 'x', compareBase: 'yes' },
  ];
  for (const job of jobs) {
    const t0 = Date.now();
    const answer = nextMessage(link, (e) => e.msg['sequence'] === job.sequence, 20_000);
    await link.send(job);
    const { msg } = await answer;
    assert.equal(msg.type, 'job-error');
    assert.ok(Date.now() - t0 < 5000, `answered after ${Date.now() - t0} ms`);
    assert.match(String(msg['error']), job.sequence === 0 ? /purpel/ : /unusable job/);
  }
  // item 7: the session ends; jobs failed -> 4
  await link.send({ type: 'end', reason: 'test over' });
  assert.equal(await edge.exitWithin(20_000), 4, edge.log());
  assert.ok(await portIsFree(fbPort));
});

test('edge: a cloud that never answers the hello, or is not there, ends the edge (exit 3) and frees its ports', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t, 'edge-fatal');
  const env = { DEKAG_KEY_FILE: join(dir, 'session.key') };
  const held: Socket[] = [];
  const silent = createServer((s) => held.push(s)); // accepts, says nothing
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => {
    held.forEach((s) => s.destroy());
    silent.close();
  });
  const fbPort = await freePort();
  const edge = startRole(['edge', '--cloud', `127.0.0.1:${(silent.address() as { port: number }).port}`, '--radio', 'loopback', '--listen-feedback', String(fbPort)], env);
  t.after(() => edge.kill());
  const code = await edge.exitWithin(45_000);
  assert.equal(code, 3, `edge: ${code}\n${edge.log()}`);
  assert.match(edge.log(), /the cloud at 127\.0\.0\.1:\d+ did not answer the hello/);
  assert.ok(await portIsFree(fbPort), 'the feedback port is still bound');

  const [nobody, fb2] = (await freePorts(2)) as [number, number];
  const edge2 = startRole(['edge', '--cloud', `127.0.0.1:${nobody}`, '--radio', 'loopback', '--listen-feedback', String(fb2), '--connect-timeout-s', '1'], env);
  t.after(() => edge2.kill());
  assert.equal(await edge2.exitWithin(45_000), 3, edge2.log());
  assert.match(edge2.log(), /cannot reach the cloud at 127\.0\.0\.1:\d+ within 1000 ms/);
  assert.ok(await portIsFree(fb2));
});

test('the roles document their exit codes and the key file in --help', async () => {
  for (const role of ['cloud', 'edge', 'user']) {
    const p = startRole([role, '--help']);
    assert.equal(await p.exit, 0);
    assert.match(p.log(), /exit codes: 0 the session did what was asked; 1 an error.*2 usage.*3 a peer/s);
    assert.match(p.log(), /--key-file FILE/);
  }
  // prompts are only a usage error (2) when they are bad; an unknown option too
  const bad = startRole(['cloud', '--listen', '0', '--prompt', PROMPTS[0]!, '--wait-s', 'soon']);
  assert.equal(await bad.exit, 2);
});
