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
