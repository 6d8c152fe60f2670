/**
 * `dekag bench phy --peer liquid` (peer.ts): refuses cleanly without liquid-dsp, and when libliquid-dev is
 * installed a small run gives both receivers a rate and decoded frames (skipped, with the reason, where it
 * is not: CI may not install it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { peerLiquid } from './bench-phy-peer.js';
import { UsageError } from '../util/errors.js';
import { runPhyBench } from './bench-phy.js';

function liquidMissing(): string | false {
  if (spawnSync('gcc', ['--version']).error) return 'gcc is not installed';
  if (!existsSync('/usr/include/liquid/liquid.h')) return 'libliquid-dev is not installed (apt-get install libliquid-dev)';
  return false;
}

test('--peer liquid refuses cleanly when liquid-dsp is not where --liquid-prefix points', async () => {
  assert.throws(
    () => peerLiquid({ samples: 200_000, liquidPrefix: '/nonexistent/liquid-prefix' }),
    (e: unknown) => e instanceof UsageError && /apt-get install libliquid-dev/.test(e.message) && /liquid\.h/.test(e.message),
  );
  await assert.rejects(runPhyBench(['--peer', 'liquid', '--liquid-prefix', '/nonexistent/liquid-prefix']), UsageError);
  await assert.rejects(runPhyBench(['--peer', 'gnuradio']), /only 'liquid'/);
  await assert.rejects(runPhyBench(['--peer', 'liquid', '--peer-fec', 'turbo']), /--peer-fec/);
});

test('--peer liquid: a small run measures both receivers', { skip: liquidMissing() }, () => {
  const r = peerLiquid({ samples: 400_000, passes: 1 });
  assert.ok(r.ours.msps_cpu > 0 && r.peer.msps_cpu > 0, JSON.stringify(r));
  assert.ok(r.ours.frames_detected > 0 && r.peer.frames_detected > 0, JSON.stringify(r));
  assert.ok(r.ours.payloads_valid > 0.9 * r.ours.frames && r.peer.payloads_valid > 0.9 * r.peer.frames, JSON.stringify(r));
  assert.ok(Math.abs(r.ours.duty - 0.5) < 0.05 && Math.abs(r.peer.duty - 0.5) < 0.05, JSON.stringify(r));
  assert.equal(r.ratio, Math.round((r.ours.msps_cpu / r.peer.msps_cpu) * 1000) / 1000);
  // the whole command decodes what the in-process loop decodes, and costs more (start-up, output)
  assert.equal(r.ours_command.frames_detected, r.ours.frames_detected, JSON.stringify(r));
  assert.equal(r.ours_command.payloads_valid, r.ours.payloads_valid, JSON.stringify(r));
  assert.ok(r.ours_command.best_cpu_s > r.ours.best_cpu_s, JSON.stringify(r));
  assert.ok(['v27', 'h84'].includes(r.peer.fec));
  assert.equal(r.like_for_like, r.peer.fec === 'v27');
  assert.match(r.caveat, /differ in waveform/);
});
