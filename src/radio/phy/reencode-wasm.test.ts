import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PointEncoder } from './reencode-wasm.js';
import { EncodeScratch, payloadPointsFromScrambledBits } from './transmitter.js';
import { planPayload } from './framing.js';
import { PayloadKind } from './header.js';
import { Modulation } from './constellation.js';
import { CodeRate } from './convcode.js';
import { makeLayout } from './params.js';
import { Rng } from '../channel/rng.js';

test('the WebAssembly re-encoder gives payloadPointsFromScrambledBits\' points bit for bit (every modulation, rate, size)', () => {
  const layout = makeLayout({ sampleRateHz: 2e6 });
  const enc = PointEncoder.create();
  assert.ok(enc, 'Node >= 20 has WebAssembly: the encoder must exist');
  const scratch = new EncodeScratch();
  const rng = new Rng(41);
  let compared = 0;
  // sizes out of order: the encoder's memory grows and its cached tables must follow
  for (const len of [1, 17, 4000, 200, 0, 1000]) {
    for (const m of [Modulation.BPSK, Modulation.QPSK, Modulation.QAM16, Modulation.QAM64, Modulation.QAM256]) {
      for (const r of [CodeRate.R1_2, CodeRate.R2_3, CodeRate.R3_4, CodeRate.R5_6]) {
        const plan = planPayload(layout, PayloadKind.Bytes, m, r, Math.max(1, len));
        const bits = Uint8Array.from({ length: 8 * Math.max(1, len) }, () => rng.nextU32() & 1);
        const nRe = plan.numSymbols * layout.numData;
        const want = new Float32Array(2 * nRe + 4).fill(9);
        payloadPointsFromScrambledBits(plan, bits, want, scratch);
        const got = new Float32Array(2 * nRe + 4).fill(9);
        enc.encode(plan, bits, got);
        assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `${m}/${r}/${len}`);
        compared++;
      }
    }
  }
  assert.equal(compared, 120);
});
