/**
 * Browser mode's access token, kept across runs so that a restarted `dekag serve` answers the same URL
 * (a page left open reconnects by itself, a bookmark keeps working).
 *
 * The token lives in the user's config folder: `~/.dekag/serve-token` (folder `$DEKAG_CONFIG_DIR` when
 * set), 32 hex digits, mode 0600 in a 0700 folder. Whoever can read it controls the radio and the
 * recordings folder, so a token file that others may read (group or world permission bits, or another
 * owner) is refused with the command that fixes it, never used. `dekag serve --new-token` replaces it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../util/errors.js';

export const TOKEN_FILE = 'serve-token';
const TOKEN_PATTERN = /^[0-9a-f]{32}$/;

/** The user's DeKA-g config folder: $DEKAG_CONFIG_DIR, else ~/.dekag. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const d = env['DEKAG_CONFIG_DIR'];
  return d && d.trim() !== '' ? d : join(homedir(), '.dekag');
}

export function newToken(): string {
  return randomBytes(16).toString('hex');
}

/** Whether mode bits and owner can be trusted here (POSIX); Windows has ACLs instead. */
const POSIX = process.platform !== 'win32';

/**
 * The stored token, or a new one written to the file when there is none (or `fresh` asks for a new one).
 * Throws a UsageError naming the file and the fix when the file is readable by others, owned by someone
 * else, or does not hold a token.
 */
export function loadOrCreateToken(o: { dir?: string; fresh?: boolean } = {}): { token: string; path: string; created: boolean } {
  const dir = o.dir ?? configDir();
  const path = join(dir, TOKEN_FILE);
  if (!o.fresh) {
    let st;
    try {
      st = statSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st) {
      if (!st.isFile()) throw new UsageError(`${path} is not a regular file; remove it, or run 'dekag serve --new-token'`);
      if (POSIX && (st.mode & 0o077) !== 0) {
        throw new UsageError(
          `${path} may be read by others (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}); whoever reads it controls the radio. ` +
            `Make it private (chmod 600 ${path}) or make a new token (dekag serve --new-token)`,
        );
      }
      if (POSIX && typeof process.getuid === 'function' && st.uid !== process.getuid()) {
        throw new UsageError(`${path} belongs to another user (uid ${st.uid}); remove it, or run 'dekag serve --new-token'`);
      }
      const token = readFileSync(path, 'utf8').trim();
      if (!TOKEN_PATTERN.test(token)) throw new UsageError(`${path} does not hold a token (32 hex digits); run 'dekag serve --new-token'`);
      return { token, path, created: false };
    }
  }
  const token = newToken();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Written beside and renamed over, created 0600 from the start (never briefly readable by others).
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (POSIX) chmodSync(tmp, 0o600); // whatever the umask
  renameSync(tmp, path);
  return { token, path, created: true };
}
