/**
 * `dekag bench phy --peer liquid`: our receiver against liquid-dsp's `ofdmflexframesync`, by CPU time of
 * the receive loop (Msps per CPU-second), on files of identical statistics.
 *
 * Neither receiver can decode the other's waveform, so "the same file" is two cf32 files built to the same
 * recipe, each in its own receiver's waveform: the same number of samples, the same share of samples
 * inside frames (frames spread evenly with gaps of silence), the same payload size (128 bytes), QPSK,
 * a rate-1/2 code, AWGN at the same in-band SNR (noise variance = mean power of the frame samples /
 * (SNR x occupied subcarriers / FFT size)), 64-point FFT and CP 16 for both. Ours is written by our
 * modulator, liquid's by `ofdmflexframegen` (scripts/bench/liquid-peer.c, compiled here with gcc into a
 * temporary directory). Each receiver then runs on its own file, read into memory first, in 65 536-sample
 * blocks; a fresh receiver per pass; the best pass by process CPU time counts (ours: after one warm-up
 * pass, for the JIT).
 *
 * liquid's FEC: `v27` (K=7 r1/2 soft Viterbi, what the issue-18 figure used) needs liquid built with
 * libfec; Debian's liquid (libliquid-dev 1.5) is built without it, so by default the peer falls back to
 * Hamming(8,4) (r1/2, hard decision: same code rate, so nearly the same frame length, but much cheaper to
 * decode than a Viterbi): the report's `peer.fec` says which one ran and `like_for_like` whether it was v27.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OfdmModulator } from '../radio/phy/transmitter.js';
import { StreamReceiver } from '../radio/phy/receiver.js';
import { Modulation } from '../radio/phy/constellation.js';
import { CodeRate } from '../radio/phy/convcode.js';
import { makeLayout } from '../radio/phy/params.js';
import { burst } from '../radio/phy/testkit.js';
import { Rng } from '../radio/channel/rng.js';
import { addNoise } from '../radio/channel/awgn.js';
import { UsageError } from '../util/errors.js';

export type PeerFec = 'v27' | 'h84' | 'none';

export interface PeerOptions {
  samples: number;
  /** share of samples inside frames */
  duty?: number;
  snrDb?: number;
  payloadBytes?: number;
  /** liquid's FEC; undefined: v27 when this liquid has it, else h84 */
  fec?: PeerFec;
  /** liquid installed under PREFIX (PREFIX/include/liquid/liquid.h, PREFIX/lib/libliquid.so); default: the system's */
  liquidPrefix?: string;
  /** timed passes (best counts); ours adds one warm-up pass */
  passes?: number;
  log?: (s: string) => void;
}

const INSTALL_HINT =
  'liquid-dsp is needed for --peer liquid: apt-get install libliquid-dev (Debian/Ubuntu; built without libfec, so no convolutional codes), ' +
  'or build it with libfec (docs/benchmarks.md, "Radio PHY", peer) and pass --liquid-prefix DIR';

/** A file of the repository, found by walking up from this module (dist/src/cli/ or src/cli/). */
function repositoryFile(...parts: string[]): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const c = join(d, ...parts);
    if (existsSync(c)) return c;
    d = dirname(d);
  }
  throw new Error(`${parts.join('/')} not found next to this build`);
}

const peerSource = (): string => repositoryFile('scripts', 'bench', 'liquid-peer.c');

/** Compiles scripts/bench/liquid-peer.c into `dir`; throws a UsageError naming the install when liquid is missing. */
export function buildLiquidPeer(dir: string, liquidPrefix?: string): string {
  const flags: string[] = [];
  if (liquidPrefix !== undefined) {
    const p = resolve(liquidPrefix);
    if (!existsSync(join(p, 'include', 'liquid', 'liquid.h'))) throw new UsageError(`no ${join(p, 'include', 'liquid', 'liquid.h')}: ${INSTALL_HINT}`);
    // DT_RPATH (not RUNPATH) so that libliquid's own dependency (libfec.so in the same prefix) is found too
    flags.push(`-I${join(p, 'include')}`, `-L${join(p, 'lib')}`, `-Wl,-rpath,${join(p, 'lib')}`, '-Wl,--disable-new-dtags');
  }
  const out = join(dir, 'liquid-peer');
  const r = spawnSync('gcc', ['-O2', '-o', out, peerSource(), ...flags, '-lliquid', '-lm'], { encoding: 'utf8' });
  if (r.error) throw new UsageError(`gcc not found (${r.error.message}); --peer liquid compiles scripts/bench/liquid-peer.c with gcc. ${INSTALL_HINT}`);
  if (r.status !== 0) {
    const err = r.stderr ?? '';
    if (/liquid\/liquid\.h|cannot find -lliquid|lliquid/.test(err)) throw new UsageError(`${INSTALL_HINT} (gcc: ${err.trim().split('\n')[0]})`);
    throw new Error(`compiling liquid-peer.c failed: ${err.trim()}`);
  }
  return out;
}

function runPeer(bin: string, args: string[]): { code: number; json: Record<string, unknown> } {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`liquid-peer ${args[0]} failed (status ${r.status}): ${(r.stderr ?? '').trim()}`);
  }
  return { code: r.status ?? -1, json };
}

function round(v: number, d: number): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}

/** Our file: 128-byte QPSK 1/2 bytes frames, `duty` of the samples in frames, AWGN at snrDb in-band. */
function ourFile(samples: number, duty: number, payloadBytes: number, snrDb: number): { iq: Float32Array; frames: number; frameSamples: number; samplesPerFrame: number } {
  const layout = makeLayout({ sampleRateHz: 2e6 });
  const occ = layout.numUsed / layout.fftSize;
  const tx = new OfdmModulator(layout);
  const rng = new Rng(7);
  const one = tx.modulateBytes(rng.bytes(payloadBytes), { sequence: 0, modulation: Modulation.QPSK, codeRate: CodeRate.R1_2 });
  const flen = one.length >> 1;
  const gap = duty >= 1 ? 0 : Math.round((flen * (1 - duty)) / duty);
  const count = Math.max(1, Math.floor(samples / (flen + gap)));
  const frames: Float32Array[] = [];
  for (let i = 0; i < count; i++) frames.push(tx.modulateBytes(rng.bytes(payloadBytes), { sequence: i & 0xffff, modulation: Modulation.QPSK, codeRate: CodeRate.R1_2 }));
  const b = burst(frames, gap).iq; // gap before each frame and after the last
  const iq = new Float32Array(2 * samples);
  iq.set(b.subarray(0, Math.min(b.length, iq.length)), 0);
  let p = 0;
  for (const f of frames) for (let i = 0; i < f.length; i++) p += f[i]! * f[i]!;
  const pmean = p / (count * flen);
  addNoise(iq, pmean / (Math.pow(10, snrDb / 10) * occ), new Rng(8));
  return { iq, frames: count, frameSamples: count * flen, samplesPerFrame: flen };
}

function timeOurs(iq: Float32Array, passes: number) {
  let best = Infinity;
  let frames = 0;
  let ok = 0;
  const block = 1 << 16;
  for (let pass = 0; pass <= passes; pass++) {
    const r = new StreamReceiver({});
    let n = 0;
    let good = 0;
    const c0 = process.cpuUsage();
    for (let o = 0; o < iq.length; o += 2 * block) {
      for (const f of r.push(iq.subarray(o, Math.min(iq.length, o + 2 * block)))) {
        n++;
        if (f.crcOk) good++;
      }
    }
    for (const f of r.flush()) {
      n++;
      if (f.crcOk) good++;
    }
    const c = process.cpuUsage(c0);
    if (pass > 0) best = Math.min(best, (c.user + c.system) / 1e6);
    frames = n;
    ok = good;
  }
  return { best_cpu_s: round(best, 4), msps_cpu: round(iq.length / 2 / best / 1e6, 2), frames_detected: frames, payloads_valid: ok };
}


/**
 * The whole `dekag modem rx --in FILE --json` as a user runs it (a new Node process: start-up, imports,
 * file reading, decoding, JSON lines out), best of `passes`. Its CPU is what the command reports on its
 * stderr summary line (`cpu_s`, the process's own user + system time just before it exits).
 */
function timeCommand(file: string, samples: number, passes: number) {
  let best = Infinity;
  let frames = 0;
  let ok = 0;
  for (let pass = 0; pass < passes; pass++) {
    const r = spawnSync(process.execPath, [repositoryFile('bin', 'dekag.js'), 'modem', 'rx', '--in', file, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const summary = /dekag modem rx: (\d+) frame\(s\); (\{.*\})/.exec(r.stderr ?? '');
    if (r.status !== 0 || !summary) throw new Error(`dekag modem rx failed (exit ${r.status}): ${(r.stderr ?? '').slice(-400)}`);
    const cpu = Number((JSON.parse(summary[2]!) as { cpu_s: number }).cpu_s);
    best = Math.min(best, cpu);
    const lines = r.stdout.split('\n').filter(Boolean);
    frames = lines.length;
    ok = lines.filter((l) => (JSON.parse(l) as { crc_ok: boolean }).crc_ok).length;
  }
  return { best_cpu_s: round(best, 4), msps_cpu: round(samples / best / 1e6, 2), frames_detected: frames, payloads_valid: ok };
}

/** Runs both receivers; throws a UsageError (naming the install) when liquid or gcc is missing. */
export function peerLiquid(o: PeerOptions) {
  const duty = o.duty ?? 0.5;
  const snrDb = o.snrDb ?? 20;
  const payloadBytes = o.payloadBytes ?? 128;
  const passes = o.passes ?? 3;
  const log = o.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'dekag-peer-'));
  try {
    log('compiling scripts/bench/liquid-peer.c ...');
    const bin = buildLiquidPeer(dir, o.liquidPrefix);
    let fec: PeerFec = o.fec ?? 'v27';
    const lfile = join(dir, 'liquid.cf32');
    const genArgs = (f: PeerFec) => ['gen', lfile, String(o.samples), String(duty), String(payloadBytes), String(snrDb), f, '1'];
    log(`liquid file (${o.samples} samples, fec ${fec}) ...`);
    let gen = runPeer(bin, genArgs(fec));
    if (gen.code === 3 && o.fec === undefined) {
      fec = 'h84';
      log('this liquid-dsp has no convolutional codes (built without libfec): the peer runs Hamming(8,4) r1/2 instead');
      gen = runPeer(bin, genArgs(fec));
    }
    if (gen.code === 3) throw new UsageError(`${String(gen.json.error)}; build liquid-dsp with libfec (docs/benchmarks.md, "Radio PHY", peer) and pass --liquid-prefix DIR, or --peer-fec h84|none`);
    if (gen.code !== 0) throw new Error(`liquid-peer gen failed: ${JSON.stringify(gen.json)}`);
    log('liquid receive ...');
    const lrx = runPeer(bin, ['rx', lfile, fec, String(passes)]);
    if (lrx.code !== 0) throw new Error(`liquid-peer rx failed: ${JSON.stringify(lrx.json)}`);
    rmSync(lfile, { force: true });
    log('our file ...');
    const ours = ourFile(o.samples, duty, payloadBytes, snrDb);
    const ofile = join(dir, 'ours.cf32');
    writeFileSync(ofile, new Uint8Array(ours.iq.buffer, ours.iq.byteOffset, ours.iq.byteLength));
    log('our whole command (dekag modem rx) ...');
    const cmd = timeCommand(ofile, o.samples, passes);
    const buf = readFileSync(ofile);
    rmSync(ofile, { force: true });
    const iq = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
    log('our receive ...');
    const ot = timeOurs(iq, passes);
    const l = lrx.json as { best_cpu_s: number; msps_cpu: number; frames_detected: number; headers_valid: number; payloads_valid: number };
    // the ratios from the rates as the JSON reports them (rounded), so that a reader gets the same quotient
    const peerMsps = round(l.msps_cpu, 2);
    const lg = gen.json as { frames: number; frame_samples: number; samples_per_frame: number; duty: number; occupied_fraction: number };
    return {
      bench: 'phy-peer',
      peer: {
        name: 'liquid-dsp ofdmflexframesync',
        version: String(lrx.json.version ?? ''),
        prefix: o.liquidPrefix ?? 'system',
        fec,
        fec_description: fec === 'v27' ? 'K=7 r1/2 convolutional, soft Viterbi (libfec)' : fec === 'h84' ? 'Hamming(8,4) r1/2, hard decision (liquid built-in; not a Viterbi)' : 'none (uncoded)',
        msps_cpu: peerMsps,
        best_cpu_s: round(l.best_cpu_s, 4),
        frames: lg.frames,
        samples_per_frame: lg.samples_per_frame,
        duty: round(lg.duty, 4),
        occupied_fraction: lg.occupied_fraction,
        frames_detected: l.frames_detected,
        headers_valid: l.headers_valid,
        payloads_valid: l.payloads_valid,
      },
      ours: {
        name: 'dekag StreamReceiver',
        fec: 'K=7 r1/2 convolutional, soft Viterbi',
        msps_cpu: ot.msps_cpu,
        best_cpu_s: ot.best_cpu_s,
        frames: ours.frames,
        samples_per_frame: ours.samplesPerFrame,
        duty: round(ours.frameSamples / o.samples, 4),
        frames_detected: ot.frames_detected,
        payloads_valid: ot.payloads_valid,
      },
      ours_command: {
        name: 'dekag modem rx --in FILE --json (a new process: start-up, reading, decoding, output)',
        ...cmd,
      },
      ratio: round(ot.msps_cpu / peerMsps, 3),
      ratio_definition: 'ours.msps_cpu / peer.msps_cpu (samples per second of process CPU time of the receive loop, best pass)',
      ratio_command: round(cmd.msps_cpu / peerMsps, 3),
      ratio_command_definition: "ours_command.msps_cpu / peer.msps_cpu: our whole command, start-up included, against liquid's receive loop alone",
      like_for_like: fec === 'v27',
      caveat:
        (fec === 'v27' ? '' : `the peer decoded ${fec === 'h84' ? 'Hamming(8,4) (hard decision)' : 'uncoded frames'}, ours a soft Viterbi: not like for like. `) +
        'The two files differ in waveform (each receiver gets its own: neither decodes the other\'s frames) but share the recipe: samples, share of samples in frames, payload bytes, QPSK, code rate, in-band SNR.',
      file: { samples: o.samples, duty, payload_bytes: payloadBytes, modulation: 'qpsk', code_rate: fec === 'none' ? '1/2 (ours; the peer uncoded)' : '1/2', snr_db: snrDb, channel: 'awgn', fft_size: 64, cp_length: 16, format: 'cf32' },
      passes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
