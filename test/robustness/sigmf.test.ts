/**
 * Issue 15, items 10-12: the SigMF readers under hostile files. Repair must not delete data whose checksum
 * matches; archives, metas and data files are bounded and typed before they are read; malformed metas give
 * one-line errors. Each case here failed (hung, crashed, leaked or deleted data) before the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { repairSigmf } from '../../src/radio/sigmf/repair.js';
import { SigmfRecording } from '../../src/radio/sigmf/reader.js';
import { sigmfInfo } from '../../src/radio/sigmf/info.js';
import { validateMeta } from '../../src/radio/sigmf/validate.js';
import { SigmfFormatError } from '../../src/radio/sigmf/errors.js';
import { runSigmfCli } from '../../src/cli/sigmf.js';
import { runIsolated, srcModule, tempDir } from './helpers.js';

function capture() {
  const o = { out: '', err: '' };
  return { o, out: { stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) } };
}

function sha512(b: Uint8Array): string {
  return createHash('sha512').update(b).digest('hex');
}

function writeRecording(base: string, data: Uint8Array, global: Record<string, unknown>, rest: Record<string, unknown> = {}): void {
  writeFileSync(`${base}.sigmf-data`, data);
  const meta = { global: { 'core:version': '1.2.5', ...global }, captures: [{ 'core:sample_start': 0 }], annotations: [], ...rest };
  writeFileSync(`${base}.sigmf-meta`, JSON.stringify(meta));
}

// ---------------------------------------------------------------------------------------------------
// item 10: repair never deletes data whose checksum matches; it refuses implausible metadata

test('repair: a meta with core:num_channels 1e12 and a matching sha512 is refused; the data is untouched', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'rec');
  const data = new Uint8Array(4096).map((_, i) => i * 7);
  writeRecording(base, data, { 'core:datatype': 'cf32_le', 'core:num_channels': 1e12, 'core:sha512': sha512(data) });
  assert.equal(validateMeta(JSON.parse(readFileSync(`${base}.sigmf-meta`, 'utf8'))).valid, true, 'the meta is schema-valid');
  await assert.rejects(repairSigmf(base), (e: Error) => e instanceof SigmfFormatError && /num_channels 1000000000000.*not a plausible channel count/.test(e.message));
  assert.equal(statSync(`${base}.sigmf-data`).size, 4096);
  assert.deepEqual(new Uint8Array(readFileSync(`${base}.sigmf-data`)), data);
  // and through the CLI: one line, non-zero, data intact
  const c = capture();
  assert.equal(await runSigmfCli(['repair', base], c.out), 1);
  assert.match(c.o.err, /^dekag sigmf repair: .*not a plausible channel count/);
  assert.equal(statSync(`${base}.sigmf-data`).size, 4096);
});

test('repair: data that matches its sha512 is never cut, even when the meta does not divide it into whole samples', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'rec');
  const data = new Uint8Array(1024).map((_, i) => i);
  // cu8 x 3 channels = 6 bytes a sample: 1024 bytes are 170 samples and 4 bytes, but the checksum says the data is whole
  writeRecording(base, data, { 'core:datatype': 'cu8', 'core:num_channels': 3, 'core:sha512': sha512(data) });
  await assert.rejects(repairSigmf(base), (e: Error) => e instanceof SigmfFormatError && /matches its core:sha512.*the meta is wrong, not the data/.test(e.message));
  await assert.rejects(repairSigmf(base, { dryRun: true }), SigmfFormatError);
  assert.deepEqual(new Uint8Array(readFileSync(`${base}.sigmf-data`)), data);
  // A real crash (no matching checksum) is still trimmed to whole samples, as before.
  writeRecording(base, data, { 'core:datatype': 'cu8', 'core:num_channels': 3 });
  const r = await repairSigmf(base);
  assert.equal(r.truncatedBytes, 4);
  assert.equal(statSync(`${base}.sigmf-data`).size, 1020);
});

test('repair: a non-conforming dataset (core:trailing_bytes) is refused rather than trimmed', async (t) => {
  const base = join(tempDir(t), 'rec');
  writeRecording(base, new Uint8Array(1001), { 'core:datatype': 'ci16_le', 'core:trailing_bytes': 1 });
  await assert.rejects(repairSigmf(base), /non-conforming dataset/);
  assert.equal(statSync(`${base}.sigmf-data`).size, 1001);
});

// ---------------------------------------------------------------------------------------------------
// item 11: archives: every size is bounded by the file

/** One 512-byte ustar header with a correct checksum; `size` is written as given (octal text or raw bytes). */
function tarHeader(name: string, size: string | Uint8Array, typeflag: string): Uint8Array {
  const h = new Uint8Array(512);
  h.set(Buffer.from(name), 0);
  h.set(Buffer.from('0000644\0'), 100);
  h.set(Buffer.from('0000000\0'), 108);
  h.set(Buffer.from('0000000\0'), 116);
  h.set(typeof size === 'string' ? Buffer.from(size.padStart(11, '0') + '\0') : size, 124);
  h.set(Buffer.from('00000000000\0'), 136);
  h.fill(0x20, 148, 156);
  h[156] = typeflag.charCodeAt(0);
  h.set(Buffer.from('ustar\0' + '00'), 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(Buffer.from(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  return h;
}

function block(text: string): Uint8Array {
  const b = new Uint8Array(Math.ceil(Buffer.byteLength(text) / 512) * 512 || 512);
  b.set(Buffer.from(text));
  return b;
}

test('archive: a pax header with a negative size is an error, not an endless loop', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'neg.sigmf');
  // -1536 takes the walk from the file's header back to the pax header, which sets the size again: the old
  // reader went round those two headers for ever.
  const pax = '14 size=-1536\n';
  const parts = [tarHeader('PaxHeaders/rec.sigmf-meta', Buffer.byteLength(pax).toString(8), 'x'), block(pax), tarHeader('rec/rec.sigmf-meta', '0', '0'), new Uint8Array(1024)];
  writeFileSync(path, Buffer.concat(parts));
  // In a child process: the old reader never returned (and kept the event loop busy).
  const r = runIsolated(
    `const { listTar } = await import(${JSON.stringify(srcModule('radio/sigmf/tar.js'))});
     try { await listTar(${JSON.stringify(path)}); out({ ok: true }); } catch (e) { out({ name: e.name, message: e.message }); }`,
    15_000,
  );
  assert.equal(r.timedOut, false, 'listTar did not return within 15 s');
  assert.equal((r.value as { name: string }).name, 'SigmfFormatError', r.stderr);
  assert.match((r.value as { message: string }).message, /pax size of "-1536" does not fit/);
  await assert.rejects(SigmfRecording.open(path), SigmfFormatError);
});

test('archive: a 2.5 KB archive declaring a 2 GiB pax body is rejected without allocating it', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'big.sigmf');
  const parts = [tarHeader('PaxHeaders/rec.sigmf-meta', (2 ** 31).toString(8), 'x'), block('30 path=rec/rec.sigmf-meta\n'), tarHeader('rec/rec.sigmf-meta', '0', '0'), new Uint8Array(1024)];
  writeFileSync(path, Buffer.concat(parts));
  assert.ok(statSync(path).size < 3000);
  const r = runIsolated(
    `const { SigmfRecording } = await import(${JSON.stringify(srcModule('radio/sigmf/reader.js'))});
     const before = process.memoryUsage().arrayBuffers;
     let err;
     try { await SigmfRecording.open(${JSON.stringify(path)}); } catch (e) { err = { name: e.name, message: e.message }; }
     out({ err, peakArrayBuffersMB: (process.memoryUsage().arrayBuffers - before) / 2 ** 20, maxRssMB: process.resourceUsage().maxRSS / 1024 });`,
    30_000,
  );
  assert.equal(r.timedOut, false);
  assert.ok(r.value !== undefined, `the reader process died: status ${r.status}, ${r.stderr.slice(-300)}`);
  const v = r.value as { err?: { name: string; message: string }; maxRssMB: number };
  assert.equal(v.err?.name, 'SigmfFormatError', JSON.stringify(v) + r.stderr);
  assert.match(v.err!.message, /member of size 2147483648 does not fit/);
  assert.ok(v.maxRssMB < 400, `peak RSS ${v.maxRssMB} MB`);
});

// ---------------------------------------------------------------------------------------------------
// item 12: metas and data files are bounded and typed; malformed metas give one-line errors

test('meta: a meta that is a symlink to /dev/urandom is refused at once (not read to 1 GB)', { skip: process.platform === 'win32' }, (t) => {
  const dir = tempDir(t);
  symlinkSync('/dev/urandom', join(dir, 'rnd.sigmf-meta'));
  writeFileSync(join(dir, 'rnd.sigmf-data'), new Uint8Array(8));
  const r = runIsolated(
    `const { sigmfInfo } = await import(${JSON.stringify(srcModule('radio/sigmf/info.js'))});
     try { await sigmfInfo(${JSON.stringify(join(dir, 'rnd'))}); out({ ok: true }); } catch (e) { out({ name: e.name, message: e.message, maxRssMB: process.resourceUsage().maxRSS / 1024 }); }`,
    20_000,
  );
  assert.equal(r.timedOut, false);
  const v = r.value as { name: string; message: string; maxRssMB: number };
  assert.equal(v.name, 'SigmfFormatError', JSON.stringify(v) + r.stderr);
  assert.match(v.message, /not a regular file/);
  assert.ok(v.maxRssMB < 400, `peak RSS ${v.maxRssMB} MB`);
});

test('meta: a meta larger than the limit is refused by its size', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'huge');
  writeFileSync(`${base}.sigmf-data`, new Uint8Array(8));
  // sparse: 65 MiB of nothing, costs no disk
  execFileSync('truncate', ['-s', String(65 * 2 ** 20), `${base}.sigmf-meta`]);
  await assert.rejects(SigmfRecording.open(base), (e: Error) => e instanceof SigmfFormatError && /at most 67108864 bytes/.test(e.message));
});

test('data: a FIFO as the data file does not hang sigmf info', { skip: process.platform === 'win32' }, (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'fifo');
  writeFileSync(`${base}.sigmf-meta`, JSON.stringify({ global: { 'core:datatype': 'cu8', 'core:version': '1.2.5', 'core:sha512': 'a'.repeat(128) }, captures: [], annotations: [] }));
  execFileSync('mkfifo', [`${base}.sigmf-data`]);
  const r = runIsolated(
    `const { runSigmfCli } = await import(${JSON.stringify(srcModule('cli/sigmf.js'))});
     let err = ''; let so = '';
     const rc = await runSigmfCli(['info', ${JSON.stringify(base)}, '--json'], { stdout: (s) => (so += s), stderr: (s) => (err += s) });
     out({ rc, err, info: so ? JSON.parse(so) : null });`,
    15_000,
  );
  assert.equal(r.timedOut, false, 'sigmf info hung on a FIFO');
  const v = r.value as { rc: number; err: string; info: { unreadable: string; sample_count: number; sha512_ok: unknown } };
  assert.match(v.info.unreadable, /not a regular file/);
  assert.equal(v.info.sample_count, 0);
  assert.equal(v.info.sha512_ok, null);
});

test('meta: negative core:trailing_bytes does not inflate the sample count', async (t) => {
  const base = join(tempDir(t), 'tr');
  writeRecording(base, new Uint8Array(1024), { 'core:datatype': 'cu8', 'core:trailing_bytes': -1_000_000 });
  const rec = await SigmfRecording.open(base);
  assert.equal(rec.sampleCount, 0);
  assert.match(rec.unreadableReason ?? '', /core:trailing_bytes -1000000 must be a non-negative integer/);
  await assert.rejects(rec.readSamples(0, 10), SigmfFormatError);
  await rec.close();
  // a valid trailer is still honoured
  writeRecording(base, new Uint8Array(1024), { 'core:datatype': 'cu8', 'core:trailing_bytes': 24 });
  const ok = await SigmfRecording.open(base);
  assert.equal(ok.sampleCount, 500);
  await ok.close();
});

test('meta: deep nesting, non-list captures, null entries and a __proto__ key give one-line errors, never a JavaScript error', async (t) => {
  const dir = tempDir(t);
  const deep = join(dir, 'deep');
  writeFileSync(`${deep}.sigmf-data`, new Uint8Array(16));
  writeFileSync(`${deep}.sigmf-meta`, `{"global":{"core:datatype":"cu8","core:version":"1.2.5","x:deep":${'['.repeat(100000)}${']'.repeat(100000)}},"captures":[],"annotations":[]}`);
  await assert.rejects(sigmfInfo(deep), (e: Error) => e instanceof SigmfFormatError && /nested more than 64 levels/.test(e.message));
  await assert.rejects(repairSigmf(deep), (e: Error) => e instanceof SigmfFormatError && /nested more than 64 levels/.test(e.message));

  const cases: Array<[string, string]> = [
    ['nonlist', '{"global":{"core:datatype":"cu8","core:version":"1.2.5"},"captures":{"a":1},"annotations":5}'],
    ['nulls', '{"global":{"core:datatype":"cu8","core:version":"1.2.5"},"captures":[null,3],"annotations":[null,{"core:sample_start":1}]}'],
    ['proto', '{"global":{"core:datatype":"cu8","core:version":"1.2.5","__proto__":{"x":1},"constructor":1},"captures":[],"annotations":[]}'],
  ];
  for (const [name, text] of cases) {
    const base = join(dir, name);
    writeFileSync(`${base}.sigmf-data`, new Uint8Array(16));
    writeFileSync(`${base}.sigmf-meta`, text);
    for (const args of [['info', base], ['info', base, '--json'], ['repair', base, '--dry-run']]) {
      const c = capture();
      const rc = await runSigmfCli(args, c.out);
      assert.doesNotMatch(c.o.err, /TypeError|is not a function|Cannot read|Maximum call stack/, `${name} ${args.join(' ')}: ${c.o.err}`);
      assert.ok(rc === 0 || rc === 1, `${name} ${args.join(' ')} rc ${rc}`);
    }
  }
  assert.doesNotThrow(() => validateMeta(JSON.parse(cases[2]![1])));
});

test('meta: a parse error names the position, never the file content', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'secret');
  writeFileSync(`${base}.sigmf-meta`, 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(`${base}.sigmf-data`, new Uint8Array(2));
  await assert.rejects(SigmfRecording.open(base), (e: Error) => e instanceof SigmfFormatError && /not valid JSON/.test(e.message) && !/root/.test(e.message.replace(base, '')));
});
