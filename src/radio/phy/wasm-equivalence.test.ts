/**
 * The receiver with its WebAssembly kernels (the default) against the same receiver in plain JavaScript
 * (`wasm: false`), on streams the golden test does not hold: every modulation and code rate including
 * 256-QAM, JSCC symbol frames, AWGN from 0 to 35 dB, EPA fading, CFO, SRO, DC offsets, a 4095-byte frame
 * (the sample buffer grows), bursts of NaN, infinities and huge values, garbage, both equalizers and
 * odd push sizes. Every frame field and every statistic must be the same, bit for bit.
 */
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { OfdmModulator } from './transmitter.js';
import { StreamReceiver } from './receiver.js';
import { Modulation } from './constellation.js';
import { CodeRate } from './convcode.js';
import { makeLayout } from './params.js';
import { burst, randomPoints } from './testkit.js';
import { Rng } from '../channel/rng.js';
import { ChannelSimulator } from '../channel/simulator.js';
import { addNoise } from '../channel/awgn.js';
import type { RxFrame } from './demodulator.js';

const FS = 2e6;

function stream(seed: number): Float32Array {
  const layout = makeLayout({ sampleRateHz: FS });
  const tx = new OfdmModulator(layout);
  const rng = new Rng(seed);
  const mods = [Modulation.BPSK, Modulation.QPSK, Modulation.QAM16, Modulation.QAM64, Modulation.QAM256];
  const rates = [CodeRate.R1_2, CodeRate.R2_3, CodeRate.R3_4, CodeRate.R5_6];
  const parts: Float32Array[] = [];
  for (let i = 0; i < 22; i++) {
    const m = mods[rng.nextU32() % mods.length]!;
    const frame =
      i % 5 === 4
        ? tx.modulateSymbols(randomPoints(100 + (rng.nextU32() % 500), m, seed + i).points, { modulation: m, sequence: i })
        : tx.modulateBytes(rng.bytes(i === 7 ? 4095 : 1 + (rng.nextU32() % 300)), { modulation: m, codeRate: rates[rng.nextU32() % 4]!, sequence: i });
    const gap = 100 + (rng.nextU32() % 900);
    const iq = new Float32Array(frame.length + 4 * gap);
    iq.set(frame, 2 * gap);
    const ch = new ChannelSimulator({
      seed: seed * 100 + i,
      sampleRateHz: FS,
      snrDb: rng.nextU32() % 36,
      cfoPpm: 20 * rng.gaussian(),
      carrierHz: 2.4e9,
      sroPpm: i % 6 === 1 ? 60 : 0,
      fading: i % 4 === 3 ? { profile: 'EPA', maxDopplerHz: 5 } : undefined,
      dcOffset: i % 3 === 0 ? { re: 0.03 * rng.gaussian(), im: 0.03 * rng.gaussian() } : undefined,
    });
    parts.push(ch.run(iq).rx);
    if (i % 7 === 2) {
      // garbage and bad values between frames
      const junk = Float32Array.from({ length: 2000 }, (_, k) => (k % 97 === 0 ? NaN : k % 89 === 0 ? Infinity : k % 83 === 0 ? -3e35 : 2 * rng.gaussian()));
      parts.push(junk);
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

function decode(iq: Float32Array, wasm: boolean, equalizer: 'zf' | 'mmse', sizes: number[]): { frames: RxFrame[]; stats: unknown } {
  const r = new StreamReceiver({ equalizer, emitFailedFrames: true, wasm });
  const frames: RxFrame[] = [];
  for (let o = 0, k = 0; o < iq.length; k++) {
    const n = 2 * sizes[k % sizes.length]! + (k % 3 === 0 ? 1 : 0); // odd float counts too
    frames.push(...r.push(iq.subarray(o, Math.min(iq.length, o + n))));
    o += n;
  }
  frames.push(...r.flush());
  return { frames, stats: { ...r.stats } };
}

for (const [seed, equalizer] of [[5, 'zf'], [6, 'mmse']] as const) {
  test(`WebAssembly and JavaScript receivers decode the same frames, bit for bit (seed ${seed}, ${equalizer})`, () => {
    const iq = stream(seed);
    const sizes = [1000, 37, 65536, 4096, 513];
    const js = decode(iq, false, equalizer, sizes);
    const wasm = decode(iq, true, equalizer, sizes);
    assert.ok(js.frames.length >= 15, `only ${js.frames.length} frames: the comparison would prove little`);
    assert.ok(js.frames.some((f) => !f.crcOk) && js.frames.some((f) => f.crcOk), 'both good and failed frames');
    assert.ok((js.stats as { badSamples: number }).badSamples > 0, 'bad values were in the stream');
    assert.deepEqual(wasm.stats, js.stats);
    assert.equal(wasm.frames.length, js.frames.length);
    for (let i = 0; i < js.frames.length; i++) {
      // deepEqual treats NaN as equal to NaN and compares typed arrays element by element (-0 vs 0 too)
      assert.deepStrictEqual(wasm.frames[i], js.frames[i], `frame ${i}`);
    }
  });
}

test('a runtime without WebAssembly gets the JavaScript loops and the same frames', () => {
  const iq = stream(7).subarray(0, 2 * 200_000);
  const want = decode(iq, true, 'zf', [4096]);
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly')!;
  Object.defineProperty(globalThis, 'WebAssembly', { value: undefined, configurable: true, writable: true });
  let got: ReturnType<typeof decode>;
  try {
    got = decode(iq, true, 'zf', [4096]);
  } finally {
    Object.defineProperty(globalThis, 'WebAssembly', saved);
  }
  assert.ok(want.frames.length >= 3);
  assert.deepEqual(got.stats, want.stats);
  assert.deepStrictEqual(got.frames, want.frames);
});

test('a process whose policy refuses to compile WebAssembly (a strict CSP) decodes the same frames', () => {
  // a fresh process, so no module was compiled before the refusal
  const here = new URL('.', import.meta.url).href;
  const script = `
    WebAssembly.Module = function () { throw new Error('refused by policy'); };
    const { StreamReceiver } = await import('${here}receiver.js');
    const { OfdmModulator } = await import('${here}transmitter.js');
    const { makeLayout } = await import('${here}params.js');
    const { burst } = await import('${here}testkit.js');
    const { Rng } = await import('${here}../channel/rng.js');
    const { addNoise } = await import('${here}../channel/awgn.js');
    const tx = new OfdmModulator(makeLayout({ sampleRateHz: 2e6 }));
    const rng = new Rng(71);
    const iq = burst([0, 1, 2, 3].map((i) => tx.modulateBytes(rng.bytes(50 + 40 * i), { sequence: i })), 900).iq;
    addNoise(iq, 0.01, new Rng(72));
    const r = new StreamReceiver({});
    const frames = [...r.push(iq), ...r.flush()];
    console.log(JSON.stringify(frames.map((f) => [f.header.sequence, f.crcOk, f.snrDb, f.cfoHz, Array.from(f.channel)])));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as unknown[];
  const tx = new OfdmModulator(makeLayout({ sampleRateHz: 2e6 }));
  const rng = new Rng(71);
  const iq = burst([0, 1, 2, 3].map((i) => tx.modulateBytes(rng.bytes(50 + 40 * i), { sequence: i })), 900).iq;
  addNoise(iq, 0.01, new Rng(72));
  const rx = new StreamReceiver({});
  const want = [...rx.push(iq), ...rx.flush()].map((f) => [f.header.sequence, f.crcOk, f.snrDb, f.cfoHz, Array.from(f.channel)]);
  assert.equal(want.length, 4);
  assert.deepEqual(got, JSON.parse(JSON.stringify(want)));
});
