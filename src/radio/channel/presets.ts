/**
 * Named channel settings. `CABLED_SDR_PAIR` is what two cheap SDRs joined by a cable and an attenuator look like
 * at 2.4 GHz: crystal offsets (10 ppm CFO), oscillator phase noise, IQ imbalance and an 8-bit ADC; only the
 * SNR is left to the caller. The demo, the sessions and `dekag bench cala` use it as "the usual impairments".
 */
import type { ChannelConfig } from './simulator.js';

export const CABLED_SDR_PAIR: Readonly<Pick<ChannelConfig, 'cfoPpm' | 'carrierHz' | 'phaseNoiseLinewidthHz' | 'iqImbalance' | 'quantization'>> = Object.freeze({
  cfoPpm: 10,
  carrierHz: 2.4e9,
  phaseNoiseLinewidthHz: 50,
  iqImbalance: Object.freeze({ amplitudeDb: 0.2, phaseDeg: 1 }),
  quantization: 'ci8' as const,
});

/** One line for reports. */
export const CABLED_SDR_PAIR_TEXT = 'CFO 10 ppm at 2.4 GHz, phase noise 50 Hz, IQ imbalance 0.2 dB / 1 deg, ci8 ADC';
