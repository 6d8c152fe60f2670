export * from './rng.js';
export * from './awgn.js';
export * from './fading.js';
export * from './impairments.js';
export * from './iqformat.js';
export * from './simulator.js';
