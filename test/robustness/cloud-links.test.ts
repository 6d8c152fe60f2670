/**
 * `dekag cloud` under a hostile local client (issue 15, items 2, 3, 5 and 7): idle connections, an
 * unauthenticated connection streaming a 64 MiB attachment, and no edge at all. The session key comes
 * through DEKAG_KEY_FILE.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeMessage, LINK_MAGIC } from '../../src/session/link.js';
import { tempDir } from './helpers.js';
import { exchange, freePort, jsonLines, PROMPTS, rawConnect, startRole, waitFor } from './roles-procs.js';

/** Streams an announced `bytes`-byte attachment without authenticating; how much the cloud took before it stalled or closed. */
async function pushAttachment(port: number, bytes: number): Promise<{ written: number; stopped: string }> {
  const s = await rawConnect(port);
  const head = Buffer.alloc(12);
  head.writeUInt32BE(LINK_MAGIC, 0);
  head.writeUInt32BE(100, 4);
  head.writeUInt32BE(bytes, 8);
  s.write(head);
  const chunk = Buffer.alloc(1 << 20, 7);
  let written = 0;
  let stopped = 'sent everything';
  while (written < bytes) {
    const drained = s.write(chunk);
    written += chunk.length;
    if (drained) continue;
    const r = await Promise.race([
      once(s, 'drain').then(() => 'drain', () => 'closed'), // EPIPE / ECONNRESET: the cloud closed it
      once(s, 'close').then(() => 'closed'),
      new Promise<string>((res) => setTimeout(() => res('stalled'), 1500)),
    ]);
    if (r !== 'drain') {
      stopped = r;
      break;
    }
  }
  s.destroy();
  return { written, stopped };
}

/** A hello of this protocol (as an edge, without the key): the cloud must answer at once, or refuse with retry. */
async function helloAnswered(port: number, budgetMs: number): Promise<string> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < budgetMs) {
    const hello = encodeMessage({ type: 'hello', protocol: 'dekag-session/2', role: 'edge', nonce: randomBytes(16).toString('hex') });
    const { text } = await exchange(port, hello, Math.max(50, budgetMs - (Date.now() - t0)));
    last = text;
    if (/"type":"hello"/.test(text)) return text;
    if (!/"retry":true/.test(text)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no hello answer within ${budgetMs} ms (last: ${JSON.stringify(last.slice(0, 200))})`);
}

test('cloud: 200 idle connections and a 64 MiB unauthenticated upload neither block a hello nor outlast --wait-s; the record, summary and report are written, exit 3', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t, 'cloud-links');
  const port = await freePort();
  const out = join(dir, 'out');
  const cloud = startRole(['cloud', '--listen', String(port), '--prompt', PROMPTS[0]!, '--prompt', PROMPTS[1]!, '--out', out, '--wait-s', '6'], { DEKAG_KEY_FILE: join(dir, 'session.key') });
  t.after(() => cloud.kill());
  await waitFor(() => /listening on/.test(cloud.log()), 60_000, 'the cloud to listen');
  const listening = Date.now();
  const idle = await Promise.all(Array.from({ length: 200 }, () => rawConnect(port).catch(() => undefined)));
  t.after(() => idle.forEach((s) => s?.destroy()));
  // item 2: the hello of a new connection is answered while the idle ones sit there
  const answer = await helloAnswered(port, 3000);
  assert.match(answer, /"proof":"[0-9a-f]{64}"/);
  // item 3: an unauthenticated connection cannot make the cloud take (and buffer) a 64 MiB attachment
  const push = await pushAttachment(port, 64 << 20);
  assert.ok(push.written < 32 << 20 && push.stopped !== 'sent everything', `the cloud took ${push.written >> 20} MiB of an unauthenticated attachment (${push.stopped})`);
  // item 2 (--wait-s) and items 5, 7: no edge came; the cloud gives up on time, records every prompt and says so
  const code = await cloud.exitWithin(6000 + 10_000);
  const waited = Date.now() - listening;
  assert.equal(code, 3, `exit ${code} after ${waited} ms:\n${cloud.log()}`);
  assert.ok(waited < 6000 + 6000, `exited ${waited} ms after listening with --wait-s 6`);
  const recs = jsonLines(join(out, 'session.jsonl'));
  assert.deepEqual(recs.map((r) => [r['prompt'], r['status']]), [[PROMPTS[0], 'failed'], [PROMPTS[1], 'failed']]);
  assert.match(String(recs[0]!['reason']), /no edge connected to 127\.0\.0\.1:\d+ within 6 s/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual([summary.images, summary.received, summary.failed, summary.exit_code], [2, 0, 2, 3]);
  assert.ok(existsSync(join(out, 'report.html')));
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /no edge connected/);
});
