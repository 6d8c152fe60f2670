import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runSigmfCli } from '../../cli/sigmf.js';
import { SigmfWriter } from './writer.js';
import { NO_SHARED_SIGMF, OFFICIAL_EXAMPLE, tempDir, testSignal } from './testing.js';

const CLI_URL = pathToFileURL(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'cli', 'sigmf.js')).href;

/** Run `dekag sigmf ...` as a real process (through the exported function, until main.ts wires it). */
function dekagSigmf(args: string[]) {
  const script = `const { runSigmfCli } = await import(${JSON.stringify(CLI_URL)}); process.exitCode = await runSigmfCli(process.argv.slice(1));`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script, ...args], { encoding: 'utf8', timeout: 20000 });
}

test('sigmf info --json on the official example (a real process)', { skip: NO_SHARED_SIGMF }, () => {
  const r = dekagSigmf(['info', `${OFFICIAL_EXAMPLE}.sigmf-meta`, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.sha512_ok, true);
  assert.equal(info.schema_valid, true);
  assert.deepEqual(info.schema_errors, []);
  assert.equal(info.annotations_count, 3);
  assert.deepEqual(info.annotations.map((a: any) => a['core:comment']), ['logo warmup', 'logo spinup', 'logo steady']);
  assert.equal(info.sample_count, 288000);
  assert.equal(info.duration_s, 6);
  assert.equal(info.num_channels, 2);
  assert.equal(info.global['core:author'], 'Kyle Logue, K6OF');
  assert.equal(info.captures.length, 1);
});

test('sigmf repair then info on a crashed recording (real processes)', async (t) => {
  const base = join(tempDir(t), 'crashed');
  const w = await SigmfWriter.open(base, { datatype: 'ci8', sampleRateHz: 2e6, freqHz: 915e6, durable: false });
  await w.append(new Int8Array(testSignal(1000).map((v) => Math.round(v * 100))));
  await w.annotateFrame({ sampleStart: 10, sampleCount: 500, sequence: 1, snrDb: 7 });
  await w.close(); // stopped without finalize
  truncateSync(`${base}.sigmf-data`, 2 * 1000 - 1); // and a torn last sample

  let r = dekagSigmf(['info', base, '--json']);
  assert.equal(r.status, 0, r.stderr);
  let info = JSON.parse(r.stdout);
  assert.deepEqual([info.sha512_ok, info.finalized, info.sample_count, info.partial_bytes], [null, false, 999, 1]);

  r = dekagSigmf(['repair', base]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /truncated 1 bytes of a partial sample/);
  assert.match(r.stdout, /added core:sha512/);

  r = dekagSigmf(['info', `${base}.sigmf-data`, '--json']);
  info = JSON.parse(r.stdout);
  assert.deepEqual([info.sha512_ok, info.finalized, info.sample_count, info.partial_bytes, info.schema_valid], [true, true, 999, 0, true]);
  assert.equal(info.annotations[0]['dekag:snr_db'], 7);

  r = dekagSigmf(['repair', base]);
  assert.match(r.stdout, /nothing to repair/);
});

test('bad input: one line on stderr and a non-zero status, never a stack trace', async (t) => {
  const dir = tempDir(t);
  const cases: Array<[string[], number, RegExp]> = [
    [['info', join(dir, 'nope')], 1, /no SigMF recording/],
    [['info'], 2, /exactly one FILE/],
    [['info', 'a', '--bogus'], 2, /bogus/],
    [['info', 'a', '--schema', 'x.json'], 2, /schema/], // validation is built in; there is no schema file to name
    [['repair', join(dir, 'nope')], 1, /does not exist/],
    [['repair', 'x', '--sample-rate', 'fast'], 2, /--sample-rate/],
    [['frobnicate'], 2, /unknown subcommand/],
  ];
  for (const [args, status, re] of cases) {
    let stderr = '';
    const rc = await runSigmfCli(args, { stdout: () => undefined, stderr: (s) => (stderr += s) });
    assert.equal(rc, status, args.join(' '));
    assert.match(stderr, re);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  }
});

test('sigmf info (text) on the official example', { skip: NO_SHARED_SIGMF }, async () => {
  let out = '';
  assert.equal(await runSigmfCli(['info', OFFICIAL_EXAMPLE], { stdout: (s) => (out += s), stderr: () => undefined }), 0);
  assert.match(out, /sha512 +ok/);
  assert.match(out, /logo steady/);
});
