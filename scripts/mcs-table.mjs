#!/usr/bin/env node
// Writes the digital latent's MCS table (src/session/digital-latent.ts, between the @mcs-fits markers) from
// the fits `dekag bench mcs --out FILE` wrote (default docs/bench/mcs.json):
//   node scripts/mcs-table.mjs [docs/bench/mcs.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const input = process.argv[2] ?? `${root}docs/bench/mcs.json`;
const target = `${root}src/session/digital-latent.ts`;
const bench = JSON.parse(readFileSync(input, 'utf8'));
const MODULATION = { qpsk: 'QPSK', '16qam': 'QAM16', '64qam': 'QAM64' };
const CODE_RATE = { '1/2': 'R1_2', '2/3': 'R2_3', '3/4': 'R3_4', '5/6': 'R5_6' };
const pairs = (row) => `[${row.fits.map((f) => `[${f.snr50_db}, ${f.width_db}]`).join(', ')}]`;
const lines = bench.table.awgn.map((row, i) => {
  const [mod, rate] = row.label.split('-');
  if (!MODULATION[mod] || !CODE_RATE[rate]) throw new Error(`unknown MCS label ${row.label}`);
  const epa = bench.table.epa[i];
  if (epa?.label !== row.label) throw new Error(`the awgn and epa tables disagree at ${row.label}`);
  return `  { label: '${row.label}', modulation: Modulation.${MODULATION[mod]}, codeRate: CodeRate.${CODE_RATE[rate]},\n` +
    `    flat: fits(${pairs(row)}),\n    selective: fits(${pairs(epa)}) },`;
});
const src = readFileSync(target, 'utf8');
const begin = src.indexOf('  // @mcs-fits-begin');
const end = src.indexOf('  // @mcs-fits-end');
if (begin < 0 || end < 0) throw new Error(`${target}: no @mcs-fits markers`);
const head = src.slice(0, src.indexOf('\n', begin) + 1);
writeFileSync(target, head + lines.join('\n') + '\n' + src.slice(end));
console.log(`${target}: ${lines.length} schemes from ${input}`);
