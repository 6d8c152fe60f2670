import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fft } from './fft.js';
import { WasmFftAt } from './fft-wasm.js';
import { Rng } from '../channel/rng.js';

/** What FrameDemodulator.fftAt does in JavaScript: derotate into bit-reversed order, stages, gather. */
function jsFftAt(fft: Fft, used: Int32Array, scale: number, buf: Float32Array, from: number, c: number, s: number, dc: number, ds: number): Float32Array {
  const n = fft.size;
  const fb = new Float32Array(2 * n);
  for (let i = 0, a = from; i < n; i++, a += 2) {
    const o = 2 * fft.rev[i]!;
    fb[o] = buf[a]! * c - buf[a + 1]! * s;
    fb[o + 1] = buf[a]! * s + buf[a + 1]! * c;
    const nc = c * dc - s * ds;
    s = c * ds + s * dc;
    c = nc;
  }
  fft.forwardBitReversed(fb);
  const out = new Float32Array(2 * used.length);
  for (let u = 0; u < used.length; u++) {
    out[2 * u] = fb[2 * used[u]!]! * scale;
    out[2 * u + 1] = fb[2 * used[u]! + 1]! * scale;
  }
  return out;
}

test('the WebAssembly fftAt equals the JavaScript derotate + FFT + gather bit for bit', () => {
  const rng = new Rng(21);
  let compared = 0;
  for (const n of [2, 4, 8, 16, 64, 128, 256]) {
    const fft = new Fft(n);
    // used bins in a scattered order, as the layout's (negative carriers wrap to the top)
    const used = Int32Array.from({ length: Math.max(1, n - 12) }, (_, i) => (i * 7 + 3) % n);
    const scale = 1 / Math.sqrt(n) + 1e-3;
    const kernel = WasmFftAt.create(fft, used, scale);
    assert.ok(kernel, 'Node >= 20 has WebAssembly SIMD: the kernel must exist');
    for (let trial = 0; trial < 6; trial++) {
      const buf = new Float32Array(2 * n + 40);
      for (let i = 0; i < buf.length; i++) {
        // noise, exact zeros of both signs, repeated values (exact cancellations), huge and tiny values
        const r = rng.nextU32() % 10;
        buf[i] = r === 0 ? 0 : r === 1 ? -0 : r === 2 ? 0.5 : r === 3 ? (rng.nextU32() & 1 ? 3e38 : 1e-40) : rng.gaussian();
      }
      const from = 2 * (trial * 3);
      const omega = trial === 0 ? 0 : 0.37 * rng.gaussian();
      const ph = -omega * (trial * 11 - 5);
      const args = [Math.cos(ph), Math.sin(ph), Math.cos(omega), -Math.sin(omega)] as const;
      const want = jsFftAt(fft, used, scale, buf, from, ...args);
      const got = new Float32Array(2 * used.length);
      kernel.run(buf, from, ...args, got);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `n ${n}, trial ${trial}`);
      compared++;
    }
  }
  assert.equal(compared, 42);
});
