import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fft } from './fft.js';
import { PhyConfigError } from './errors.js';

function naiveDft(x: Float32Array, sign: number): Float64Array {
  const n = x.length >> 1;
  const out = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    for (let t = 0; t < n; t++) {
      const a = (sign * 2 * Math.PI * k * t) / n;
      out[2 * k] += x[2 * t]! * Math.cos(a) - x[2 * t + 1]! * Math.sin(a);
      out[2 * k + 1] += x[2 * t]! * Math.sin(a) + x[2 * t + 1]! * Math.cos(a);
    }
  }
  return out;
}

test('FFT matches a naive DFT (forward and inverse) for several sizes', () => {
  for (const n of [2, 16, 64, 256]) {
    const x = new Float32Array(2 * n);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 1.7) + 0.3 * Math.cos(i * i * 0.01);
    for (const sign of [-1, 1]) {
      const ref = naiveDft(x, sign);
      const y = Float32Array.from(x);
      const f = new Fft(n);
      if (sign < 0) f.forward(y);
      else f.inverse(y);
      for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i]! - ref[i]!) < 1e-3 * Math.sqrt(n), `n=${n} i=${i}`);
    }
  }
});

test('FFT at an offset leaves the rest of the buffer alone; inverse(forward(x)) = N x', () => {
  const n = 64;
  const buf = new Float32Array(2 * (n + 10)).map((_, i) => (i % 7) - 3);
  const orig = Float32Array.from(buf);
  const f = new Fft(n);
  f.forward(buf, 5);
  f.inverse(buf, 5);
  for (let i = 0; i < buf.length; i++) {
    const inside = i >= 10 && i < 10 + 2 * n;
    assert.ok(Math.abs(buf[i]! - (inside ? n * orig[i]! : orig[i]!)) < 1e-3, `i=${i}`);
  }
});

test('FFT rejects sizes that are not powers of two', () => {
  assert.throws(() => new Fft(48), PhyConfigError);
  assert.throws(() => new Fft(1), PhyConfigError);
});

test('fast FFT equals the reference radix-2 bit for bit (every size, both directions, at an offset)', () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  for (let bits = 1; bits <= 10; bits++) {
    const n = 1 << bits;
    const f = new Fft(n);
    for (let trial = 0; trial < 3; trial++) {
      const x = new Float32Array(2 * (n + 3));
      // mixed magnitudes exercise float32 rounding at every stage
      for (let i = 0; i < x.length; i++) x[i] = rnd() * (trial === 2 ? 10 ** Math.floor(rnd() * 8) : 1);
      for (const sign of [-1, 1] as const) {
        const fast = Float32Array.from(x);
        const ref = Float32Array.from(x);
        if (sign < 0) f.forward(fast, 3);
        else f.inverse(fast, 3);
        f.referenceTransform(ref, 3, sign);
        assert.deepEqual(fast, ref, `n=${n} sign=${sign} trial=${trial}`);
      }
      // forwardBitReversed on input stored at the permuted positions is the same transform
      const perm = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) {
        perm[2 * f.rev[i]!] = x[2 * i]!;
        perm[2 * f.rev[i]! + 1] = x[2 * i + 1]!;
      }
      f.forwardBitReversed(perm);
      const ref = x.slice(0, 2 * n);
      f.referenceTransform(ref, 0, -1);
      assert.deepEqual(perm, ref, `bit-reversed n=${n}`);
    }
  }
});
