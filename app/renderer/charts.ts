/**
 * The live view's charts. Events arrive whenever the engine sends them; charts are redrawn at most once per
 * animation frame, only the ones whose data changed, with animation off, so a burst of events costs one
 * short redraw and the main thread never holds a long task. Histories are bounded.
 */
import type { Chart as ChartJs, ChartConfiguration } from 'chart.js';
import type { ImageRecordView, SpectrumRow } from '../../src/server/api.js';

declare const Chart: typeof ChartJs;

const MAX_IMAGES = 200;
const WATERFALL_ROWS = 160;
/** The waterfall's colour scale spans this many dB, from 6 dB under the noise floor. */
const WF_RANGE_DB = 36;

/** The ideal 256-QAM grid at unit mean power (16 levels per axis, mean energy 2(16^2-1)/3 = 170). */
export function idealQam256(): { x: number; y: number }[] {
  const s = 1 / Math.sqrt(170);
  const pts: { x: number; y: number }[] = [];
  for (let i = 0; i < 16; i++) for (let q = 0; q < 16; q++) pts.push({ x: (2 * i - 15) * s, y: (2 * q - 15) * s });
  return pts;
}

function base(extra: Partial<ChartConfiguration['options']> = {}): ChartConfiguration['options'] {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    parsing: false,
    normalized: true,
    plugins: { legend: { labels: { boxWidth: 12, font: { size: 11 } } }, tooltip: { enabled: true } },
    ...extra,
  } as ChartConfiguration['options'];
}

export class LiveCharts {
  private readonly snr: ChartJs;
  private readonly quality: ChartJs;
  private readonly constellation: ChartJs;
  private readonly bytes: ChartJs;
  private readonly spectrum: ChartJs;
  private readonly wf: CanvasRenderingContext2D;
  private readonly wfRow: ImageData;
  private readonly dirty = new Set<ChartJs>();
  private pendingRows: SpectrumRow[] = [];
  private frame = 0;
  /** Animation frames that redrew something, and the chart updates made in them (redraws()). */
  private framesDrawn = 0;
  private chartUpdates = 0;
  private firstImageMs: number | undefined;
  private overAirTotal = 0;
  /** Waterfall colour scale: the noise floor (median bin) tracked slowly, so bursts stand out above it. */
  private floorDb: number | undefined;
  private pngTotal = 0;
  private readonly doc: Document;
  /** When each painted waterfall row was received, newest first (for the time axis). */
  private rowTimes: number[] = [];
  private sessionStartMs: number | undefined;
  private lastImageMs: number | undefined;
  private bitsTotal = 0;

  constructor(doc: Document) {
    const ctx = (id: string): HTMLCanvasElement => doc.getElementById(id) as HTMLCanvasElement;
    this.snr = new Chart(ctx('chart-snr'), {
      type: 'line',
      data: {
        datasets: [
          { label: 'configured SNR (dB)', data: [], borderColor: '#8a94a6', backgroundColor: '#8a94a6', stepped: true, pointRadius: 0, borderWidth: 2 },
          { label: 'measured SNR (dB)', data: [], borderColor: '#2f6fde', backgroundColor: '#2f6fde', showLine: true, pointRadius: 3, borderWidth: 1.5 },
        ],
      },
      // A fixed span keeps a 0.1 dB estimation error looking like what it is, not like a cliff.
      options: base({ scales: { x: { type: 'linear', title: { display: true, text: 'image' }, ticks: { precision: 0 } }, y: { suggestedMin: 0, suggestedMax: 30, title: { display: true, text: 'dB' } } } }),
    });
    this.quality = new Chart(ctx('chart-quality'), {
      type: 'line',
      data: {
        datasets: [
          { label: 'PSNR vs the sent image (dB)', data: [], borderColor: '#2f6fde', backgroundColor: '#2f6fde', yAxisID: 'y', pointRadius: 3 },
          { label: 'consistency: received', data: [], borderColor: '#1f8a4c', backgroundColor: '#1f8a4c', yAxisID: 'y1', pointRadius: 3 },
          { label: 'edge with MAKD', data: [], borderColor: '#d08a1e', backgroundColor: '#d08a1e', yAxisID: 'y1', pointRadius: 2, borderDash: [4, 3] },
          { label: 'edge, no alignment', data: [], borderColor: '#c23a2b', backgroundColor: '#c23a2b', yAxisID: 'y1', pointRadius: 2, borderDash: [2, 2] },
        ],
      },
      options: base({
        scales: {
          x: { type: 'linear', title: { display: true, text: 'image' }, ticks: { precision: 0 } },
          y: { position: 'left', title: { display: true, text: 'PSNR vs the sent image (dB)' } },
          // consistency is cos(image, cloud image) + cos(image, prompt): -2..2; the axis shows 0..2 and grows to fit negatives
          y1: { position: 'right', suggestedMin: 0, suggestedMax: 2, max: 2, title: { display: true, text: 'consistency (2 = same as cloud)' }, grid: { drawOnChartArea: false } },
        },
      }),
    });
    this.constellation = new Chart(ctx('chart-constellation'), {
      type: 'scatter',
      data: {
        datasets: [
          { label: 'received', data: [], backgroundColor: 'rgba(47,111,222,0.55)', pointRadius: 1.6 },
          { label: 'ideal 256-QAM', data: idealQam256(), backgroundColor: 'rgba(194,58,43,0.8)', borderColor: 'rgba(194,58,43,0.8)', pointRadius: 1.5 },
        ],
      },
      options: base({ aspectRatio: 1, scales: { x: { min: -1.6, max: 1.6, title: { display: true, text: 'I' } }, y: { min: -1.6, max: 1.6, title: { display: true, text: 'Q' } } } }),
    });
    this.bytes = new Chart(ctx('chart-bytes'), {
      type: 'bar',
      data: {
        datasets: [
          { label: 'bytes over the air', data: [], backgroundColor: '#2f6fde', yAxisID: 'y' },
          { label: 'PNG bytes', data: [], backgroundColor: '#c9ced8', yAxisID: 'y' },
          { type: 'line', label: 'payload throughput (bit/s)', data: [], borderColor: '#d08a1e', backgroundColor: '#d08a1e', yAxisID: 'y1', pointRadius: 3 },
        ],
      } as ChartConfiguration['data'],
      options: base({
        scales: {
          x: { type: 'linear', title: { display: true, text: 'image' }, ticks: { precision: 0 }, offset: true },
          y: { type: 'logarithmic', title: { display: true, text: 'bytes per image' } },
          y1: { position: 'right', beginAtZero: true, title: { display: true, text: 'bit/s' }, grid: { drawOnChartArea: false } },
        },
      }),
    });
    this.spectrum = new Chart(ctx('chart-spectrum'), {
      type: 'line',
      data: { datasets: [{ label: 'RX power per bin (dBFS)', data: [], borderColor: '#2f6fde', pointRadius: 0, borderWidth: 1 }] },
      options: base({ scales: { x: { type: 'linear', title: { display: true, text: 'frequency (MHz)' }, ticks: { maxTicksLimit: 5 } }, y: { min: -100, max: 0, title: { display: true, text: 'dBFS' } } } }),
    });
    this.doc = doc;
    // The waterfall's colour scale: the same map as its rows, top = strongest.
    const scale = ctx('wf-scale');
    const sctx = scale.getContext('2d')!;
    const col = sctx.createImageData(1, 1);
    for (let y = 0; y < scale.height; y++) {
      paintRow(col, [WF_RANGE_DB * (1 - y / (scale.height - 1))], 1, 0);
      sctx.putImageData(col, 0, y);
    }
    const wfCanvas = ctx('waterfall');
    wfCanvas.height = WATERFALL_ROWS;
    this.wf = wfCanvas.getContext('2d')!;
    this.wf.fillStyle = '#000';
    this.wf.fillRect(0, 0, wfCanvas.width, wfCanvas.height);
    this.wfRow = this.wf.createImageData(wfCanvas.width, 1);
  }

  addImage(r: ImageRecordView): void {
    const x = r.index;
    if (r.configuredSnrDb !== null) push(this.snr, 0, { x, y: r.configuredSnrDb });
    if (r.measuredSnrDb !== null) push(this.snr, 1, { x, y: r.measuredSnrDb });
    if (r.psnrDb !== null) push(this.quality, 0, { x, y: r.psnrDb });
    if (r.consistency.received !== null) push(this.quality, 1, { x, y: r.consistency.received });
    if (r.consistency.edgeAdapted !== null) push(this.quality, 2, { x, y: r.consistency.edgeAdapted });
    if (r.consistency.edge !== null) push(this.quality, 3, { x, y: r.consistency.edge });
    const pts: { x: number; y: number }[] = [];
    for (let i = 0; i + 1 < r.constellation.length; i += 2) pts.push({ x: r.constellation[i]!, y: r.constellation[i + 1]! });
    this.constellation.data.datasets[0]!.data = pts;
    push(this.bytes, 0, { x, y: Math.max(1, r.bytesOverAir) });
    push(this.bytes, 1, { x, y: Math.max(1, r.pngBytes) });
    // Payload throughput: the image's bits over the air per second since the previous image (or the session's start).
    const since = this.lastImageMs ?? this.sessionStartMs;
    if (since !== undefined && r.tMs > since) push(this.bytes, 2, { x, y: Math.round((8 * r.bytesOverAir * 1000) / (r.tMs - since)) });
    this.lastImageMs = r.tMs;
    this.bitsTotal += 8 * r.bytesOverAir;
    const start = this.sessionStartMs ?? this.firstImageMs ?? r.tMs;
    const note = this.doc.getElementById('throughput');
    if (note && r.tMs > start) note.textContent = `(mean ${formatBits((this.bitsTotal * 1000) / (r.tMs - start))})`;
    this.firstImageMs ??= r.tMs;
    this.overAirTotal += r.bytesOverAir;
    this.pngTotal += r.pngBytes;
    for (const c of [this.snr, this.quality, this.constellation, this.bytes]) this.dirty.add(c);
    this.schedule();
  }

  /** Bytes-saved summary for the chart title: what the session has saved so far against sending PNGs. */
  savings(): { savedBytes: number; savedPercent: number; overAirBytes: number } {
    const saved = this.pngTotal - this.overAirTotal;
    return { savedBytes: saved, savedPercent: this.pngTotal > 0 ? (100 * saved) / this.pngTotal : 0, overAirBytes: this.overAirTotal };
  }

  addSpectrum(row: SpectrumRow): void {
    this.pendingRows.push(row);
    if (this.pendingRows.length > WATERFALL_ROWS) this.pendingRows.splice(0, this.pendingRows.length - WATERFALL_ROWS);
    this.schedule();
  }

  /** The session's start (engine time): throughput is counted from it. */
  setSessionStart(ms: number | undefined): void {
    this.sessionStartMs = ms;
  }

  clear(): void {
    for (const c of [this.snr, this.quality, this.bytes]) for (const d of c.data.datasets) d.data = [];
    this.constellation.data.datasets[0]!.data = [];
    this.firstImageMs = undefined;
    this.lastImageMs = undefined;
    this.bitsTotal = 0;
    const note = this.doc.getElementById('throughput');
    if (note) note.textContent = '';
    this.overAirTotal = 0;
    this.pngTotal = 0;
    for (const c of [this.snr, this.quality, this.constellation, this.bytes]) this.dirty.add(c);
    this.schedule();
  }

  /** The spectrum's frequency axis (MHz), for tests. */
  spectrumRange(): { min: number; max: number } {
    const x = this.spectrum.options.scales!['x']!;
    return { min: Number(x.min), max: Number(x.max) };
  }

  /** Counts of points per chart (for tests and the status line). */
  counts(): Record<string, number> {
    return {
      snr: this.snr.data.datasets[1]!.data.length,
      quality: this.quality.data.datasets[0]!.data.length,
      constellation: this.constellation.data.datasets[0]!.data.length,
      bytes: this.bytes.data.datasets[0]!.data.length,
      spectrum: this.spectrum.data.datasets[0]!.data.length,
      waterfallRows: this.rowTimes.length,
    };
  }

  /**
   * How the charts have redrawn so far: the animation frames that drew, and the chart updates in them. A
   * chart updates at most once per frame, so updates <= frames x charts however many events arrived.
   */
  redraws(): { frames: number; updates: number } {
    return { frames: this.framesDrawn, updates: this.chartUpdates };
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.flushRows();
      this.framesDrawn++;
      this.chartUpdates += this.dirty.size;
      for (const c of this.dirty) c.update('none');
      this.dirty.clear();
    });
  }

  private flushRows(): void {
    const rows = this.pendingRows;
    if (rows.length === 0) return;
    this.pendingRows = [];
    const last = rows[rows.length - 1]!;
    const n = last.binsDb.length;
    // Absolute frequency: the bins span the centre frequency ± half the sample rate (DC in the middle).
    const axis = spectrumAxis(last.freqHz, last.sampleRateHz, n);
    this.spectrum.data.datasets[0]!.data = last.binsDb.map((y, i) => ({ x: axis.binMHz(i), y }));
    const sx = this.spectrum.options.scales!['x']!;
    sx.min = axis.loMHz;
    sx.max = axis.hiMHz;
    this.dirty.add(this.spectrum);
    const text = (id: string, t: string): void => {
      const el = this.doc.getElementById(id);
      if (el && el.textContent !== t) el.textContent = t;
    };
    text('spectrum-note', `(centre ${fmtMHz(last.freqHz / 1e6)} MHz ± ${fmtMHz(last.sampleRateHz / 2e6)} MHz)`);
    text('wf-freq-lo', fmtMHz(axis.loMHz));
    text('wf-freq-hi', fmtMHz(axis.hiMHz));
    text('wf-freq-mid', `${fmtMHz(last.freqHz / 1e6)} MHz`);
    // Waterfall: scroll the canvas down by the new rows, paint them at the top (newest first).
    const canvas = this.wf.canvas;
    const k = Math.min(rows.length, canvas.height);
    this.wf.drawImage(canvas, 0, 0, canvas.width, canvas.height - k, 0, k, canvas.width, canvas.height - k);
    const median = [...last.binsDb].sort((a, b) => a - b)[n >> 1]!;
    this.floorDb = this.floorDb === undefined ? median : 0.9 * this.floorDb + 0.1 * median;
    for (let r = 0; r < k; r++) {
      const row = rows[rows.length - 1 - r]!;
      paintRow(this.wfRow, row.binsDb, canvas.width, this.floorDb - 6);
      this.wf.putImageData(this.wfRow, 0, r);
    }
    // time axis: the newest row at the top, the oldest still shown at the bottom
    for (let r = k - 1; r >= 0; r--) this.rowTimes.unshift(rows[rows.length - 1 - r]!.tMs);
    if (this.rowTimes.length > canvas.height) this.rowTimes.length = canvas.height;
    const span = (this.rowTimes[0]! - this.rowTimes[this.rowTimes.length - 1]!) / 1000;
    text('wf-time-top', '0 s');
    text('wf-time-bottom', `−${span.toFixed(span < 10 ? 1 : 0)} s`);
    text('wf-scale-hi', `${Math.round(this.floorDb - 6 + WF_RANGE_DB)}`);
    text('wf-scale-lo', `${Math.round(this.floorDb - 6)}`);
  }
}

function push(chart: ChartJs, dataset: number, point: { x: number; y: number }): void {
  const data = chart.data.datasets[dataset]!.data as { x: number; y: number }[];
  data.push(point);
  if (data.length > MAX_IMAGES) data.splice(0, data.length - MAX_IMAGES);
}

/** The spectrum's frequency axis: bin i of n (fftshifted) at centre + (i - n/2) * rate/n, in MHz. */
export function spectrumAxis(centreHz: number, sampleRateHz: number, n: number): { loMHz: number; hiMHz: number; binMHz: (i: number) => number } {
  return {
    loMHz: (centreHz - sampleRateHz / 2) / 1e6,
    hiMHz: (centreHz + sampleRateHz / 2) / 1e6,
    binMHz: (i) => (centreHz + ((i - n / 2) * sampleRateHz) / n) / 1e6,
  };
}

/** MHz with the digits a tuning display shows (kHz resolution, trailing zeros dropped after 3 decimals). */
export function fmtMHz(mhz: number): string {
  return (Math.round(mhz * 1000) / 1000).toFixed(3);
}

/** bit/s with a decimal prefix: 1234 -> '1.23 kbit/s'. */
export function formatBits(bps: number): string {
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
  let v = bps;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 && u > 0 ? 2 : v < 100 && u > 0 ? 1 : 0)} ${units[u]}`;
}

/** dB -> a black..blue..yellow colour map over WF_RANGE_DB dB from `lowDb` (just under the noise floor). */
function paintRow(img: ImageData, binsDb: number[], width: number, lowDb: number): void {
  const d = img.data;
  for (let x = 0; x < width; x++) {
    const v = binsDb[Math.floor((x * binsDb.length) / width)] ?? -120;
    const t = Math.min(1, Math.max(0, (v - lowDb) / WF_RANGE_DB));
    d[4 * x] = Math.round(255 * Math.min(1, Math.max(0, 1.8 * t - 0.6)));
    d[4 * x + 1] = Math.round(255 * Math.min(1, Math.max(0, 1.6 * t - 0.25)));
    d[4 * x + 2] = Math.round(255 * Math.min(1, Math.max(0, t < 0.5 ? 0.3 + 1.2 * t : 1.6 - 1.6 * t)));
    d[4 * x + 3] = 255;
  }
}
