/**
 * Interoperability: Debian's libiio-utils (an independent libiio 0.x client) against our fake iiod. If
 * these tools can list, read, write and stream through the fake, the protocol the Pluto driver was tested
 * with is iiod's, not only ours. In CI (CI=true) the tools must be installed; elsewhere the tests skip
 * with a message when they are missing (`apt-get install libiio-utils`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeIiodServer } from './iiod-server.js';
import { FakePluto, fakePlutoRxSample } from '../../fakes/iiod-pluto.js';

const TOOLS = ['iio_info', 'iio_attr', 'iio_readdev', 'iio_writedev'];
const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const inCi = process.env['CI'] === 'true';
if (missing.length > 0 && !inCi) {
  process.stderr.write(`# SKIPPING libiio interop tests: ${missing.join(', ')} not installed (apt-get install libiio-utils)\n`);
}
const skip = missing.length > 0 && !inCi ? `libiio-utils missing (${missing.join(', ')})` : false;

function run(cmd: string, args: string[], opts: { input?: string } = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: 'buffer', timeout: 15000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | undefined) ?? 1 : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr: stderr.toString() });
    });
    if (opts.input) {
      const data = readFileSync(opts.input);
      child.stdin!.end(data);
    }
  });
}

async function withServer(fn: (uri: string, fake: FakePluto, server: FakeIiodServer) => Promise<void>): Promise<void> {
  if (missing.length > 0) assert.fail(`CI=true but libiio-utils is missing: ${missing.join(', ')} (apt-get install libiio-utils)`);
  const fake = new FakePluto();
  const server = new FakeIiodServer(fake, { pace: false });
  const port = await server.start();
  try {
    await fn(`ip:127.0.0.1:${port}`, fake, server);
  } finally {
    await server.close();
  }
}

test('iio_info lists the fake Pluto: devices, channels, scan formats and attribute values', { skip }, async () => {
  await withServer(async (uri) => {
    const r = await run('iio_info', ['-u', uri]);
    const out = r.stdout.toString();
    assert.equal(r.code, 0, r.stderr);
    assert.match(out, /IIO context has 5 devices:/);
    assert.match(out, /iio:device1: ad9361-phy\n/);
    assert.match(out, /iio:device4: cf-ad9361-lpc \(buffer capable\)/);
    assert.match(out, /iio:device3: cf-ad9361-dds-core-lpc \(buffer capable\)/);
    assert.match(out, /altvoltage0: RX_LO \(output\)/);
    assert.match(out, /voltage0: {2}\(input, index: 0, format: le:S12\/16>>0\)/);
    assert.match(out, /voltage1: {2}\(output, index: 1, format: le:S16\/16>>0\)/);
    assert.match(out, /attr {2}5: frequency value: 2400000000/);
    assert.match(out, /attr {2}4: hardwaregain value: 71\.000000 dB/);
    assert.match(out, /hw_model: FAKE Analog Devices PlutoSDR/);
    assert.doesNotMatch(out, /ERROR/);
  });
});

test('iio_attr reads and writes a channel attribute; the fake validates like the radio', { skip }, async () => {
  await withServer(async (uri, fake) => {
    const read = await run('iio_attr', ['-u', uri, '-c', 'ad9361-phy', 'RX_LO', 'frequency']);
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout.toString().trim(), '2400000000');
    const write = await run('iio_attr', ['-u', uri, '-c', 'ad9361-phy', 'altvoltage0', 'frequency', '1000000000']);
    assert.equal(write.code, 0, write.stderr);
    assert.equal(fake.rxLoHz, 1e9);
    const bad = await run('iio_attr', ['-u', uri, '-c', 'ad9361-phy', 'altvoltage0', 'frequency', '100000']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout.toString(), /Invalid argument/);
    assert.equal(fake.rxLoHz, 1e9, 'a refused value changes nothing');
  });
});

test('iio_readdev streams the fake RX signal bit-exact', { skip }, async () => {
  await withServer(async (uri) => {
    const r = await run('iio_readdev', ['-u', uri, '-b', '256', '-s', '1000', 'cf-ad9361-lpc']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, 4000);
    for (let s = 0; s < 1000; s++) {
      const [i, q] = fakePlutoRxSample(s);
      assert.equal(r.stdout.readInt16LE(4 * s), i, `I of sample ${s}`);
      assert.equal(r.stdout.readInt16LE(4 * s + 2), q, `Q of sample ${s}`);
    }
  });
});

test('iio_writedev pushes samples that the fake records bit-exact', { skip }, async () => {
  await withServer(async (uri, fake, server) => {
    const dir = mkdtempSync(join(tmpdir(), 'iiod-'));
    try {
      const data = Buffer.alloc(4096);
      for (let k = 0; k < data.length / 2; k++) data.writeInt16LE(((k * 7919) % 65536) - 32768, 2 * k);
      const file = join(dir, 'tx.bin');
      writeFileSync(file, data);
      const r = await run('iio_writedev', ['-u', uri, '-b', '256', '-s', '1024', 'cf-ad9361-dds-core-lpc'], { input: file });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fake.txBytes().equals(data));
      assert.ok(server.commands.includes('OPEN iio:device3 256 00000003'), server.commands.join(' | '));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
