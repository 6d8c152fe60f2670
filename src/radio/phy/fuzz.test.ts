import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OfdmModulator } from './transmitter.js';
import { StreamReceiver } from './receiver.js';
import { Modulation } from './constellation.js';
import { CodeRate } from './convcode.js';
import { PhyPayloadError } from './errors.js';
import { Rng } from '../channel/rng.js';

test('fuzz: random IQ of every kind never throws and yields no frames', () => {
  const rng = new Rng(12345);
  for (let trial = 0; trial < 40; trial++) {
    const r = new StreamReceiver({ dcBlock: trial % 2 === 0 });
    const n = 1 + (rng.nextU32() % 30000);
    const iq = new Float32Array(n);
    const kind = trial % 5;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      iq[i] =
        kind === 0 ? rng.gaussian() * 10 ** (rng.uniform() * 12 - 6)
        : kind === 1 ? (u < 0.01 ? NaN : u < 0.02 ? Infinity : u < 0.03 ? -1e38 : rng.gaussian())
        : kind === 2 ? (i % 64 < 32 ? 1 : -1) // periodic garbage that can trigger Schmidl-Cox
        : kind === 3 ? 0
        : Math.sin(i * 0.3) * 100;
    }
    let off = 0;
    const frames = [];
    while (off < n) {
      const len = rng.nextU32() % 5000;
      frames.push(...r.push(iq.subarray(off, off + len)));
      off += len;
    }
    frames.push(...r.flush());
    assert.equal(frames.filter((f) => f.crcOk && f.header.payloadKind === 0).length, 0, `trial ${trial}`);
  }
});

test('fuzz: random bytes read as cf32 never throw', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 20; trial++) {
    const bytes = rng.bytes(4 * (1000 + (rng.nextU32() % 40000)));
    const iq = new Float32Array(bytes.buffer);
    const r = new StreamReceiver({});
    r.push(iq);
    r.flush();
    assert.ok(r.stats.samples > 0);
  }
});

test('fuzz: random payload bytes with random modulation/rate survive a clean loopback; corrupted frames never throw', () => {
  const rng = new Rng(77);
  const tx = new OfdmModulator({});
  for (let trial = 0; trial < 12; trial++) {
    const payload = rng.bytes(rng.nextU32() % 700);
    const modulation = (rng.nextU32() % 5) as Modulation;
    const codeRate = (rng.nextU32() % 4) as CodeRate;
    const f = tx.modulateBytes(payload, { modulation, codeRate, sequence: trial });
    const iq = new Float32Array(f.length + 4000);
    iq.set(f, 2000);
    const r = new StreamReceiver({});
    const frames = [...r.push(iq), ...r.flush()];
    assert.equal(frames.length, 1, `trial ${trial} mod ${modulation} rate ${codeRate}`);
    assert.deepEqual(frames[0]!.bytes, payload);
    // now smash random samples of the same frame (header included)
    for (let k = 0; k < 50; k++) iq[rng.nextU32() % iq.length] = rng.gaussian() * 50;
    const r2 = new StreamReceiver({});
    for (const fr of [...r2.push(iq), ...r2.flush()]) assert.ok(fr.crcOk ? fr.bytes!.length === payload.length : true);
  }
});

test('transmitter rejects bad requests with typed errors', () => {
  const tx = new OfdmModulator({ maxPayloadLength: 100 });
  assert.throws(() => tx.modulateBytes(new Uint8Array(101)), PhyPayloadError);
  assert.throws(() => tx.modulateSymbols(new Float32Array(3)), PhyPayloadError);
  assert.throws(() => tx.modulateSymbols(Float32Array.of(NaN, 0)), PhyPayloadError);
  assert.throws(() => tx.modulateBytes(new Uint8Array(1), { sequence: 70000 }), /sequence must be 0..65535/);
  assert.throws(() => new OfdmModulator({ fftSize: 48 }), /power of two/);
});
