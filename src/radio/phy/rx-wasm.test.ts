import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RxSampleMemory } from './rx-wasm.js';
import { SchmidlCoxDetector, type SyncEvent } from './detector.js';
import { OfdmModulator } from './transmitter.js';
import { makeLayout } from './params.js';
import { burst } from './testkit.js';
import { Rng } from '../channel/rng.js';
import { addNoise } from '../channel/awgn.js';

const bitsOf = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

test('the WebAssembly DC pass equals StreamReceiver\'s JavaScript loop bit for bit (bad values, signed zeros, sums)', () => {
  const rng = new Rng(31);
  const mem = new RxSampleMemory(4096, true);
  assert.ok(mem.kernels, 'Node >= 20 has WebAssembly SIMD: the kernels must run');
  const specials = [NaN, Infinity, -Infinity, 1e30, -1e30, 9.9e29, 3e38, -0, 0, 1e-45];
  let badSeen = 0;
  for (let trial = 0; trial < 20; trial++) {
    const n = 1 + (rng.nextU32() % 64);
    const p = rng.nextU32() % 1000;
    const input = Float32Array.from({ length: 2 * n }, () => (rng.nextU32() % 9 === 0 ? specials[rng.nextU32() % specials.length]! : 0.3 * rng.gaussian() + 0.05));
    const dr = 0.01 * rng.gaussian();
    const di = trial === 0 ? 0 : 0.01 * rng.gaussian();
    // the JavaScript (StreamReceiver.append's loop)
    const raw = Float32Array.from(input);
    const buf = new Float32Array(2 * n);
    let sr = 0;
    let si = 0;
    let bad = 0;
    for (let i = 0, o = 0; i < n; i++, o += 2) {
      let xr = raw[o]!;
      let xi = raw[o + 1]!;
      if (!(Math.abs(xr) < 1e30)) {
        xr = 0;
        raw[o] = 0;
        bad++;
      }
      if (!(Math.abs(xi) < 1e30)) {
        xi = 0;
        raw[o + 1] = 0;
        bad++;
      }
      sr += xr;
      si += xi;
      buf[o] = xr - dr;
      buf[o + 1] = xi - di;
    }
    mem.raw.set(input, 2 * p);
    mem.args[0] = dr;
    mem.args[1] = di;
    const gotBad = mem.dc(p, n);
    assert.equal(gotBad, bad, `trial ${trial}: bad values`);
    assert.deepEqual(bitsOf(mem.raw.subarray(2 * p, 2 * p + 2 * n)), bitsOf(raw), `trial ${trial}: raw`);
    assert.deepEqual(bitsOf(mem.buf.subarray(2 * p, 2 * p + 2 * n)), bitsOf(buf), `trial ${trial}: buf`);
    assert.ok(Object.is(mem.sums()[0], sr) && Object.is(mem.sums()[1], si), `trial ${trial}: sums`);
    badSeen += bad;
  }
  assert.ok(badSeen > 10, 'the trials must contain bad values');
});

test('the detector finds the same events with its WebAssembly search loop as with the JavaScript one', () => {
  const layout = makeLayout({ sampleRateHz: 2e6 });
  const tx = new OfdmModulator(layout);
  const rng = new Rng(32);
  const frames = Array.from({ length: 6 }, (_, i) => tx.modulateBytes(rng.bytes(40 + 30 * i), { sequence: i }));
  const iq = burst(frames, 3000).iq;
  addNoise(iq, 0.02, new Rng(33));
  const history = new SchmidlCoxDetector(layout).history + 1;
  const mem = new RxSampleMemory(iq.length + 2 * history, false);
  assert.ok(mem.kernels);
  const plain = new Float32Array(iq.length + 2 * history);
  mem.buf.set(iq, 2 * history);
  plain.set(iq, 2 * history);
  const run = (buf: Float32Array, withKernels: boolean): SyncEvent[] => {
    const det = new SchmidlCoxDetector(layout);
    if (withKernels) det.useKernels(mem);
    det.reset(buf, -history, 0);
    const events: SyncEvent[] = [];
    const end = (iq.length >> 1) - 1;
    // in uneven pieces, as a stream arrives
    for (let stop = 0; stop < end; ) {
      stop = Math.min(end, stop + 777);
      for (let ev = det.run(buf, -history, stop); ev; ev = det.run(buf, -history, stop)) events.push(ev);
    }
    return events;
  };
  const js = run(plain, false);
  const wasm = run(mem.buf, true);
  assert.equal(js.length, 6, 'every frame detected once');
  assert.deepEqual(wasm, js);
});

test('RxSampleMemory.grow keeps the live samples of both buffers, again and again', () => {
  for (const withRaw of [true, false]) {
    const mem = new RxSampleMemory(1000, withRaw);
    const live = Float32Array.from({ length: 600 }, (_, i) => i + 0.5);
    mem.buf.set(live, 300);
    if (withRaw) mem.raw.set(live.map((v) => -v), 300);
    let size = 1000;
    for (let g = 0; g < 4; g++) {
      size = 2 * size + 2 * 65536; // past the memory's current pages
      mem.grow(size, 300, 900);
      assert.equal(mem.buf.length, size);
      assert.deepEqual(Array.from(mem.buf.subarray(0, 600)), Array.from(live), `grow ${g}: buf`);
      if (withRaw) assert.deepEqual(Array.from(mem.raw.subarray(0, 600)), Array.from(live.map((v) => -v)), `grow ${g}: raw`);
      // the kernels work on the new buffers
      if (withRaw) {
        mem.raw.set(live.map((v) => -v), 300);
        mem.args[0] = 0.25;
        mem.args[1] = 0;
        mem.dc(150, 2);
        assert.equal(mem.buf[300], Math.fround(-live[0]! - 0.25));
      }
      mem.buf.set(live, 300);
    }
  }
});
