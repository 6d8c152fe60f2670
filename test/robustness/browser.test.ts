/**
 * Issue 15, items 14 and 15: browser mode's engine under a hostile page. Requests go through the same door
 * as the WebSocket's (dispatch.ts). Before the fix: `sigmf:<any path>` opened files anywhere and its error
 * quoted them; a meta in the folder could point its data (core:dataset, a symlink) outside; `rtl_tcp:` ids
 * connected anywhere (a port-probe oracle); `constructor:name` passed the subject check through the
 * prototype, and a `__proto__` gain name vanished instead of being refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../src/server/engine.js';
import { dispatch, dispatchText } from '../../src/server/dispatch.js';
import type { DeviceDirectory } from '../../src/server/ports.js';
import { openDevice } from '../../src/radio/devices/registry.js';
import { LoopbackDevice } from '../../src/radio/devices/loopback.js';
import { Vocab } from '../../src/gsc/vocab.js';
import { placeMetaword } from '../../src/gsc/adapter.js';
import { modelsDir } from '../../src/gsc/testing.js';
import { tempDir } from './helpers.js';

const vocab = Vocab.load(join(modelsDir(), 'vocab.json'));

/** The real device registry behind a list of one loopback; every id the engine asks to open is recorded. */
function recordingDirectory(): { dir: DeviceDirectory; opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    dir: {
      list: async () => [{ id: 'loopback', driver: 'loopback', label: 'Loopback' }],
      open: async (id) => {
        opened.push(id);
        if (id === 'loopback') {
          const d = new LoopbackDevice({ pace: 'full-speed' });
          await d.open();
          return d;
        }
        return openDevice(id, { sigmf: { pace: 'full-speed' } });
      },
      watch: () => () => {},
    },
  };
}

function makeEngine(t: { after: (fn: () => void) => void }) {
  const root = tempDir(t, 'browser');
  const recordings = join(root, 'recordings');
  mkdirSync(recordings);
  const devices = recordingDirectory();
  const distilled: string[] = [];
  const engine = new Engine({
    devices: devices.dir,
    sessions: { run: async () => {}, replay: async () => {} },
    distill: async ({ subject, out }) => {
      distilled.push(subject);
      return { out, bytes: 0 };
    },
    vocab: () => vocab,
    modelsDir: modelsDir(),
    adaptersDir: join(root, 'adapters'),
    userAdaptersDir: join(root, 'user-adapters'),
    recordingsDir: recordings,
  });
  t.after(() => void engine.dispose());
  return { engine, root, recordings, opened: devices.opened, distilled };
}

function validRecording(base: string, global: Record<string, unknown> = {}): void {
  writeFileSync(`${base}.sigmf-data`, new Uint8Array(64));
  writeFileSync(`${base}.sigmf-meta`, JSON.stringify({ global: { 'core:datatype': 'cu8', 'core:version': '1.2.5', 'core:sample_rate': 1e6, ...global }, captures: [{ 'core:sample_start': 0 }], annotations: [] }));
}

test('connectDevice sigmf:<path outside the recordings folder> is refused before anything is opened, and no error quotes a file', async (t) => {
  const { engine, root, opened } = makeEngine(t);
  const secret = join(root, 'secret');
  writeFileSync(`${secret}.sigmf-meta`, 'SECRET-CONTENT-1234 not json at all');
  writeFileSync(`${secret}.sigmf-data`, new Uint8Array(4));
  for (const id of [`sigmf:${secret}`, `sigmf:${secret}.sigmf-meta`, 'sigmf:../secret', 'sigmf:/etc/passwd']) {
    const r = await dispatch(engine, 1, 'connectDevice', { id });
    assert.ok('error' in r && r.error, `${id} was accepted`);
    assert.doesNotMatch(r.error.message, /SECRET|root:/, `${id}: ${r.error.message}`);
  }
  assert.deepEqual(opened, [], 'no file outside the folder was opened');
});

test('a meta in the recordings folder that points outside (core:dataset, symlinks) is not replayed, connected or listed', async (t) => {
  const { engine, root, recordings, opened } = makeEngine(t);
  writeFileSync(join(root, 'outside.bin'), new Uint8Array(64).fill(7));
  validRecording(join(recordings, 'ok'));
  validRecording(join(recordings, 'escape'), { 'core:dataset': '../outside.bin' });
  validRecording(join(root, 'elsewhere'));
  symlinkSync(join(root, 'elsewhere.sigmf-meta'), join(recordings, 'linked.sigmf-meta'));
  writeFileSync(join(recordings, 'datalink.sigmf-meta'), JSON.stringify({ global: { 'core:datatype': 'cu8', 'core:version': '1.2.5', 'core:sample_rate': 1e6 }, captures: [], annotations: [] }));
  symlinkSync(join(root, 'outside.bin'), join(recordings, 'datalink.sigmf-data'));
  for (const name of ['escape', 'linked', 'datalink']) {
    const replay = await dispatch(engine, 1, 'replayRecording', { path: name });
    assert.ok('error' in replay && replay.error, `replay ${name} was accepted`);
    const connect = await dispatch(engine, 2, 'connectDevice', { id: `sigmf:${name}` });
    assert.ok('error' in connect && connect.error, `connect sigmf:${name} was accepted`);
  }
  assert.deepEqual(opened, [], 'no recording pointing outside the folder was opened');
  const listed = await engine.listRecordings();
  assert.deepEqual(listed.map((r) => r.name), ['ok']);
  // a recording inside the folder still connects
  const dev = await engine.connectDevice({ id: 'sigmf:ok' });
  assert.equal(dev.driver, 'sigmf');
  assert.equal(opened.length, 1);
});

test('rtl_tcp ids the directory does not list are refused without a connection (no port probing)', async (t) => {
  const { engine, opened } = makeEngine(t);
  let connections = 0;
  const probe = createServer((s) => {
    connections++;
    s.destroy();
  });
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  t.after(() => probe.close());
  const port = (probe.address() as { port: number }).port;
  const open = await dispatch(engine, 1, 'connectDevice', { id: `rtl_tcp:127.0.0.1:${port}` });
  const closed = await dispatch(engine, 2, 'connectDevice', { id: 'rtl_tcp:127.0.0.1:1' });
  assert.ok('error' in open && open.error && 'error' in closed && closed.error);
  assert.equal(open.error.code, 'E_NO_DEVICE');
  // An open port and a closed one answer alike: nothing to learn from the error.
  assert.equal(closed.error.code, 'E_NO_DEVICE');
  assert.equal(open.error.message.replace(`127.0.0.1:${port}'`, "127.0.0.1:P'"), closed.error.message.replace("127.0.0.1:1'", "127.0.0.1:P'"));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(connections, 0);
  assert.deepEqual(opened, []);
});

test('keys from the page are looked up as own keys: constructor:name is no subject, __proto__ no gain stage', async (t) => {
  const { engine, distilled } = makeEngine(t);
  for (const subject of ['constructor:name', 'constructor:length', 'shape:constructor', 'shape:star, colour:constructor']) {
    const r = await dispatch(engine, 1, 'distill', { subject, steps: 10, quick: true });
    assert.ok('error' in r && r.error && /unknown subject/.test(r.error.message), `${subject}: ${JSON.stringify(r)}`);
  }
  assert.deepEqual(distilled, []);
  // a real subject still starts
  const ok = await dispatch(engine, 2, 'distill', { subject: 'shape:star', steps: 10, quick: true });
  assert.ok('result' in ok, JSON.stringify(ok));
  await engine.connectDevice({ id: 'loopback' });
  const r = await dispatchText(engine, '{"id":3,"method":"configureDevice","params":{"gainsDb":{"__proto__":5}}}');
  assert.ok('error' in r && r.error && /__proto__/.test(r.error.message), JSON.stringify(r));
  // and a prompt word that is an Object.prototype name is not a metaword slot
  assert.equal(placeMetaword('a constructor star', { star: 0 }, vocab), `a constructor ${vocab.metawordToken(0)}`);
});
