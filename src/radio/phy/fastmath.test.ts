import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hypot2, roundClampIndex, roundHalfUp } from './fastmath.js';

let seed = 99;
function rnd(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
}

/** Values around every half-integer (ties, one ulp either side) and random values at many scales. */
function probeValues(): number[] {
  const v: number[] = [0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994, 4503599627370495.5];
  for (let k = -40; k <= 40; k++) {
    const h = k + 0.5;
    v.push(h, h + Number.EPSILON * Math.max(1, Math.abs(h)), h - Number.EPSILON * Math.max(1, Math.abs(h)));
  }
  for (let i = 0; i < 200_000; i++) v.push((rnd() - 0.5) * 10 ** Math.floor(rnd() * 8 - 2));
  return v;
}

test('roundHalfUp returns Math.round for ties, near-ties and random values (only -0 becomes +0)', () => {
  for (const x of probeValues()) {
    const want = Math.round(x);
    const got = roundHalfUp(x);
    assert.ok(got === want, `x=${x}: ${got} != ${want}`);
  }
});

test('roundClampIndex is min(max(Math.round(x), 0), max) with NaN -> 0, also for huge and infinite x', () => {
  const ref = (x: number, max: number): number => {
    let l = Math.round(x);
    if (!(l >= 0)) l = 0;
    if (l > max) l = max;
    return l;
  };
  const extra = [NaN, Infinity, -Infinity, 1e300, -1e300, 2 ** 31, -(2 ** 31), 2 ** 31 - 0.5, 3e9, -3e9];
  for (const max of [1, 3, 7, 15]) {
    for (const x of [...probeValues(), ...extra]) {
      const got = roundClampIndex(x, max);
      assert.ok(got === ref(x, max), `x=${x} max=${max}: ${got} != ${ref(x, max)}`);
      assert.ok(Number.isInteger(got) && got >= 0 && got <= max);
    }
  }
});

test('hypot2 returns the same double as Math.hypot (the receiver relies on it for bit-identical results)', () => {
  const special = [0, -0, NaN, Infinity, -Infinity, 5e-324, 1e-310, 1e308, -1e308, 1, -1];
  for (const x of special) for (const y of special) assert.ok(Object.is(hypot2(x, y), Math.hypot(x, y)), `(${x}, ${y})`);
  for (let i = 0; i < 300_000; i++) {
    const e = Math.floor(rnd() * 60) - 30;
    const x = (rnd() - 0.5) * 10 ** e;
    const y = (rnd() - 0.5) * 10 ** (e + Math.floor(rnd() * 10) - 5);
    assert.ok(Object.is(hypot2(x, y), Math.hypot(x, y)), `(${x}, ${y}): ${hypot2(x, y)} != ${Math.hypot(x, y)}`);
  }
  // no overflow or underflow where the naive formula has it
  assert.ok(Math.abs(hypot2(3e200, 4e200) / 5e200 - 1) < 1e-15);
  assert.ok(Math.abs(hypot2(3e-200, 4e-200) / 5e-200 - 1) < 1e-15);
});
