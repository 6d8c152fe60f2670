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
