/**
 * The POSIX tar subset a SigMF archive needs (SigMF 1.2, "Archive Format": a tar file with the extension
 * `.sigmf` holding a folder named after the recording, with BASE.sigmf-meta and BASE.sigmf-data in it).
 *
 * Writing: ustar headers; a pax extended header ('x') carries the size of a member over 8 GiB - 1 (the
 * limit of ustar's 11 octal digits, reached by 200 s of 20 Msps ci16) and names over 100 bytes. Data is
 * streamed from disk in blocks, never loaded whole.
 * Reading: ustar/pax/GNU headers (pax `path` and `size`, GNU long names 'L', base-256 sizes), to find where
 * each member's bytes lie in the archive, so samples are read in place.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { SigmfFormatError } from './errors.js';
import { writeAll, type SigmfFileHandle } from './fs.js';

const BLOCK = 512;
const MAX_OCTAL_11 = 0o77777777777;

export interface TarMemberSource {
  /** Name inside the archive, '/'-separated, e.g. "rec/rec.sigmf-meta". */
  name: string;
  /** Either the bytes, or a file to copy. */
  data?: Uint8Array;
  file?: { path: string; size: number };
}

function writeString(buf: Uint8Array, offset: number, length: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > length) throw new SigmfFormatError(`tar field '${s}' longer than ${length} bytes`);
  buf.set(b, offset);
}

function writeOctal(buf: Uint8Array, offset: number, length: number, n: number): void {
  writeString(buf, offset, length, n.toString(8).padStart(length - 1, '0') + '\0');
}

function header(name: string, size: number, typeflag: string, mtimeS: number, mode: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, mode);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, Math.min(size, MAX_OCTAL_11)); // a larger size is carried by the pax header
  writeOctal(h, 136, 12, mtimeS);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  writeString(h, 156, 1, typeflag);
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  writeString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/** A pax record "LEN key=value\n", where LEN counts the whole record including its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function padding(size: number): Uint8Array {
  const rem = size % BLOCK;
  return new Uint8Array(rem === 0 ? 0 : BLOCK - rem);
}

/** The header blocks (pax header when needed, then ustar) for one member. */
function headersFor(name: string, size: number, typeflag: string, mtimeS: number, mode: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const records: string[] = [];
  let ustarName = name;
  if (Buffer.byteLength(name) > 100) {
    records.push(paxRecord('path', name));
    ustarName = name.slice(-100).replace(/^[^/]*\//, '');
  }
  if (size > MAX_OCTAL_11) records.push(paxRecord('size', String(size)));
  if (records.length > 0) {
    const body = Buffer.from(records.join(''), 'utf8');
    out.push(header(`PaxHeaders/${ustarName}`.slice(0, 100), body.length, 'x', mtimeS, 0o644), body, padding(body.length));
  }
  out.push(header(ustarName, size, typeflag, mtimeS, mode));
  return out;
}

/**
 * Write a tar of `folder/` and the members to an open handle. Returns the archive size in bytes.
 * `copyBlockBytes` bounds the memory used to copy files.
 */
export async function writeTar(
  out: SigmfFileHandle,
  folder: string,
  members: TarMemberSource[],
  mtimeS = Math.floor(Date.now() / 1000),
  copyBlockBytes = 1 << 20,
): Promise<number> {
  let pos = 0;
  const put = async (b: Uint8Array) => {
    await writeAll(out, b, pos);
    pos += b.length;
  };
  for (const h of headersFor(`${folder}/`, 0, '5', mtimeS, 0o755)) await put(h);
  for (const m of members) {
    const size = m.data ? m.data.length : m.file!.size;
    for (const h of headersFor(m.name, size, '0', mtimeS, 0o644)) await put(h);
    if (m.data) {
      await put(m.data);
    } else {
      const src = await open(m.file!.path, 'r');
      try {
        const buf = new Uint8Array(Math.min(copyBlockBytes, Math.max(BLOCK, size)));
        let copied = 0;
        while (copied < size) {
          const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, size - copied), copied);
          if (bytesRead === 0) throw new SigmfFormatError(`${m.file!.path} shrank while archiving (${copied} of ${size} bytes)`);
          await put(buf.subarray(0, bytesRead));
          copied += bytesRead;
        }
      } finally {
        await src.close();
      }
    }
    await put(padding(size));
  }
  await put(new Uint8Array(2 * BLOCK)); // end of archive: two zero blocks
  return pos;
}

export interface TarMember {
  name: string;
  /** Byte offset of the member's data inside the archive. */
  offset: number;
  size: number;
  typeflag: string;
}

function readString(b: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && b[end] !== 0) end++;
  return Buffer.from(b.subarray(offset, end)).toString('utf8');
}

/** A header number field: octal, or GNU base-256; NaN when it is neither or negative (base-256 sign bit). */
function readNumber(b: Uint8Array, offset: number, length: number): number {
  if ((b[offset]! & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement in the field; 0xff first means negative, which no size is.
    if (b[offset] === 0xff) return NaN;
    let n = b[offset]! & 0x7f;
    for (let i = offset + 1; i < offset + length; i++) n = n * 256 + b[i]!;
    return n;
  }
  const s = readString(b, offset, length).trim();
  if (s === '') return 0;
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
}

function parsePax(body: string): Record<string, string> {
  // No prototype: a record named __proto__ or constructor is just a key.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(' ', i);
    if (sp < 0) break;
    const len = Number(body.slice(i, sp));
    if (!Number.isInteger(len) || len <= 0) break;
    const rec = body.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Most bytes of a pax extended header or a GNU long name: a few records, never megabytes. */
export const MAX_TAR_EXTENSION_BYTES = 1 << 20;

/**
 * List the regular files of a tar archive with where their bytes are. Throws SigmfFormatError if not a tar.
 * Every size is checked against the file before it is used: a member (or a pax or long-name body) must lie
 * inside the archive, sizes are non-negative integers, and each header moves the walk forward, so a hostile
 * archive can neither loop, nor seek backwards, nor make this allocate more than it holds.
 */
export async function listTar(path: string): Promise<TarMember[]> {
  const fh: FileHandle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SigmfFormatError(`${path} is not a regular file; a SigMF archive is a tar file`);
    const total = st.size;
    const bad = (what: string, at: number): never => {
      throw new SigmfFormatError(`${path} is not a usable tar archive: ${what} (header at byte ${at})`);
    };
    const members: TarMember[] = [];
    const h = new Uint8Array(BLOCK);
    let pos = 0;
    let pax: Record<string, string> = Object.create(null) as Record<string, string>;
    let longName: string | undefined;
    while (pos + BLOCK <= total) {
      const { bytesRead } = await fh.read(h, 0, BLOCK, pos);
      if (bytesRead !== BLOCK) bad('the file shrank while it was read', pos);
      if (h.every((x) => x === 0)) break;
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
      if (sum !== readNumber(h, 148, 8)) {
        throw new SigmfFormatError(`${path} is not a tar archive (bad header checksum at byte ${pos})`);
      }
      const typeflag = String.fromCharCode(h[156]!) || '0';
      let name = readString(h, 0, 100);
      const prefix = readString(h, 345, 155);
      if (prefix && readString(h, 257, 5) === 'ustar') name = `${prefix}/${name}`;
      let size = readNumber(h, 124, 12);
      const dataOffset = pos + BLOCK;
      const fits = (n: number) => Number.isSafeInteger(n) && n >= 0 && n <= total - dataOffset;
      if (!fits(size)) bad(`a member of size ${size} does not fit in the ${total - dataOffset} bytes after its header`, pos);
      if (typeflag === 'x' || typeflag === 'L') {
        if (size > MAX_TAR_EXTENSION_BYTES) bad(`a ${typeflag === 'x' ? 'pax' : 'long-name'} header of ${size} bytes (at most ${MAX_TAR_EXTENSION_BYTES})`, pos);
        const body = new Uint8Array(size);
        const got = (await fh.read(body, 0, size, dataOffset)).bytesRead;
        if (got !== size) bad('the file shrank while it was read', pos);
        if (typeflag === 'x') pax = parsePax(Buffer.from(body).toString('utf8'));
        else longName = readString(body, 0, size);
      } else {
        if (pax['size'] !== undefined) {
          size = /^\d{1,16}$/.test(pax['size']) ? Number(pax['size']) : NaN;
          if (!fits(size)) bad(`a pax size of ${JSON.stringify(pax['size'].slice(0, 24))} does not fit in the ${total - dataOffset} bytes after its header`, pos);
        }
        name = pax['path'] ?? longName ?? name;
        if (typeflag === '0' || typeflag === '\0') members.push({ name, offset: dataOffset, size, typeflag: '0' });
        pax = Object.create(null) as Record<string, string>;
        longName = undefined;
      }
      pos = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
    }
    return members;
  } finally {
    await fh.close();
  }
}
