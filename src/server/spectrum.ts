/**
 * Spectrum rows of the RX stream for the live view's spectrum plot and waterfall.
 *
 * A row is a Welch average: Hann-windowed FFTs over consecutive segments of the stream, power averaged,
 * shifted so DC sits in the middle, in dB relative to full scale, normalized so the bins (in linear power)
 * sum to the stream's mean power: white noise of power P reads P / bins in every bin. Rows are produced at
 * most every `intervalMs` of stream time (not wall time), so a fast replay does not flood the UI and a
 * paced radio gives a steady waterfall. push() allocates nothing: the segment buffer and the accumulator
 * are reused, and only an emitted row is a new array (it is handed to the UI).
 */
import { Fft } from '../radio/phy/fft.js';

export interface SpectrumOptions {
  /** FFT size (power of two). Default 256. */
  bins?: number;
  /** Stream time between rows, ms. Default 100 (10 rows per second). */
  intervalMs?: number;
  /** Most segments averaged into one row (bounds CPU at high sample rates). Default 16. */
  maxSegments?: number;
}

export class SpectrumMonitor {
  readonly bins: number;
  private readonly fft: Fft;
  private readonly window: Float32Array;
  private readonly windowPower: number;
  private readonly seg: Float32Array;
  private readonly acc: Float64Array;
  private segFill = 0;
  private segments = 0;
  private samplesSinceRow = 0;
  private readonly intervalMs: number;
  private readonly maxSegments: number;

  constructor(opts: SpectrumOptions = {}) {
    this.bins = opts.bins ?? 256;
    this.fft = new Fft(this.bins);
    this.intervalMs = opts.intervalMs ?? 100;
    this.maxSegments = opts.maxSegments ?? 16;
    this.window = new Float32Array(this.bins);
    let wp = 0;
    for (let i = 0; i < this.bins; i++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / this.bins);
      this.window[i] = w;
      wp += w * w;
    }
    this.windowPower = wp;
    this.seg = new Float32Array(2 * this.bins);
    this.acc = new Float64Array(this.bins);
  }

  /**
   * Feeds interleaved cf32 samples; returns a row in dBFS (fftshifted) when one is due, else undefined.
   * Segments beyond `maxSegments` in an interval are skipped (counted in time, not averaged).
   */
  push(iq: Float32Array, sampleRateHz: number): number[] | undefined {
    const n = iq.length >> 1;
    const due = Math.max(this.bins, Math.round((sampleRateHz * this.intervalMs) / 1000));
    let row: number[] | undefined;
    let i = 0;
    while (i < n) {
      if (this.segments < this.maxSegments) {
        const take = Math.min(this.bins - this.segFill, n - i);
        for (let k = 0; k < take; k++) {
          const w = this.window[this.segFill + k]!;
          this.seg[2 * (this.segFill + k)] = iq[2 * (i + k)]! * w;
          this.seg[2 * (this.segFill + k) + 1] = iq[2 * (i + k) + 1]! * w;
        }
        this.segFill += take;
        i += take;
        this.samplesSinceRow += take;
        if (this.segFill === this.bins) {
          this.fft.forward(this.seg);
          for (let b = 0; b < this.bins; b++) {
            const re = this.seg[2 * b]!;
            const im = this.seg[2 * b + 1]!;
            this.acc[b]! += re * re + im * im;
          }
          this.segments++;
          this.segFill = 0;
        }
      } else {
        const skip = Math.min(n - i, due - this.samplesSinceRow);
        i += Math.max(skip, 1);
        this.samplesSinceRow += Math.max(skip, 1);
      }
      if (this.samplesSinceRow >= due && this.segments > 0) row = this.emit();
    }
    return row;
  }

  private emit(): number[] {
    const out = new Array<number>(this.bins);
    const half = this.bins >> 1;
    // Noise of power P gives E|X|^2 = P * sum(w^2) per bin; dividing by sum(w^2) * bins makes the bins sum
    // to P (Parseval), the same for tones and noise, so the plot reads as power per bin.
    const norm = this.segments * this.windowPower * this.bins;
    for (let b = 0; b < this.bins; b++) {
      const p = this.acc[(b + half) % this.bins]! / norm;
      out[b] = Math.round(10 * Math.log10(p + 1e-20) * 10) / 10;
    }
    this.acc.fill(0);
    this.segments = 0;
    this.segFill = 0;
    this.samplesSinceRow = 0;
    return out;
  }
}
