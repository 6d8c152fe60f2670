import assert from 'node:assert/strict';
import { test } from 'node:test';
import { qamLevels, quantizePoints } from '../gsc/jscc.js';
import { ModelStore } from '../gsc/models.js';
import { modelsDir } from '../gsc/testing.js';
import { constellation, Constellation, Modulation } from '../radio/phy/constellation.js';
import { codedLength } from '../radio/phy/convcode.js';
import { SeededRng } from '../util/rng.js';
import {
  allocateBits,
  bytesWithin,
  decodeLatent,
  DIGITAL_MCS_TABLE,
  encodeLatent,
  expectedMse,
  loadLatentKlt,
  nothingMse,
  parseKlt,
  bestDigitalPlan,
  deliveryProbability,
  MAX_DIGITAL_LOSS,
  MCS_CALIBRATION_SYMBOLS,
  type LatentKlt,
} from './digital-latent.js';
import { chooseLink, type LinkCurves } from './policy.js';

/** A KLT of a 16-dim source with decaying variances, in a random orthonormal basis (Gram-Schmidt). */
function toyKlt(dim = 16, seed = 1): LatentKlt {
  const rng = new SeededRng(seed);
  const basis = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    const v = Float64Array.from({ length: dim }, () => rng.normal());
    for (let j = 0; j < i; j++) {
      let d = 0;
      for (let k = 0; k < dim; k++) d += v[k]! * basis[j * dim + k]!;
      for (let k = 0; k < dim; k++) v[k]! -= d * basis[j * dim + k]!;
    }
    const norm = Math.hypot(...v);
    for (let k = 0; k < dim; k++) basis[i * dim + k] = v[k]! / norm;
  }
  const variance = Float64Array.from({ length: dim }, (_, i) => 4 * 0.7 ** i);
  const mean = Float64Array.from({ length: dim }, (_, i) => 0.1 * i);
  return { dim, mean, variance, basis };
}

/** A 256-dim source with slowly decaying variances in the identity basis: more bytes always help. */
function wideKlt(dim = 256): LatentKlt {
  const basis = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) basis[i * dim + i] = 1;
  return { dim, mean: new Float64Array(dim), variance: Float64Array.from({ length: dim }, (_, i) => 0.98 ** i), basis };
}

/** A unit-variance Laplacian draw: the source the coder's quantizers are designed for (generated latents). */
function laplace(rng: SeededRng): number {
  const u = rng.uniform() - 0.5;
  return (-Math.sign(u) * Math.log(1 - 2 * Math.abs(u))) / Math.SQRT2;
}

function sample(klt: LatentKlt, rng: SeededRng): Float32Array {
  const z = Float32Array.from(klt.mean);
  for (let i = 0; i < klt.dim; i++) {
    const c = Math.sqrt(klt.variance[i]!) * laplace(rng);
    for (let j = 0; j < klt.dim; j++) z[j]! += c * klt.basis[i * klt.dim + j]!;
  }
  return z;
}

test('bit allocation spends the whole budget, favours high-variance coefficients, and caps at 8 bits', () => {
  const v = Float64Array.of(16, 4, 1, 0.25);
  const bits = allocateBits(v, 10);
  assert.equal(bits.reduce((a, b) => a + b, 0), 10);
  for (let i = 1; i < v.length; i++) assert.ok(bits[i - 1]! >= bits[i]!, `more variance never gets fewer bits: ${[...bits]}`);
  assert.deepEqual([...allocateBits(v, 100)], [8, 8, 8, 8]);
  assert.deepEqual([...allocateBits(v, 0)], [0, 0, 0, 0]);
});

test('transform coding round trip: the measured distortion follows the prediction and shrinks with the budget', () => {
  const klt = toyKlt();
  const rng = new SeededRng(9);
  const mseAt = (bytes: number): number => {
    let se = 0;
    const n = 400;
    for (let t = 0; t < n; t++) {
      const z = sample(klt, rng);
      const payload = encodeLatent(klt, z, bytes);
      assert.equal(payload.length, bytes);
      const back = decodeLatent(klt, payload);
      for (let j = 0; j < klt.dim; j++) se += (back[j]! - z[j]!) ** 2;
    }
    return se / (n * klt.dim);
  };
  const coarse = mseAt(2);
  const fine = mseAt(8);
  assert.ok(fine < coarse / 4, `8 bytes (${fine}) should be far better than 2 (${coarse})`);
  for (const [bytes, measured] of [[2, coarse], [8, fine]] as const) {
    const predicted = expectedMse(klt, allocateBits(klt.variance, 8 * bytes));
    assert.ok(Math.abs(measured / predicted - 1) < 0.25, `${bytes} bytes: measured ${measured}, predicted ${predicted}`);
  }
});

test('a lost frame leaves the receiver with the mean latent', () => {
  const klt = toyKlt();
  assert.deepEqual([...decodeLatent(klt, null)], [...Float32Array.from(klt.mean)]);
});

test('bad KLT files and inputs are refused with what is wrong', () => {
  assert.throws(() => parseKlt('{nope', 'k.json'), /k\.json is not valid JSON/);
  assert.throws(() => parseKlt('{"latent_dim": 2, "mean": [0, 0], "variance": [1, "x"], "basis": [[1, 0], [0, 1]]}', 'k.json'), /'variance' must be a list of 2 finite numbers/);
  assert.throws(() => parseKlt('{"latent_dim": 2, "mean": [0, 0], "variance": [1, 1], "basis": [[1, 0]]}', 'k.json'), /'basis' must hold 2 rows/);
  const klt = toyKlt();
  assert.throws(() => encodeLatent(klt, new Float32Array(3), 4), /expected 16 values, got 3/);
  assert.throws(() => encodeLatent(klt, new Float32Array(16), 0), /byte budget must be a positive integer/);
});

test('MCS: faster schemes need more SNR and fit more bytes; the best plan trades quantization against losses', () => {
  const k = 256;
  let lastBytes = 0;
  let lastNeed = -Infinity;
  for (const m of DIGITAL_MCS_TABLE) {
    const bytes = bytesWithin(m, k);
    assert.ok(codedLength(8 * bytes, m.codeRate) <= k * constellation(m.modulation).bitsPerSymbol);
    assert.ok(codedLength(8 * (bytes + 1), m.codeRate) > k * constellation(m.modulation).bitsPerSymbol);
    assert.ok(bytes > lastBytes, `${m.label}: ${bytes} bytes after ${lastBytes}`);
    const fit = m.flat[m.flat.length - 1]!;
    assert.ok(fit.snr50Db > lastNeed);
    assert.ok(Math.abs(deliveryProbability(m, fit.snr50Db, bytes) - 0.5) < 1e-12);
    assert.ok(deliveryProbability(m, fit.snr50Db + 5, bytes) > 0.99 && deliveryProbability(m, fit.snr50Db - 5, bytes) < 0.01);
    // At each calibration size its own fit; a frame twice the largest its square; between two sizes, between
    // their probabilities; below the smallest, the smallest's fit.
    const sizes = MCS_CALIBRATION_SYMBOLS.map((s) => bytesWithin(m, s));
    const logistic = (x: number, f: { snr50Db: number; widthDb: number }): number => 1 / (1 + Math.exp(-(x - f.snr50Db) / f.widthDb));
    for (const [i, size] of sizes.entries()) {
      assert.ok(Math.abs(deliveryProbability(m, 12, size) - logistic(12, m.flat[i]!)) < 1e-12, `${m.label} ${size} bytes`);
      assert.ok(Math.abs(deliveryProbability(m, 12, size, true) - logistic(12, m.selective[i]!)) < 1e-12);
    }
    const p = deliveryProbability(m, fit.snr50Db + 1, sizes[sizes.length - 1]!);
    assert.ok(Math.abs(deliveryProbability(m, fit.snr50Db + 1, 2 * sizes[sizes.length - 1]!) - p * p) < 1e-12);
    for (let i = 0; i + 1 < sizes.length; i++) {
      if (sizes[i + 1]! - sizes[i]! < 2) continue;
      const mid = Math.round(Math.sqrt(sizes[i]! * sizes[i + 1]!));
      const [lo, hi] = [logistic(12, m.flat[i]!), logistic(12, m.flat[i + 1]!)].sort((a, b) => a - b);
      const q = deliveryProbability(m, 12, mid);
      assert.ok(q >= lo! - 1e-12 && q <= hi! + 1e-12, `${m.label} ${mid} bytes: ${q} outside [${lo}, ${hi}]`);
    }
    assert.equal(deliveryProbability(m, 12, 1), logistic(12, m.flat[0]!));
    lastBytes = bytes;
    lastNeed = fit.snr50Db;
  }
  const klt = wideKlt();
  const slowest = DIGITAL_MCS_TABLE[0]!;
  const fastest = DIGITAL_MCS_TABLE[DIGITAL_MCS_TABLE.length - 1]!;
  // Far below every MCS's need the plan is the most robust one and expects to lose the frame.
  const low = bestDigitalPlan(klt, -10, k)!;
  assert.equal(low.mcs.label, slowest.label);
  assert.ok(low.delivery < 0.01 && Math.abs(low.expectedMse / nothingMse(klt) - 1) < 0.02);
  // Far above, the fastest (most bytes) and nearly sure delivery.
  const high = bestDigitalPlan(klt, 40, k)!;
  assert.equal(high.mcs.label, fastest.label);
  assert.ok(high.delivery > 0.999);
  // Two channel symbols fit no coded byte at all: no plan.
  assert.equal(bestDigitalPlan(klt, 40, 2), null);
});

test('the hybrid picks whichever link predicts the better latent, and JSCC when no MCS is in reach', () => {
  const klt = wideKlt();
  const flatAt = (psnr: number): LinkCurves => ({
    fading: [],
    flat: [0, 30].map((snrDb) => ({ snrDb, rate: 1, psnrDb: psnr })),
    latentPeakToPeak: 10,
  });
  // rate 1 of the shipped 256-number latent: 256 channel symbols
  const o = { mode: 'hybrid' as const, snrDb: 25, selectivity: 0, rate: 1, channelSymbols: 256, klt };
  // At 25 dB the fastest MCS arrives nearly surely and codes the source far above 20 dB (peak 10).
  const digital = chooseLink({ ...o, curves: flatAt(20) });
  assert.equal(digital.kind, 'digital');
  assert.ok(digital.kind === 'digital' && digital.digital.mcs.label === '64qam-3/4', digital.reason);
  assert.equal(chooseLink({ ...o, curves: flatAt(200) }).kind, 'jscc');
  // At -10 dB every digital frame is lost: JSCC, even when its prediction is below what "nothing" gives.
  assert.equal(chooseLink({ ...o, snrDb: -10, curves: flatAt(30) }).kind, "jscc");
  assert.equal(chooseLink({ ...o, snrDb: -10, curves: flatAt(20) }).kind, "jscc");
  assert.equal(chooseLink({ ...o, mode: 'jscc', curves: flatAt(0) }).kind, 'jscc');
  const forced = chooseLink({ ...o, mode: 'digital', snrDb: -10, curves: flatAt(200) });
  assert.equal(forced.kind, 'digital');
  assert.match(forced.reason, /--link digital/);
  assert.throws(() => chooseLink({ ...o, mode: 'digital', klt: null, curves: flatAt(1) }), /needs the latent KLT/);
});

test('the hybrid risks no whole frame: no MCS above the loss limit, and no digital frame on the prior SNR', () => {
  const klt = wideKlt();
  const jsccUseless: LinkCurves = { fading: [], flat: [0, 30].map((snrDb) => ({ snrDb, rate: 1, psnrDb: -100 })), latentPeakToPeak: 10 };
  const o = { mode: 'hybrid' as const, selectivity: 0, rate: 1, channelSymbols: 256, klt, curves: jsccUseless };
  let riskyBest = 0;
  for (let snr = 0; snr <= 25; snr += 0.1) {
    // Expected distortion alone: the MCS a lost frame would be priced at the mean latent's distortion for.
    const unlimited = bestDigitalPlan(klt, snr, 256)!;
    const choice = chooseLink({ ...o, snrDb: snr });
    if (choice.kind === 'digital') assert.ok(1 - choice.digital.delivery <= MAX_DIGITAL_LOSS, `${snr.toFixed(1)} dB: ${choice.digital.mcs.label} risks ${1 - choice.digital.delivery}`);
    if (1 - unlimited.delivery > MAX_DIGITAL_LOSS) {
      riskyBest++;
      assert.ok(choice.kind === 'jscc' || choice.digital.mcs.label !== unlimited.mcs.label, `${snr.toFixed(1)} dB`);
    }
  }
  assert.ok(riskyBest > 10, `expected distortion alone chose a risky MCS at ${riskyBest} SNRs: the check has no power`);
  // Before any feedback the SNR is a guess: JSCC, however good the guess.
  const prior = chooseLink({ ...o, snrDb: 25, snrSource: 'prior' });
  assert.equal(prior.kind, 'jscc');
  assert.match(prior.reason, /no measured SNR/);
  assert.equal(chooseLink({ ...o, snrDb: 25, snrSource: 'feedback' }).kind, 'digital');
});

test("the codec's quantizer lands on exactly the modem's 256-QAM points (what the JSCC frame carries)", () => {
  const qam = new Constellation(Modulation.QAM256);
  const levels = qamLevels(8);
  const axis = new Set<number>();
  for (let p = 0; p < qam.size; p++) axis.add(qam.points[2 * p]!);
  assert.deepEqual([...axis].sort((a, b) => a - b), [...levels]);
  const rng = new SeededRng(4);
  const x = quantizePoints(Float32Array.from({ length: 200 }, () => rng.normal()));
  for (let i = 0; i < x.length; i += 2) {
    const idx = qam.nearestIndex(x[i]!, x[i + 1]!);
    assert.equal(x[i], qam.points[2 * idx]);
    assert.equal(x[i + 1], qam.points[2 * idx + 1]);
  }
});

test('the shipped KLT is orthonormal and its variances decrease', () => {
  const store = ModelStore.open(modelsDir());
  const klt = loadLatentKlt(store);
  assert.equal(klt.dim, store.pipeline.latentSize);
  for (let i = 1; i < klt.dim; i++) assert.ok(klt.variance[i]! <= klt.variance[i - 1]! + 1e-9);
  for (const [a, b] of [[0, 0], [0, 1], [5, 200], [255, 255]] as const) {
    let d = 0;
    for (let k = 0; k < klt.dim; k++) d += klt.basis[a * klt.dim + k]! * klt.basis[b * klt.dim + k]!;
    assert.ok(Math.abs(d - (a === b ? 1 : 0)) < 1e-4, `basis ${a} . basis ${b} = ${d}`);
  }
});
