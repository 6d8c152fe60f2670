/** Typed errors of the PHY. Bad *configuration* throws; bad *input samples* never throws (it is counted). */

/** A modem parameter is out of range or inconsistent (fft size, cp, sample rate, payload too long...). */
export class PhyConfigError extends Error {
  override readonly name = 'PhyConfigError';
}

/** A transmit request that cannot be framed (payload too long, unknown constellation, points not finite...). */
export class PhyPayloadError extends Error {
  override readonly name = 'PhyPayloadError';
}
