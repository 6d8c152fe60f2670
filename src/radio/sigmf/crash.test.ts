import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SigmfFormatError, SigmfWriteError } from './errors.js';
import { nodeFileSystem, type SigmfFileSystem } from './fs.js';
import { SigmfRecording } from './reader.js';
import { repairSigmf } from './repair.js';
import { SigmfWriter } from './writer.js';
import { assertMetaOnDiskValid, tempDir, testSignal } from './testing.js';

test('abandoned writer (never finalized): readable as it is, then repair finalizes it', async (t) => {
  const base = join(tempDir(t), 'abandoned');
  const w = await SigmfWriter.open(base, { datatype: 'cf32_le', sampleRateHz: 1e6, freqHz: 2.4e9, fsyncIntervalBytes: 1 });
  const x = testSignal(500, 9);
  await w.append(x.subarray(0, 600));
  await w.annotateFrame({ sampleStart: 0, sampleCount: 200, sequence: 0, snrDb: 20, crcOk: true });
  await w.append(x.subarray(600));
  void w; // abandoned here: no finalize, no close, as if the process had died

  const meta = assertMetaOnDiskValid(base, 'after abandoning the writer');
  assert.equal(meta['global']['dekag:finalized'], false);
  assert.equal(meta['global']['core:sha512'], undefined);
  const rec = await SigmfRecording.open(base);
  assert.equal(rec.sampleCount, 500);
  assert.equal(await rec.verifyChecksum(), null);
  assert.equal(rec.finalized, false);
  const [back] = await rec.readSamples(0, 500);
  assert.deepEqual(back, x);
  await rec.close();

  const report = await repairSigmf(base);
  assert.equal(report.changed, true);
  assert.equal(report.validation.valid, true);
  assert.ok(report.actions.some((a) => /added core:sha512/.test(a)), report.actions.join('; '));
  assert.ok(report.actions.some((a) => /finalized/.test(a)));
  const after = assertMetaOnDiskValid(base, 'after repair');
  assert.equal(after['global']['dekag:finalized'], true);
  assert.ok(Array.isArray(after['global']['dekag:repaired']['actions']));
  const rec2 = await SigmfRecording.open(base);
  assert.equal(await rec2.verifyChecksum(), true);
  assert.equal(rec2.annotations.length, 1);
  await rec2.close();
  // a second repair has nothing to do
  const again = await repairSigmf(base);
  assert.equal(again.changed, false, again.actions.join('; '));
});

test('a writer process killed with SIGKILL mid-recording leaves a valid, repairable recording', async (t) => {
  const base = join(tempDir(t), 'killed');
  const writerUrl = pathToFileURL(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'writer.js')).href;
  const script = `
    const { SigmfWriter } = await import(${JSON.stringify(writerUrl)});
    const w = await SigmfWriter.open(${JSON.stringify(base)}, { datatype: 'ci16_le', sampleRateHz: 1e6, fsyncIntervalBytes: 4096 });
    const block = new Int16Array(2 * 1000).fill(1234);
    for (let i = 0; i < 10; i++) {
      await w.append(block);
      if (i === 2) await w.annotateFrame({ sampleStart: 500, sampleCount: 1000, sequence: 7, snrDb: 9.5, crcOk: true });
    }
    await w.setFrequency(100e6);
    // leave half a block unawaited and die with part of a sample possibly written
    w.append(block);
    process.kill(process.pid, 'SIGKILL');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const meta = assertMetaOnDiskValid(base, 'after SIGKILL');
  assert.equal(meta['annotations'].length, 1);
  const rec = await SigmfRecording.open(base);
  assert.ok(rec.sampleCount >= 10000, `whole samples on disk: ${rec.sampleCount}`);
  await rec.close();
  const report = await repairSigmf(base);
  assert.equal(report.validation.valid, true);
  assertMetaOnDiskValid(base, 'after repair');
  const rec2 = await SigmfRecording.open(base);
  assert.equal(await rec2.verifyChecksum(), true);
  const [s] = await rec2.readSamples(rec2.sampleCount - 1, 1);
  assert.deepEqual([...s!].map((v) => Math.round(v * 32768)), [1234, 1234]);
  await rec2.close();
});

test('data truncated mid-sample: reader reports whole samples, repair trims and rehashes', async (t) => {
  const base = join(tempDir(t), 'trunc');
  const w = await SigmfWriter.open(base, { datatype: 'cf32_le', sampleRateHz: 1000, durable: false });
  await w.append(testSignal(100, 4));
  await w.annotateFrame({ sampleStart: 90, sampleCount: 10, sequence: 3 });
  await w.annotateFrame({ sampleStart: 10, sampleCount: 10, sequence: 1 });
  await w.finalize();
  truncateSync(`${base}.sigmf-data`, 8 * 99 + 3); // 99 samples and 3 bytes of the 100th

  const rec = await SigmfRecording.open(base);
  assert.equal(rec.sampleCount, 99);
  assert.equal(rec.partialBytes, 3);
  assert.equal(await rec.verifyChecksum(), false);
  assert.ok(rec.problems.some((p) => /partial sample/.test(p)));
  assert.ok(rec.problems.some((p) => /beyond the data/.test(p)));
  const [tail] = await rec.readSamples(95, 10);
  assert.equal(tail!.length, 2 * 4, 'reading past the end returns the whole samples only');
  await rec.close();

  const dry = await repairSigmf(base, { dryRun: true });
  assert.equal(dry.changed, true);
  assert.equal(statSync(`${base}.sigmf-data`).size, 8 * 99 + 3, 'dry run changes nothing');

  const report = await repairSigmf(base);
  assert.equal(report.truncatedBytes, 3);
  assert.equal(report.sampleCount, 99);
  assert.ok(report.actions.some((a) => /clipped 1 annotations/.test(a)), report.actions.join('; '));
  assert.equal(statSync(`${base}.sigmf-data`).size, 8 * 99);
  const meta = assertMetaOnDiskValid(base, 'after repair');
  assert.deepEqual(meta['annotations'].map((a: any) => [a['core:sample_start'], a['core:sample_count']]), [[10, 10], [90, 9]]);
  const rec2 = await SigmfRecording.open(base);
  assert.equal(await rec2.verifyChecksum(), true);
  assert.deepEqual(rec2.problems, []);
  await rec2.close();
});

test('repair recovers a meta left in .tmp, and rebuilds a lost meta from --datatype', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'tmpmeta');
  const w = await SigmfWriter.open(base, { datatype: 'cu8', sampleRateHz: 2.048e6, durable: false });
  await w.append(new Uint8Array(2 * 64).fill(200));
  await w.close();
  renameSync(`${base}.sigmf-meta`, `${base}.sigmf-meta.tmp`); // as if the crash hit between write and rename
  const r1 = await repairSigmf(base);
  assert.ok(r1.actions.some((a) => /recovered the meta/.test(a)), r1.actions.join('; '));
  assert.equal(existsSync(`${base}.sigmf-meta.tmp`), false);
  assertMetaOnDiskValid(base, 'after tmp recovery');

  unlinkSync(`${base}.sigmf-meta`);
  await assert.rejects(repairSigmf(base), (e: Error) => e instanceof SigmfFormatError && /--datatype/.test(e.message));
  await assert.rejects(SigmfRecording.open(base), /--datatype/);
  writeFileSync(`${base}.sigmf-meta`, '{"global": {"core:datatype": "cu8", "core:ver'); // torn by a non-atomic writer
  const r2 = await repairSigmf(base, { datatype: 'cu8', sampleRateHz: 2.048e6 });
  assert.ok(r2.actions.some((a) => /rebuilt the meta/.test(a)));
  const meta = assertMetaOnDiskValid(base, 'after rebuild');
  assert.equal(meta['global']['core:sample_rate'], 2.048e6);
  const rec = await SigmfRecording.open(base);
  assert.equal(rec.sampleCount, 64);
  assert.equal(await rec.verifyChecksum(), true);
  await rec.close();
});

test('a flipped byte is a checksum mismatch; repair reports it and only --rehash accepts it', async (t) => {
  const base = join(tempDir(t), 'flip');
  const w = await SigmfWriter.open(base, { datatype: 'ci8', sampleRateHz: 1000, durable: false });
  await w.append(new Int8Array(2 * 100).fill(3));
  await w.finalize();
  const data = readFileSync(`${base}.sigmf-data`);
  data[77]! ^= 0x01;
  writeFileSync(`${base}.sigmf-data`, data);
  const rec = await SigmfRecording.open(base);
  assert.equal(await rec.verifyChecksum(), false);
  await rec.close();
  const r = await repairSigmf(base);
  assert.equal(r.changed, false);
  assert.ok(r.warnings.some((x) => /does not match/.test(x)));
  const r2 = await repairSigmf(base, { rehash: true });
  assert.ok(r2.actions.some((a) => /replaced core:sha512/.test(a)));
  const rec2 = await SigmfRecording.open(base);
  assert.equal(await rec2.verifyChecksum(), true);
  await rec2.close();
});

/** A file system whose disk fills up after `budget` bytes of sample data: a short write, then ENOSPC everywhere. */
function fullDiskAfter(budget: number): SigmfFileSystem {
  let left = budget;
  let full = false;
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  return {
    ...nodeFileSystem,
    open: async (path, flags) => {
      const h = await nodeFileSystem.open(path, flags);
      const isData = path.endsWith('.sigmf-data');
      return {
        ...h,
        write: async (data, offset, length, position) => {
          if (full) throw enospc();
          if (!isData) return h.write(data, offset, length, position);
          if (length > left) {
            full = true;
            const n = left;
            left = 0;
            if (n === 0) throw enospc();
            return h.write(data, offset, n, position);
          }
          left -= length;
          return h.write(data, offset, length, position);
        },
      };
    },
  };
}

test('a full disk (ENOSPC) is a typed error; what was written stays readable and repairable', async (t) => {
  const base = join(tempDir(t), 'full');
  const fileSystem = fullDiskAfter(4000 + 1001); // block 1 fits, block 2 is cut after 1001 bytes (mid-sample)
  const w = await SigmfWriter.open(base, { datatype: 'ci16_le', sampleRateHz: 1e6, fsyncIntervalBytes: 1, fileSystem });
  const block = new Int16Array(2 * 1000).map((_, i) => i);
  await w.append(block);
  await w.annotateFrame({ sampleStart: 0, sampleCount: 100, sequence: 0 });
  const err = await w.append(block).then(
    () => assert.fail('expected ENOSPC'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SigmfWriteError, String(err));
  assert.equal(err.diskFull, true);
  assert.equal(err.errno, 'ENOSPC');
  assert.equal(err.samplesOnDisk, 1250);
  assert.match(err.message, /disk full/);
  assert.match(err.message, /dekag sigmf repair/);
  assert.strictEqual(w.failed, err);
  await assert.rejects(w.append(block), SigmfWriteError);
  await assert.rejects(w.finalize(), SigmfWriteError);
  await w.close();

  // the partial sample was trimmed; the meta still valid (it kept the last version that could be written)
  assert.equal(statSync(`${base}.sigmf-data`).size, 1250 * 4);
  const meta = assertMetaOnDiskValid(base, 'after ENOSPC');
  assert.equal(meta['annotations'].length, 1);
  const rec = await SigmfRecording.open(base);
  assert.equal(rec.sampleCount, 1250);
  const [s] = await rec.readSamples(1249, 1);
  assert.deepEqual([...s!].map((v) => v * 32768), [2 * 249, 2 * 249 + 1]);
  await rec.close();
  const report = await repairSigmf(base);
  assert.equal(report.validation.valid, true);
  const rec2 = await SigmfRecording.open(base);
  assert.equal(await rec2.verifyChecksum(), true);
  await rec2.close();
});
