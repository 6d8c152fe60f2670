/** `dekag bench usb` as a user runs it: the sustained HackRF runs through the fake, JSON fields, usage errors. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'bin', 'dekag.js');
const dekag = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('bench usb --json: RX and TX at 20 Msps keep up with 4 transfers in flight; with 1 (usb 3.x) and 1 ms latency every transfer is late', () => {
  const r = dekag('bench', 'usb', '--quick', '--seconds', '1', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no fallback line: the runs ask for what the fake allows');
  const out = JSON.parse(r.stdout) as { sustained: Array<Record<string, number | string>> };
  assert.deepEqual(out.sustained.map((x) => `${x['direction']}:${x['transfers_in_flight']}`), ['rx:4', 'rx:1', 'tx:4', 'tx:1']);
  for (const x of out.sustained) {
    assert.equal(x['transfer_bytes'], 262144);
    assert.equal(x['latency_ms'], 1);
    assert.equal(x['out_of_order'], 0);
    assert.ok(Number(x['seconds']) >= 1);
    // TX order never breaks; on RX every loss in the radio is one discontinuity in the pattern (but a loss
    // after the last block taken, while the stream stops, is in no block).
    if (x['direction'] === 'tx') assert.equal(x['pattern_errors'], 0);
    else assert.ok([0, 1].includes(Number(x['dropped_transfers']) - Number(x['pattern_errors'])), JSON.stringify(x));
  }
  const [rx4, rx1, tx4, tx1] = out.sustained;
  for (const x of [rx1!, tx1!]) {
    assert.equal(x['max_in_flight_seen'], 1);
    assert.ok(Number(x['dropped_transfers']) > 100, 'every transfer comes too late');
    assert.ok(Number(x['msps']) < 19.9);
  }
  // Virtual time counts the host's real work, so a loaded machine that stalls this process for more than
  // the 26 ms that 4 x 256 KiB cover could lose a transfer here; the exact zero is checked in
  // src/radio/devices/hackrf-inflight.test.ts, where the host is infinitely fast.
  for (const [x, one] of [[rx4!, rx1!], [tx4!, tx1!]] as const) {
    assert.equal(x['max_in_flight_seen'], 4);
    assert.equal(x['transfers_in_flight'], 4);
    assert.ok(Number(x['dropped_transfers']) <= 2, JSON.stringify(x));
    assert.ok(Number(x['dropped_transfers']) < Number(one['dropped_transfers']));
    assert.ok(Number(x['msps']) > 19.5, JSON.stringify(x));
  }
});

test('bench usb refuses bad numbers with a usage error', () => {
  const r = dekag('bench', 'usb', '--in-flight', '0');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--in-flight must be an integer 1\.\.64, got '0'/);
  assert.equal(dekag('bench', 'usb', '--clock', 'wall').status, 2);
});
