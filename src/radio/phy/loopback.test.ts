import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OfdmModulator } from './transmitter.js';
import { StreamReceiver } from './receiver.js';
import { Modulation } from './constellation.js';
import { CodeRate } from './convcode.js';
import { PayloadKind } from './header.js';
import { makeLayout } from './params.js';
import { burst, randomPoints, runChannel } from './testkit.js';
import { Rng } from '../channel/rng.js';
import type { ChannelConfig } from '../channel/simulator.js';

const FS = 2e6;

function roundTripBytes(mod: Modulation, rate: CodeRate, snrDb: number, extra: Partial<ChannelConfig> = {}, seed = 1, count = 3) {
  const tx = new OfdmModulator({});
  const rng = new Rng(seed);
  const payloads = Array.from({ length: count }, () => rng.bytes(120));
  const { iq } = burst(
    payloads.map((p, i) => tx.modulateBytes(p, { modulation: mod, codeRate: rate, sequence: i, sessionId: 7 })),
    700,
  );
  const { rx } = runChannel(iq, { seed: seed + 100, sampleRateHz: FS, snrDb, ...extra });
  const r = new StreamReceiver({});
  const frames = [...r.push(rx), ...r.flush()];
  return { payloads, frames, stats: r.stats };
}

test('bytes round trip for every constellation at a sufficient SNR (AWGN)', () => {
  const cases: [Modulation, CodeRate, number][] = [
    [Modulation.BPSK, CodeRate.R1_2, 4],
    [Modulation.QPSK, CodeRate.R1_2, 8],
    [Modulation.QAM16, CodeRate.R1_2, 14],
    [Modulation.QAM64, CodeRate.R2_3, 21],
    [Modulation.QAM256, CodeRate.R3_4, 29],
  ];
  for (const [m, rate, snr] of cases) {
    const { payloads, frames, stats } = roundTripBytes(m, rate, snr, {}, m + 1);
    assert.equal(frames.length, payloads.length, `mod ${m} at ${snr} dB: ${JSON.stringify(stats)}`);
    frames.forEach((f, i) => {
      assert.equal(f.crcOk, true);
      assert.deepEqual(f.bytes, payloads[i]);
      assert.equal(f.header.sequence, i);
      assert.equal(f.header.sessionId, 7);
      assert.equal(f.header.modulation, m);
      assert.ok(Math.abs(f.snrDb - snr) < 1, `snr ${f.snrDb} vs ${snr}`);
    });
  }
});

test('at -5 dB nothing decodes, and nothing throws', () => {
  const { frames, stats } = roundTripBytes(Modulation.QAM64, CodeRate.R3_4, -5);
  assert.equal(frames.length, 0);
  assert.ok(stats.samples > 0);
});

test('JSCC symbols arrive equalized with per-symbol gain and noise; SER is zero at 36 dB', () => {
  for (const m of [Modulation.QPSK, Modulation.QAM16, Modulation.QAM64, Modulation.QAM256]) {
    const { points, indices } = randomPoints(1000, m, m);
    const tx = new OfdmModulator({});
    const { iq } = burst([tx.modulateSymbols(points, { modulation: m, sequence: 3 })], 500);
    const { rx } = runChannel(iq, { seed: 11 + m, sampleRateHz: FS, snrDb: 36 });
    for (const equalizer of ['zf', 'mmse'] as const) {
      const r = new StreamReceiver({ equalizer });
      const frames = [...r.push(rx), ...r.flush()];
      assert.equal(frames.length, 1);
      const f = frames[0]!;
      assert.equal(f.header.payloadKind, PayloadKind.Symbols);
      assert.equal(f.header.payloadLength, 1000);
      assert.equal(f.crcOk, true, `mod ${m} ${equalizer} snr ${f.snrDb}`);
      assert.equal(f.symbols!.length, 2000);
      assert.equal(f.symbolGain!.length, 1000);
      let mse = 0;
      for (let i = 0; i < 1000; i++) {
        mse += (f.symbols![2 * i]! - points[2 * i]!) ** 2 + (f.symbols![2 * i + 1]! - points[2 * i + 1]!) ** 2;
        assert.ok(f.symbolNoiseVar![i]! > 0 && f.symbolNoiseVar![i]! < 0.01);
      }
      assert.ok(mse / 1000 < 0.01, `mse ${mse / 1000}`);
      assert.equal(indices.length, 1000);
    }
  }
});

test('frames decode with CFO +-20 ppm at 2.4 GHz and sample-rate offset +-20 ppm', () => {
  for (const cfoPpm of [-20, 20]) {
    for (const sroPpm of [-20, 20]) {
      const { payloads, frames, stats } = roundTripBytes(Modulation.QPSK, CodeRate.R1_2, 12, { cfoPpm, carrierHz: 2.4e9, sroPpm }, 5);
      assert.equal(frames.length, payloads.length, `cfo ${cfoPpm} sro ${sroPpm}: ${JSON.stringify(stats)}`);
      for (const f of frames) assert.ok(Math.abs(f.cfoHz - cfoPpm * 2400) < 1000, `cfo estimate ${f.cfoHz}`);
    }
  }
});

test('a long frame with +-40 ppm SRO is kept in its cyclic prefix by window slips', () => {
  const tx = new OfdmModulator({});
  const payload = new Rng(9).bytes(6000); // QPSK 1/2: ~1000 symbols, 80k samples: 3.2 samples of drift at 40 ppm
  for (const sroPpm of [-40, 40]) {
    const { iq } = burst([tx.modulateBytes(payload, { modulation: Modulation.QPSK })], 300);
    const { rx } = runChannel(iq, { seed: 3, sampleRateHz: FS, snrDb: 25, sroPpm });
    const r = new StreamReceiver({});
    const frames = [...r.push(rx), ...r.flush()];
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0]!.bytes, payload);
    assert.ok(frames[0]!.flags.timingSlips >= 3, `slips ${frames[0]!.flags.timingSlips}`);
  }
});

test('multipath fading with Doppler, phase noise, IQ imbalance, DC offset and 8-bit ADCs', () => {
  const configs: Partial<ChannelConfig>[] = [
    { fading: { profile: 'epa', maxDopplerHz: 5 } },
    { fading: { profile: 'eva', maxDopplerHz: 70 } },
    { phaseNoiseLinewidthHz: 100, iqImbalance: { amplitudeDb: 0.5, phaseDeg: 2 }, dcOffset: { re: 0.3, im: -0.2 }, quantization: 'cu8' },
    { cfoPpm: 15, carrierHz: 2.4e9, quantization: 'ci8', timingOffsetSamples: 37.4 },
  ];
  configs.forEach((cfg, i) => {
    const { payloads, frames, stats } = roundTripBytes(Modulation.QPSK, CodeRate.R1_2, 22, cfg, 20 + i);
    assert.equal(frames.length, payloads.length, `config ${i}: ${JSON.stringify(stats)}`);
    frames.forEach((f, j) => assert.deepEqual(f.bytes, payloads[j]));
  });
});

test('other numerologies: 1 Msps / 128-point FFT and 20 Msps / 256-point FFT', () => {
  for (const params of [
    { sampleRateHz: 1e6, fftSize: 128, cpLength: 32 },
    { sampleRateHz: 20e6, fftSize: 256, cpLength: 32 },
    { sampleRateHz: 5e6, fftSize: 32, cpLength: 8 },
  ]) {
    const layout = makeLayout(params);
    const tx = new OfdmModulator(params);
    const payload = new Rng(4).bytes(200);
    const { iq } = burst([tx.modulateBytes(payload, { modulation: Modulation.QAM16 })], 600);
    const { rx } = runChannel(iq, {
      seed: 8,
      sampleRateHz: params.sampleRateHz,
      snrDb: 20,
      occupiedFraction: layout.numUsed / layout.fftSize,
      cfoPpm: 10,
      carrierHz: 2.4e9,
    });
    const r = new StreamReceiver({ params });
    const frames = [...r.push(rx), ...r.flush()];
    assert.equal(frames.length, 1, JSON.stringify(params));
    assert.deepEqual(frames[0]!.bytes, payload);
    assert.ok(Math.abs(frames[0]!.cfoHz - 24000) < 500, `cfo ${frames[0]!.cfoHz}`);
  }
});
