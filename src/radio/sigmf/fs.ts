/**
 * The file-system seam of the writer and repair tool: the few operations they need, with Node's fs as the
 * default. Tests pass a wrapper that fails on purpose (a full disk, a short write) to check that the
 * writer reports a typed error and leaves a readable recording.
 */
import { mkdir, open, rename, unlink, truncate, stat } from 'node:fs/promises';

export interface SigmfFileHandle {
  /** Write `data[offset .. offset+length)` at `position`, returning how many bytes were written (may be fewer). */
  write(data: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface SigmfFileSystem {
  open(path: string, flags: string): Promise<SigmfFileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  size(path: string): Promise<number>;
  /** Make a rename in `dir` durable (fsync of the directory); best effort where the OS does not allow it. */
  syncDir(dir: string): Promise<void>;
  /** Create `dir` and its parents where missing. */
  mkdirp(dir: string): Promise<void>;
}

export const nodeFileSystem: SigmfFileSystem = {
  open: async (path, flags) => {
    const h = await open(path, flags);
    return {
      write: (data, offset, length, position) => h.write(data, offset, length, position),
      sync: () => h.sync(),
      truncate: (length) => h.truncate(length),
      close: () => h.close(),
    };
  },
  rename,
  unlink,
  truncate,
  size: async (path) => (await stat(path)).size,
  mkdirp: async (dir) => {
    await mkdir(dir, { recursive: true });
  },
  syncDir: async (dir) => {
    try {
      const h = await open(dir, 'r');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    } catch {
      // Windows cannot open a directory for fsync; the rename is still atomic there.
    }
  },
};

/** Write all of `data` at `position`, looping over short writes. Returns bytes written before any error. */
export async function writeAll(
  h: SigmfFileHandle,
  data: Uint8Array,
  position: number,
  onProgress?: (bytesWritten: number) => void,
): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await h.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
    done += bytesWritten;
    onProgress?.(done);
  }
}

/**
 * Replace `path` atomically with `text`: write `path.tmp`, fsync it, rename it over `path`, fsync the folder.
 * A crash at any point leaves either the old file or the new one, never a mix.
 */
export async function writeFileAtomic(fs: SigmfFileSystem, path: string, text: string | Uint8Array, durable = true): Promise<void> {
  const tmp = `${path}.tmp`;
  const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const h = await fs.open(tmp, 'w');
  try {
    await writeAll(h, data, 0);
    if (durable) await h.sync();
  } catch (e) {
    // A half-written temp file is useless: drop it so it does not fill the disk or confuse a reader.
    await h.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await h.close();
  await fs.rename(tmp, path);
  if (durable) await fs.syncDir(dirnameOf(path));
}

function dirnameOf(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i < 0 ? '.' : i === 0 ? p.slice(0, 1) : p.slice(0, i);
}
