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
