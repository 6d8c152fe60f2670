import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UsageError } from '../util/errors.js';
import { connectPeer, loadSessionKey, PeerError, PeerListener } from './handshake.js';
import { encodeMessage, LINK_MAGIC, nextMessage, type Link } from './link.js';
import { SESSION_PROTOCOL } from './protocol.js';

const tmp = mkdtempSync(join(tmpdir(), 'dekag-hs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const KEY = Buffer.from('k'.repeat(64));
const OTHER = Buffer.from('o'.repeat(64));
const LIMITS = { maxJsonBytes: 64 << 10, maxAttachmentBytes: 1 << 20 };

function listen(o: Partial<Parameters<typeof PeerListener.listen>[2]> = {}) {
  return PeerListener.listen('127.0.0.1', 0, { key: KEY, role: 'edge', accept: ['user'], limits: LIMITS, what: 'test', ...o });
}
const asUser = (port: number, key = KEY, timeoutMs = 3000) => connectPeer('127.0.0.1', port, { key, role: 'user', expect: 'edge', limits: LIMITS, timeoutMs });

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.on('error', () => undefined);
      s.resume(); // read what the listener says, so its end is seen
      resolve(s);
    });
    s.once('error', reject);
  });
}
const closedSocket = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

test('the key file is made once (0600, 64 hex digits), read by every role, and refused when others can read it or it is short', () => {
  const path = join(tmp, 'sub', 'session.key');
  const a = loadSessionKey(path);
  assert.equal(a.created, true);
  assert.match(readFileSync(path, 'utf8'), /^[0-9a-f]{64}\n$/);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const b = loadSessionKey(path);
  assert.equal(b.created, false);
  assert.deepEqual(b.bytes, a.bytes);
  chmodSync(path, 0o644);
  assert.throws(() => loadSessionKey(path), (e: Error) => e instanceof UsageError && /can be read by other users.*chmod 600/.test(e.message));
  const short = join(tmp, 'short.key');
  writeFileSync(short, 'secret\n', { mode: 0o600 });
  assert.throws(() => loadSessionKey(short), /at least 32/);
  assert.throws(() => loadSessionKey(join(tmp, 'none.key'), { create: false }), /does not exist/);
});

test('only a peer with the key is admitted; a wrong key is refused both ways, and the key never crosses the wire', async () => {
  const l = await listen();
  const refused: string[] = [];
  l.on('refused', (_p: string, why: string) => refused.push(why));
  await assert.rejects(asUser(l.port, OTHER), (e: Error) => e instanceof PeerError && /does not prove the session key/.test(e.message));
  // an old-protocol hello (no nonce) as the user is refused, not attached
  const s = await rawConnect(l.port);
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  s.write(encodeMessage({ type: 'hello', protocol: 'dekag-session/1', role: 'user' }));
  await closedSocket(s);
  assert.match(got, /"type":"refused"/);
  assert.doesNotMatch(got, /k{16}/);
  const ok = await asUser(l.port);
  assert.ok(ok.isOpen);
  assert.equal(l.stats.admitted, 1);
  await ok.close();
  await l.close();
});

test('one user at a time: a second one (even with the key) is refused while the first is attached; a dropped user re-attaches', async () => {
  const l = await listen();
  const peers: Link[] = [];
  l.on('peer', (p: Link) => peers.push(p));
  const first = await asUser(l.port);
  await assert.rejects(asUser(l.port, KEY, 500), (e: Error) => e instanceof PeerError && /already attached/.test(e.message));
  assert.equal(peers.length, 1);
  await first.close();
  await new Promise((r) => setTimeout(r, 50));
  const again = await asUser(l.port);
  assert.equal(peers.length, 2);
  await again.close();
  await l.close();
});

test('200 idle connections neither delay a real peer nor live past the handshake deadline; at most maxPending wait at once', async () => {
  const l = await listen({ handshakeMs: 400, maxPending: 64, minPendingAgeMs: 100 });
  const idle = await Promise.all(Array.from({ length: 200 }, () => rawConnect(l.port).catch(() => undefined)));
  assert.ok(l.pendingCount <= 64, `${l.pendingCount} pending`);
  const t0 = Date.now();
  const peer = await asUser(l.port, KEY, 5000);
  assert.ok(Date.now() - t0 < 2000, `admitted after ${Date.now() - t0} ms`);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(l.pendingCount, 0);
  assert.ok(idle.every((s) => !s || s.destroyed || s.readableEnded), 'idle connections closed');
  assert.ok(peer.isOpen);
  await peer.close();
  for (const s of idle) s?.destroy();
  await l.close();
});

test('before authenticating, a connection cannot make the listener buffer an attachment; after, the role limits apply', async () => {
  const l = await listen();
  const s = await rawConnect(l.port);
  const head = Buffer.alloc(12);
  head.writeUInt32BE(LINK_MAGIC, 0);
  head.writeUInt32BE(100, 4);
  head.writeUInt32BE(64 << 20, 8); // a 64 MiB attachment announced
  s.write(head);
  s.on('error', () => undefined);
  await closedSocket(s);
  const peer = await asUser(l.port);
  const server = await new Promise<Link>((r) => (l.peer ? r(l.peer) : l.once('peer', r)));
  const got = nextMessage(server, () => true, 2000);
  await peer.send({ type: 'report', sequence: 1 }, new Uint8Array(1000));
  assert.equal((await got).data?.length, 1000);
  const closed = new Promise<Error>((r) => server.once('close', r));
  await peer.send({ type: 'report', sequence: 2 }, new Uint8Array(2 << 20)).catch(() => undefined);
  assert.match((await closed).message, /exceeds this link's limit of 1048576/);
  await l.close();
});

test('the handshake speaks the current protocol and names an old one', async () => {
  assert.equal(SESSION_PROTOCOL, 'dekag-session/2');
  const l = await listen();
  const s = await rawConnect(l.port);
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  s.write(encodeMessage({ type: 'hello', protocol: 'dekag-session/1', role: 'user', nonce: '0'.repeat(32) }));
  await closedSocket(s);
  assert.match(got, /speaks 'dekag-session\/1', this build speaks 'dekag-session\/2'/);
  await l.close();
});
