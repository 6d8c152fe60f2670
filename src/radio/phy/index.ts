/** Public API of the burst OFDM modem. */
export * from './errors.js';
export * from './params.js';
export * from './fft.js';
export * from './constellation.js';
export * from './convcode.js';
export * from './crc.js';
export * from './header.js';
export * from './framing.js';
export * from './transmitter.js';
export * from './detector.js';
export * from './demodulator.js';
export * from './receiver.js';
export * from './snr.js';
export * from './symbol-frame.js';
