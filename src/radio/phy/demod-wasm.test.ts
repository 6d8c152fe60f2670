import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fft } from './fft.js';
import { DemodKernels } from './demod-wasm.js';
import { Rng } from '../channel/rng.js';
import { Modulation, constellation, type Constellation } from './constellation.js';
import { makeLayout } from './params.js';
import { interleaverInverse } from './bits.js';

/** Kernel tables for tests that do not acquire (no LTS, a token window). */
function tablesFor(n: number, u: number, pilotIndex: Int32Array, dataIndex: Int32Array) {
  return { pilotIndex, dataIndex, ltsFreq: new Float32Array(u), ltsTime: new Float32Array(2 * n), winFloats: 2 };
}

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
    const kernel = DemodKernels.create(fft, { usedBin: used, usedSc: used, numPilots: 4, pilotPos: Int32Array.of(0, 1, 2, 3), numData: used.length, dataPos: used.map((_, i) => i), rxScale: scale, symbolLength: n + 16 }, tablesFor(n, used.length, new Int32Array(used.length).fill(-1), new Int32Array(used.length).fill(-1)));
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
      kernel.args.set(args);
      kernel.fftAt(buf, from, got);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `n ${n}, trial ${trial}`);
      compared++;
    }
  }
  assert.equal(compared, 42);
});

/** demodSymbol's carrier pass in JavaScript (the loop the kernel replaces), returning (sr, si). */
function jsCarriers(out: Float32Array, usedSc: Int32Array, invH: Float32Array, h2: Float32Array, pilotIndex: Int32Array, pilotVals: number[], cons: Constellation, c: number, s: number, dc: number, ds: number): [number, number] {
  let prevK = usedSc[0]!;
  let sr = 0;
  let si = 0;
  const bpsk = cons.modulation === Modulation.BPSK;
  for (let k = 0; k < usedSc.length; k++) {
    while (prevK < usedSc[k]!) {
      const nc = c * dc - s * ds;
      s = c * ds + s * dc;
      c = nc;
      prevK++;
    }
    const y0r = out[2 * k]!;
    const y0i = out[2 * k + 1]!;
    const yr = y0r * c - y0i * s;
    const yi = y0r * s + y0i * c;
    out[2 * k] = yr;
    out[2 * k + 1] = yi;
    const fyr = Math.fround(yr);
    const fyi = Math.fround(yi);
    const ir = invH[2 * k]!;
    const ii = invH[2 * k + 1]!;
    const er = fyr * ir - fyi * ii;
    const ei = fyr * ii + fyi * ir;
    let xr: number;
    let xi: number;
    const j = pilotIndex[k]!;
    if (j >= 0) {
      xr = pilotVals[j]!;
      xi = 0;
    } else if (bpsk) {
      xr = 2 * +(er >= 0) - 1;
      xi = 0;
    } else {
      xr = cons.sliceCoord(er);
      xi = cons.sliceCoord(ei);
    }
    const w = h2[k]!;
    sr += w * (er * xr + ei * xi);
    si += w * (ei * xr - er * xi);
  }
  return [sr, si];
}

test('the WebAssembly carrier pass and rotation equal demodSymbol\'s JavaScript bit for bit, every modulation', () => {
  const rng = new Rng(22);
  const n = 64;
  const fft = new Fft(n);
  // 52 used carriers, two steps across DC (as the layout's), four pilots
  const usedSc = Int32Array.from({ length: 52 }, (_, i) => (i < 26 ? i - 26 : i - 25));
  const usedBin = usedSc.map((k) => (k + n) % n);
  const pilotIndex = new Int32Array(52).fill(-1);
  [5, 19, 32, 46].forEach((k, j) => (pilotIndex[k] = j));
  const kernels = DemodKernels.create(fft, { usedBin, usedSc, numPilots: 4, pilotPos: Int32Array.of(5, 19, 32, 46), numData: 48, dataPos: Int32Array.from({ length: 52 }, (_, i) => i).filter((k) => pilotIndex[k]! < 0), rxScale: 0.125, symbolLength: 80 }, tablesFor(n, 52, pilotIndex, new Int32Array(52).fill(-1)));
  assert.ok(kernels);
  const f64bits = (v: number): string => Array.from(new Uint32Array(new Float64Array([v]).buffer)).join(':');
  let sliced = 0;
  for (const mod of [Modulation.BPSK, Modulation.QPSK, Modulation.QAM16, Modulation.QAM64, Modulation.QAM256]) {
    const cons = constellation(mod);
    for (let trial = 0; trial < 8; trial++) {
      const y = Float32Array.from({ length: 104 }, () => {
        const r = rng.nextU32() % 12;
        // noise, exact zeros, NaN, values far beyond the outer levels (the slicer's clamp and +-2e9 branch)
        return r === 0 ? 0 : r === 1 ? -0 : r === 2 && trial > 5 ? NaN : r === 3 ? 3e9 * (rng.nextU32() & 1 ? 1 : -1) : 1.2 * rng.gaussian();
      });
      for (let i = 0; i < 104; i++) kernels.invH[i] = rng.gaussian();
      for (let i = 0; i < 52; i++) kernels.h2[i] = Math.abs(rng.gaussian());
      const pilotVals = [1, -1, 1, rng.nextU32() & 1 ? 1 : -1];
      const ph = rng.gaussian();
      const b = 0.05 * rng.gaussian();
      const args = [Math.cos(ph), Math.sin(ph), Math.cos(b), -Math.sin(b)] as const;
      const want = Float32Array.from(y);
      const [sr, si] = jsCarriers(want, usedSc, kernels.invH, kernels.h2, pilotIndex, pilotVals, cons, ...args);
      kernels.sym.set(y);
      pilotVals.forEach((v, j) => (kernels.pilotVals[j] = v));
      kernels.args.set(args, 2);
      const sums = kernels.carriers(kernels.sym, cons);
      assert.deepEqual(new Uint32Array(kernels.sym.buffer, kernels.sym.byteOffset, 104), new Uint32Array(want.buffer), `${mod} trial ${trial}: rotated carriers`);
      assert.equal(f64bits(sums[0]!), f64bits(sr), `${mod} trial ${trial}: sr`);
      assert.equal(f64bits(sums[1]!), f64bits(si), `${mod} trial ${trial}: si`);
      // the final common-phase rotation
      const rc = Math.cos(ph / 3);
      const rs = -Math.sin(ph / 3);
      for (let k = 0; k < 52; k++) {
        const yr = want[2 * k]!;
        const yi = want[2 * k + 1]!;
        want[2 * k] = yr * rc - yi * rs;
        want[2 * k + 1] = yr * rs + yi * rc;
      }
      kernels.args[0] = rc;
      kernels.args[1] = rs;
      kernels.rotate(kernels.sym);
      assert.deepEqual(new Uint32Array(kernels.sym.buffer, kernels.sym.byteOffset, 104), new Uint32Array(want.buffer), `${mod} trial ${trial}: rotation`);
      sliced++;
    }
  }
  assert.equal(sliced, 40);
});

test('the WebAssembly symbol LLRs equal symbolLlrs / demapLlrTo bit for bit, every modulation', () => {
  const rng = new Rng(23);
  const layout = makeLayout({ sampleRateHz: 2e6 });
  const pilotIndex = new Int32Array(layout.numUsed).fill(-1);
  for (let j = 0; j < layout.numPilots; j++) pilotIndex[layout.pilotPos[j]!] = j;
  const dataIndex = new Int32Array(layout.numUsed).fill(-1);
  for (let d = 0; d < layout.numData; d++) dataIndex[layout.dataPos[d]!] = d;
  const kernels = DemodKernels.create(new Fft(layout.fftSize), layout, tablesFor(layout.fftSize, layout.numUsed, pilotIndex, dataIndex));
  assert.ok(kernels);
  let checked = 0;
  for (const mod of [Modulation.BPSK, Modulation.QPSK, Modulation.QAM16, Modulation.QAM64, Modulation.QAM256, Modulation.QPSK]) {
    const cons = constellation(mod);
    const ncbps = layout.numData * cons.bitsPerSymbol;
    const inv = interleaverInverse(ncbps, cons.bitsPerSymbol);
    for (let trial = 0; trial < 6; trial++) {
      for (let i = 0; i < kernels.sym.length; i++) {
        const r = rng.nextU32() % 16;
        kernels.sym[i] = r === 0 ? NaN : r === 1 ? 1e30 : r === 2 ? -0 : rng.gaussian();
      }
      for (let i = 0; i < kernels.invH.length; i++) kernels.invH[i] = rng.gaussian();
      // |H|^2 including zeros (the 1e-30 floor) and tiny values (huge LLRs: the clamp)
      for (let i = 0; i < kernels.h2.length; i++) kernels.h2[i] = rng.nextU32() % 7 === 0 ? 0 : rng.nextU32() % 5 === 0 ? 1e-9 : Math.abs(rng.gaussian());
      const nv = trial === 5 ? 0 : 0.05 + Math.abs(rng.gaussian());
      const want = new Float32Array(ncbps + 10).fill(7);
      for (let d = 0; d < layout.numData; d++) {
        const k = layout.dataPos[d]!;
        const yr = kernels.sym[2 * k]!;
        const yi = kernels.sym[2 * k + 1]!;
        const ir = kernels.invH[2 * k]!;
        const ii = kernels.invH[2 * k + 1]!;
        const h2 = Math.max(kernels.h2[k]!, 1e-30);
        cons.demapLlrTo(yr * ir - yi * ii, yr * ii + yi * ir, nv / h2, want, 5, inv, d * cons.bitsPerSymbol);
      }
      const got = new Float32Array(ncbps + 10).fill(7);
      kernels.args[0] = nv;
      kernels.llrs(cons, got, 5, inv);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `modulation ${mod}, trial ${trial}`);
      checked++;
    }
  }
  assert.equal(checked, 36);
});
