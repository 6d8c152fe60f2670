export * from './rng.js';
export * from './awgn.js';
export * from './fading.js';
export * from './impairments.js';
export * from '../iq/format.js';
export * from './simulator.js';
