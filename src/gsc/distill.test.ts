/**
 * MAKD distillation: the real Python trainer as a child process (quick mode), its progress lines, and clear
 * failures when Python or PyTorch is missing. The "no PyTorch" Python is the real /usr/bin/python3 run
 * with -S, which hides every installed package (a fake only in that it is launched through a wrapper).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadAdapter } from './adapter.js';
import { ModelStore } from './models.js';
import { modelsDir } from './testing.js';
import { distill, DistillError, distillArgs, findPython, type ProgressEvent } from './distill.js';

const tmp = mkdtempSync(join(tmpdir(), 'dekag-distill-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('Python is $DEKAG_PYTHON when set, and a missing one is named', () => {
  assert.equal(findPython({ DEKAG_PYTHON: '/usr/bin/python3' }), '/usr/bin/python3');
  assert.throws(() => findPython({ DEKAG_PYTHON: join(tmp, 'nope', 'python3') }), (e: Error) => e instanceof DistillError && /DEKAG_PYTHON=.*nope.* is not an executable file/.test(e.message));
});

test('the trainer gets the options as flags', () => {
  const args = distillArgs({ subject: 'shape:star', out: 'x.dkga', mode: 'lora', steps: 9, rank: 2, convRank: 0, loraDtype: 'float32', device: 'cuda', quick: true });
  assert.deepEqual(args.slice(0, 4), ['-m', 'train.makd', '--subject', 'shape:star']);
  for (const pair of [['--mode', 'lora'], ['--steps', '9'], ['--rank', '2'], ['--conv-rank', '0'], ['--lora-dtype', 'float32'], ['--device', 'cuda']]) {
    assert.equal(args[args.indexOf(pair[0]!) + 1], pair[1]);
  }
  assert.ok(args.includes('--quick'));
});

test('a Python without PyTorch fails with a message that says what to install', async () => {
  const wrapper = join(tmp, 'python-without-packages');
  writeFileSync(wrapper, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
  chmodSync(wrapper, 0o755);
  await assert.rejects(
    distill({ subject: 'shape:star', out: join(tmp, 'x.dkga'), quick: true, env: { ...process.env, DEKAG_PYTHON: wrapper } }),
    (e: Error) => e instanceof DistillError && /has no module '(torch|numpy)'.*install python3-torch python3-numpy/.test(e.message),
  );
  assert.equal(existsSync(join(tmp, 'x.dkga')), false);
});

test('a bad subject is reported with the trainer\'s own message', async () => {
  await assert.rejects(
    distill({ subject: 'shape:hexagon', out: join(tmp, 'h.dkga'), quick: true }),
    /exited with code 1: .*unknown attribute:value 'shape:hexagon'/,
  );
});

test('quick distillation reports progress and writes an adapter the edge accepts', async () => {
  const out = join(tmp, 'snow.dkga');
  const events: ProgressEvent[] = [];
  const r = await distill({ subject: 'background:snow', out, quick: true, steps: 3, rank: 2, onProgress: (e) => events.push(e) });
  assert.ok(events.length >= 2);
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.step >= events[i - 1]!.step);
  assert.equal(events.at(-1)!.step, events.at(-1)!.total);
  assert.equal(r.subject, 'background:snow');
  const a = loadAdapter(out, ModelStore.open(modelsDir()));
  assert.equal(a.bytes, r.bytes);
  assert.deepEqual(a.header.metaword?.slots, { snow: 0 });
  assert.equal(a.header.training['steps'], 3);
});
