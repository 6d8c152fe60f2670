import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DIGITAL_MCS_TABLE } from '../session/digital-latent.js';
import { SeededRng } from '../util/rng.js';
import { fitLogistic } from './bench-mcs.js';

/** The repository root (this file runs from dist/src/cli/). */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

test('fitLogistic recovers the 50 % point and width of binomial data drawn from a known logistic', () => {
  const rng = new SeededRng(4);
  for (const [c, w] of [[8.6, 0.7], [14.2, 2.5]] as const) {
    const points = Array.from({ length: 41 }, (_, i) => {
      const x = i - 5;
      const p = 1 / (1 + Math.exp(-(x - c) / w));
      let k = 0;
      for (let n = 0; n < 400; n++) if (rng.uniform() < p) k++;
      return { x, delivered: k, sent: 400 };
    });
    const fit = fitLogistic(points);
    assert.ok(Math.abs(fit.snr50Db - c) < 0.3, `50 % point ${fit.snr50Db} vs ${c}`);
    assert.ok(Math.abs(fit.widthDb - w) < 0.25 * w, `width ${fit.widthDb} vs ${w}`);
  }
});

test('fitLogistic leaves out points without a measured SNR and refuses when none is left', () => {
  const fit = fitLogistic([{ x: null, delivered: 0, sent: 10 }, { x: 4, delivered: 1, sent: 10 }, { x: 6, delivered: 9, sent: 10 }]);
  assert.ok(fit.snr50Db > 4 && fit.snr50Db < 6, String(fit.snr50Db));
  assert.throws(() => fitLogistic([{ x: null, delivered: 0, sent: 10 }]), /no points with a measured SNR/);
});

test('the shipped MCS table is the one `dekag bench mcs` fitted (docs/bench/mcs.json), flat and selective', () => {
  const fitted = JSON.parse(readFileSync(join(REPO, 'docs', 'bench', 'mcs.json'), 'utf8')) as {
    table: Record<'awgn' | 'epa', { label: string; snr50_db: number; width_db: number }[]>;
  };
  assert.deepEqual(
    DIGITAL_MCS_TABLE.map((m) => [m.label, m.snr50Db, m.widthDb, m.selective.snr50Db, m.selective.widthDb]),
    fitted.table.awgn.map((a, i) => [a.label, a.snr50_db, a.width_db, fitted.table.epa[i]!.snr50_db, fitted.table.epa[i]!.width_db]),
  );
});
