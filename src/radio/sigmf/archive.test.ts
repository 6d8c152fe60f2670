import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeFileSystem } from './fs.js';
import { SigmfRecording } from './reader.js';
import { listTar, writeTar } from './tar.js';
import { SigmfWriter } from './writer.js';
import { tempDir, testSignal } from './testing.js';

test('archive round trip: BASE.sigmf holds BASE/BASE.sigmf-meta and -data; it reads back identically', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'rec');
  const w = await SigmfWriter.open(base, { datatype: 'ci16_le', sampleRateHz: 1e6, freqHz: 868e6, archive: true, durable: false });
  const x = testSignal(777, 5);
  await w.append(x);
  await w.annotateFrame({ sampleStart: 3, sampleCount: 100, sequence: 9, snrDb: 4.5, crcOk: false });
  const res = await w.finalize();
  assert.equal(res.archivePath, `${base}.sigmf`);
  assert.equal(existsSync(`${base}.sigmf.tmp`), false);

  const members = await listTar(`${base}.sigmf`);
  assert.deepEqual(members.map((m) => [m.name, m.size]), [['rec/rec.sigmf-meta', members[0]!.size], ['rec/rec.sigmf-data', 777 * 4]]);

  const fromFiles = await SigmfRecording.open(base);
  const fromArchive = await SigmfRecording.open(`${base}.sigmf`);
  assert.equal(fromArchive.location.kind, 'archive');
  assert.equal(fromArchive.validation.valid, true, fromArchive.validation.errors.join('; '));
  assert.equal(await fromArchive.verifyChecksum(), true);
  assert.deepEqual(fromArchive.meta, fromFiles.meta);
  assert.deepEqual(await fromArchive.readSamples(0, 777), await fromFiles.readSamples(0, 777));
  assert.equal(fromArchive.annotations[0]!['dekag:sequence'], 9);
  await fromFiles.close();
  await fromArchive.close();

  // the system's tar and Python's tarfile agree about the layout
  const tar = spawnSync('tar', ['-tf', `${base}.sigmf`], { encoding: 'utf8' });
  if (tar.status === 0) assert.deepEqual(tar.stdout.trim().split('\n'), ['rec/', 'rec/rec.sigmf-meta', 'rec/rec.sigmf-data']);
  const py = spawnSync('python3', ['-c', 'import tarfile,sys; t=tarfile.open(sys.argv[1]); print(",".join(f"{m.name}:{m.size}" for m in t.getmembers()))', `${base}.sigmf`], { encoding: 'utf8' });
  if (py.status === 0) assert.equal(py.stdout.trim(), `rec:0,rec/rec.sigmf-meta:${members[0]!.size},rec/rec.sigmf-data:${777 * 4}`);
});

test('tar names over 100 bytes go in a pax header that tar tools and our reader understand', async (t) => {
  const dir = tempDir(t);
  const folder = 'f'.repeat(70);
  const long = `${folder}/${'n'.repeat(60)}.sigmf-meta`;
  const path = join(dir, 'long.tar');
  const h = await nodeFileSystem.open(path, 'w');
  await writeTar(h, folder, [{ name: long, data: new Uint8Array([1, 2, 3]) }]);
  await h.close();
  const members = await listTar(path);
  assert.deepEqual(members.map((m) => [m.name, m.size]), [[long, 3]]);
  const fh = await open(path, 'r');
  const b = Buffer.alloc(3);
  await fh.read(b, 0, 3, members[0]!.offset);
  await fh.close();
  assert.deepEqual([...b], [1, 2, 3]);
  const tar = spawnSync('tar', ['-tf', path], { encoding: 'utf8' });
  if (tar.status === 0) assert.deepEqual(tar.stdout.trim().split('\n'), [`${folder}/`, long]);
});

test('a file that is not a tar is reported, not misread', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x.sigmf');
  const h = await nodeFileSystem.open(path, 'w');
  await h.write(new Uint8Array(1024).fill(7), 0, 1024, 0);
  await h.close();
  await assert.rejects(SigmfRecording.open(path), /not a tar archive/);
});
