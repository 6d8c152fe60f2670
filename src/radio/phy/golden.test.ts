/**
 * Golden decode: a fixed stream (bytes frames of every modulation and code rate, JSCC symbol frames,
 * AWGN from 2 to 25 dB, EPA fading, CFO, SRO, a DC offset, frames whose payload CRC fails) is decoded
 * with both equalizers and the digest of every frame's bytes, symbols, SNR, EVM, CFO, channel and flags
 * is compared against the value recorded before the receive-loop optimisations (issue 18). Any change to
 * what the receiver decodes or estimates, down to the last float bit, changes the digest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EncodeScratch, OfdmModulator, payloadCodedBits, payloadPointsFromScrambledBits } from './transmitter.js';
import { bytesToBits, scramble } from './bits.js';
import { planPayload, scramblerSeed } from './framing.js';
import { PayloadKind } from './header.js';
import { StreamReceiver } from './receiver.js';
import { Modulation } from './constellation.js';
import { CodeRate } from './convcode.js';
import { makeLayout } from './params.js';
import { randomPoints } from './testkit.js';
import { Rng } from '../channel/rng.js';
import { ChannelSimulator } from '../channel/simulator.js';
import type { RxFrame } from './demodulator.js';

const FS = 2e6;
const layout = makeLayout({ sampleRateHz: FS });

function goldenStream(): Float32Array {
  const tx = new OfdmModulator(layout);
  const rng = new Rng(1234);
  const parts: Float32Array[] = [];
  const mods = [Modulation.BPSK, Modulation.QPSK, Modulation.QAM16, Modulation.QAM64];
  const rates = [CodeRate.R1_2, CodeRate.R2_3, CodeRate.R3_4, CodeRate.R5_6];
  const snrs = [4, 8, 12, 16, 22, 30];
  let seq = 0;
  let seed = 100;
  for (const snr of snrs) {
    for (let i = 0; i < 6; i++) {
      const frames: Float32Array[] = [];
      if (i % 3 === 2) {
        const m = mods[(i + snr) % 3]!;
        frames.push(tx.modulateSymbols(randomPoints(300 + 37 * i, m, seed++).points, { modulation: m, sequence: seq++ & 0xffff }));
      } else {
        const m = mods[(i + snr) % 4]!;
        const r = rates[(i * 3 + snr) % 4]!;
        frames.push(tx.modulateBytes(rng.bytes(20 + 41 * i), { modulation: m, codeRate: r, sequence: seq++ & 0xffff }));
      }
      // gap of silence before and after, then the channel
      const gap = 200 + 61 * i;
      const f = frames[0]!;
      const iq = new Float32Array(f.length + 4 * gap);
      iq.set(f, 2 * gap);
      const ch = new ChannelSimulator({
        seed: seed++,
        sampleRateHz: FS,
        snrDb: snr,
        cfoPpm: (i - 2.5) * 4,
        carrierHz: 2.4e9,
        sroPpm: i === 4 ? 50 : 0,
        fading: i === 3 ? { profile: 'EPA', maxDopplerHz: 5 } : undefined,
        dcOffset: i === 1 ? { re: 0.02, im: -0.01 } : undefined,
      });
      parts.push(ch.run(iq).rx);
    }
  }
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function frameDigest(frames: RxFrame[]): string {
  const h = createHash('sha256');
  const f64 = new Float64Array(1);
  const num = (x: number) => {
    f64[0] = x;
    h.update(new Uint8Array(f64.buffer));
  };
  for (const f of frames) {
    h.update(JSON.stringify(f.header));
    for (const x of [f.startSample, f.lengthSamples, f.crcOk ? 1 : 0, f.snrDb, f.evmDb, f.cfoHz, f.noiseVar, f.signalPower, f.snrDof]) num(x);
    num(f.flags.dataAided ? 1 : 0);
    num(f.flags.timingSlips);
    num(f.flags.lowSnr ? 1 : 0);
    num(f.flags.syncQuality);
    h.update(f.equalizer);
    for (const a of [f.channel, f.subcarrierGainDb, f.symbols, f.symbolGain, f.symbolNoiseVar]) {
      if (a) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      else h.update('-');
    }
    if (f.bytes) h.update(f.bytes);
    else h.update('-');
  }
  return h.digest('hex');
}

function decode(iq: Float32Array, equalizer: 'zf' | 'mmse', block: number): { digest: string; count: number; ok: number; stats: string } {
  const r = new StreamReceiver({ equalizer, emitFailedFrames: true });
  const frames: RxFrame[] = [];
  for (let o = 0; o < iq.length; o += 2 * block) frames.push(...r.push(iq.subarray(o, Math.min(iq.length, o + 2 * block))));
  frames.push(...r.flush());
  return { digest: frameDigest(frames), count: frames.length, ok: frames.filter((f) => f.crcOk).length, stats: JSON.stringify(r.stats) };
}

const GOLDEN: Record<string, { digest: string; count: number; ok: number }> = {
  'zf/4096': { digest: 'db0bd9a1b336d7b0bf1334b0e73e7b35a16b50182ebbce277155d6f5d96af97b', count: 36, ok: 25 },
  'mmse/65536': { digest: '732b73c343a165842209a7cfc0e064f802d10cda072ac58a7729dbb8b49de658', count: 36, ok: 25 },
  'zf/777': { digest: 'db0bd9a1b336d7b0bf1334b0e73e7b35a16b50182ebbce277155d6f5d96af97b', count: 36, ok: 25 },
};

test('golden decode: frames, symbols and SNR estimates are bit-identical to the recorded digest', () => {
  const iq = goldenStream();
  const got: Record<string, { digest: string; count: number; ok: number }> = {};
  for (const [eq, block] of [['zf', 4096], ['mmse', 65536], ['zf', 777]] as const) {
    const d = decode(iq, eq, block);
    got[`${eq}/${block}`] = { digest: d.digest, count: d.count, ok: d.ok };
  }
  if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(got, null, 2));
  assert.deepEqual(got, GOLDEN);
});

test('payload points re-encoded from the scrambled decoder bits equal mapBits(payloadCodedBits(...))', () => {
  const rng = new Rng(77);
  const scratch = new EncodeScratch();
  for (const m of [Modulation.BPSK, Modulation.QPSK, Modulation.QAM16, Modulation.QAM64, Modulation.QAM256]) {
    for (const r of [CodeRate.R1_2, CodeRate.R2_3, CodeRate.R3_4, CodeRate.R5_6]) {
      for (const len of [1, 17, 200, 1000]) {
        const plan = planPayload(layout, PayloadKind.Bytes, m, r, len);
        const payload = rng.bytes(len);
        const seq = rng.nextU32() & 0xffff;
        const nRe = plan.numSymbols * layout.numData;
        const want = new Float32Array(2 * nRe);
        plan.constellation.mapBits(payloadCodedBits(plan, payload, seq), 0, nRe, want, 0);
        const bits = bytesToBits(payload);
        scramble(bits, scramblerSeed(seq));
        const got = new Float32Array(2 * nRe);
        payloadPointsFromScrambledBits(plan, bits, got, scratch);
        assert.deepEqual(got, want, `${m}/${r}/${len}`);
      }
    }
  }
});
