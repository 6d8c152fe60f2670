/**
 * Data-aided SNR estimator for one frame.
 *
 * Every resource element (carrier k of an OFDM symbol) whose transmitted value X is known (training,
 * pilots, the re-encoded header, and the payload once its CRC passes) enters a per-carrier least-squares
 * fit Y = H_k X + noise. The residual power divided by its degrees of freedom (known REs minus one
 * complex gain per carrier minus one real phase per symbol) is an
 * unbiased noise variance. Signal power is total received power minus noise, divided by the expected
 * symbol energy (known |X|^2, or 1 for unknown unit-energy data). SNR is per occupied carrier, i.e. the
 * in-band SNR: the channel simulator's `snrDb` uses the same definition.
 */
export class SnrAccumulator {
  private readonly ar: Float64Array;
  private readonly ai: Float64Array;
  private readonly b: Float64Array;
  private readonly s: Float64Array;
  private totalPower = 0;
  private totalCount = 0;
  private knownEnergy = 0;
  private unknownCount = 0;
  private knownCount = 0;
  private trackedSymbols = 0;

  /**
   * `arrays`: where the per-carrier sums live (numCarriers each), e.g. the demodulator's WebAssembly
   * memory, whose addKnown updates them in place; default: new arrays.
   */
  constructor(
    readonly numCarriers: number,
    arrays?: { readonly ar: Float64Array; readonly ai: Float64Array; readonly b: Float64Array; readonly s: Float64Array },
  ) {
    this.ar = arrays?.ar ?? new Float64Array(numCarriers);
    this.ai = arrays?.ai ?? new Float64Array(numCarriers);
    this.b = arrays?.b ?? new Float64Array(numCarriers);
    this.s = arrays?.s ?? new Float64Array(numCarriers);
  }

  reset(): void {
    this.ar.fill(0);
    this.ai.fill(0);
    this.b.fill(0);
    this.s.fill(0);
    this.totalPower = 0;
    this.totalCount = 0;
    this.knownEnergy = 0;
    this.unknownCount = 0;
    this.knownCount = 0;
    this.trackedSymbols = 0;
  }

  /** A received value y on carrier k whose transmitted value x is known. */
  known(k: number, yr: number, yi: number, xr: number, xi: number): void {
    this.ar[k] = this.ar[k]! + yr * xr + yi * xi;
    this.ai[k] = this.ai[k]! + yi * xr - yr * xi;
    const e = xr * xr + xi * xi;
    this.b[k] = this.b[k]! + e;
    const p = yr * yr + yi * yi;
    this.s[k] = this.s[k]! + p;
    this.totalPower += p;
    this.totalCount++;
    this.knownEnergy += e;
    this.knownCount++;
  }

  /** A received value whose transmitted value is unknown (unit expected energy). */
  unknown(yr: number, yi: number): void {
    this.totalPower += yr * yr + yi * yi;
    this.totalCount++;
    this.unknownCount++;
  }

  /**
   * One whole OFDM symbol at once (the hot path): carrier k's value y[yOff + 2k..] is first rotated by
   * (rc + j rs); x holds the transmitted value per carrier (interleaved) where known[k] = 1, and unknown
   * carriers only add to the total power (unrotated power is the same). Counts the symbol as tracked.
   */
  addSymbol(y: Float32Array, yOff: number, rc: number, rs: number, x: Float32Array, known: Uint8Array): void {
    const ar = this.ar;
    const ai = this.ai;
    const bb = this.b;
    const ss = this.s;
    let pow = 0;
    let kEnergy = 0;
    let kCount = 0;
    const n = this.numCarriers;
    for (let k = 0; k < n; k++) {
      const y0r = y[yOff + 2 * k]!;
      const y0i = y[yOff + 2 * k + 1]!;
      const p = y0r * y0r + y0i * y0i;
      pow += p;
      if (known[k] === 0) continue;
      const yr = y0r * rc - y0i * rs;
      const yi = y0r * rs + y0i * rc;
      const xr = x[2 * k]!;
      const xi = x[2 * k + 1]!;
      ar[k] = ar[k]! + yr * xr + yi * xi;
      ai[k] = ai[k]! + yi * xr - yr * xi;
      const e = xr * xr + xi * xi;
      bb[k] = bb[k]! + e;
      ss[k] = ss[k]! + p;
      kEnergy += e;
      kCount++;
    }
    this.totalPower += pow;
    this.totalCount += n;
    this.knownEnergy += kEnergy;
    this.knownCount += kCount;
    this.unknownCount += n - kCount;
    this.trackedSymbols += 0.5;
  }

  /** addSymbol with every carrier known: the same operations in the same order, without the flags. */
  addSymbolKnown(y: Float32Array, yOff: number, rc: number, rs: number, x: Float32Array): void {
    const ar = this.ar;
    const ai = this.ai;
    const bb = this.b;
    const ss = this.s;
    let pow = 0;
    let kEnergy = 0;
    const n = this.numCarriers;
    for (let k = 0; k < n; k++) {
      const y0r = y[yOff + 2 * k]!;
      const y0i = y[yOff + 2 * k + 1]!;
      const p = y0r * y0r + y0i * y0i;
      pow += p;
      const yr = y0r * rc - y0i * rs;
      const yi = y0r * rs + y0i * rc;
      const xr = x[2 * k]!;
      const xi = x[2 * k + 1]!;
      ar[k] = ar[k]! + yr * xr + yi * xi;
      ai[k] = ai[k]! + yi * xr - yr * xi;
      const e = xr * xr + xi * xi;
      bb[k] = bb[k]! + e;
      ss[k] = ss[k]! + p;
      kEnergy += e;
    }
    this.totalPower += pow;
    this.totalCount += n;
    this.knownEnergy += kEnergy;
    this.knownCount += n;
    this.trackedSymbols += 0.5;
  }

  /**
   * addSymbolKnown's totals, for a caller that added the per-carrier sums itself (the demodulator's
   * WebAssembly addKnown): `power` = sum of |y|^2, `knownEnergy` = sum of |x|^2 over the symbol's carriers.
   */
  addSymbolKnownTotals(power: number, knownEnergy: number): void {
    const n = this.numCarriers;
    this.totalPower += power;
    this.totalCount += n;
    this.knownEnergy += knownEnergy;
    this.knownCount += n;
    this.trackedSymbols += 0.5;
  }

  /**
   * `count` known values whose per-carrier sums a caller added itself (the demodulator's WebAssembly LTS
   * estimate): their total power and known energy. Right after reset() (totals 0) this is exactly what
   * `count` calls of known() leave in the totals.
   */
  addKnownTotals(power: number, knownEnergy: number, count: number): void {
    this.totalPower += power;
    this.totalCount += count;
    this.knownEnergy += knownEnergy;
    this.knownCount += count;
  }

  /** The total power and known energy so far into out[at], out[at + 1] (for a caller that continues them). */
  powerTotals(out: Float64Array, at: number): void {
    out[at] = this.totalPower;
    out[at + 1] = this.knownEnergy;
  }

  /**
   * After `symbols` whole known symbols whose per-carrier sums a caller added itself (the demodulator's
   * WebAssembly frame fit), continuing powerTotals' values symbol by symbol as addSymbolKnown does: the
   * new totals, and the counts those symbols add.
   */
  setKnownSymbols(totalPower: number, knownEnergy: number, symbols: number): void {
    const n = symbols * this.numCarriers;
    this.totalPower = totalPower;
    this.knownEnergy = knownEnergy;
    this.totalCount += n;
    this.knownCount += n;
    this.trackedSymbols += 0.5 * symbols;
  }

  /** One symbol whose common phase was fitted from its own known carriers (one real parameter). */
  trackedSymbol(): void {
    this.trackedSymbols += 0.5;
  }

  /** Estimated channel gain of carrier k from all known REs (complex), written to out[2k..]. */
  channel(out: Float32Array): void {
    for (let k = 0; k < this.numCarriers; k++) {
      const b = this.b[k]!;
      out[2 * k] = b > 0 ? this.ar[k]! / b : 0;
      out[2 * k + 1] = b > 0 ? this.ai[k]! / b : 0;
    }
  }

  noiseVar(): number {
    let rss = 0;
    let fitted = 0;
    for (let k = 0; k < this.numCarriers; k++) {
      const b = this.b[k]!;
      if (b <= 0) continue;
      fitted++;
      rss += this.s[k]! - (this.ar[k]! * this.ar[k]! + this.ai[k]! * this.ai[k]!) / b;
    }
    const dof = this.dof(fitted);
    if (dof <= 0) return NaN;
    return Math.max(rss, 0) / dof;
  }

  private dof(fitted?: number): number {
    if (fitted === undefined) {
      fitted = 0;
      for (let k = 0; k < this.numCarriers; k++) if (this.b[k]! > 0) fitted++;
    }
    return this.knownCount - fitted - this.trackedSymbols;
  }

  estimate(): { snrDb: number; noiseVar: number; signalPower: number; dof: number } {
    const nv = this.noiseVar();
    const energy = this.knownEnergy + this.unknownCount;
    const sig = energy > 0 ? (this.totalPower - this.totalCount * nv) / energy : NaN;
    const floor = 1e-6; // -60 dB: keeps the dB value finite when noise dominates completely
    const snr = Math.max(sig / Math.max(nv, 1e-30), floor);
    return {
      snrDb: Number.isFinite(snr) ? 10 * Math.log10(snr) : NaN,
      noiseVar: nv,
      signalPower: sig,
      dof: this.dof(),
    };
  }
}
