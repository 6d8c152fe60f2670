/**
 * Browser mode's access control and API over real sockets: the token, the Host check, the WebSocket
 * origin check, the CSP on every response, and requests validated by the engine.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createEngine } from './backends.js';
import { startServer, type RunningServer } from './serve.js';
import type { Engine } from './engine.js';

let srv: RunningServer;
let engine: Engine;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dekag-serve-'));
  engine = createEngine({ recordingsDir: join(dir, 'rec'), sessions: null });
  srv = await startServer({ engine, port: 0 });
});

after(async () => {
  await srv.close();
  await engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function openWs(path: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}${path}`, origin ? { origin } : {});
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

test('the printed URL holds a 128-bit token and binds 127.0.0.1', () => {
  assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\/$/);
  assert.equal(srv.host, '127.0.0.1');
});

test('HTTP without the right token gets 401, with it the app and the CSP', async () => {
  for (const path of ['/', '/index.html', '/main.js', `/${'0'.repeat(32)}/`, `/${srv.token.slice(0, -1)}/`, `/x${srv.token}/`]) {
    const r = await get(path);
    assert.equal(r.status, 401, path);
    assert.doesNotMatch(r.body, /<html/i);
  }
  const ok = await get(`/${srv.token}/`);
  assert.equal(ok.status, 200);
  assert.match(ok.body, /<title>DeKA-g Testbed<\/title>/);
  const csp = String(ok.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${srv.port}`));
  assert.equal(ok.headers['x-content-type-options'], 'nosniff');
  // /TOKEN without the slash redirects so relative URLs keep the token
  const redirect = await get(`/${srv.token}`);
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers['location'], `/${srv.token}/`);
});

test('only the listed files are served: no path escapes', async () => {
  for (const path of ['/%2e%2e/package.json', '/../package.json', '/src/server/serve.ts', '/vendor/../package.json', '/%2F..%2Fpackage.json']) {
    const r = await get(`/${srv.token}${path}`);
    assert.equal(r.status, 404, path);
  }
  const chart = await get(`/${srv.token}/vendor/chart.umd.min.js`);
  assert.equal(chart.status, 200);
  assert.match(String(chart.headers['content-type']), /javascript/);
});

test('a foreign Host header (DNS rebinding) is refused', async () => {
  const r = await get(`/${srv.token}/`, { Host: `evil.example:${srv.port}` });
  assert.equal(r.status, 421);
});

test('WebSocket: no token or a foreign origin is refused before the handshake', async () => {
  await assert.rejects(openWs('/ws'), /HTTP 401/);
  await assert.rejects(openWs(`/${'f'.repeat(32)}/ws`), /HTTP 401/);
  await assert.rejects(openWs(`/${srv.token}/ws`, 'http://evil.example'), /HTTP 403/);
});

test('WebSocket with the token: calls are validated, unknown ones refused', async () => {
  const ws = await openWs(`/${srv.token}/ws`, `http://127.0.0.1:${srv.port}`);
  const replies = new Map<number, { result?: unknown; error?: { code: string; message: string } }>();
  const waiting = new Map<number, () => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { id?: number; result?: unknown; error?: { code: string; message: string } };
    if (typeof m.id === 'number') {
      replies.set(m.id, m);
      waiting.get(m.id)?.();
    }
  });
  const call = (id: number, method: string, params?: unknown): Promise<{ result?: unknown; error?: { code: string; message: string } }> =>
    new Promise((resolve) => {
      waiting.set(id, () => resolve(replies.get(id)!));
      ws.send(JSON.stringify({ id, method, params }));
    });
  const bad = await call(1, 'eval', { code: 'process.exit()' });
  assert.equal(bad.error?.code, 'E_API_UNKNOWN');
  const range = await call(2, 'configureDevice', { freqHz: -5 });
  assert.match(range.error?.message ?? '', /freqHz must be a number from 0/);
  const noRadio = await call(3, 'configureDevice', { freqHz: 100e6 });
  assert.equal(noRadio.error?.code, 'E_NO_DEVICE');
  const prompt = await call(4, 'checkPrompt', { prompt: 'a red strar on grass' });
  assert.deepEqual((prompt.result as { ok: boolean; suggestions: string[] }).ok, false);
  assert.ok((prompt.result as { suggestions: string[] }).suggestions.includes('star'));
  const devices = await call(5, 'listDevices');
  assert.ok((devices.result as { id: string }[]).some((d) => d.id === 'loopback'));
  const noSessions = await call(6, 'startSession', { prompt: 'a red star', adapter: null, snr: { kind: 'target', snrDb: 10 }, rate: 'auto', images: 1, seed: 0 });
  assert.equal(noSessions.error?.code, 'E_UNAVAILABLE');
  ws.close();
});

/** A socket with a call helper and the events it received. */
async function client(): Promise<{ ws: WebSocket; call: (method: string, params?: unknown) => Promise<{ result?: unknown; error?: { code: string; message: string } }>; events: { type: string; state?: unknown }[]; sendRaw: (text: string, id: number) => Promise<{ id: number; error?: { code: string; message: string } }> }> {
  const ws = await openWs(`/${srv.token}/ws`, `http://127.0.0.1:${srv.port}`);
  const waiting = new Map<number, (m: { id: number; result?: unknown; error?: { code: string; message: string } }) => void>();
  const events: { type: string; state?: unknown }[] = [];
  let nextId = 1000;
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { id?: number; event?: { type: string }; result?: unknown; error?: { code: string; message: string } };
    if (m.event) events.push(m.event);
    else if (typeof m.id === 'number') waiting.get(m.id)?.(m as { id: number });
  });
  const sendRaw = (text: string, id: number): Promise<{ id: number; error?: { code: string; message: string } }> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to request ${id} in 5 s (socket state ${ws.readyState})`)), 5000);
      waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      ws.send(text);
    });
  return { ws, events, sendRaw, call: (method, params) => sendRaw(JSON.stringify({ id: ++nextId, method, params }), nextId) };
}

test('an oversized or malformed message is answered with an error and the connection stays open', async () => {
  const c = await client();
  let closed: number | undefined;
  c.ws.on('close', (code) => (closed = code));
  // a pasted ~100 kB prompt: once closed the socket with 1009 (message too big)
  const big = await c.sendRaw(JSON.stringify({ id: 7, method: 'checkPrompt', params: { prompt: 'a red star '.repeat(10_000) } }), 7);
  assert.equal(big.error?.code, 'E_TOO_LARGE');
  assert.match(big.error?.message ?? '', /at most 65536/);
  const junk = await c.sendRaw('{"id": 8, "method": ', -1);
  assert.equal(junk.error?.message, 'request is not JSON');
  // still connected: the next call is answered
  const ok = await c.call('checkPrompt', { prompt: 'a red star on grass' });
  assert.equal((ok.result as { ok: boolean }).ok, true);
  assert.equal(c.ws.readyState, WebSocket.OPEN);
  assert.equal(closed, undefined);
  c.ws.close();
});

test("every tab gets the engine's state: state() on connect, the 'state' event on each change", async () => {
  const a = await client();
  const b = await client();
  try {
    const before = (await b.call('state')).result as { device: unknown; session: unknown; recording: unknown; images: unknown[] };
    assert.deepEqual([before.device, before.session, before.recording, before.images], [null, null, null, []]);
    // tab A connects the radio: tab B is told, and a tab opened now loads it
    await a.call('connectDevice', { id: 'loopback' });
    const deadline = Date.now() + 5000;
    while (!b.events.some((e) => e.type === 'state' && (e.state as { device: { id: string } | null }).device?.id === 'loopback')) {
      assert.ok(Date.now() < deadline, `tab B got no state with the radio: ${JSON.stringify(b.events.map((e) => e.type))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const c = await client();
    const snap = (await c.call('state')).result as { device: { id: string; settings: { freqHz: number } } | null };
    assert.equal(snap.device?.id, 'loopback');
    assert.ok(snap.device!.settings.freqHz > 0);
    // tab C disconnects it: tab A (which connected it) is told
    const n = a.events.length;
    await c.call('disconnectDevice');
    while (!a.events.slice(n).some((e) => e.type === 'state' && (e.state as { device: unknown }).device === null)) {
      assert.ok(Date.now() < deadline + 5000, 'tab A was not told of the disconnect');
      await new Promise((r) => setTimeout(r, 20));
    }
    c.ws.close();
  } finally {
    a.ws.close();
    b.ws.close();
  }
});
