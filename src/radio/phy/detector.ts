/**
 * Streaming Schmidl-Cox detector over the STS, which repeats every L = N/2 samples `stsRepeats` times.
 *
 * At each sample n it keeps, with O(1) running-sum updates (no per-sample allocation):
 *   P(n)  = sum_{i=n-W+1..n} conj(r[i-L]) r[i]      W = (stsRepeats-1) L
 *   E1(n) = sum |r[i]|^2 over the same window, E2(n) = E1(n-L)
 * and tests |P|^2 >= threshold * E1 * E2 (a normalized correlation, <= 1 by Cauchy-Schwarz, invariant to
 * CFO). A longer window than the classic 2-half symbol makes the noise-only metric concentrate near 1/W,
 * so the threshold can be low enough for 3 dB SNR while noise stays far below it.
 * The sums are recomputed exactly every 2^15 samples and before accepting any trigger, so rounding drift
 * in digital silence after a loud burst can never fire the detector.
 */
import type { OfdmLayout } from './params.js';
import type { RxSampleMemory } from './rx-wasm.js';

export interface SyncEvent {
  /** Absolute sample index estimate of the end of the STS (= start of the LTS guard). */
  stsEnd: number;
  /** Phase advance per sample from P (coarse CFO, ambiguous modulo 2 pi / L). */
  coarseRadPerSample: number;
  /** Peak normalized metric. */
  metric: number;
}

export class SchmidlCoxDetector {
  readonly lag: number;
  readonly window: number;
  /** Samples of history the detector needs before `pos`. */
  readonly history: number;
  readonly threshold: number;
  private readonly cpLength: number;
  private readonly span: number;
  /** Next absolute sample index to process. */
  pos = 0;
  private pr = 0;
  private pi = 0;
  private e1 = 0;
  private e2 = 0;
  private sinceExact = 0;
  private armed = true;
  private collecting = false;
  private evStart = 0;
  private evCount = 0;
  private readonly evM: Float64Array;
  private readonly evPr: Float64Array;
  private readonly evPi: Float64Array;
  /** Threshold crossings rejected by the exact recomputation (rounding), for diagnostics. */
  roundingRejects = 0;
  /** The search loop in WebAssembly, used when `run` gets the kernels' own buffer. */
  private kernels: RxSampleMemory | null = null;

  constructor(layout: OfdmLayout, threshold = 0.2) {
    this.lag = layout.fftSize >> 1;
    this.window = (layout.params.stsRepeats - 1) * this.lag;
    this.history = this.window + this.lag;
    this.threshold = threshold;
    this.cpLength = layout.cpLength;
    // from the first crossing (as early as ~L into the STS) to past the plateau end
    this.span = layout.cpLength + this.window + this.lag;
    this.evM = new Float64Array(this.span);
    this.evPr = new Float64Array(this.span);
    this.evPi = new Float64Array(this.span);
  }

  /** Run the search loop in WebAssembly when `run` is given `mem.buf` (the receiver's buffer). */
  useKernels(mem: RxSampleMemory): void {
    this.kernels = mem.kernels ? mem : null;
  }

  /**
   * Restart at absolute sample `pos` (sums recomputed from the `history` samples before it, which must be
   * in `buf`, whose first complex sample is absolute index `bufStart`).
   */
  reset(buf: Float32Array, bufStart: number, pos: number): void {
    this.pos = pos;
    this.collecting = false;
    this.armed = true;
    this.exact(buf, bufStart, pos - 1);
  }

  /**
   * Recompute the running sums exactly at the current position, keeping the armed state: for a caller that
   * changed samples inside the window (the receiver's DC hold) without restarting detection.
   */
  refresh(buf: Float32Array, bufStart: number): void {
    this.exact(buf, bufStart, this.pos - 1);
  }

  private exact(buf: Float32Array, bufStart: number, n: number): void {
    const L = this.lag;
    const W = this.window;
    let pr = 0;
    let pi = 0;
    let e1 = 0;
    let e2 = 0;
    for (let i = n - W + 1; i <= n; i++) {
      const a = 2 * (i - bufStart);
      const b = a - 2 * L;
      const xr = buf[a]!;
      const xi = buf[a + 1]!;
      const yr = buf[b]!;
      const yi = buf[b + 1]!;
      pr += yr * xr + yi * xi;
      pi += yr * xi - yi * xr;
      e1 += xr * xr + xi * xi;
      e2 += yr * yr + yi * yi;
    }
    this.pr = pr;
    this.pi = pi;
    this.e1 = e1;
    this.e2 = e2;
    this.sinceExact = 0;
  }

  /**
   * Process samples pos..end-1. Returns a SyncEvent as soon as one is complete (pos then points just after
   * it), or null when it reached `end`.
   */
  run(buf: Float32Array, bufStart: number, end: number): SyncEvent | null {
    const L2 = 2 * this.lag;
    const W2 = 2 * this.window;
    const thr = this.threshold;
    let pr = this.pr;
    let pi = this.pi;
    let e1 = this.e1;
    let e2 = this.e2;
    let n = this.pos;
    while (n < end) {
      if (this.sinceExact >= 1 << 15) {
        this.exact(buf, bufStart, n - 1);
        pr = this.pr;
        pi = this.pi;
        e1 = this.e1;
        e2 = this.e2;
      }
      // Fast path: no event in progress; a tight loop until the metric crosses the threshold.
      if (!this.collecting) {
        const stop = Math.min(end, n + (1 << 15) - this.sinceExact);
        let a = 2 * (n - bufStart);
        const a0 = a;
        let hit = -1;
        let rearm = false;
        const armed = this.armed;
        const kernels = this.kernels;
        if (kernels !== null && buf === kernels.buf) {
          // the loop below in WebAssembly (rx-wasm.ts): same sums, same stop
          const st = kernels.sums();
          st[0] = pr;
          st[1] = pi;
          st[2] = e1;
          st[3] = e2;
          kernels.args[0] = thr;
          const r = kernels.detect(n - bufStart, stop - n, this.lag, this.window, armed);
          pr = st[0]!;
          pi = st[1]!;
          e1 = st[2]!;
          e2 = st[3]!;
          const done = r >> 2;
          n += done;
          a += 2 * done;
          if ((r & 3) === 1) hit = n;
          else if ((r & 3) === 2) rearm = true;
        } else {
          for (; n < stop; n++, a += 2) {
            const xr = buf[a]!;
            const xi = buf[a + 1]!;
            const yr = buf[a - L2]!;
            const yi = buf[a - L2 + 1]!;
            const ur = buf[a - W2]!;
            const ui = buf[a - W2 + 1]!;
            const vr = buf[a - W2 - L2]!;
            const vi = buf[a - W2 - L2 + 1]!;
            pr += yr * xr + yi * xi - (vr * ur + vi * ui);
            pi += yr * xi - yi * xr - (vr * ui - vi * ur);
            e1 += xr * xr + xi * xi - (ur * ur + ui * ui);
            e2 += yr * yr + yi * yi - (vr * vr + vi * vi);
            const m2 = pr * pr + pi * pi;
            const den = e1 * e2;
            if (m2 >= thr * den && den > 0) {
              if (armed) {
                hit = n;
                break;
              }
            } else if (!armed) {
              rearm = true;
              break;
            }
          }
        }
        if (hit >= 0 || rearm) {
          // the breaking sample was processed but the loop did not advance past it
          n++;
          a += 2;
        }
        this.sinceExact += (a - a0) >> 1;
        if (rearm) {
          this.armed = true;
          continue;
        }
        if (hit < 0) continue;
        // Verify against exact sums: a crossing caused by rounding residue is dropped.
        this.exact(buf, bufStart, hit);
        pr = this.pr;
        pi = this.pi;
        e1 = this.e1;
        e2 = this.e2;
        const den = e1 * e2;
        const m2 = pr * pr + pi * pi;
        if (!(m2 >= thr * den && den > 0)) {
          this.roundingRejects++;
          continue;
        }
        this.collecting = true;
        this.evStart = hit;
        this.evCount = 1;
        this.evM[0] = m2 / den;
        this.evPr[0] = pr;
        this.evPi[0] = pi;
        continue;
      }
      // Collecting an event: store metric and P for `span` samples after the first crossing.
      const a = 2 * (n - bufStart);
      const xr = buf[a]!;
      const xi = buf[a + 1]!;
      const yr = buf[a - L2]!;
      const yi = buf[a - L2 + 1]!;
      const ur = buf[a - W2]!;
      const ui = buf[a - W2 + 1]!;
      const vr = buf[a - W2 - L2]!;
      const vi = buf[a - W2 - L2 + 1]!;
      pr += yr * xr + yi * xi - (vr * ur + vi * ui);
      pi += yr * xi - yi * xr - (vr * ui - vi * ur);
      e1 += xr * xr + xi * xi - (ur * ur + ui * ui);
      e2 += yr * yr + yi * yi - (vr * vr + vi * vi);
      const den = e1 * e2;
      const k = this.evCount++;
      this.evM[k] = den > 0 ? (pr * pr + pi * pi) / den : 0;
      this.evPr[k] = pr;
      this.evPi[k] = pi;
      this.sinceExact++;
      n++;
      if (this.evCount === this.span) {
        this.collecting = false;
        this.armed = false;
        this.save(n, pr, pi, e1, e2);
        return this.analyze();
      }
    }
    this.save(n, pr, pi, e1, e2);
    return null;
  }

  private save(n: number, pr: number, pi: number, e1: number, e2: number): void {
    this.pos = n;
    this.pr = pr;
    this.pi = pi;
    this.e1 = e1;
    this.e2 = e2;
  }

  /** Plateau = samples within 90 % of the peak; its metric-weighted centre marks the STS end. */
  private analyze(): SyncEvent {
    let max = 0;
    for (let k = 0; k < this.span; k++) if (this.evM[k]! > max) max = this.evM[k]!;
    let w = 0;
    let c = 0;
    let sr = 0;
    let si = 0;
    for (let k = 0; k < this.span; k++) {
      const m = this.evM[k]!;
      if (m >= 0.9 * max) {
        w += m;
        c += m * k;
        sr += this.evPr[k]!;
        si += this.evPi[k]!;
      }
    }
    const centre = this.evStart + (w > 0 ? c / w : 0);
    // Ideal plateau: window ends from STS start + repeats*L - 1 to STS end - 1 (cp + 1 positions).
    const stsEnd = Math.round(centre + this.cpLength / 2 + 1);
    return { stsEnd, coarseRadPerSample: Math.atan2(si, sr) / this.lag, metric: max };
  }
}
