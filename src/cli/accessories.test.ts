import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { runAttenuatorCli, runGnssCli } from './accessories.js';
import { FakeAttenuator } from '../radio/accessories/fakes/fake-attenuator.js';
import { FakeGnssTalker } from '../radio/accessories/fakes/gnss-talker.js';
import { openPtyPair } from '../radio/accessories/fakes/pty-pair.js';
import { nmeaSentence } from '../radio/accessories/gnss.js';

function capture() {
  const o = { out: '', err: '' };
  return { o, io: { stdout: (s: string) => (o.out += s), stderr: (s: string) => (o.err += s) } };
}

test('dekag gnss prints fixes as JSON lines with the SigMF fields, then the counts', async () => {
  const pty = await openPtyPair();
  const talker = await FakeGnssTalker.open(pty.b);
  try {
    const { o, io } = capture();
    const run = runGnssCli(['--port', pty.a, '--seconds', '0.6', '--json'], io);
    await new Promise((r) => setTimeout(r, 150));
    await talker.talk(`junk\r\n${nmeaSentence('GPRMC,101010.5,A,4807.038,N,01131.000,E,0.0,0.0,010524,,,A')}\r\n`);
    assert.equal(await run, 0, o.err);
    const lines = o.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].event, 'fix');
    assert.equal(lines[0].sigmf.datetime, '2024-05-01T10:10:10.5Z');
    assert.deepEqual(lines[0].sigmf.geolocation.coordinates.map((x: number) => +x.toFixed(4)), [11.5167, 48.1173]);
    assert.equal(lines.at(-1).event, 'stats');
    assert.equal(lines.at(-1).garbage, 1);
  } finally {
    await talker.close();
    await pty.close();
  }
});

test('dekag attenuator sets through a protocol file, refuses out-of-range values and bad usage', async () => {
  const pty = await openPtyPair();
  const fake = await FakeAttenuator.open(pty.b);
  try {
    const file = `${pty.a}-proto.json`;
    writeFileSync(file, JSON.stringify({ name: 'bench', stepDb: 0.5, maxDb: 31.5, settleMs: 0 }));
    const { o, io } = capture();
    assert.equal(await runAttenuatorCli(['--port', pty.a, '--set', '7.3', '--protocol', file], io), 0, o.err);
    assert.equal(o.out, 'attenuation 7.5 dB\n');
    assert.equal(fake.db, 7.5);
    const bad = capture();
    assert.equal(await runAttenuatorCli(['--port', pty.a, '--set', '40', '--protocol', file], bad.io), 1);
    assert.match(bad.o.err, /40 dB is out of range; bench accepts 0\.\.31\.5 dB/);
    const usage = capture();
    assert.equal(await runAttenuatorCli(['--port', pty.a, '--set', '1', '--get'], usage.io), 2);
    assert.match(usage.o.err, /exactly one of/);
  } finally {
    await fake.close();
    await pty.close();
  }
});
