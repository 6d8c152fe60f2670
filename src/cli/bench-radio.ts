/**
 * The simulated radio the link benchmarks share (`bench cala`, `bench mcs`): the burst OFDM modem at 2 Msps
 * through the channel simulator with a cabled SDR pair's impairments, flat ('awgn') or with EPA multipath
 * ('epa'), each frame through its own channel realization into one stream receiver.
 */
import { CABLED_SDR_PAIR } from '../radio/channel/presets.js';
import { ChannelSimulator, type ChannelConfig } from '../radio/channel/simulator.js';
import type { RxFrame } from '../radio/phy/demodulator.js';
import { makeLayout } from '../radio/phy/params.js';
import type { StreamReceiver } from '../radio/phy/receiver.js';
import { burst } from '../radio/phy/testkit.js';

export const SAMPLE_RATE_HZ = 2e6;
export const CHANNELS = ['awgn', 'epa'] as const;
export type RadioChannelKind = (typeof CHANNELS)[number];
/** Silence around each frame, samples. */
export const GAP_SAMPLES = 400;

/** Impairments of a cheap SDR pair on a cable at 2.4 GHz (and EPA multipath for 'epa'); only the SNR changes across a grid. */
export function radioChannel(snrDb: number, seed: number, kind: RadioChannelKind = 'epa'): ChannelConfig {
  const layout = makeLayout({ sampleRateHz: SAMPLE_RATE_HZ });
  return {
    seed,
    sampleRateHz: SAMPLE_RATE_HZ,
    snrDb,
    occupiedFraction: layout.numUsed / layout.fftSize,
    ...(kind === 'epa' ? { fading: { profile: 'EPA', maxDopplerHz: 5 } } : {}),
    ...CABLED_SDR_PAIR,
  };
}

/**
 * Each frame through its own channel realization (images go out seconds apart in a session, so each meets
 * its own fading), all into one stream receiver; `take` sees every frame the receiver reports.
 */
export function throughRadio(frames: Float32Array[], snrDb: number, seed: number, kind: RadioChannelKind, receiver: StreamReceiver, take: (f: RxFrame) => void): void {
  for (const [i, frame] of frames.entries()) {
    for (const f of receiver.push(new ChannelSimulator(radioChannel(snrDb, seed + 7919 * i, kind)).run(burst([frame], GAP_SAMPLES).iq).rx)) take(f);
  }
  for (const f of receiver.flush()) take(f);
}
