/** Small hand-written SVG line charts: log-scale y (BER/SER curves) or linear y (PSNR curves). */
export interface Series {
  label: string;
  x: number[];
  y: number[];
  dashed?: boolean;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#7f7f7f'];

export function logLinePlotSvg(title: string, xLabel: string, yLabel: string, series: Series[], yMin = 1e-5): string {
  const d0 = Math.floor(Math.log10(yMin));
  const ticks: { y: number; label: string }[] = [];
  for (let d = d0; d <= 0; d++) ticks.push({ y: 10 ** d, label: `1e${d}` });
  return linePlotSvg(title, xLabel, yLabel, series, (y) => (0 - Math.log10(Math.max(y, yMin))) / (0 - d0), ticks, (y) => y > 0);
}

/** Linear y axis from the data's range (rounded to nice steps). */
export function linearLinePlotSvg(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const ys = series.flatMap((s) => s.y).filter(Number.isFinite);
  const step = niceStep(Math.max(...ys) - Math.min(...ys));
  const y0 = Math.floor(Math.min(...ys) / step) * step;
  const y1 = Math.ceil(Math.max(...ys) / step) * step;
  const ticks: { y: number; label: string }[] = [];
  for (let y = y0; y <= y1 + 1e-9; y += step) ticks.push({ y, label: `${+y.toFixed(2)}` });
  return linePlotSvg(title, xLabel, yLabel, series, (y) => (y1 - y) / Math.max(1e-9, y1 - y0), ticks, Number.isFinite);
}

/** `frac(y)`: 0 at the top of the plot, 1 at the bottom. */
function linePlotSvg(title: string, xLabel: string, yLabel: string, series: Series[], frac: (y: number) => number,
  ticks: { y: number; label: string }[], plottable: (y: number) => boolean): string {
  const w = 720;
  const h = 480;
  const m = { l: 70, r: 170, t: 40, b: 50 };
  const xs = series.flatMap((s) => s.x);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const px = (x: number): number => m.l + ((x - x0) / Math.max(1e-9, x1 - x0)) * (w - m.l - m.r);
  const py = (y: number): number => m.t + frac(y) * (h - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${w}" height="${h}" fill="white"/>`);
  out.push(`<text x="${(m.l + w - m.r) / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  for (const t of ticks) {
    const y = py(t.y);
    out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${t.label}</text>`);
  }
  const step = niceStep(x1 - x0);
  for (let x = Math.ceil(x0 / step) * step; x <= x1 + 1e-9; x += step) {
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${m.t}" y2="${h - m.b}" stroke="#eee"/>`);
    out.push(`<text x="${px(x)}" y="${h - m.b + 16}" text-anchor="middle">${+x.toFixed(2)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${w - m.l - m.r}" height="${h - m.t - m.b}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${(m.l + w - m.r) / 2}" y="${h - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${(m.t + h - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    const pts = s.x.map((x, j) => [x, s.y[j]!] as const).filter(([, y]) => plottable(y));
    if (pts.length > 0) {
      const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      for (const [x, y] of pts) if (!s.dashed) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${c}"/>`);
    }
    const ly = m.t + 14 + i * 18;
    out.push(`<line x1="${w - m.r + 10}" x2="${w - m.r + 34}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${w - m.r + 40}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function niceStep(span: number): number {
  const raw = span / 8;
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  for (const k of [1, 2, 5, 10]) if (k * p >= raw) return k * p;
  return 10 * p;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
