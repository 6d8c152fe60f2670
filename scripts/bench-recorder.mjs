#!/usr/bin/env node
// Does the SigMF recorder keep up? Feeds the UI's recorder (src/server/recorder.ts, the RX tap behind
// "Record to SigMF") cf32 blocks paced at --msps for --seconds, as a radio's stream would, on the event loop
// it shares with the rest of the engine, and reports what was written, what was dropped (the writer more
// than 64 MiB behind) and how far behind it got. --msps 0: as fast as the writer takes them.
// Usage (after npm run build): node scripts/bench-recorder.mjs [--msps 20] [--seconds 10] [--dir /tmp]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RxRecorder } from '../dist/src/server/recorder.js';

const { values } = parseArgs({ options: { msps: { type: 'string', default: '20' }, seconds: { type: 'string', default: '10' }, dir: { type: 'string' }, block: { type: 'string', default: '16384' } } });
const msps = Number(values.msps);
const seconds = Number(values.seconds);
const blockSamples = Number(values.block);
const dir = mkdtempSync(join(values.dir ?? tmpdir(), 'dekag-bench-rec-'));
const config = { freqHz: 2.4e9, sampleRateHz: Math.max(1, msps) * 1e6, gainsDb: {} };
let failure;
const rec = await RxRecorder.start({ dir, name: 'bench', config, hardware: 'bench', onError: (e) => (failure = e) });
const iq = new Float32Array(2 * blockSamples).map(() => Math.random() - 0.5);
let index = 0;
let maxPending = 0;
const writer = rec.writer ?? rec['writer'];
const t0 = performance.now();
const tick = 10; // ms between batches
while (performance.now() - t0 < seconds * 1000 && !failure) {
  const due = msps > 0 ? Math.floor(((performance.now() - t0) / 1000) * msps * 1e6) : index + 64 * blockSamples;
  while (index + blockSamples <= due) {
    rec.tap({ iq: iq.slice(), samples: blockSamples, sampleIndex: index, receivedAtMs: Date.now() }, config);
    index += blockSamples;
  }
  maxPending = Math.max(maxPending, writer.pendingBytes);
  await new Promise((r) => setTimeout(r, msps > 0 ? tick : 0));
}
const fed = performance.now() - t0;
const summary = await rec.stop();
const total = (performance.now() - t0) / 1000;
const bytes = statSync(join(dir, 'bench.sigmf-data')).size;
console.log(JSON.stringify({
  target_msps: msps,
  seconds: Math.round(fed) / 1000,
  offered_samples: index,
  written_samples: summary.samples,
  dropped_samples: summary.droppedSamples,
  gaps: summary.gaps,
  sustained_msps: Math.round((summary.samples / total / 1e6) * 100) / 100,
  written_mb_per_s: Math.round((bytes / total / 1e6) * 10) / 10,
  max_pending_mb: Math.round((maxPending / 2 ** 20) * 10) / 10,
  finalize_s_after_feed: Math.round(total * 1000 - fed) / 1000,
  failure: failure?.message ?? null,
}));
rmSync(dir, { recursive: true, force: true });
