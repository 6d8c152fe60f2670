/**
 * The stream receiver must never go deaf. At 25 dB through the cabled-pair impairments, one false sync
 * (rejected at the LTS) between two 64-QAM frames made the DC blocker rewind to a 64-sample block that began
 * before the oldest buffered sample; the re-derivation then read outside the buffer, the DC estimate became
 * NaN, and no frame was detected again (36 of 128 frames in `bench cala`'s digital latent at 25 and 30 dB).
 * The payloads are the ones that did it (edge latents of the held-out prompts, transform-coded to 71 bytes).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CABLED_SDR_PAIR } from '../../src/radio/channel/presets.js';
import { ChannelSimulator } from '../../src/radio/channel/simulator.js';
import { Modulation } from '../../src/radio/phy/constellation.js';
import { CodeRate } from '../../src/radio/phy/convcode.js';
import { makeLayout } from '../../src/radio/phy/params.js';
import { StreamReceiver } from '../../src/radio/phy/receiver.js';
import { burst } from '../../src/radio/phy/testkit.js';
import { OfdmModulator } from '../../src/radio/phy/transmitter.js';

const FIXTURE = fileURLToPath(new URL('../../../test/robustness/receiver-dc-rewind.json', import.meta.url));

test('a false sync rejected at the LTS does not leave the receiver deaf (DC rewind stays inside the buffer)', () => {
  const payloads = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { payloads: string[] }).payloads.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
  const sampleRateHz = 2e6;
  const layout = makeLayout({ sampleRateHz });
  const tx = new OfdmModulator({ sampleRateHz });
  const rx = new StreamReceiver({ params: { sampleRateHz }, emitFailedFrames: true });
  const seen: number[] = [];
  for (const [i, p] of payloads.entries()) {
    const frame = tx.modulateBytes(p, { modulation: Modulation.QAM64, codeRate: CodeRate.R3_4, sessionId: 9, sequence: i });
    const channel = { seed: 50137 + 7919 * i, sampleRateHz, snrDb: 25, occupiedFraction: layout.numUsed / layout.fftSize, ...CABLED_SDR_PAIR };
    for (const f of rx.push(new ChannelSimulator(channel).run(burst([frame], 400).iq).rx)) seen.push(f.header.sequence);
  }
  for (const f of rx.flush()) seen.push(f.header.sequence);
  // The stream has the false sync (before the fix, frames 36.. were never seen).
  assert.ok(rx.stats.ltsRejects >= 1, JSON.stringify(rx.stats));
  assert.deepEqual(seen, payloads.map((_, i) => i));
});
