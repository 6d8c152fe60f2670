/**
 * Browser mode's stored token: made once with mode 0600, the same on the next run, replaced on request,
 * refused when others may read it or when it is not a token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, loadOrCreateToken, TOKEN_FILE } from './token.js';

const posix = process.platform !== 'win32';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'dekag-token-'));
}

test('the first run makes a private token file; later runs get the same token; --new-token replaces it', () => {
  const root = tmp();
  const dir = join(root, 'config'); // does not exist yet
  try {
    const first = loadOrCreateToken({ dir });
    assert.match(first.token, /^[0-9a-f]{32}$/);
    assert.equal(first.created, true);
    assert.equal(first.path, join(dir, TOKEN_FILE));
    assert.equal(readFileSync(first.path, 'utf8'), `${first.token}\n`);
    if (posix) {
      assert.equal(statSync(first.path).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o077, 0, 'the folder is private too');
    }
    const again = loadOrCreateToken({ dir });
    assert.deepEqual(again, { token: first.token, path: first.path, created: false });
    const fresh = loadOrCreateToken({ dir, fresh: true });
    assert.notEqual(fresh.token, first.token);
    assert.equal(fresh.created, true);
    assert.equal(loadOrCreateToken({ dir }).token, fresh.token);
    if (posix) assert.equal(statSync(fresh.path).mode & 0o777, 0o600);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a token file others may read is refused, with the fix; --new-token makes a private one', { skip: posix ? false : 'mode bits are POSIX' }, () => {
  const dir = tmp();
  try {
    const { token, path } = loadOrCreateToken({ dir });
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(path, mode);
      assert.throws(
        () => loadOrCreateToken({ dir }),
        (e: Error) => e.message.includes(`mode ${mode.toString(8)}`) && e.message.includes(`chmod 600 ${path}`) && e.message.includes('--new-token') && !e.message.includes(token),
        `mode ${mode.toString(8)}`,
      );
    }
    chmodSync(path, 0o600);
    assert.equal(loadOrCreateToken({ dir }).token, token);
    chmodSync(path, 0o644);
    const fresh = loadOrCreateToken({ dir, fresh: true });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.notEqual(fresh.token, token);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that does not hold a token is refused, not used as one', () => {
  const dir = tmp();
  try {
    const path = join(dir, TOKEN_FILE);
    writeFileSync(path, 'hunter2\n', { mode: 0o600 });
    assert.throws(() => loadOrCreateToken({ dir }), /does not hold a token \(32 hex digits\); run 'dekag serve --new-token'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the config folder is $DEKAG_CONFIG_DIR, else ~/.dekag', () => {
  assert.equal(configDir({ DEKAG_CONFIG_DIR: '/tmp/x' }), '/tmp/x');
  assert.match(configDir({}), /[/\\]\.dekag$/);
  assert.match(configDir({ DEKAG_CONFIG_DIR: '' }), /[/\\]\.dekag$/);
});
