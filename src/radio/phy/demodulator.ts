/**
 * Frame demodulation after a Schmidl-Cox trigger: integer + fine CFO, fine timing, channel estimation,
 * pilot phase/timing-drift tracking, equalization, header and payload decoding, SNR/EVM measurement.
 * One instance handles one frame at a time and reuses its work buffers across frames.
 *
 * All sample positions are absolute stream indices; `buf` holds complex samples whose first element is
 * absolute index `bufStart`. CFO is removed on the fly as exp(-j omega (n - ref)), so every FFT of the
 * frame shares one phase reference and the channel estimate absorbs the constant.
 */
import { Fft } from './fft.js';
import { DemodKernels } from './demod-wasm.js';
import { PointEncoder } from './reencode-wasm.js';
import type { OfdmLayout } from './params.js';
import { HEADER_BYTES } from './params.js';
import { Constellation, Modulation, constellation } from './constellation.js';
import { CodeRate, ViterbiDecoder } from './convcode.js';
import { bitsToBytes, interleaverInverse, interleaverPermutation, scramble } from './bits.js';
import { crc32 } from './crc.js';
import { FrameHeader, PayloadKind, unpackHeader } from './header.js';
import { PN127, PayloadPlan, frameLength, pilotValue, planPayload, scramblerSeed, training } from './framing.js';
import { EncodeScratch, headerCodedBits, payloadPointsFromScrambledBits } from './transmitter.js';
import { SyncEvent } from './detector.js';
import { SnrAccumulator } from './snr.js';
import { hypot2 } from './fastmath.js';

export type Equalizer = 'zf' | 'mmse';

export interface RxQualityFlags {
  /** The payload REs entered the SNR fit (payload CRC passed, so its symbols are known). */
  dataAided: boolean;
  /** FFT-window shifts made by the timing-drift tracker (sample-rate offset). */
  timingSlips: number;
  /** Estimated SNR below 3 dB: treat measurements as rough. */
  lowSnr: boolean;
  /** Normalized LTS correlation at the chosen timing (0..1). */
  syncQuality: number;
}

export interface RxFrame {
  header: FrameHeader;
  /** Absolute stream index of the frame's first sample (STS start), and its length in samples. */
  startSample: number;
  lengthSamples: number;
  /** Payload CRC-32 matched (bytes: decoded bytes; symbols: constellation indices of the decisions). */
  crcOk: boolean;
  snrDb: number;
  evmDb: number;
  cfoHz: number;
  /** Per-carrier noise variance and mean signal power (linear, unit-energy carrier scale). */
  noiseVar: number;
  signalPower: number;
  /** Degrees of freedom behind the noise estimate (its relative std is ~1/sqrt(dof)). */
  snrDof: number;
  /** Signed subcarrier index of each used carrier, its complex gain (interleaved) and |H|^2 in dB. */
  subcarrierIndex: Int32Array;
  channel: Float32Array;
  subcarrierGainDb: Float32Array;
  /** Bytes payload (kind Bytes). */
  bytes?: Uint8Array;
  /** Symbols payload (kind Symbols): equalized points, |H|^2 of each point's carrier, each point's noise variance. */
  symbols?: Float32Array;
  symbolGain?: Float32Array;
  symbolNoiseVar?: Float32Array;
  equalizer: Equalizer;
  flags: RxQualityFlags;
}

export interface Acquisition {
  /** Absolute index of LTS1 (first sample of its body). */
  ltsStart: number;
  /** CFO in radians per sample and phase reference sample. */
  omega: number;
  ref: number;
  /** FFT window start of the first header symbol (before slips). */
  firstSymbol: number;
  syncQuality: number;
  frameStart: number;
}

export type AcquireResult = { ok: true; acq: Acquisition } | { ok: false; reason: 'lts' };

export class FrameDemodulator {
  readonly layout: OfdmLayout;
  readonly searchHalfWidth: number;
  readonly backoff: number;
  private readonly fft: Fft;
  private readonly fftBuf: Float32Array;
  /** fftAt and demodSymbol's carrier passes in WebAssembly (same bits), or null where unavailable. */
  private readonly kernels: DemodKernels | null;
  /** payloadPointsFromScrambledBits in WebAssembly (same points), or null. */
  private readonly pointEncoder: PointEncoder | null;
  private readonly win: Float32Array;
  private readonly y1: Float32Array;
  private readonly y2: Float32Array;
  private readonly h: Float32Array; // LTS channel estimate per used carrier
  private readonly h2: Float32Array; // |h|^2
  private readonly invH: Float32Array; // conj(h) / |h|^2: ZF equalizer taps
  private readonly refPts: Float32Array; // per data carrier: reference point of the current symbol
  private readonly refFlag: Uint8Array; // 0 = decided (unknown), 1 = known, 2 = known filler (no EVM)
  private readonly xCar: Float32Array; // per used carrier: transmitted value used by the SNR fit
  private readonly kCar: Uint8Array; // per used carrier: 1 when that value is known
  private evmNum = 0;
  private evmDen = 0;
  private readonly sym: Float32Array;
  private readonly snr: SnrAccumulator;
  private readonly viterbi: ViterbiDecoder;
  private llr = new Float32Array(0);
  private stored = new Float32Array(0); // phase-corrected payload symbols, all used carriers (unequalized)
  private decided = new Uint8Array(0); // sliced constellation index of every payload RE
  private symLlr = new Float32Array(0);
  private knownBuf = new Float32Array(0);
  private bitsBuf = new Uint8Array(0); // Viterbi output (scratch: bytes are packed from it)
  private scrambledBits = new Uint8Array(0); // Viterbi output before descrambling (re-encoded when the CRC passes)
  private readonly encodeScratch = new EncodeScratch();
  private readonly hdrStore: Float32Array;
  private noiseLts = 1;
  /** The acquisition whose per-sample CFO rotation (cos, -sin of omega) fftAt has in stepCos / stepSin. */
  private stepOf: Acquisition | null = null;
  private stepCos = 1;
  private stepSin = 0;
  // tracker state
  private slope = 0;
  private slopeRate = 0;
  private slip = 0;
  private slips = 0;
  private readonly ltsFreq: Float32Array;
  private readonly ltsTime: Float32Array;
  private readonly ltsEnergy: number;
  private readonly zr: Float64Array;
  /** For each used carrier: its pilot number or data number (-1 otherwise). */
  private readonly pilotIndex: Int32Array;
  private readonly dataIndex: Int32Array;
  private readonly zi: Float64Array;

  /** `wasm` false: no WebAssembly kernels (the JavaScript loops, same bits); default true. */
  constructor(layout: OfdmLayout, opts: { wasm?: boolean } = {}) {
    this.layout = layout;
    const wasm = opts.wasm ?? true;
    this.viterbi = new ViterbiDecoder({ simd: wasm });
    const n = layout.fftSize;
    this.searchHalfWidth = Math.min((n >> 1) - 1, layout.cpLength + 4);
    this.backoff = Math.max(0, Math.min(layout.cpLength - 1, Math.round(layout.cpLength / 4)));
    this.fft = new Fft(n);
    this.fftBuf = new Float32Array(2 * n);
    const winFloats = 2 * (2 * this.searchHalfWidth + 2 * n + layout.cpLength + 2);
    const u = layout.numUsed;
    this.pilotIndex = new Int32Array(layout.numUsed).fill(-1);
    this.dataIndex = new Int32Array(layout.numUsed).fill(-1);
    for (let j = 0; j < layout.numPilots; j++) this.pilotIndex[layout.pilotPos[j]!] = j;
    for (let d = 0; d < layout.numData; d++) this.dataIndex[layout.dataPos[d]!] = d;
    const tr = training(layout);
    this.ltsFreq = tr.ltsFreq;
    this.ltsTime = tr.ltsTime;
    this.ltsEnergy = tr.ltsEnergy;
    const k = !wasm ? null : DemodKernels.create(this.fft, layout, { pilotIndex: this.pilotIndex, dataIndex: this.dataIndex, ltsFreq: tr.ltsFreq, ltsTime: tr.ltsTime, winFloats });
    this.kernels = k;
    this.pointEncoder = wasm ? PointEncoder.create() : null;
    // with the kernels, the arrays they work on live in their memory
    this.win = k ? k.win : new Float32Array(winFloats);
    this.y1 = k ? k.y1 : new Float32Array(2 * u);
    this.y2 = k ? k.y2 : new Float32Array(2 * u);
    this.h = k ? k.h : new Float32Array(2 * u);
    this.h2 = k ? k.h2 : new Float32Array(u);
    this.invH = k ? k.invH : new Float32Array(2 * u);
    this.refPts = new Float32Array(2 * layout.numData);
    this.refFlag = new Uint8Array(layout.numData);
    this.xCar = new Float32Array(2 * u);
    this.kCar = new Uint8Array(u);
    this.sym = k ? k.sym : new Float32Array(2 * u);
    this.hdrStore = new Float32Array(2 * u * layout.headerSymbols);
    this.snr = new SnrAccumulator(u, k?.snrArrays);
    this.zr = new Float64Array(layout.numPilots);
    this.zi = new Float64Array(layout.numPilots);
  }

  /** Samples needed after the sync event before `acquire` + `decodeHeader` can run. */
  headerNeed(ev: SyncEvent): number {
    const L = this.layout;
    return ev.stsEnd + L.ltsGuard + 2 * L.fftSize + this.searchHalfWidth + L.headerSymbols * L.symbolLength + 2;
  }

  /** Integer CFO, fine timing and fine CFO from the LTS. Needs samples up to headerNeed(ev). */
  acquire(buf: Float32Array, bufStart: number, ev: SyncEvent): AcquireResult {
    const L = this.layout;
    const n = L.fftSize;
    const S = this.searchHalfWidth;
    const p = ev.stsEnd + L.ltsGuard; // predicted LTS1 start
    const w0 = p - S - L.cpLength; // absolute index of win[0]
    const wl = this.win.length >> 1;
    const kernels = this.kernels;
    const from = 2 * (w0 - bufStart);
    if (kernels !== null && from >= 0 && from + 2 * wl <= buf.length) return this.acquireWasm(kernels, buf, from, ev, p, w0, wl);
    // 1) coarse (fractional) CFO removal into the window
    this.derotate(buf, bufStart, w0, wl, ev.coarseRadPerSample, p, this.win, 0);
    // 2) integer CFO (even carrier shifts: the STS estimate is ambiguous modulo 2 carriers)
    const fb = this.fftBuf;
    const off = 2 * (p + (n >> 1) - w0);
    for (let i = 0; i < 2 * n; i++) fb[i] = this.win[off + i]!;
    this.fft.forward(fb);
    const spacing = L.params.sampleRateHz / n;
    const maxShift = Math.min(n >> 2, 2 * Math.ceil(L.params.maxCfoHz / spacing / 2 + 0.5));
    let bestS = 0;
    let bestM = -1;
    for (let s = -maxShift; s <= maxShift; s += 2) {
      let cr = 0;
      let ci = 0;
      for (let i = 0; i + 1 < L.numUsed; i++) {
        if (L.usedSc[i + 1]! !== L.usedSc[i]! + 1) continue;
        const b0 = (((L.usedSc[i]! + s) % n) + n) % n;
        const b1 = (((L.usedSc[i + 1]! + s) % n) + n) % n;
        const sg = this.ltsFreq[i]! * this.ltsFreq[i + 1]!;
        const ar = fb[2 * b0]!;
        const ai = fb[2 * b0 + 1]!;
        const br = fb[2 * b1]!;
        const bi = fb[2 * b1 + 1]!;
        cr += sg * (ar * br + ai * bi);
        ci += sg * (ai * br - ar * bi);
      }
      const m = cr * cr + ci * ci;
      if (m > bestM) {
        bestM = m;
        bestS = s;
      }
    }
    let omega = ev.coarseRadPerSample + (2 * Math.PI * bestS) / n;
    this.derotate(buf, bufStart, w0, wl, omega, p, this.win, 0);
    // 3) fine timing: cross-correlation with the known LTS body over p +- S
    const lt = this.ltsTime;
    let bestT = p;
    let bestC = -1;
    let bestRho = 0;
    const w = this.win;
    for (let t = p - S; t <= p + S; t++) {
      const o = 2 * (t - w0);
      let cr = 0;
      let ci = 0;
      let e = 0;
      for (let i = 0; i < n; i++) {
        const xr = w[o + 2 * i]!;
        const xi = w[o + 2 * i + 1]!;
        const lr = lt[2 * i]!;
        const li = lt[2 * i + 1]!;
        cr += xr * lr + xi * li;
        ci += xi * lr - xr * li;
        e += xr * xr + xi * xi;
      }
      const c = cr * cr + ci * ci;
      if (c > bestC) {
        bestC = c;
        bestT = t;
        bestRho = e > 0 ? c / (e * this.ltsEnergy) : 0;
      }
    }
    if (!(bestRho >= 0.15)) return { ok: false, reason: 'lts' };
    // 4) fine CFO: the guard and both LTS copies repeat with period N
    let fr = 0;
    let fi = 0;
    for (let t = bestT - L.cpLength; t < bestT + n; t++) {
      const a = 2 * (t - w0);
      const b = a + 2 * n;
      const xr = w[a]!;
      const xi = w[a + 1]!;
      const yr = w[b]!;
      const yi = w[b + 1]!;
      fr += xr * yr + xi * yi;
      fi += xr * yi - xi * yr;
    }
    omega += Math.atan2(fi, fr) / n;
    const ltsStart = bestT;
    return {
      ok: true,
      acq: {
        ltsStart,
        omega,
        ref: p,
        firstSymbol: ltsStart + 2 * n + L.cpLength - this.backoff,
        syncQuality: bestRho,
        frameStart: ltsStart - L.ltsGuard - L.stsLength,
      },
    };
  }

  /** acquire with its loops in WebAssembly (demod-wasm-acquire.ts): the same steps, numbers and decisions. */
  private acquireWasm(kernels: DemodKernels, buf: Float32Array, from: number, ev: SyncEvent, p: number, w0: number, wl: number): AcquireResult {
    const L = this.layout;
    const n = L.fftSize;
    const S = this.searchHalfWidth;
    kernels.loadWindow(buf, from, wl);
    // 1) coarse CFO removal (derotate's phase recurrence, from the same cos/sin values)
    const args = kernels.args;
    let omega = ev.coarseRadPerSample;
    let ph = -omega * (w0 - p);
    args[0] = Math.cos(ph);
    args[1] = Math.sin(ph);
    args[2] = Math.cos(omega);
    args[3] = -Math.sin(omega);
    kernels.derotateWindow(wl);
    // 2) integer CFO
    const spacing = L.params.sampleRateHz / n;
    const maxShift = Math.min(n >> 2, 2 * Math.ceil(L.params.maxCfoHz / spacing / 2 + 0.5));
    const bestS = kernels.cfoSearch(2 * (p + (n >> 1) - w0), maxShift);
    omega = ev.coarseRadPerSample + (2 * Math.PI * bestS) / n;
    ph = -omega * (w0 - p);
    args[0] = Math.cos(ph);
    args[1] = Math.sin(ph);
    args[2] = Math.cos(omega);
    args[3] = -Math.sin(omega);
    kernels.derotateWindow(wl);
    // 3) fine timing
    args[0] = this.ltsEnergy;
    const bestT = p - S + kernels.fineTiming(2 * (p - S - w0), 2 * S + 1);
    const bestRho = kernels.results[0]!;
    if (!(bestRho >= 0.15)) return { ok: false, reason: 'lts' };
    // 4) fine CFO
    const sums = kernels.lagSums(2 * (bestT - L.cpLength - w0), L.cpLength + n);
    omega += Math.atan2(sums[1]!, sums[0]!) / n;
    return {
      ok: true,
      acq: {
        ltsStart: bestT,
        omega,
        ref: p,
        firstSymbol: bestT + 2 * n + L.cpLength - this.backoff,
        syncQuality: bestRho,
        frameStart: bestT - L.ltsGuard - L.stsLength,
      },
    };
  }

  /**
   * Copy `count` samples from absolute `start`, removing CFO exp(-j omega (n - ref)). With `perm`, sample
   * i goes to complex index perm[i] (the FFT's bit-reversed input order) instead of outOff + i.
   */
  private derotate(
    buf: Float32Array,
    bufStart: number,
    start: number,
    count: number,
    omega: number,
    ref: number,
    out: Float32Array,
    outOff: number,
    perm: Uint32Array | null = null,
  ): void {
    const ph = -omega * (start - ref);
    let c = Math.cos(ph);
    let s = Math.sin(ph);
    const dc = Math.cos(omega);
    const ds = -Math.sin(omega);
    let a = 2 * (start - bufStart);
    for (let i = 0; i < count; i++, a += 2) {
      const xr = buf[a]!;
      const xi = buf[a + 1]!;
      const o = perm ? 2 * perm[i]! : 2 * (outOff + i);
      out[o] = xr * c - xi * s;
      out[o + 1] = xr * s + xi * c;
      const nc = c * dc - s * ds;
      s = c * ds + s * dc;
      c = nc;
    }
  }

  /** FFT at absolute window start; used carriers (unit-energy scale) into `out`. */
  private fftAt(buf: Float32Array, bufStart: number, start: number, acq: Acquisition, out: Float32Array): void {
    const L = this.layout;
    const from = 2 * (start - bufStart);
    const kernels = this.kernels;
    if (kernels !== null && from >= 0 && from + 2 * L.fftSize <= buf.length) {
      // derotate's phase recurrence, started from the same cos/sin values
      const omega = acq.omega;
      const ph = -omega * (start - acq.ref);
      if (acq !== this.stepOf) {
        // the per-sample rotation is the frame's: computed once per acquisition, not per symbol
        this.stepOf = acq;
        this.stepCos = Math.cos(omega);
        this.stepSin = -Math.sin(omega);
      }
      const args = kernels.args;
      args[0] = Math.cos(ph);
      args[1] = Math.sin(ph);
      args[2] = this.stepCos;
      args[3] = this.stepSin;
      kernels.fftAt(buf, from, out);
      return;
    }
    // derotated samples go straight to their bit-reversed slots: the FFT skips its permutation pass
    const fb = this.fftBuf;
    this.derotate(buf, bufStart, start, L.fftSize, acq.omega, acq.ref, fb, 0, this.fft.rev);
    this.fft.forwardBitReversed(fb);
    const sc = L.rxScale;
    for (let u = 0; u < L.numUsed; u++) {
      const b = L.usedBin[u]!;
      out[2 * u] = fb[2 * b]! * sc;
      out[2 * u + 1] = fb[2 * b + 1]! * sc;
    }
  }

  /** Symbol m's FFT window start (m = 0 is the first header symbol). */
  private symbolStart(acq: Acquisition, m: number): number {
    return acq.firstSymbol + m * this.layout.symbolLength + this.slip;
  }

  /**
   * Channel estimate from both LTS copies, then demodulate and decode the header. Returns null when the
   * header CRC fails or a field is invalid. Needs samples up to headerNeed(ev).
   */
  decodeHeader(buf: Float32Array, bufStart: number, acq: Acquisition): FrameHeader | null {
    const L = this.layout;
    const u = L.numUsed;
    this.snr.reset();
    this.slope = 0;
    this.slopeRate = 0;
    this.slip = 0;
    this.slips = 0;
    const f1 = acq.ltsStart - this.backoff;
    this.fftAt(buf, bufStart, f1, acq, this.y1);
    this.fftAt(buf, bufStart, f1 + L.fftSize, acq, this.y2);
    let nd = 0;
    const kernels = this.kernels;
    if (kernels !== null) {
      // the loop below in WebAssembly; the fit was just reset, so its totals take the sums exactly
      const sums = kernels.ltsEstimate();
      nd = sums[0]!;
      this.snr.addKnownTotals(sums[1]!, sums[2]!, 2 * u);
    } else {
      for (let k = 0; k < u; k++) {
        const x = this.ltsFreq[k]!;
        const hr = 0.5 * (this.y1[2 * k]! + this.y2[2 * k]!) * x;
        const hi = 0.5 * (this.y1[2 * k + 1]! + this.y2[2 * k + 1]!) * x;
        this.h[2 * k] = hr;
        this.h[2 * k + 1] = hi;
        this.h2[k] = hr * hr + hi * hi;
        const dr = this.y1[2 * k]! - this.y2[2 * k]!;
        const di = this.y1[2 * k + 1]! - this.y2[2 * k + 1]!;
        nd += dr * dr + di * di;
        this.snr.known(k, this.y1[2 * k]!, this.y1[2 * k + 1]!, x, 0);
        this.snr.known(k, this.y2[2 * k]!, this.y2[2 * k + 1]!, x, 0);
      }
    }
    if (kernels !== null) kernels.smoothAndTaps(); // the two steps below in WebAssembly
    else {
      this.smoothChannel();
      for (let k = 0; k < u; k++) {
        const inv = 1 / Math.max(this.h2[k]!, 1e-30);
        this.invH[2 * k] = this.h[2 * k]! * inv;
        this.invH[2 * k + 1] = -this.h[2 * k + 1]! * inv;
      }
    }
    // |Y1 - Y2|^2 has twice the noise variance; floor keeps LLR weights finite on noiseless input.
    this.noiseLts = Math.max(nd / (2 * u), 1e-9 * (this.meanH2() + 1e-30));
    // header symbols
    const hs = L.headerSymbols;
    const nData = L.numData;
    const total = hs * nData;
    if (this.llr.length < total) this.llr = new Float32Array(total);
    const perm = interleaverPermutation(nData, 1);
    const bpsk = constellation(Modulation.BPSK);
    if (this.symLlr.length < nData) this.symLlr = new Float32Array(nData);
    const symLlr = this.symLlr;
    const hdrStore = this.hdrStore;
    for (let m = 0; m < hs; m++) {
      this.demodSymbol(buf, bufStart, acq, m, this.sym, bpsk);
      hdrStore.set(this.sym, 2 * u * m);
      this.headerLlrs(bpsk, symLlr);
      const llr = this.llr;
      for (let i = 0; i < nData; i++) llr[m * nData + i] = symLlr[perm[i]!]!;
    }
    if (this.bitsBuf.length < HEADER_BYTES * 8) this.bitsBuf = new Uint8Array(HEADER_BYTES * 8);
    const bits = this.viterbi.decode(this.llr.subarray(0, total), HEADER_BYTES * 8, CodeRate.R1_2, this.bitsBuf.subarray(0, HEADER_BYTES * 8));
    const bytes = bitsToBytes(bits, HEADER_BYTES);
    const header = unpackHeader(bytes);
    if (!header) return null;
    // Header CRC passed: its REs are known, so they join the SNR fit.
    const coded = headerCodedBits(L, bytes, this.encodeScratch);
    this.refFlag.fill(1);
    for (let m = 0; m < hs; m++) {
      for (let d = 0; d < nData; d++) {
        this.refPts[2 * d] = coded[m * nData + d]! ? -1 : 1;
        this.refPts[2 * d + 1] = 0;
      }
      // every carrier known, none in the EVM: accumulateKnown does accumulate's operations (and runs in
      // WebAssembly where available)
      this.accumulateKnown(hdrStore, 2 * u * m, m, this.refPts, 0, 0);
    }
    return header;
  }

  /** Samples needed (absolute end index) before decodePayload can run. */
  payloadNeed(acq: Acquisition, plan: PayloadPlan): number {
    // end of the last symbol's FFT window, plus a little for the fractional-delay of the window
    return this.symbolStart(acq, this.layout.headerSymbols + plan.numSymbols - 1) + this.layout.fftSize + 2;
  }

  planFor(header: FrameHeader): PayloadPlan {
    return planPayload(this.layout, header.payloadKind, header.modulation, header.codeRate, header.payloadLength);
  }

  decodePayload(buf: Float32Array, bufStart: number, acq: Acquisition, header: FrameHeader, plan: PayloadPlan, equalizer: Equalizer): RxFrame {
    const L = this.layout;
    const u = L.numUsed;
    const nData = L.numData;
    const nsym = plan.numSymbols;
    const c = plan.constellation;
    const nRe = nsym * nData;
    if (this.stored.length < 2 * u * nsym) this.stored = new Float32Array(2 * u * nsym);
    if (this.decided.length < nRe) this.decided = new Uint8Array(nRe);
    const stored = this.stored;
    const decided = this.decided;
    const bytesKind = plan.kind === PayloadKind.Bytes;
    const bps = c.bitsPerSymbol;
    const ncbps = nData * bps;
    if (bytesKind && this.llr.length < nsym * ncbps) this.llr = new Float32Array(nsym * ncbps);
    const inv = bytesKind ? interleaverInverse(ncbps, bps) : null;
    const count = bytesKind ? 0 : plan.length;
    const symbols = bytesKind ? undefined : new Float32Array(2 * count);
    const gains = bytesKind ? undefined : new Float32Array(count);
    const noiseVars = bytesKind ? undefined : new Float32Array(count);
    const nv = this.noiseLts;
    const mmse = equalizer === 'mmse';
    const invH = this.invH;
    const sym = this.sym;
    // One pass per resource element: ZF, slicing, then LLRs or the output point. The per-RE loops are
    // separate small methods, one per frame kind: as one loop inside this large function, compiled after
    // both kinds had been seen, V8's code allocated heap numbers per resource element (~6 MB of garbage
    // per 2 M samples of the mixed benchmark stream, by the sampling heap profiler; ~0.4 MB split).
    let first = 0;
    const kernels = this.kernels;
    if (bytesKind && kernels !== null) {
      // the loop below in one WebAssembly call for as many symbols as it can take (demod-wasm-symbol.ts)
      const args = kernels.args;
      if (acq !== this.stepOf) {
        this.stepOf = acq;
        this.stepCos = Math.cos(acq.omega);
        this.stepSin = -Math.sin(acq.omega);
      }
      const start0 = this.symbolStart(acq, L.headerSymbols);
      args[0] = start0 - acq.ref;
      args[1] = acq.omega;
      args[2] = this.stepCos;
      args[3] = this.stepSin;
      args[5] = this.slope;
      args[6] = this.slopeRate;
      args[9] = nv;
      first = kernels.payload(buf, bufStart, start0, nsym, L.headerSymbols, L.symbolLength, c, inv!);
      if (first > 0) {
        const st = kernels.payloadState;
        this.slope = st[0]!;
        this.slopeRate = st[1]!;
        this.slip += st[2]!;
        this.slips += st[3]!;
        stored.set(kernels.frameStored(first), 0);
        this.llr.set(kernels.frameLlrs(first * ncbps), 0);
      }
    }
    for (let m = first; m < nsym; m++) {
      this.demodSymbol(buf, bufStart, acq, L.headerSymbols + m, sym, c);
      stored.set(sym, 2 * u * m);
      if (bytesKind) {
        // LLRs straight to their deinterleaved positions: llr[m ncbps + i] = symbol LLR perm[i]
        this.symbolLlrs(c, nv, this.llr, m * ncbps, inv!);
      } else {
        this.symbolPoints(c, m, count, mmse, nv, decided, symbols!, gains!, noiseVars!);
      }
    }
    // Decode and check CRC.
    let crcOk: boolean;
    let bytes: Uint8Array | undefined;
    let knownPts: Float32Array | null = null; // transmitted payload points, when the CRC proved them
    if (bytesKind) {
      if (this.bitsBuf.length < plan.infoBits) this.bitsBuf = new Uint8Array(plan.infoBits);
      const bits = this.viterbi.decode(this.llr.subarray(0, nsym * ncbps), plan.infoBits, plan.codeRate, this.bitsBuf.subarray(0, plan.infoBits));
      // keep the decoder's (scrambled) bits: if the CRC passes they are re-encoded as they are
      if (this.scrambledBits.length < plan.infoBits) this.scrambledBits = new Uint8Array(plan.infoBits);
      const scrambledBits = this.scrambledBits.subarray(0, plan.infoBits);
      scrambledBits.set(bits);
      scramble(bits, scramblerSeed(header.sequence));
      bytes = bitsToBytes(bits, plan.length);
      crcOk = crc32(bytes) === header.payloadCrc32;
      if (crcOk) {
        if (this.knownBuf.length < 2 * nRe) this.knownBuf = new Float32Array(2 * nRe);
        knownPts = this.knownBuf;
        if (this.pointEncoder !== null) this.pointEncoder.encode(plan, scrambledBits, knownPts);
        else payloadPointsFromScrambledBits(plan, scrambledBits, knownPts, this.encodeScratch);
      } else {
        // no proven reference: the sliced decisions serve the EVM (they stay out of the SNR fit)
        for (let m = 0; m < nsym; m++) {
          const base = 2 * u * m;
          for (let d = 0; d < nData; d++) {
            const k = L.dataPos[d]!;
            const yr = stored[base + 2 * k]!;
            const yi = stored[base + 2 * k + 1]!;
            const ir = invH[2 * k]!;
            const ii = invH[2 * k + 1]!;
            decided[m * nData + d] = c.nearestIndex(yr * ir - yi * ii, yr * ii + yi * ir);
          }
        }
      }
    } else {
      crcOk = crc32(decided, 0, count) === header.payloadCrc32;
    }
    // Measurements: SNR fit over known REs, EVM against known or sliced points.
    this.evmNum = 0;
    this.evmDen = 0;
    if (crcOk) {
      // Every data RE is known: the proven payload points (bytes), or the decided points and then the
      // filler (symbols; the filler stays out of the EVM). The fit reads them in place (accumulateKnown):
      // no per-symbol reference copy, no per-carrier known/EVM flags.
      let src: Float32Array;
      if (knownPts) src = knownPts;
      else {
        if (this.knownBuf.length < 2 * nRe) this.knownBuf = new Float32Array(2 * nRe);
        src = this.knownBuf;
        const pts = c.points;
        const lim = Math.min(count, nRe);
        for (let re = 0; re < lim; re++) {
          const ix = decided[re]!;
          src[2 * re] = pts[2 * ix]!;
          src[2 * re + 1] = pts[2 * ix + 1]!;
        }
        for (let re = lim; re < nRe; re++) {
          // fillerPoint(re), without allocating its tuple per resource element
          src[2 * re] = PN127[re % 127]! * Math.SQRT1_2;
          src[2 * re + 1] = PN127[(re + 40) % 127]! * Math.SQRT1_2;
        }
      }
      // the loop below as one WebAssembly call; when the payload call demodulated every symbol, their carriers
      // are still in the kernels' frame region
      const inPlace = first === nsym;
      if (kernels !== null && kernels.fitFrame(inPlace ? null : stored, src, nsym, L.headerSymbols, bytesKind ? nsym * nData : count, this.snr, this.evmNum, this.evmDen)) {
        this.evmNum = kernels.results[0]!;
        this.evmDen = kernels.results[1]!;
      } else {
        for (let m = 0; m < nsym; m++) {
          const evmData = bytesKind ? nData : Math.max(0, Math.min(nData, count - m * nData));
          this.accumulateKnown(stored, 2 * u * m, L.headerSymbols + m, src, 2 * m * nData, evmData);
        }
      }
    } else {
      const ref = this.refPts;
      const flag = this.refFlag;
      for (let m = 0; m < nsym; m++) {
        for (let d = 0; d < nData; d++) {
          const re = m * nData + d;
          if (!bytesKind && re >= count) {
            // fillerPoint(re), without allocating its tuple per resource element
            ref[2 * d] = PN127[re % 127]! * Math.SQRT1_2;
            ref[2 * d + 1] = PN127[(re + 40) % 127]! * Math.SQRT1_2;
            flag[d] = 2; // filler carriers are deterministic: always known, not part of the EVM
          } else {
            const ix = decided[re]!;
            ref[2 * d] = c.points[2 * ix]!;
            ref[2 * d + 1] = c.points[2 * ix + 1]!;
            flag[d] = 0;
          }
        }
        this.accumulate(stored, 2 * u * m, L.headerSymbols + m, true);
      }
    }
    const est = this.snr.estimate();
    const channel = new Float32Array(2 * u);
    this.snr.channel(channel);
    const gainDb = new Float32Array(u);
    for (let k = 0; k < u; k++) {
      const g = channel[2 * k]! * channel[2 * k]! + channel[2 * k + 1]! * channel[2 * k + 1]!;
      gainDb[k] = 10 * Math.log10(Math.max(g, 1e-30));
    }
    const evmDb = this.evmDen > 0 && this.evmNum > 0 ? 10 * Math.log10(this.evmNum / this.evmDen) : -Infinity;
    const frame: RxFrame = {
      header,
      startSample: acq.frameStart,
      lengthSamples: frameLength(L, plan),
      crcOk,
      snrDb: est.snrDb,
      evmDb,
      cfoHz: (acq.omega * L.params.sampleRateHz) / (2 * Math.PI),
      noiseVar: est.noiseVar,
      signalPower: est.signalPower,
      snrDof: est.dof,
      subcarrierIndex: L.usedSc,
      channel,
      subcarrierGainDb: gainDb,
      equalizer,
      flags: {
        dataAided: crcOk,
        timingSlips: this.slips,
        lowSnr: !(est.snrDb >= 3),
        syncQuality: acq.syncQuality,
      },
    };
    if (bytes) frame.bytes = bytes;
    if (symbols) {
      frame.symbols = symbols;
      frame.symbolGain = gains!;
      frame.symbolNoiseVar = noiseVars!;
    }
    return frame;
  }

  /** Max-log LLRs of the data carriers of the phase-corrected symbol in `this.sym` (ZF, weighted by |H|^2). */
  private symbolLlrs(c: Constellation, nv: number, out: Float32Array, base: number, inv: Uint32Array): void {
    if (this.kernels !== null) {
      this.kernels.args[0] = nv;
      this.kernels.llrs(c, out, base, inv);
      return;
    }
    const L = this.layout;
    const sym = this.sym;
    const invH = this.invH;
    const h2a = this.h2;
    const bps = c.bitsPerSymbol;
    for (let d = 0; d < L.numData; d++) {
      const k = L.dataPos[d]!;
      const yr = sym[2 * k]!;
      const yi = sym[2 * k + 1]!;
      const ir = invH[2 * k]!;
      const ii = invH[2 * k + 1]!;
      const xr = yr * ir - yi * ii;
      const xi = yr * ii + yi * ir;
      const h2 = Math.max(h2a[k]!, 1e-30);
      // decisions are only needed when the CRC fails (EVM reference): sliced later, from `stored`
      c.demapLlrTo(xr, xi, nv / h2, out, base, inv, d * bps);
    }
  }

  /**
   * JSCC symbol m (phase-corrected, in `this.sym`): slice every data carrier into `decided` and write the
   * first `count` points equalized (ZF or MMSE) with their |H|^2 and noise variance.
   */
  private symbolPoints(
    c: Constellation,
    m: number,
    count: number,
    mmse: boolean,
    nv: number,
    decided: Uint8Array,
    symbols: Float32Array,
    gains: Float32Array,
    noiseVars: Float32Array,
  ): void {
    const L = this.layout;
    const nData = L.numData;
    const sym = this.sym;
    const invH = this.invH;
    const h2a = this.h2;
    for (let d = 0; d < nData; d++) {
      const k = L.dataPos[d]!;
      const re = m * nData + d;
      const yr = sym[2 * k]!;
      const yi = sym[2 * k + 1]!;
      const ir = invH[2 * k]!;
      const ii = invH[2 * k + 1]!;
      const xr = yr * ir - yi * ii;
      const xi = yr * ii + yi * ir;
      const h2 = Math.max(h2a[k]!, 1e-30);
      decided[re] = c.nearestIndex(xr, xi);
      if (re < count) {
        if (mmse) {
          // conj(H) Y / (|H|^2 + N0): biased towards 0, minimum mean-square error
          const g = h2 / (h2 + nv);
          symbols[2 * re] = xr * g;
          symbols[2 * re + 1] = xi * g;
          noiseVars[re] = nv / (h2 + nv);
        } else {
          symbols[2 * re] = xr;
          symbols[2 * re + 1] = xi;
          noiseVars[re] = nv / h2;
        }
        gains[re] = h2;
      }
    }
  }

  /**
   * 3-tap frequency smoothing of the LTS estimate, after removing its mean phase slope (the FFT window sits
   * `backoff` samples early, which tilts the phase by 2 pi backoff / N per carrier). Averaging neighbours
   * cuts estimation noise from N0/2 to ~N0/6 per carrier (loss 1.76 dB -> 0.67 dB) while the channel's
   * coherence bandwidth (tens of carriers for EPA/EVA at a few Msps) keeps the bias small.
   */
  private smoothChannel(): void {
    const L = this.layout;
    const u = L.numUsed;
    const h = this.h;
    let sr = 0;
    let si = 0;
    for (let k = 0; k + 1 < u; k++) {
      if (L.usedSc[k + 1]! !== L.usedSc[k]! + 1) continue;
      sr += h[2 * k + 2]! * h[2 * k]! + h[2 * k + 3]! * h[2 * k + 1]!;
      si += h[2 * k + 3]! * h[2 * k]! - h[2 * k + 2]! * h[2 * k + 1]!;
    }
    const slope = Math.atan2(si, sr);
    const t = this.sym; // scratch
    for (let k = 0; k < u; k++) {
      const th = -slope * L.usedSc[k]!;
      const c = Math.cos(th);
      const s = Math.sin(th);
      t[2 * k] = h[2 * k]! * c - h[2 * k + 1]! * s;
      t[2 * k + 1] = h[2 * k]! * s + h[2 * k + 1]! * c;
    }
    for (let k = 0; k < u; k++) {
      // neighbours by position in the used list; the band edges use two taps
      const lo = k > 0 ? k - 1 : k;
      const hi = k + 1 < u ? k + 1 : k;
      let ar = t[2 * lo]! + t[2 * hi]!;
      let ai = t[2 * lo + 1]! + t[2 * hi + 1]!;
      let cnt = 2;
      if (lo !== k && hi !== k) {
        ar += t[2 * k]!;
        ai += t[2 * k + 1]!;
        cnt = 3;
      }
      const th = slope * L.usedSc[k]!;
      const c = Math.cos(th);
      const s = Math.sin(th);
      const mr = ar / cnt;
      const mi = ai / cnt;
      h[2 * k] = mr * c - mi * s;
      h[2 * k + 1] = mr * s + mi * c;
      this.h2[k] = mr * mr + mi * mi;
    }
  }

  private meanH2(): number {
    let s = 0;
    for (let k = 0; k < this.layout.numUsed; k++) s += this.h2[k]!;
    return s / this.layout.numUsed;
  }

  /**
   * BPSK LLRs of the header symbol in `this.sym`: ZF as Y conj(H) / |H|^2, weighted by |H|^2 / N0. A
   * separate small method for the same reason as symbolLlrs (the loop inside decodeHeader allocated
   * ~1 MB of heap numbers per 2 M samples).
   */
  private headerLlrs(bpsk: Constellation, out: Float32Array): void {
    const L = this.layout;
    const sym = this.sym;
    const h = this.h;
    const h2a = this.h2;
    const nv = this.noiseLts;
    for (let d = 0; d < L.numData; d++) {
      const k = L.dataPos[d]!;
      const yr = sym[2 * k]!;
      const yi = sym[2 * k + 1]!;
      const hr = h[2 * k]!;
      const hi = h[2 * k + 1]!;
      const h2 = h2a[k]!;
      const inv = 1 / Math.max(h2, 1e-30);
      bpsk.demapLlr((yr * hr + yi * hi) * inv, (yi * hr - yr * hi) * inv, nv / Math.max(h2, 1e-30), out, d);
    }
  }

  /** Each pilot's rotation z_j = Y_p conj(H_p) P_j exp(-j slope k_j), into this.zr / this.zi. */
  private pilotRotations(out: Float32Array, m: number, slope: number): void {
    const L = this.layout;
    const zr = this.zr;
    const zi = this.zi;
    for (let j = 0; j < L.numPilots; j++) {
      const k = L.pilotPos[j]!;
      const pv = pilotValue(L, m, j);
      const yr = out[2 * k]!;
      const yi = out[2 * k + 1]!;
      const hr = this.h[2 * k]!;
      const hi = this.h[2 * k + 1]!;
      const ar = (yr * hr + yi * hi) * pv;
      const ai = (yi * hr - yr * hi) * pv;
      const th = -slope * L.usedSc[k]!;
      const c = Math.cos(th);
      const s = Math.sin(th);
      zr[j] = ar * c - ai * s;
      zi[j] = ar * s + ai * c;
    }
  }

  /**
   * FFT of OFDM symbol m, then pilot-based tracking of common phase (residual CFO, phase noise) and phase
   * slope across carriers (timing drift from sample-rate offset); the rotation is removed from all
   * carriers in `out`. The slope is followed by a second-order loop (it drifts linearly with SRO); when the
   * drift reaches a whole sample the FFT window is moved, so long frames never slide out of the CP.
   */
  private demodSymbol(buf: Float32Array, bufStart: number, acq: Acquisition, m: number, out: Float32Array, cons: Constellation): void {
    const L = this.layout;
    const n = L.fftSize;
    const kernels = this.kernels;
    const start = this.symbolStart(acq, m);
    const from = 2 * (start - 1 - bufStart);
    if (kernels !== null && kernels.owns(out) && from >= 0 && from + 2 * (n + 2) <= buf.length) {
      // all of the below in one WebAssembly call (demod-wasm-symbol.ts), with the window and a sample of
      // margin on each side for a slip
      const pv = kernels.pilotVals;
      for (let j = 0; j < L.numPilots; j++) pv[j] = pilotValue(L, m, j);
      if (acq !== this.stepOf) {
        this.stepOf = acq;
        this.stepCos = Math.cos(acq.omega);
        this.stepSin = -Math.sin(acq.omega);
      }
      const args = kernels.args;
      args[0] = start - acq.ref;
      args[1] = acq.omega;
      args[2] = this.stepCos;
      args[3] = this.stepSin;
      args[5] = this.slope;
      args[6] = this.slopeRate;
      const step = kernels.symbol(buf, from, out, cons);
      const r = kernels.results;
      this.slope = r[2]!;
      this.slopeRate = r[3]!;
      if (step !== 0) {
        this.slip += step;
        this.slips++;
      }
      return;
    }
    this.fftAt(buf, bufStart, this.symbolStart(acq, m), acq, out);
    const bPred = this.slope + this.slopeRate;
    // pilot rotations z_j = Y_p conj(H_p) P_j, with the predicted slope removed
    const np = L.numPilots;
    const zr = this.zr;
    const zi = this.zi;
    this.pilotRotations(out, m, bPred);
    let sr = 0;
    let si = 0;
    for (let j = 0; j < np; j++) {
      sr += zr[j]!;
      si += zi[j]!;
    }
    // residual slope: LS fit of each pilot's phase relative to the common phase (z_j conj(S))
    const sm = hypot2(sr, si);
    const cr = sm > 0 ? sr / sm : 1;
    const ci = sm > 0 ? -si / sm : 0;
    let num = 0;
    let den = 0;
    for (let j = 0; j < np; j++) {
      const k = L.usedSc[L.pilotPos[j]!]!;
      const rr = zr[j]! * cr - zi[j]! * ci;
      const ri = zr[j]! * ci + zi[j]! * cr;
      const mag = hypot2(rr, ri);
      num += mag * k * Math.atan2(ri, rr);
      den += mag * k * k;
    }
    const bRes = den > 0 ? num / den : 0;
    let b = bPred + 0.1 * bRes;
    this.slopeRate += 0.005 * bRes;
    // window slip: drift d - d0 = -b N / (2 pi) samples
    const drift = (-b * n) / (2 * Math.PI);
    if (drift >= 1 || drift <= -1) {
      const step = drift >= 1 ? 1 : -1;
      this.slip += step;
      this.slips++;
      b += (step * 2 * Math.PI) / n;
      this.slope = b;
      this.fftAt(buf, bufStart, this.symbolStart(acq, m), acq, out);
    } else {
      this.slope = b;
    }
    // common phase with the final slope
    this.pilotRotations(out, m, b);
    sr = 0;
    si = 0;
    for (let j = 0; j < np; j++) {
      sr += zr[j]!;
      si += zi[j]!;
    }
    const a = Math.atan2(si, sr);
    // Rotate all carriers by exp(-j(a + b k)); k steps by 1 (2 across DC), so use a recurrence, not trig.
    // The same pass gathers the decision-directed refinement of the common phase over all carriers:
    // 4 pilots alone leave a phase error of variance N0/(8|H|^2), i.e. ~0.5 dB of loss; the data carriers
    // shrink it ~13-fold. sum of Y conj(H X) = sum of |H|^2 (Y/H) conj(X)
    const th0 = -(a + b * L.usedSc[0]!);
    let c = Math.cos(th0);
    let s = Math.sin(th0);
    const dc = Math.cos(b);
    const ds = -Math.sin(b);
    let prevK = L.usedSc[0]!;
    sr = 0;
    si = 0;
    const invH = this.invH;
    const h2a = this.h2;
    const pilotIndex = this.pilotIndex;
    const usedSc = L.usedSc;
    const bpsk = cons.modulation === Modulation.BPSK;
    for (let k = 0; k < L.numUsed; k++) {
      const sc = usedSc[k]!;
      while (prevK < sc) {
        const nc = c * dc - s * ds;
        s = c * ds + s * dc;
        c = nc;
        prevK++;
      }
      const y0r = out[2 * k]!;
      const y0i = out[2 * k + 1]!;
      const yr = y0r * c - y0i * s;
      const yi = y0r * s + y0i * c;
      out[2 * k] = yr;
      out[2 * k + 1] = yi;
      // equalize (rounded to float32 as the separate pass that stored and re-read `out` did)
      const fyr = Math.fround(yr);
      const fyi = Math.fround(yi);
      const ir = invH[2 * k]!;
      const ii = invH[2 * k + 1]!;
      const er = fyr * ir - fyi * ii;
      const ei = fyr * ii + fyi * ir;
      let xr: number;
      let xi: number;
      const j = pilotIndex[k]!;
      if (j >= 0) {
        xr = pilotValue(L, m, j);
        xi = 0;
      } else if (bpsk) {
        // +-1 without a branch (the sign of noisy BPSK is random: a branch mispredicts half the time)
        xr = 2 * +(er >= 0) - 1;
        xi = 0;
      } else {
        xr = cons.sliceCoord(er);
        xi = cons.sliceCoord(ei);
      }
      const w = h2a[k]!;
      sr += w * (er * xr + ei * xi);
      si += w * (ei * xr - er * xi);
    }
    const mag = hypot2(sr, si);
    if (mag > 0) {
      const rc = sr / mag;
      const rs = -si / mag;
      for (let k = 0; k < L.numUsed; k++) {
        const yr = out[2 * k]!;
        const yi = out[2 * k + 1]!;
        out[2 * k] = yr * rc - yi * rs;
        out[2 * k + 1] = yr * rs + yi * rc;
      }
    }
  }

  /**
   * Feed one phase-corrected symbol (all used carriers from y[yOff]) into the SNR fit, with `refPts` /
   * `refFlag` describing its data carriers. The symbol's common phase is re-fitted by least squares from
   * every known carrier (pilots, plus data flagged known), which costs exactly one real degree of freedom
   * per symbol; using the tracker's phase instead would count the tracker's own phase noise (a receiver
   * loss) as channel noise. With `evm`, |Y - H X|^2 against the reference is summed for the EVM.
   */
  private accumulate(y: Float32Array, yOff: number, m: number, evm: boolean): void {
    const L = this.layout;
    const u = L.numUsed;
    const h = this.h;
    const ref = this.refPts;
    const flag = this.refFlag;
    const xc = this.xCar;
    const kc = this.kCar;
    let sr = 0;
    let si = 0;
    let en = 0;
    let ed = 0;
    for (let k = 0; k < u; k++) {
      let xr: number;
      let xi: number;
      let known: number;
      let inEvm = false;
      const j = this.pilotIndex[k]!;
      if (j >= 0) {
        xr = pilotValue(L, m, j);
        xi = 0;
        known = 1;
      } else {
        const d = this.dataIndex[k]!;
        xr = ref[2 * d]!;
        xi = ref[2 * d + 1]!;
        const f = flag[d]!;
        known = f !== 0 ? 1 : 0;
        inEvm = evm && f !== 2;
      }
      xc[2 * k] = xr;
      xc[2 * k + 1] = xi;
      kc[k] = known;
      const hr = h[2 * k]! * xr - h[2 * k + 1]! * xi;
      const hi = h[2 * k]! * xi + h[2 * k + 1]! * xr;
      const yr = y[yOff + 2 * k]!;
      const yi = y[yOff + 2 * k + 1]!;
      if (known) {
        sr += yr * hr + yi * hi;
        si += yi * hr - yr * hi;
      }
      if (inEvm) {
        const er = yr - hr;
        const ei = yi - hi;
        en += er * er + ei * ei;
        ed += hr * hr + hi * hi;
      }
    }
    this.evmNum += en;
    this.evmDen += ed;
    const mag = hypot2(sr, si);
    this.snr.addSymbol(y, yOff, mag > 0 ? sr / mag : 1, mag > 0 ? -si / mag : 0, xc, kc);
  }

  /**
   * accumulate() for a symbol whose carriers are all known (flag 1 on every data carrier): data carrier
   * d's reference point is src[srcOff + 2d..], and data carriers d < evmData enter the EVM. The same
   * floating-point operations in the same order as accumulate() with refPts/refFlag filled accordingly,
   * without the reference copy and the per-carrier flags.
   */
  private accumulateKnown(y: Float32Array, yOff: number, m: number, src: Float32Array, srcOff: number, evmData: number): void {
    const L = this.layout;
    const kernels = this.kernels;
    if (kernels !== null) {
      const pv = kernels.pilotVals;
      for (let j = 0; j < L.numPilots; j++) pv[j] = pilotValue(L, m, j);
      const sums = kernels.fitKnown(y, yOff, src, srcOff, evmData);
      const sr = sums[0]!;
      const si = sums[1]!;
      this.evmNum += sums[2]!;
      this.evmDen += sums[3]!;
      const mag = hypot2(sr, si);
      kernels.args[0] = mag > 0 ? sr / mag : 1;
      kernels.args[1] = mag > 0 ? -si / mag : 0;
      const totals = kernels.addKnown();
      this.snr.addSymbolKnownTotals(totals[0]!, totals[1]!);
      return;
    }
    const u = L.numUsed;
    const h = this.h;
    const xc = this.xCar;
    const pilotIndex = this.pilotIndex;
    const dataIndex = this.dataIndex;
    let sr = 0;
    let si = 0;
    let en = 0;
    let ed = 0;
    for (let k = 0; k < u; k++) {
      let xr: number;
      let xi: number;
      let inEvm = false;
      const j = pilotIndex[k]!;
      if (j >= 0) {
        xr = pilotValue(L, m, j);
        xi = 0;
      } else {
        const d = dataIndex[k]!;
        xr = src[srcOff + 2 * d]!;
        xi = src[srcOff + 2 * d + 1]!;
        inEvm = d < evmData;
      }
      xc[2 * k] = xr;
      xc[2 * k + 1] = xi;
      const hr = h[2 * k]! * xr - h[2 * k + 1]! * xi;
      const hi = h[2 * k]! * xi + h[2 * k + 1]! * xr;
      const yr = y[yOff + 2 * k]!;
      const yi = y[yOff + 2 * k + 1]!;
      sr += yr * hr + yi * hi;
      si += yi * hr - yr * hi;
      if (inEvm) {
        const er = yr - hr;
        const ei = yi - hi;
        en += er * er + ei * ei;
        ed += hr * hr + hi * hi;
      }
    }
    this.evmNum += en;
    this.evmDen += ed;
    const mag = hypot2(sr, si);
    this.snr.addSymbolKnown(y, yOff, mag > 0 ? sr / mag : 1, mag > 0 ? -si / mag : 0, xc);
  }

}
