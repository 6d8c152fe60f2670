/**
 * `dekag modem tx|rx`: the file interface to the burst OFDM modem, so outside tools (GNU Radio,
 * inspectrum, SDR captures) can produce and consume our waveforms.
 *
 *   dekag modem tx (--payload FILE | --symbols FILE) --out FILE.cf32|.ci8|.cu8 [options]
 *   dekag modem rx --in FILE.cf32|.ci8|.cu8 [--sample-rate HZ] [--json] [options]
 *
 * --symbols FILE holds complex float32 little-endian points (cf32), already quantized to --modulation.
 * Defaults round-trip: rx with default options decodes what tx wrote with default options.
 */
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DekagError, UsageError } from '../util/errors.js';
import { OfdmModulator } from '../radio/phy/transmitter.js';
import { StreamReceiver } from '../radio/phy/receiver.js';
import { Modulation, modulationName, parseModulation } from '../radio/phy/constellation.js';
import { CodeRate, codeRateName, parseCodeRate } from '../radio/phy/convcode.js';
import { PhyConfigError, PhyPayloadError } from '../radio/phy/errors.js';
import { PayloadKind } from '../radio/phy/header.js';
import type { OfdmParams } from '../radio/phy/params.js';
import type { RxFrame } from '../radio/phy/demodulator.js';
import { cf32ToCi8, cf32ToCu8, ci8ToCf32, cu8ToCf32, IqFormat } from '../radio/iq/format.js';
import { parse } from './options.js';

/** What parse() returns for these commands' options: strings, and booleans for the flags. */
type Values = Record<string, string | undefined>;

function int(v: string | undefined, name: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got '${v}'`);
  return n;
}

function num(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${v}'`);
  return n;
}

function formatOf(path: string, explicit: string | undefined): IqFormat {
  const f = (explicit ?? extname(path).slice(1)).toLowerCase();
  if (f === 'cf32' || f === 'ci8' || f === 'cu8') return f;
  if (f === 'cs8') return 'ci8';
  if (f === 'fc32' || f === 'raw' || f === 'iq') return 'cf32';
  throw new UsageError(`cannot tell the sample format of '${path}'; name it .cf32, .ci8 or .cu8, or pass --format`);
}

function commonParams(v: Values): Partial<OfdmParams> {
  const p: Partial<OfdmParams> = {};
  if (v['sample-rate'] !== undefined) p.sampleRateHz = num(v['sample-rate'] as string, 'sample-rate', 2e6);
  if (v['fft'] !== undefined) p.fftSize = int(v['fft'] as string, 'fft', 64, 16, 4096);
  if (v['cp'] !== undefined) p.cpLength = int(v['cp'] as string, 'cp', 16, 1, 2048);
  return p;
}

const COMMON = {
  'sample-rate': { type: 'string' },
  fft: { type: 'string' },
  cp: { type: 'string' },
  format: { type: 'string' },
  scale: { type: 'string' },
} as const;

/**
 * `dekag modem tx ARGS` and `dekag modem rx ARGS` (argv after the subcommand; main.ts's command table
 * dispatches, and prints MODEM_HELP of help.ts for --help). Bad arguments throw UsageError (exit 2); a file that
 * cannot be read or written, or a payload the modem refuses, is a DekagError (exit 1).
 */
export async function runModemTx(argv: string[]): Promise<number> {
  return modemErrors(() => txCommand(argv));
}

export async function runModemRx(argv: string[]): Promise<number> {
  return modemErrors(() => rxCommand(argv));
}

function modemErrors(run: () => number): number {
  try {
    return run();
  } catch (e) {
    if (e instanceof PhyConfigError) throw new UsageError(e.message); // --modulation, --rate, --fft, --cp
    if (e instanceof PhyPayloadError) throw new DekagError(e.message, 'E_MODEM'); // a payload or symbols it cannot frame
    if (e instanceof Error && 'syscall' in e) throw new DekagError(e.message, 'E_IO'); // fs: a file not there, not writable
    throw e;
  }
}

function txCommand(argv: string[]): number {
  const values = parse(argv, {
    ...COMMON,
    payload: { type: 'string' },
    symbols: { type: 'string' },
    out: { type: 'string' },
    modulation: { type: 'string' },
    rate: { type: 'string' },
    'frame-bytes': { type: 'string' },
    session: { type: 'string' },
    seq: { type: 'string' },
    'frame-type': { type: 'string' },
    gap: { type: 'string' },
  }).values as Values;
  if (!values.out) throw new UsageError('tx needs --out FILE');
  if ((values.payload === undefined) === (values.symbols === undefined)) throw new UsageError('tx needs exactly one of --payload FILE or --symbols FILE');
  const fmt = formatOf(values.out, values.format);
  const params = commonParams(values);
  const modulation = values.modulation ? parseModulation(values.modulation) : Modulation.QPSK;
  const codeRate = values.rate ? parseCodeRate(values.rate) : CodeRate.R1_2;
  const session = int(values.session, 'session', 0, 0, 0xffff);
  let seq = int(values.seq, 'seq', 0, 0, 0xffff);
  const frameType = int(values['frame-type'], 'frame-type', 0, 0, 15);
  const gap = int(values.gap, 'gap', 2000, 0, 1e8);
  const tx = new OfdmModulator(params);
  const frames: Float32Array[] = [];
  if (values.payload !== undefined) {
    const data = new Uint8Array(readFileSync(values.payload));
    const per = int(values['frame-bytes'], 'frame-bytes', 1500, 1, tx.layout.params.maxPayloadLength);
    for (let off = 0; off === 0 || off < data.length; off += per) {
      frames.push(tx.modulateBytes(data.subarray(off, off + per), { modulation, codeRate, sessionId: session, sequence: seq, frameType }));
      seq = (seq + 1) & 0xffff;
    }
  } else {
    const raw = readFileSync(values.symbols!);
    if (raw.length % 8 !== 0) throw new UsageError(`--symbols file must hold complex float32 pairs (8 bytes each); ${raw.length} bytes is not a multiple of 8`);
    const pts = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    const per = Math.min(tx.layout.params.maxPayloadLength, 1 << 16);
    const n = pts.length >> 1;
    for (let off = 0; off === 0 || off < n; off += per) {
      frames.push(tx.modulateSymbols(pts.subarray(2 * off, 2 * Math.min(n, off + per)), { modulation, sessionId: session, sequence: seq, frameType }));
      seq = (seq + 1) & 0xffff;
    }
  }
  let total = gap;
  for (const f of frames) total += (f.length >> 1) + gap;
  const iq = new Float32Array(2 * total);
  let pos = gap;
  for (const f of frames) {
    iq.set(f, 2 * pos);
    pos += (f.length >> 1) + gap;
  }
  let bytes: Uint8Array;
  if (fmt === 'cf32') bytes = new Uint8Array(iq.buffer);
  else {
    // unit-power frames: 12 dB back-off keeps OFDM peaks (PAPR ~10-12 dB) mostly inside 8 bits
    const scale = values.scale !== undefined ? num(values.scale, 'scale', 1) : 127.5 / 4 / Math.SQRT2;
    bytes = fmt === 'ci8' ? new Uint8Array(cf32ToCi8(iq, scale).buffer) : cf32ToCu8(iq, scale);
  }
  writeFileSync(values.out, bytes);
  process.stderr.write(`dekag modem tx: ${frames.length} frame(s), ${total} samples (${(total / (params.sampleRateHz ?? 2e6)).toFixed(4)} s) -> ${values.out} [${fmt}]\n`);
  return 0;
}

function rxCommand(argv: string[]): number {
  const parsed = parse(argv, {
    ...COMMON,
    in: { type: 'string' },
    json: { type: 'boolean' },
    'payload-out': { type: 'string' },
    equalizer: { type: 'string' },
    'keep-bad': { type: 'boolean' },
  }).values;
  const values = parsed as Values;
  const json = parsed['json'] === true;
  const keepBad = parsed['keep-bad'] === true;
  if (!values.in) throw new UsageError('rx needs --in FILE');
  const fmt = formatOf(values.in, values.format);
  const params = commonParams(values);
  const eq = values.equalizer ?? 'zf';
  if (eq !== 'zf' && eq !== 'mmse') throw new UsageError(`--equalizer must be zf or mmse, got '${eq}'`);
  const scale = values.scale !== undefined ? num(values.scale, 'scale', 127.5) : 127.5;
  const rx = new StreamReceiver({ params, equalizer: eq, emitFailedFrames: keepBad });
  const fd = openSync(values.in, 'r');
  // One reusable read buffer: the bytes left over from the previous read (less than one sample value)
  // are moved to its front and the next read lands right after them. A cf32 file is then handed to the
  // receiver as a Float32Array view of this buffer (no copy: the receiver copies what it keeps), and
  // ci8/cu8 are converted straight from it into one reusable float buffer.
  const CHUNK = 1 << 20;
  const ab = new ArrayBuffer(CHUNK + 8);
  const bytes = new Uint8Array(ab);
  const conv = fmt === 'cf32' ? null : new Float32Array(CHUNK + 8);
  let carry = 0;
  let frames = 0;
  // One write per chunk read, not per frame: a write is a system call and a Buffer, and a busy file holds
  // thousands of frames (per-frame writes, their Buffers and fstat calls were about 4 % of the command's CPU
  // in a profile).
  const emit = (list: RxFrame[]): void => {
    if (list.length === 0) return;
    let text = '';
    for (const f of list) {
      frames++;
      const line = describe(f, values['payload-out'], frames);
      text += (json ? JSON.stringify(line) : human(line)) + '\n';
    }
    process.stdout.write(text);
  };
  try {
    for (;;) {
      const got = readSync(fd, bytes, carry, CHUNK, null);
      if (got === 0) break;
      const have = carry + got;
      const unit = fmt === 'cf32' ? 4 : 1;
      const usable = have - (have % unit);
      let iq: Float32Array;
      if (fmt === 'cf32') iq = new Float32Array(ab, 0, usable >> 2);
      else if (fmt === 'ci8') iq = ci8ToCf32(new Int8Array(ab, 0, usable), scale, conv!.subarray(0, usable));
      else iq = cu8ToCf32(new Uint8Array(ab, 0, usable), scale, conv!.subarray(0, usable));
      emit(rx.push(iq));
      bytes.copyWithin(0, usable, have);
      carry = have - usable;
    }
    emit(rx.flush());
  } finally {
    closeSync(fd);
  }
  // the whole process's CPU so far (Node's start-up, module loading, reading and decoding): what the
  // command cost, for `bench phy --peer`'s whole-command ratio and for anyone sizing a machine
  const cpu = process.cpuUsage();
  const cpuS = Math.round((cpu.user + cpu.system) / 1e3) / 1e3;
  process.stderr.write(`dekag modem rx: ${frames} frame(s); ${JSON.stringify({ ...rx.stats, cpu_s: cpuS })}\n`);
  return 0;
}

interface FrameLine {
  session: number;
  seq: number;
  frame_type: number;
  kind: 'bytes' | 'symbols';
  modulation: string;
  code_rate: string | null;
  payload_length: number;
  start_sample: number;
  snr_db: number;
  evm_db: number;
  cfo_hz: number;
  crc_ok: boolean;
  payload_base64?: string;
  payload_file?: string;
}

function round(v: number, d: number): number {
  return Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v;
}

function describe(f: RxFrame, outDir: string | undefined, n: number): FrameLine {
  const h = f.header;
  const bytesKind = h.payloadKind === PayloadKind.Bytes;
  const line: FrameLine = {
    session: h.sessionId,
    seq: h.sequence,
    frame_type: h.frameType,
    kind: bytesKind ? 'bytes' : 'symbols',
    modulation: modulationName(h.modulation),
    code_rate: bytesKind ? codeRateName(h.codeRate) : null,
    payload_length: h.payloadLength,
    start_sample: f.startSample,
    snr_db: round(f.snrDb, 2),
    evm_db: round(f.evmDb, 2),
    cfo_hz: round(f.cfoHz, 1),
    crc_ok: f.crcOk,
  };
  const payload = bytesKind ? f.bytes! : new Uint8Array(f.symbols!.buffer, f.symbols!.byteOffset, f.symbols!.byteLength);
  if (outDir) {
    const file = join(outDir, `frame-${String(n).padStart(5, '0')}-s${h.sessionId}-q${h.sequence}.${bytesKind ? 'bin' : 'cf32'}`);
    writeFileSync(file, payload);
    line.payload_file = file;
  } else line.payload_base64 = Buffer.from(payload).toString('base64');
  return line;
}

function human(l: FrameLine): string {
  return `frame session=${l.session} seq=${l.seq} ${l.kind} ${l.modulation}${l.code_rate ? ' r' + l.code_rate : ''} len=${l.payload_length} snr=${l.snr_db} dB evm=${l.evm_db} dB cfo=${l.cfo_hz} Hz crc=${l.crc_ok ? 'ok' : 'FAIL'}`;
}
