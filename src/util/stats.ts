/** Summary statistics shared by the benches and the session (plain arrays; not for hot loops). */

/** The mean, NaN for no values (a JSON report then shows null rather than a made-up 0). */
export const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** The sample standard deviation (n − 1), NaN for fewer than two values (one training seed has no spread). */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
