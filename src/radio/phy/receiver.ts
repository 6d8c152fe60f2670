/**
 * Streaming receiver: feed IQ blocks of any size with push(); decoded frames come back from each call.
 *
 *   SEARCH  --sync event-->  HEADER (waits for LTS + header samples) --CRC ok--> PAYLOAD (waits for the
 *   frame's last sample) --> emit, restart detection at the frame end.
 *
 * Bad input never throws: NaN/Inf samples become 0; LTS mismatches, header CRC failures, absurd header
 * fields, payload CRC failures and frames cut by the end of the stream are counted in `stats` and dropped.
 * After a payload CRC failure detection restarts right after the header, so a frame that began inside a
 * broken one is still found.
 */
import { OfdmLayout, OfdmParams, makeLayout } from './params.js';
import { DC_RING_BLOCKS, RxSampleMemory } from './rx-wasm.js';
import { SchmidlCoxDetector, SyncEvent } from './detector.js';
import { Acquisition, Equalizer, FrameDemodulator, RxFrame } from './demodulator.js';
import { FrameHeader, PayloadKind } from './header.js';
import { PayloadPlan, frameLength } from './framing.js';

export interface ReceiverOptions {
  params?: Partial<OfdmParams>;
  equalizer?: Equalizer;
  /** Normalized Schmidl-Cox threshold (0..1). Default 0.2: reaches 0 dB SNR; noise alone stays near 1/W. */
  detectionThreshold?: number;
  /**
   * Remove DC (LO leakage, cu8 offset) before everything else. Default true. The estimate is learned only
   * outside frames: from just before a detected frame to the frame's end it is held, and the samples
   * corrected since the frame began are re-derived from the raw input with the held value, so a frame
   * never removes part of itself (with a CFO its carriers next to DC would otherwise leak into it).
   */
  dcBlock?: boolean;
  /** Also return byte frames whose payload CRC failed (crcOk false). Default false: they are dropped. */
  emitFailedFrames?: boolean;
  /**
   * Run the hot loops in WebAssembly where the runtime has WebAssembly SIMD (default true). false: the
   * JavaScript versions everywhere, which decode exactly the same bits (the tests compare both).
   */
  wasm?: boolean;
}

export interface ReceiverStats {
  samples: number;
  syncEvents: number;
  /** Sync events whose LTS correlation was too weak (noise, interference, garbage). */
  ltsRejects: number;
  headerCrcFailures: number;
  /** Header passed CRC but asked for more than maxPayloadLength. */
  headerInvalid: number;
  framesDecoded: number;
  payloadCrcFailures: number;
  /** Frames still incomplete when flush() was called. */
  truncated: number;
  /** Input values that were NaN or infinite (replaced by 0). */
  badSamples: number;
}

/**
 * Samples appended per detection pass. Small, so that holding or releasing the DC estimate has few
 * samples (those between the hold point and the end of the buffer) to re-derive.
 */
const PUSH_CHUNK = 512;

type State =
  | { kind: 'search' }
  | { kind: 'header'; ev: SyncEvent }
  | { kind: 'payload'; acq: Acquisition; header: FrameHeader; plan: PayloadPlan; need: number };

export class StreamReceiver {
  readonly layout: OfdmLayout;
  readonly stats: ReceiverStats = {
    samples: 0,
    syncEvents: 0,
    ltsRejects: 0,
    headerCrcFailures: 0,
    headerInvalid: 0,
    framesDecoded: 0,
    payloadCrcFailures: 0,
    truncated: 0,
    badSamples: 0,
  };
  private readonly det: SchmidlCoxDetector;
  private readonly demod: FrameDemodulator;
  private readonly equalizer: Equalizer;
  private readonly dcBlock: boolean;
  private readonly emitFailed: boolean;
  /** buf and raw, in WebAssembly memory with the DC and detector kernels where available. */
  private readonly mem: RxSampleMemory;
  private buf: Float32Array;
  /** Absolute index of buf's first complex sample, and one past the last valid one. */
  private bufStart: number;
  private bufEnd = 0;
  private state: State = { kind: 'search' };
  private dcR = 0;
  private dcI = 0;
  private dcCount = 0;
  private dcSumR = 0;
  private dcSumI = 0;
  private dcFill = 0;
  /** While a frame is being received the DC estimate is held (not learned from the frame's samples). */
  private dcHold = false;
  /** The partly filled 64-sample block began inside a held span: do not learn from it. */
  private dcSkipBlock = false;
  /** Sanitized input (NaN/Inf -> 0) before DC correction, aligned with buf; only with dcBlock. */
  private raw: Float32Array;
  /**
   * Ring of the DC estimate (and its sample count) each 64-sample block was corrected with, indexed by
   * absolute block number: lets a sync event roll the estimate back to before the frame.
   */
  private dcSnapR: Float64Array;
  private dcSnapI: Float64Array;
  private dcSnapCount: Float64Array;
  private odd: number | null = null;
  private dcHoldStart = 0;

  constructor(opts: ReceiverOptions = {}) {
    this.layout = makeLayout(opts.params ?? {});
    this.det = new SchmidlCoxDetector(this.layout, opts.detectionThreshold ?? 0.2);
    const wasm = opts.wasm ?? true;
    this.demod = new FrameDemodulator(this.layout, { wasm });
    this.equalizer = opts.equalizer ?? 'zf';
    this.dcBlock = opts.dcBlock ?? true;
    this.emitFailed = opts.emitFailedFrames ?? false;
    const hist = this.det.history + 1;
    this.mem = new RxSampleMemory(2 * Math.max(1 << 16, 4 * hist), this.dcBlock, wasm);
    this.det.useKernels(this.mem);
    this.buf = this.mem.buf;
    this.raw = this.mem.raw;
    ({ re: this.dcSnapR, im: this.dcSnapI, count: this.dcSnapCount } = this.mem.dcRing());
    // Zeros before the stream start give the detector its history.
    this.bufStart = -hist;
    this.bufEnd = 0;
    this.det.reset(this.buf, this.bufStart, 0);
  }

  /** Append interleaved IQ (any length; an odd trailing float is kept for the next block). */
  push(block: Float32Array): RxFrame[] {
    let src = block;
    if (this.odd !== null && block.length > 0) {
      const t = new Float32Array(block.length + 1);
      t[0] = this.odd;
      t.set(block, 1);
      src = t;
      this.odd = null;
    }
    let n = src.length >> 1;
    if (src.length & 1) {
      this.odd = src[src.length - 1]!;
    }
    if (n === 0) return [];
    const out: RxFrame[] = [];
    // Process in small chunks: the buffer never holds a huge block, and a DC hold or release has at most
    // about a chunk of samples to re-derive.
    const chunk = PUSH_CHUNK;
    for (let off = 0; off < n; off += chunk) {
      const m = Math.min(chunk, n - off);
      this.append(src, 2 * off, m);
      this.process(out);
    }
    return out;
  }

  /**
   * End of stream. A frame whose samples all arrived but that waits for the few samples of margin kept
   * for timing slips is decoded with zeros as margin; a frame still missing samples is counted truncated.
   */
  flush(): RxFrame[] {
    const out: RxFrame[] = [];
    const st = this.state;
    if (st.kind === 'payload') {
      const short = st.need - this.bufEnd;
      if (short > 0 && short <= this.layout.cpLength + 4) {
        this.append(new Float32Array(2 * short), 0, short);
        this.stats.samples -= short; // padding is not input
        this.process(out);
      }
    }
    if (this.state.kind !== 'search') {
      this.stats.truncated++;
      this.state = { kind: 'search' };
      this.dcRelease(this.bufEnd, false);
    }
    return out;
  }

  private keepFrom(): number {
    let k = this.det.pos - this.det.history - 2;
    const st = this.state;
    if (st.kind === 'header') k = Math.min(k, st.ev.stsEnd - this.layout.stsLength - 4 * this.layout.fftSize);
    if (st.kind === 'payload') k = Math.min(k, st.acq.frameStart - 4 * this.layout.fftSize);
    return k;
  }

  private append(src: Float32Array, srcOff: number, n: number): void {
    const keep = Math.max(this.bufStart, this.keepFrom());
    const live = this.bufEnd - keep;
    const capacity = this.buf.length >> 1;
    if (this.bufEnd - this.bufStart + n > capacity) {
      if (live + n > capacity) {
        const size = 2 * Math.max(2 * capacity, live + n + 1024);
        this.mem.grow(size, 2 * (keep - this.bufStart), 2 * (this.bufEnd - this.bufStart));
        this.buf = this.mem.buf;
        this.raw = this.mem.raw;
        ({ re: this.dcSnapR, im: this.dcSnapI, count: this.dcSnapCount } = this.mem.dcRing());
      } else {
        this.buf.copyWithin(0, 2 * (keep - this.bufStart), 2 * (this.bufEnd - this.bufStart));
        if (this.dcBlock) this.raw.copyWithin(0, 2 * (keep - this.bufStart), 2 * (this.bufEnd - this.bufStart));
      }
      this.bufStart = keep;
    }
    const buf = this.buf;
    let o = 2 * (this.bufEnd - this.bufStart);
    let bad = 0;
    if (this.dcBlock) {
      // The input goes to `raw` as one block copy (memcpy); then one pass over `raw` fuses the NaN/Inf
      // check (a bad value is zeroed in `raw` too) with dcCorrect. Same values as a per-sample copy.
      const raw = this.raw;
      raw.set(src.subarray(srcOff, srcOff + 2 * n), o);
      let i = 0;
      const mem = this.mem;
      if (mem.kernels) {
        // the loop below with dcSnapshot and dcAccumulate, in WebAssembly (rx-wasm.ts dcChunk)
        bad += this.dcKernel(o >> 1, n, this.bufEnd);
        i = n;
      }
      while (i < n) {
        if (this.dcFill === 0) this.dcSnapshot(this.bufEnd + i);
        const dr = this.dcR;
        const di = this.dcI;
        const take = Math.min(n - i, 64 - this.dcFill);
        const end = i + take;
        let sr = 0;
        let si = 0;
        for (; i < end; i++, o += 2) {
          let xr = raw[o]!;
          let xi = raw[o + 1]!;
          if (!(Math.abs(xr) < 1e30)) {
            xr = 0;
            raw[o] = 0;
            bad++;
          }
          if (!(Math.abs(xi) < 1e30)) {
            xi = 0;
            raw[o + 1] = 0;
            bad++;
          }
          sr += xr;
          si += xi;
          buf[o] = xr - dr;
          buf[o + 1] = xi - di;
        }
        this.dcAccumulate(sr, si, take);
      }
    } else {
      for (let i = 0; i < n; i++, o += 2) {
        let xr = src[srcOff + 2 * i]!;
        let xi = src[srcOff + 2 * i + 1]!;
        if (!(Math.abs(xr) < 1e30)) {
          xr = 0;
          bad++;
        }
        if (!(Math.abs(xi) < 1e30)) {
          xi = 0;
          bad++;
        }
        buf[o] = xr;
        buf[o + 1] = xi;
      }
    }
    this.stats.badSamples += bad;
    this.bufEnd += n;
    this.stats.samples += n;
  }

  /**
   * buf = raw - DC estimate over buffer positions [p0, p1) (relative to bufStart), continuing the estimator
   * state, which must be aligned with p0 (dcFill = samples of p0's 64-block before p0).
   * The estimate is updated once per 64 samples from the block mean: cumulative at first (locks onto a DC
   * offset within a few hundred samples), then exponential with a time constant of 8192 samples. Its tail
   * leaks ~1/16384 of the signal energy (-42 dB) as ISI, low enough not to cap the measured SNR; updating
   * per block keeps the per-sample work to a subtract and an add. Blocks inside a hold are not learned.
   */
  private dcCorrect(p0: number, p1: number): void {
    const buf = this.buf;
    const raw = this.raw;
    let i = p0;
    if (this.mem.kernels) {
      // raw is already sanitised, so the kernel's check changes nothing and finds no bad value
      if (p1 > p0) this.dcKernel(p0, p1 - p0, this.bufStart + p0);
      return;
    }
    while (i < p1) {
      // a block starts: remember what it is corrected with (see dcRewind)
      if (this.dcFill === 0) this.dcSnapshot(this.bufStart + i);
      const dr = this.dcR;
      const di = this.dcI;
      const end = Math.min(p1, i + 64 - this.dcFill);
      const take = end - i;
      let sr = 0;
      let si = 0;
      for (let o = 2 * i, e = 2 * end; o < e; o += 2) {
        const xr = raw[o]!;
        const xi = raw[o + 1]!;
        sr += xr;
        si += xi;
        buf[o] = xr - dr;
        buf[o + 1] = xi - di;
      }
      i = end;
      this.dcAccumulate(sr, si, take);
    }
  }

  /**
   * The DC pass with its estimator over buffer positions [p, p + n) in WebAssembly (the first sample's
   * absolute index `at`, >= 0): the estimator's state goes in and comes back. Returns the bad values.
   */
  private dcKernel(p: number, n: number, at: number): number {
    const st = this.mem.dcState();
    st[0] = this.dcR;
    st[1] = this.dcI;
    st[2] = this.dcCount;
    st[3] = this.dcSumR;
    st[4] = this.dcSumI;
    st[5] = this.dcFill;
    st[6] = this.dcHold ? 1 : 0;
    st[7] = this.dcSkipBlock ? 1 : 0;
    const bad = this.mem.dcChunk(p, n, at % (64 * DC_RING_BLOCKS));
    this.dcR = st[0]!;
    this.dcI = st[1]!;
    this.dcCount = st[2]!;
    this.dcSumR = st[3]!;
    this.dcSumI = st[4]!;
    this.dcFill = st[5]!;
    this.dcSkipBlock = st[7] !== 0;
    return bad;
  }

  /** Remembers the estimate a 64-sample DC block (absolute sample index `at`) is corrected with. */
  private dcSnapshot(at: number): void {
    const b = Math.floor(at / 64) % DC_RING_BLOCKS;
    this.dcSnapR[b] = this.dcR;
    this.dcSnapI[b] = this.dcI;
    this.dcSnapCount[b] = this.dcCount;
  }

  /** Adds `take` samples' sums to the current DC block; a full block updates the estimate unless held. */
  private dcAccumulate(sr: number, si: number, take: number): void {
    this.dcSumR += sr;
    this.dcSumI += si;
    this.dcFill += take;
    if (this.dcFill !== 64) return;
    if (this.dcHold || this.dcSkipBlock) {
      this.dcSkipBlock = false;
    } else {
      this.dcCount += 64;
      const w = this.dcCount < 8192 ? 64 / this.dcCount : 64 / 8192;
      this.dcR += (this.dcSumR / 64 - this.dcR) * w;
      this.dcI += (this.dcSumI / 64 - this.dcI) * w;
    }
    this.dcSumR = 0;
    this.dcSumI = 0;
    this.dcFill = 0;
  }

  /**
   * Restart the estimator at the start of absolute block `kb` with the estimate that block was corrected
   * with (learned from earlier blocks only) and re-derive every buffered sample from there. Returns false
   * (and changes nothing) when block kb has no samples yet.
   */
  private dcRewind(kb: number): boolean {
    const next = Math.floor(this.bufEnd / 64); // block of the next sample to arrive
    const last = this.dcFill > 0 ? next : next - 1; // newest block with a snapshot
    // Not before the block holding the oldest buffered sample: a block that began before it would leave
    // more than a block's worth of "already seen" samples (dcFill > 64), and the re-derivation would read
    // outside the buffer (NaN in the estimate: the receiver went deaf for good).
    kb = Math.max(kb, 0, last - DC_RING_BLOCKS + 1, Math.floor(this.bufStart / 64));
    if (kb > last) return false;
    const k = kb % DC_RING_BLOCKS;
    this.dcR = this.dcSnapR[k]!;
    this.dcI = this.dcSnapI[k]!;
    this.dcCount = this.dcSnapCount[k]!;
    this.dcSumR = 0;
    this.dcSumI = 0;
    this.dcSkipBlock = false;
    const s0 = Math.max(kb * 64, this.bufStart);
    this.dcFill = s0 - kb * 64;
    this.dcCorrect(s0 - this.bufStart, this.bufEnd - this.bufStart);
    return true;
  }

  /** A frame may start at absolute sample `from`: hold the DC estimate from there on. */
  private dcHoldFrom(from: number): void {
    if (!this.dcBlock) return;
    this.dcHold = true;
    this.dcRewind(Math.floor(from / 64));
  }

  /**
   * End a hold. `frameEnd`: learn again from the first block after absolute sample `frameEnd`.
   * Not a frame after all (LTS or header rejected): re-derive from the hold point as if there had been no
   * hold, so false triggers (garbage, a DC step before the estimate has locked) do not freeze the estimate.
   */
  private dcRelease(at: number, wasFrame: boolean): void {
    if (!this.dcHold) return;
    this.dcHold = false;
    const kb = wasFrame ? Math.ceil(at / 64) : Math.floor(at / 64);
    // a block whose samples have not arrived: the partly filled block before it began inside the hold
    if (!this.dcRewind(kb)) this.dcSkipBlock = this.dcFill > 0;
  }

  /** Back to search without a detector reset: the DC release re-derived samples in its window. */
  private searchAfterReject(): void {
    this.state = { kind: 'search' };
    if (!this.dcHold) return;
    this.dcRelease(this.dcHoldStart, false);
    this.det.refresh(this.buf, this.bufStart);
  }

  private process(out: RxFrame[]): void {
    for (;;) {
      const st = this.state;
      if (st.kind === 'search') {
        const ev = this.det.run(this.buf, this.bufStart, this.bufEnd);
        if (!ev) return;
        this.stats.syncEvents++;
        this.state = { kind: 'header', ev };
        // margin for the STS-end estimate's error (a symbol plus its CP)
        this.dcHoldStart = ev.stsEnd - this.layout.stsLength - this.layout.fftSize - this.layout.cpLength;
        this.dcHoldFrom(this.dcHoldStart);
        continue;
      }
      if (st.kind === 'header') {
        if (this.bufEnd < this.demod.headerNeed(st.ev)) return;
        const r = this.demod.acquire(this.buf, this.bufStart, st.ev);
        if (!r.ok) {
          this.stats.ltsRejects++;
          this.searchAfterReject();
          continue;
        }
        const header = this.demod.decodeHeader(this.buf, this.bufStart, r.acq);
        if (!header) {
          this.stats.headerCrcFailures++;
          this.searchAfterReject();
          continue;
        }
        if (header.payloadLength > this.layout.params.maxPayloadLength) {
          this.stats.headerInvalid++;
          this.searchAfterReject();
          continue;
        }
        const plan = this.demod.planFor(header);
        this.state = { kind: 'payload', acq: r.acq, header, plan, need: this.demod.payloadNeed(r.acq, plan) + this.layout.cpLength };
        continue;
      }
      // payload
      if (this.bufEnd < st.need) return;
      const frame = this.demod.decodePayload(this.buf, this.bufStart, st.acq, st.header, st.plan, this.equalizer);
      const L = this.layout;
      let resume: number;
      if (frame.crcOk || st.header.payloadKind === PayloadKind.Symbols) {
        this.stats.framesDecoded++;
        if (!frame.crcOk) this.stats.payloadCrcFailures++;
        out.push(frame);
        resume = st.acq.frameStart + frameLength(L, st.plan) - (L.cpLength >> 1);
      } else {
        this.stats.payloadCrcFailures++;
        if (this.emitFailed) out.push(frame);
        resume = st.acq.frameStart + L.preambleLength + L.headerSymbols * L.symbolLength;
      }
      if (!frame.crcOk) resume = Math.min(resume, st.acq.frameStart + L.preambleLength + L.headerSymbols * L.symbolLength);
      // never move detection backwards past samples it already scanned before this frame's trigger
      resume = Math.max(resume, this.bufStart + this.det.history + 1);
      // learn DC again only after the whole frame, even when detection resumes inside a failed one
      this.dcRelease(Math.max(resume, st.acq.frameStart + frameLength(L, st.plan)), true);
      this.det.reset(this.buf, this.bufStart, Math.min(resume, this.bufEnd));
      this.state = { kind: 'search' };
    }
  }
}
