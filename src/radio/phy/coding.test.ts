import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc16, crc32 } from './crc.js';
import { CodeRate, ViterbiDecoder, codedLength, convEncode } from './convcode.js';
import { Modulation, constellation, parseModulation } from './constellation.js';
import { PayloadKind, packHeader, unpackHeader } from './header.js';
import { bitsToBytes, bytesToBits, interleaverPermutation, scramble } from './bits.js';
import { Rng } from '../channel/rng.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('CRC check values', () => {
  assert.equal(crc32(ascii('123456789')), 0xcbf43926);
  assert.equal(crc16(ascii('123456789')), 0x29b1);
});

test('convolutional code: noiseless round trip at every rate, lengths as predicted', () => {
  const rng = new Rng(1);
  const v = new ViterbiDecoder();
  for (const rate of [CodeRate.R1_2, CodeRate.R2_3, CodeRate.R3_4, CodeRate.R5_6]) {
    const bits = new Uint8Array(301).map(() => rng.nextU32() & 1);
    const coded = convEncode(bits, rate);
    assert.equal(coded.length, codedLength(bits.length, rate));
    const llr = Float32Array.from(coded, (b) => (b ? -4 : 4));
    assert.deepEqual(v.decode(llr, bits.length, rate), bits);
  }
});

test('Viterbi corrects scattered hard errors (free distance 10 at rate 1/2)', () => {
  const rng = new Rng(2);
  const bits = new Uint8Array(500).map(() => rng.nextU32() & 1);
  const coded = convEncode(bits, CodeRate.R1_2);
  const llr = Float32Array.from(coded, (b) => (b ? -1 : 1));
  for (let i = 10; i < llr.length; i += 40) llr[i] = -llr[i]!; // 1 error every 40 coded bits
  assert.deepEqual(new ViterbiDecoder().decode(llr, bits.length, CodeRate.R1_2), bits);
});

test('soft Viterbi at Eb/N0 = 4 dB (BPSK, rate 1/2) has BER below 1e-3', () => {
  const rng = new Rng(3);
  const v = new ViterbiDecoder();
  let errors = 0;
  let total = 0;
  for (let t = 0; t < 5; t++) {
    const bits = new Uint8Array(2000).map(() => rng.nextU32() & 1);
    const coded = convEncode(bits, CodeRate.R1_2);
    const nv = 1 / (Math.pow(10, 0.4) * 0.5);
    const llr = Float32Array.from(coded, (b) => (4 * ((b ? -1 : 1) + Math.sqrt(nv / 2) * rng.gaussian())) / nv);
    const d = v.decode(llr, bits.length, CodeRate.R1_2);
    for (let i = 0; i < bits.length; i++) errors += d[i] !== bits[i] ? 1 : 0;
    total += bits.length;
  }
  assert.ok(errors / total < 1e-3, `BER ${errors / total}`);
});

test('constellations: unit energy, Gray neighbours, slicing and LLR signs', () => {
  for (const m of [Modulation.BPSK, Modulation.QPSK, Modulation.QAM16, Modulation.QAM64, Modulation.QAM256]) {
    const c = constellation(m);
    let e = 0;
    for (let i = 0; i < c.size; i++) e += c.points[2 * i]! ** 2 + c.points[2 * i + 1]! ** 2;
    assert.ok(Math.abs(e / c.size - 1) < 1e-6, `energy of ${m}`);
    const llr = new Float32Array(c.bitsPerSymbol);
    for (let i = 0; i < c.size; i++) {
      const re = c.points[2 * i]!;
      const im = c.points[2 * i + 1]!;
      assert.equal(c.nearestIndex(re * 1.01, im * 0.99), i);
      c.demapLlr(re, im, 0.1, llr, 0);
      for (let b = 0; b < c.bitsPerSymbol; b++) {
        const bit = (i >> (c.bitsPerSymbol - 1 - b)) & 1;
        assert.ok(bit ? llr[b]! < 0 : llr[b]! > 0, `mod ${m} point ${i} bit ${b}`);
      }
    }
    if (m >= Modulation.QAM16) {
      // Gray: horizontally adjacent points differ in exactly one bit
      const nl = c.levels.length;
      for (let l = 0; l + 1 < nl; l++) {
        const x = c.levelBits[l]! ^ c.levelBits[l + 1]!;
        assert.equal(x & (x - 1), 0);
      }
    }
  }
  assert.equal(parseModulation('16-QAM'), Modulation.QAM16);
  assert.throws(() => parseModulation('8psk'), /unknown modulation '8psk'/);
});

test('header round trip; any flipped bit is caught by the CRC', () => {
  const h = {
    frameType: 5,
    payloadKind: PayloadKind.Symbols,
    modulation: Modulation.QAM64,
    codeRate: CodeRate.R3_4,
    sessionId: 0xbeef,
    sequence: 4242,
    payloadLength: 123456,
    payloadCrc32: 0xdeadbeef,
  };
  const b = packHeader(h);
  assert.deepEqual(unpackHeader(b), h);
  for (let bit = 0; bit < b.length * 8; bit++) {
    const c = Uint8Array.from(b);
    c[bit >> 3] ^= 0x80 >> (bit & 7);
    assert.equal(unpackHeader(c), null, `bit ${bit}`);
  }
  assert.equal(unpackHeader(new Uint8Array(3)), null);
});

test('bits, scrambler and interleaver are invertible', () => {
  const bytes = ascii('DeKA-g radio');
  const bits = bytesToBits(bytes);
  const s = Uint8Array.from(bits);
  scramble(s, 17);
  assert.notDeepEqual(s, bits);
  scramble(s, 17);
  assert.deepEqual(bitsToBytes(s), bytes);
  for (const [n, bps] of [[48, 1], [96, 2], [192, 4], [288, 6], [384, 8]] as const) {
    const p = interleaverPermutation(n, bps);
    assert.equal(new Set(p).size, n);
    // consecutive coded bits land on different carriers
    for (let i = 0; i + 1 < n; i++) assert.notEqual(Math.floor(p[i]! / bps), Math.floor(p[i + 1]! / bps));
  }
});

test('the unrolled ACS step equals the trellis definition', async () => {
  const { acsStep } = await import('./viterbi-acs.js');
  const parity = (x: number): number => {
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return x & 1;
  };
  const rng = new Rng(5);
  for (let trial = 0; trial < 50; trial++) {
    const pm = Int32Array.from({ length: 64 }, () => (rng.nextU32() % 2000) - 1000);
    const l0 = (rng.nextU32() % 200) - 100;
    const l1 = (rng.nextU32() % 200) - 100;
    const nx = new Int32Array(64);
    const dec = new Int32Array(2);
    acsStep(pm, nx, l0 + l1, l0 - l1, dec, 0);
    for (let t = 0; t < 64; t++) {
      let best = -Infinity;
      let bestD = 0;
      for (const d of [0, 1]) {
        const p = (t >> 1) | (d << 5);
        const reg = (p << 1) | (t & 1);
        const c0 = parity(reg & 0o133);
        const c1 = parity(reg & 0o171);
        const m = pm[p]! + (c0 ? -l0 : l0) + (c1 ? -l1 : l1);
        if (m > best) {
          best = m;
          bestD = d;
        }
      }
      assert.equal(nx[t], best, `state ${t}`);
      const word = t < 32 ? dec[0]! : dec[1]!;
      // ties may pick either predecessor; only check decisions where the metrics differ
      const p0 = pm[t >> 1]!;
      const p1 = pm[(t >> 1) | 32]!;
      if (p0 !== p1) assert.equal((word >>> (t & 31)) & 1, bestD, `decision ${t}`);
    }
  }
});

/**
 * Plain loop Viterbi written from the trellis definition (no unrolling, no bit tricks), with the decoder's
 * documented conventions: LLRs quantized to round(8 llr) clamped to +-32767 (NaN and missing values are
 * erasures), punctured positions are erasures, a state takes the predecessor with oldest bit 1 only when
 * its metric is strictly larger, trace back from state 0. The fast decoder must agree bit for bit.
 */
function referenceViterbi(llr: Float32Array, infoBits: number, rate: CodeRate): Uint8Array {
  const masks = [[1, 1], [1, 1, 1, 0], [1, 1, 1, 0, 0, 1], [1, 1, 1, 0, 0, 1, 1, 0, 0, 1]][rate]!;
  const parity = (x: number): number => {
    let p = 0;
    for (; x; x &= x - 1) p ^= 1;
    return p;
  };
  const steps = infoBits + 6;
  const mother: number[] = [];
  let k = 0;
  for (let i = 0; i < 2 * steps; i++) {
    let q = 0;
    if (masks[i % masks.length] && k < llr.length) {
      const r = Math.round(llr[k++]! * 8);
      q = Number.isNaN(r) ? 0 : Math.max(-32767, Math.min(32767, r));
    }
    mother.push(q);
  }
  let pm = new Array<number>(64).fill(-(2 ** 40));
  pm[0] = 0;
  const decisions: number[][] = [];
  for (let s = 0; s < steps; s++) {
    const next = new Array<number>(64);
    const d = new Array<number>(64);
    for (let t = 0; t < 64; t++) {
      const cand = [0, 1].map((oldest) => {
        const p = (t >> 1) | (oldest << 5);
        const reg = (p << 1) | (t & 1);
        const c0 = parity(reg & 0o133);
        const c1 = parity(reg & 0o171);
        return pm[p]! + (c0 ? -mother[2 * s]! : mother[2 * s]!) + (c1 ? -mother[2 * s + 1]! : mother[2 * s + 1]!);
      });
      d[t] = cand[1]! > cand[0]! ? 1 : 0;
      next[t] = Math.max(cand[0]!, cand[1]!);
    }
    decisions.push(d);
    pm = next;
  }
  const out = new Uint8Array(infoBits);
  let state = 0;
  for (let s = steps - 1; s >= 0; s--) {
    if (s < infoBits) out[s] = state & 1;
    state = (state >> 1) | (decisions[s]![state]! << 5);
  }
  return out;
}

for (const simd of [true, false]) {
  test(`fast Viterbi (${simd ? 'WebAssembly SIMD' : 'scalar branch-free ACS'}) equals the plain trellis decoder bit for bit`, () => {
    const rng = new Rng(11);
    const v = new ViterbiDecoder({ simd });
    // Node >= 20 always has WebAssembly SIMD; the SIMD case must not silently test the scalar path
    assert.equal(v.usesSimd, simd);
    let checked = 0;
    let wrongBits = 0;
    for (const rate of [CodeRate.R1_2, CodeRate.R2_3, CodeRate.R3_4, CodeRate.R5_6]) {
      for (const sigma of [0.3, 0.8, 1.5]) {
        // noisy codewords: low sigma decodes cleanly, high sigma forces many close decisions
        const bits = new Uint8Array(400).map(() => rng.nextU32() & 1);
        const coded = convEncode(bits, rate);
        const llr = Float32Array.from(coded, (b) => (b ? -2 : 2) + 2 * sigma * rng.gaussian());
        const got = v.decode(llr, bits.length, rate);
        assert.deepEqual(got, referenceViterbi(llr, bits.length, rate), `rate ${rate} sigma ${sigma}`);
        for (let i = 0; i < bits.length; i++) wrongBits += got[i] !== bits[i] ? 1 : 0;
        checked++;
      }
      // pure noise, small integers (many exact ties), huge values, NaNs and a short input (erasures)
      const noise = Float32Array.from({ length: codedLength(300, rate) }, () => (rng.nextU32() % 7) / 8 - 0.375);
      assert.deepEqual(v.decode(noise, 300, rate), referenceViterbi(noise, 300, rate), `rate ${rate} ties`);
      const wild = Float32Array.from({ length: codedLength(300, rate) - 5 }, (_, i) =>
        i % 17 === 0 ? NaN : i % 13 === 0 ? (i & 1 ? 1e9 : -1e9) : 50 * rng.gaussian(),
      );
      assert.deepEqual(v.decode(wild, 300, rate), referenceViterbi(wild, 300, rate), `rate ${rate} wild`);
      checked += 2;
    }
    assert.equal(checked, 20);
    // the noisy cases did exercise wrong decisions (otherwise agreement would prove little)
    assert.ok(wrongBits > 0, 'no decoding errors at the highest noise level');
  });
}

test('SIMD Viterbi: long frames (memory growth, many renormalizations) and decoder reuse', () => {
  const rng = new Rng(12);
  const fast = new ViterbiDecoder();
  const scalar = new ViterbiDecoder({ simd: false });
  for (const n of [30000, 7, 0, 45000]) {
    const bits = new Uint8Array(n).map(() => rng.nextU32() & 1);
    const llr = Float32Array.from(convEncode(bits, CodeRate.R3_4), (b) => (b ? -3 : 3) + 4 * rng.gaussian());
    assert.deepEqual(fast.decode(llr, n, CodeRate.R3_4), scalar.decode(llr, n, CodeRate.R3_4), `${n} bits`);
  }
});

test('rate 1/2 inside WebAssembly (quantize, forward, traceback) equals the scalar decoder at the quantizer\'s edges', () => {
  const rng = new Rng(13);
  const fast = new ViterbiDecoder();
  const scalar = new ViterbiDecoder({ simd: false });
  assert.ok(fast.usesSimd);
  // values whose metric sits on a rounding tie (k/16: v = k/2), at and around the clamp (32767 / 8),
  // infinities, NaN, signed zeros, subnormals, and ordinary noisy LLRs
  const edges = [0.0625, -0.0625, 0.1875, -0.1875, 4095.875, -4095.875, 4095.9375, -4095.9375, 4096, -4096, 1e30, -1e30,
    Infinity, -Infinity, NaN, 0, -0, 1e-45, -1e-45, 0.0624999925, -0.0624999925];
  let differing = 0;
  for (const n of [300, 301, 17, 1, 0]) {
    const steps = n + 6;
    for (const extra of [0, -1, -7, 5]) {
      const len = Math.max(0, 2 * steps + extra);
      const llr = Float32Array.from({ length: len }, (_, i) => (i % 3 === 0 ? edges[rng.nextU32() % edges.length]! : 6 * rng.gaussian()));
      const got = fast.decode(llr, n, CodeRate.R1_2);
      const want = scalar.decode(llr, n, CodeRate.R1_2);
      assert.deepEqual(got, want, `${n} bits, ${len} LLRs`);
      assert.deepEqual(got, referenceViterbi(llr, n, CodeRate.R1_2), `${n} bits, ${len} LLRs (plain trellis)`);
      if (n > 0 && got.some((b, i) => b !== (i & 1))) differing++;
    }
  }
  assert.ok(differing > 0, 'every decode gave the same bits: the comparison would prove little');
  // a caller's longer output buffer keeps its bytes after infoBits
  const out = new Uint8Array(40).fill(7);
  fast.decode(Float32Array.from({ length: 2 * 36 }, () => rng.gaussian()), 30, CodeRate.R1_2, out.subarray(0, 30));
  assert.deepEqual([...out.subarray(30)], new Array(10).fill(7));
});

test('viterbi-acs.ts is exactly the output of its generator', async () => {
  const { generateAcsSource } = await import('./viterbi-acs-gen.js');
  const { readFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  // compiled test lives in <outDir>/src/radio/phy; the source in <repo>/src/radio/phy
  const here = fileURLToPath(new URL('.', import.meta.url));
  const src = readFileSync(`${here}/../../../../src/radio/phy/viterbi-acs.ts`, 'utf8');
  assert.equal(src, generateAcsSource());
});
