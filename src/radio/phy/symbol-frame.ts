/**
 * The modem's symbol-frame side (src/gsc/jscc.ts is the codec that uses it). The two calls the JSCC runtime needs: send already-quantized constellation points, and get back
 * equalized points with what a soft decoder needs (per-point channel gain and noise variance).
 */
import type { OfdmParams } from './params.js';
import { OfdmModulator, TxFrameOptions } from './transmitter.js';
import { StreamReceiver, ReceiverOptions } from './receiver.js';
import type { RxFrame } from './demodulator.js';
import { PayloadKind } from './header.js';

/** One frame carrying `points` (interleaved complex, quantized to opts.modulation, unit mean energy). */
export function modulateSymbols(points: Float32Array, opts: TxFrameOptions & { params?: Partial<OfdmParams> } = {}): Float32Array {
  return new OfdmModulator(opts.params ?? {}).modulateSymbols(points, opts);
}

/** One frame carrying bytes with FEC and CRC-32. */
export function modulateBytes(payload: Uint8Array, opts: TxFrameOptions & { params?: Partial<OfdmParams> } = {}): Float32Array {
  return new OfdmModulator(opts.params ?? {}).modulateBytes(payload, opts);
}

export interface ReceivedSymbols {
  /** Equalized points (interleaved complex). */
  symbols: Float32Array;
  /** |H|^2 of the carrier each point rode on (per-carrier SNR = gain / noiseVar). */
  gain: Float32Array;
  /** Noise variance of each equalized point. */
  noiseVar: Float32Array;
  frame: RxFrame;
}

/** Decode every symbols frame in a complete recording (convenience over StreamReceiver). */
export function demodulateSymbols(iq: Float32Array, opts: ReceiverOptions = {}): ReceivedSymbols[] {
  const rx = new StreamReceiver(opts);
  const frames = [...rx.push(iq), ...rx.flush()];
  return frames
    .filter((f) => f.header.payloadKind === PayloadKind.Symbols && f.symbols)
    .map((f) => ({ symbols: f.symbols!, gain: f.symbolGain!, noiseVar: f.symbolNoiseVar!, frame: f }));
}
