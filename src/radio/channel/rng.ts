/** The channel simulator's seeded generator: the project's one RNG (src/util/rng.ts). */
export { SeededRng as Rng } from '../../util/rng.js';
