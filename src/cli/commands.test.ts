/**
 * The command table (commands.ts) as `dekag` runs it: the top-level help lists every command, every
 * command's and subcommand's --help prints its help text, and a command loads only what it needs.
 *
 * What a process loaded is recorded from outside the CLI, by module loader hooks (node:module `register`,
 * Node >= 20.6) that the child gets with `--import`: the resolve hook appends every URL the ESM loader
 * resolves (our modules, packages, builtins) to a file, and at exit the preload appends the CommonJS
 * module cache (what packages such as onnxruntime-node, usb and serialport require inside). A control
 * (a command that does load onnxruntime) checks that the recording sees it, so a broken hook cannot pass.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COMMANDS, helpOf } from './commands.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'bin', 'dekag.js');
const src = pathToFileURL(join(root, 'dist', 'src')).href + '/';
const tmp = mkdtempSync(join(tmpdir(), 'dekag-commands-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const NO_HOOKS = typeof (nodeModule as { register?: unknown }).register !== 'function' && 'node:module register() needs Node >= 20.6';

writeFileSync(
  join(tmp, 'hooks.mjs'),
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.DEKAG_TRACE_FILE, r.url + '\\n');
  return r;
}
`,
);
writeFileSync(
  join(tmp, 'trace.mjs'),
  `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
register('./hooks.mjs', import.meta.url);
const cjs = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(process.env.DEKAG_TRACE_FILE, Object.keys(cjs).map((f) => pathToFileURL(f).href + '\\n').join('')));
`,
);

function dekag(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, DEKAG_MODELS_DIR: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let traces = 0;
/** Runs `dekag ARGS` with the loader hooks; returns its result and every module URL it loaded. */
function traced(...args: string[]) {
  const file = join(tmp, `trace-${++traces}.txt`);
  writeFileSync(file, '');
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(tmp, 'trace.mjs')).href, bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEKAG_MODELS_DIR: '', DEKAG_TRACE_FILE: file },
  });
  const urls = [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))];
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, urls, ours: urls.filter((u) => u.startsWith(src)).map((u) => u.slice(src.length)).sort() };
}

const HEAVY = /\/node_modules\/(onnxruntime-node|onnxruntime-common|usb|serialport|@serialport|ws|pngjs)\//;

test('dekag --help lists every command of the table with its summary', () => {
  const r = dekag('--help');
  assert.equal(r.code, 0);
  for (const c of COMMANDS) {
    assert.ok(r.stdout.includes(`\n  ${c.name} `), `${c.name} is listed`);
    assert.ok(r.stdout.includes(` ${c.summary}\n`), `${c.name}'s summary is listed`);
  }
  const listed = r.stdout.split('\n').filter((l) => /^ {2}[a-z]/.test(l)).map((l) => l.trim().split(/\s+/)[0]);
  assert.deepEqual(listed, COMMANDS.map((c) => c.name));
});

test("every command's and subcommand's --help prints its help text, as 'dekag help' does", async () => {
  for (const c of COMMANDS) {
    const r = dekag(c.name, '--help');
    assert.equal(r.code, 0, `${c.name} --help: ${r.stderr}`);
    assert.equal(r.stdout, (await helpOf(c)) + '\n', `${c.name} --help`);
    assert.ok(r.stdout.length > 40 && r.stdout.includes(`dekag ${c.name}`), `${c.name} --help names the command`);
    for (const s of c.subcommands ?? []) {
      const rs = dekag(c.name, s.name, '-h');
      assert.equal(rs.code, 0, `${c.name} ${s.name} -h: ${rs.stderr}`);
      assert.equal(rs.stdout, (await helpOf(s, c)) + '\n', `${c.name} ${s.name} -h`);
      assert.ok(rs.stdout.includes(`dekag ${c.name} ${s.name}`), `${c.name} ${s.name} -h names the subcommand`);
    }
  }
  for (const words of [['modem'], ['bench', 'cala'], ['edge']]) {
    assert.equal(dekag('help', ...words).stdout, dekag(...words, '--help').stdout, words.join(' '));
  }
});

test('a command with subcommands lists them when none is named; unknown ones are usage errors', () => {
  let r = dekag('modem');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /choose one of\n {2}tx +.*\n {2}rx /);
  r = dekag('bench', 'fly');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown subcommand 'fly'; use generate, phy, cala, mcs, makd, usb/);
  assert.equal(dekag('help', 'fly').code, 2);
});

test('modem and sigmf parse like the rest: an unknown option is a usage error naming it', () => {
  for (const args of [['modem', 'rx', '--in', 'x.cf32', '--colour', 'red'], ['modem', 'tx', '--colour', 'red'], ['sigmf', 'info', 'x', '--colour', 'red']]) {
    const r = dekag(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, new RegExp(`^dekag ${args[0]} ${args[1]}: Unknown option '--colour'`));
  }
  const r = dekag('modem', 'rx', '--in', join(tmp, 'missing.cf32'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^dekag modem rx: ENOENT: no such file or directory/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('dekag --help and modem rx --help load no command: only main, the table, exit codes and help texts', { skip: NO_HOOKS }, () => {
  let r = traced('--help');
  assert.equal(r.code, 0);
  assert.deepEqual(r.ours, ['cli/commands.js', 'cli/exit.js', 'cli/main.js', 'util/errors.js']);
  r = traced('modem', 'rx', '--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /dekag modem rx --in/);
  assert.deepEqual(r.ours, ['cli/commands.js', 'cli/exit.js', 'cli/help.js', 'cli/main.js', 'gsc/sampler.js', 'util/errors.js']);
  assert.deepEqual(r.urls.filter((u) => HEAVY.test(u)), []);
  assert.deepEqual(r.urls.filter((u) => u.includes('onnxruntime')), []);
});

test('modem rx decodes a file loading the modem and nothing of models, sessions or USB/serial', { skip: NO_HOOKS }, () => {
  const payload = join(tmp, 'payload.bin');
  const iq = join(tmp, 'two.cf32');
  writeFileSync(payload, Buffer.alloc(2500, 7));
  assert.equal(dekag('modem', 'tx', '--payload', payload, '--out', iq).code, 0);
  const r = traced('modem', 'rx', '--in', iq, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 2);
  assert.ok(r.ours.includes('cli/modem.js'));
  assert.deepEqual(r.ours.filter((m) => !/^(cli\/(main|commands|exit|help|options|modem)\.js|util\/|radio\/(phy|channel|iq)\/)/.test(m)), []);
  assert.deepEqual(r.urls.filter((u) => HEAVY.test(u) || u.includes('onnxruntime')), []);
});

test('control: the recording sees onnxruntime-node where a command does load it', { skip: NO_HOOKS }, () => {
  const r = traced('eval', '--image', join(tmp, 'none.png'), '--prompt', 'a red star');
  assert.notEqual(r.code, 0);
  assert.ok(r.ours.includes('gsc/onnx.js'));
  assert.ok(r.urls.some((u) => u.includes('/node_modules/onnxruntime-node/')), 'onnxruntime-node is in the recording');
});
