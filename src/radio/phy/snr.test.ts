import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OfdmModulator } from './transmitter.js';
import { StreamReceiver } from './receiver.js';
import { Modulation } from './constellation.js';
import { burst, randomPoints, runChannel } from './testkit.js';
import { Rng } from '../channel/rng.js';
import type { ChannelConfig } from '../channel/simulator.js';
import type { RxFrame } from './demodulator.js';

/**
 * Theory: the noise estimate is a chi-square with 2*dof real degrees of freedom, so its relative std is
 * 1/sqrt(dof); the SNR estimate S/N = P/N - 1 amplifies that by (1 + 1/snr). In dB: 4.34 (1 + 1/snr)/sqrt(dof).
 * Each frame must land within 4 of those sigmas (plus 0.05 dB of allowed bias), and the mean error over
 * the frames within 3 sigma / sqrt(frames) + 0.05 dB.
 */
function check(snrDb: number, frames: { snrDb: number; snrDof: number }[], label: string): void {
  let sum = 0;
  let sigmaMean = 0;
  for (const f of frames) {
    const snr = Math.pow(10, snrDb / 10);
    const sigma = (4.343 * (1 + 1 / snr)) / Math.sqrt(f.snrDof);
    sigmaMean += sigma / frames.length;
    const err = f.snrDb - snrDb;
    assert.ok(Math.abs(err) < 4 * sigma + 0.05, `${label}: estimate ${f.snrDb.toFixed(2)} dB vs ${snrDb} dB (sigma ${sigma.toFixed(3)}, dof ${f.snrDof})`);
    sum += err;
  }
  const tol = (3 * sigmaMean) / Math.sqrt(frames.length) + 0.05;
  assert.ok(Math.abs(sum / frames.length) < tol, `${label}: mean error ${(sum / frames.length).toFixed(3)} dB (tolerance ${tol.toFixed(3)})`);
}

function byteFramesThrough(snrDb: number, cfoPpm: number, seed: number, dcBlock = true): { snrDb: number; snrDof: number }[] {
  const tx = new OfdmModulator({});
  const rng = new Rng(seed);
  const frames = Array.from({ length: 6 }, (_, i) => tx.modulateBytes(rng.bytes(200), { sequence: i }));
  const { rx } = runChannel(burst(frames, 400).iq, { seed: seed + 1, sampleRateHz: 2e6, snrDb, cfoPpm, carrierHz: 2.4e9 });
  const r = new StreamReceiver({ emitFailedFrames: true, dcBlock });
  const got = [...r.push(rx), ...r.flush()];
  // at 0 dB the BPSK header itself is marginal: some frames are (correctly) not detected
  assert.ok(got.length >= (snrDb === 0 ? 2 : 5), `${snrDb} dB: only ${got.length} frames`);
  return got;
}

test('data-aided SNR estimate is accurate from 0 to 25 dB on byte frames (AWGN)', () => {
  for (const snrDb of [0, 5, 10, 15, 20, 25]) check(snrDb, byteFramesThrough(snrDb, 0, snrDb + 1), `bytes ${snrDb} dB`);
});

test('with a 10 ppm CFO at 2.4 GHz the SNR estimate stays within the 0.5 dB RMSE target', () => {
  // The product target; the tests below pin the DC blocker's share (none) and the estimator's (none).
  for (const snrDb of [0, 5, 10, 15, 20, 25]) {
    const errs = [1, 2, 3].flatMap((k) => byteFramesThrough(snrDb, 10, 100 * k + snrDb).map((f) => f.snrDb - snrDb));
    const rmse = Math.sqrt(errs.reduce((a, e) => a + e * e, 0) / errs.length);
    assert.ok(rmse <= 0.5, `${snrDb} dB with CFO: RMSE ${rmse.toFixed(3)} dB`);
  }
});

test('with the DC blocker off, the SNR estimate under a 10 ppm CFO meets the AWGN theory: the estimator is unbiased', () => {
  for (const snrDb of [15, 25]) check(snrDb, [1, 2].flatMap((k) => byteFramesThrough(snrDb, 10, 100 * k + snrDb, false)), `bytes ${snrDb} dB, 10 ppm, no DC blocker`);
});

/** The same channel output through a receiver with and without the DC blocker. */
function blockerOnOff(gap: number, seed: number, extra: Partial<ChannelConfig>): { on: RxFrame[]; off: RxFrame[] } {
  const tx = new OfdmModulator({});
  const rng = new Rng(seed);
  const frames = Array.from({ length: 4 }, (_, i) => tx.modulateBytes(rng.bytes(200), { sequence: i }));
  const { rx } = runChannel(burst(frames, gap).iq, { seed: seed + 1, sampleRateHz: 2e6, snrDb: 25, ...extra });
  const on = new StreamReceiver({ dcBlock: true });
  const off = new StreamReceiver({ dcBlock: false });
  return { on: [...on.push(rx), ...on.flush()], off: [...off.push(rx), ...off.flush()] };
}

test('the DC blocker holds its estimate over frames: under a 10 ppm CFO frames read the same SNR as with it off', () => {
  // A CFO moves the carriers next to DC towards 0 Hz; a DC estimate learned from the frame itself would
  // follow their content and subtracting it would distort the frame (before the hold: -1.05 dB mean for a
  // frame 300 samples into a stream, -0.06 dB mean once the blocker ran at its 8192-sample time constant).
  for (const gap of [300, 20000]) {
    const diffs: number[] = [];
    for (let seed = 1; seed <= 3; seed++) {
      const { on, off } = blockerOnOff(gap, seed, { cfoPpm: 10, carrierHz: 2.4e9 });
      assert.equal(on.length, 4);
      assert.equal(off.length, 4);
      on.forEach((f, i) => diffs.push(f.snrDb - off[i]!.snrDb));
    }
    for (const d of diffs) assert.ok(Math.abs(d) <= 0.1, `gap ${gap}: blocker on reads ${d.toFixed(3)} dB vs off`);
    const mean = diffs.reduce((a, d) => a + d, 0) / diffs.length;
    assert.ok(Math.abs(mean) <= 0.03, `gap ${gap}: mean difference ${mean.toFixed(3)} dB`);
  }
});

test('the DC blocker still removes a large DC offset (0.1 + 0.05j on unit-power frames): frames decode and read the true SNR', () => {
  const { on, off } = blockerOnOff(400, 9, { snrDb: 20, dcOffset: { re: 0.1, im: 0.05 } });
  assert.equal(on.length, 4);
  for (const f of on) assert.ok(f.crcOk);
  check(20, on, 'bytes 20 dB with DC offset');
  // the offset is large enough to matter: without the blocker frames are lost or read several dB low
  assert.ok(off.length < 4 || off.some((f) => f.snrDb < 18), `without the blocker: ${off.map((f) => f.snrDb.toFixed(2)).join(', ')}`);
});

test('SNR estimate on JSCC symbol frames (16-QAM), CRC passing or not', () => {
  const tx = new OfdmModulator({});
  for (const snrDb of [3, 12, 25]) {
    const frames = Array.from({ length: 5 }, (_, i) =>
      tx.modulateSymbols(randomPoints(1500, Modulation.QAM16, i + snrDb).points, { modulation: Modulation.QAM16, sequence: i }),
    );
    const { rx } = runChannel(burst(frames, 400).iq, { seed: 40 + snrDb, sampleRateHz: 2e6, snrDb });
    const r = new StreamReceiver({});
    const got = [...r.push(rx), ...r.flush()];
    assert.equal(got.length, 5);
    check(snrDb, got, `symbols ${snrDb} dB`);
  }
});

test('EVM tracks SNR at high SNR (EVM ~ -SNR minus the channel-estimate loss)', () => {
  const tx = new OfdmModulator({});
  const f = tx.modulateBytes(new Rng(5).bytes(400), { modulation: Modulation.QAM64 });
  const { rx } = runChannel(burst([f], 300).iq, { seed: 5, sampleRateHz: 2e6, snrDb: 28 });
  const r = new StreamReceiver({});
  const [fr] = [...r.push(rx), ...r.flush()];
  assert.ok(fr);
  assert.ok(fr.evmDb < -25 && fr.evmDb > -28.5, `evm ${fr.evmDb}`);
  // per-carrier gains of an AWGN channel are flat around 0 dB
  for (const g of fr.subcarrierGainDb) assert.ok(Math.abs(g) < 1, `gain ${g}`);
});
