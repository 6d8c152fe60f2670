/**
 * The session report: one self-contained HTML file (images inlined as data: URIs, charts as inline SVG,
 * no scripts, no external resources), readable in any browser and archivable as it is.
 */
import { rateLabel } from '../gsc/jscc.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageRecord, PromptFailureRecord } from './cloud.js';
import type { SessionSummary } from './session.js';

export interface ReportInput {
  records: readonly ImageRecord[];
  summary: SessionSummary & { provider?: string; jscc_model?: string | null; outcome?: string };
  outDir: string;
  /** Prompts that produced no edge result (lost with the edge, failed, never run). */
  failures?: readonly PromptFailureRecord[];
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

const COLORS = { configured: '#1f77b4', measured: '#d62728', encoder: '#2ca02c', base: '#9e9e9e', adapter: '#ff7f0e', received: '#1f77b4' };

interface Series {
  name: string;
  color: string;
  points: (number | null)[];
  style?: 'line' | 'dots' | 'step';
}

/** A line chart over image index; nulls are gaps. */
export function lineChart(title: string, yLabel: string, series: Series[], opts: { width?: number; height?: number; yMin?: number; yMax?: number } = {}): string {
  const W = opts.width ?? 560;
  const H = opts.height ?? 240;
  const m = { l: 48, r: 12, t: 44, b: 36 };
  const n = Math.max(1, ...series.map((s) => s.points.length));
  const vals = series.flatMap((s) => s.points.filter((v): v is number => v !== null && Number.isFinite(v)));
  let lo = opts.yMin ?? (vals.length ? Math.min(...vals) : 0);
  let hi = opts.yMax ?? (vals.length ? Math.max(...vals) : 1);
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.08;
  if (opts.yMin === undefined) lo -= pad;
  if (opts.yMax === undefined) hi += pad;
  const x = (i: number): number => m.l + (n === 1 ? (W - m.l - m.r) / 2 : (i * (W - m.l - m.r)) / (n - 1));
  const y = (v: number): number => m.t + ((hi - v) * (H - m.t - m.b)) / (hi - lo);
  const ticks = niceTicks(lo, hi, 5);
  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" class="t">${esc(title)}</text>`);
  for (const t of ticks) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" class="g"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" class="a">${+t.toFixed(2)}</text>`);
  }
  const step = Math.max(1, Math.ceil(n / 12));
  for (let i = 0; i < n; i += step) parts.push(`<text x="${x(i).toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle" class="a">${i}</text>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 4}" text-anchor="middle" class="a">image</text>`);
  parts.push(`<text x="12" y="${(m.t + H - m.b) / 2}" text-anchor="middle" class="a" transform="rotate(-90 12 ${(m.t + H - m.b) / 2})">${esc(yLabel)}</text>`);
  for (const s of series) {
    const style = s.style ?? 'line';
    if (style !== 'dots') {
      let d = '';
      let pen = false;
      s.points.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) {
          pen = false;
          return;
        }
        if (style === 'step' && pen && i > 0) d += `H${x(i).toFixed(1)}`;
        d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${style === 'step' ? ' stroke-dasharray="5 3"' : ''}/>`);
    }
    if (style !== 'step') {
      s.points.forEach((v, i) => {
        if (v !== null && Number.isFinite(v)) parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.color}"/>`);
      });
    }
  }
  series.forEach((s, k) => {
    const lx = m.l + 8 + k * 150;
    parts.push(`<rect x="${lx}" y="24" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="33" class="a">${esc(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}

/** Horizontal bars with labels and values. */
export function barChart(title: string, bars: { label: string; value: number; color: string; note?: string }[], unit: string, width = 560): string {
  const rowH = 26;
  const m = { l: 170, r: 90, t: 28 };
  const H = m.t + rowH * bars.length + 8;
  const max = Math.max(1e-9, ...bars.map((b) => b.value));
  const parts = [`<text x="${width / 2}" y="16" text-anchor="middle" class="t">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const y = m.t + i * rowH;
    const w = Math.max(1, ((width - m.l - m.r) * b.value) / max);
    parts.push(`<text x="${m.l - 6}" y="${y + 16}" text-anchor="end" class="a">${esc(b.label)}</text>`);
    parts.push(`<rect x="${m.l}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${b.color}"/>`);
    parts.push(`<text x="${(m.l + w + 6).toFixed(1)}" y="${y + 16}" class="a">${esc(b.note ?? `${+b.value.toFixed(2)} ${unit}`)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${H}" width="${width}" height="${H}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

function dataUri(outDir: string, rel: string | null): string | null {
  if (!rel) return null;
  try {
    return `data:image/png;base64,${readFileSync(join(outDir, rel)).toString('base64')}`;
  } catch {
    return null;
  }
}

function imageCell(outDir: string, rel: string | null, caption: string, sub: string): string {
  const uri = dataUri(outDir, rel);
  const img = uri ? `<img src="${uri}" width="96" height="96" alt="${esc(caption)}">` : `<div class="missing">not received</div>`;
  return `<figure>${img}<figcaption><b>${esc(caption)}</b><br>${sub}</figcaption></figure>`;
}

const STAGE_NAMES: Record<string, string> = {
  cloud_generate: 'cloud: generate',
  edge_generate_base: 'edge: generate (no adapter)',
  edge_generate_adapter: 'edge: generate (adapter)',
  edge_generate_latent: 'edge: generate latent',
  jscc_encode: 'edge: JSCC encode',
  modulate: 'edge: modulate',
  radio_write: 'edge: radio write',
  air_and_demodulate: 'air + demodulate',
  jscc_decode: 'user: JSCC decode',
  image_decode: 'user: image decode',
  evaluate: 'cloud: evaluate',
};

export function renderReport({ records, summary, outDir, failures = [] }: ReportInput): string {
  const s = summary;
  const snrChart = lineChart(
    'Closed loop: channel vs measured vs encoder SNR',
    'SNR (dB)',
    [
      { name: 'configured (true)', color: COLORS.configured, points: records.map((r) => r.snr.configured_db) },
      { name: 'measured by user', color: COLORS.measured, points: records.map((r) => r.snr.measured_db), style: 'dots' },
      { name: 'encoder condition', color: COLORS.encoder, points: records.map((r) => r.snr.encoder_db), style: 'step' },
    ],
  );
  const psnrChart = lineChart('Received PSNR and the rate the edge chose', 'dB  /  rate x 64', [
    { name: 'PSNR (dB)', color: COLORS.received, points: records.map((r) => r.psnr_db) },
    { name: 'rate x 64 (symbols/4)', color: COLORS.encoder, points: records.map((r) => r.rate * 64), style: 'step' },
  ]);
  const consChart = lineChart(
    'Consistency with the cloud image (2 = identical)',
    'consistency',
    [
      { name: 'edge, no adapter', color: COLORS.base, points: records.map((r) => r.consistency.edge_base) },
      { name: 'edge + MAKD adapter', color: COLORS.adapter, points: records.map((r) => r.consistency.edge_adapter) },
      { name: 'received by user', color: COLORS.received, points: records.map((r) => r.consistency.received), style: 'dots' },
    ],
  );
  const bytesChart = barChart(
    'What one image costs to send',
    [
      { label: 'JSCC latent over the air', value: s.bytes_over_air_per_image, color: COLORS.received, note: `${fmt(s.bytes_over_air_per_image, 0)} bytes` },
      { label: 'the image as PNG', value: s.png_bytes_per_image, color: COLORS.base, note: `${fmt(s.png_bytes_per_image, 0)} bytes` },
    ],
    'bytes',
  );
  const stages = Object.entries(s.mean_ms_by_stage).filter(([k]) => k in STAGE_NAMES);
  const latencyChart = barChart(
    'Mean time per stage',
    stages.map(([k, v]) => ({ label: STAGE_NAMES[k]!, value: v, color: k.startsWith('cloud') || k === 'evaluate' ? '#8c564b' : k.startsWith('jscc_decode') || k === 'image_decode' ? COLORS.received : COLORS.adapter, note: `${fmt(v, 1)} ms` })),
    'ms',
  );
  const rows = records
    .map((r) => {
      const c = r.consistency;
      const snr = `SNR configured ${fmt(r.snr.configured_db, 1)} dB, measured ${fmt(r.snr.measured_db, 1)} dB; encoder conditioned on ${fmt(r.snr.encoder_db, 1)} dB (${esc(r.snr.encoder_source)})`;
      const how = r.link?.kind === 'digital'
        ? `digital latent, ${esc(r.link.mcs ?? '?')}, ${fmt(r.link.payload_bytes, 0)} payload bytes`
        : `JSCC + CALA at rate ${rateLabel(r.rate)}`;
      const why = r.link?.reason ? ` (${esc(r.link.reason)})` : '';
      const air = `sent as ${how}${why}: ${r.air.symbols} symbols = ${r.air.bits} bits (${r.air.payload_bytes} bytes, ${r.air.frame_samples} samples with preamble) vs PNG ${r.air.png_bytes} bytes`;
      return `<section class="row"><h3>#${r.sequence} “${esc(r.prompt)}”</h3>
<div class="imgs">${imageCell(outDir, r.images.cloud, 'cloud', 'reference')}${imageCell(outDir, r.images.edge_base, 'edge', `no adapter<br>consistency ${fmt(c.edge_base, 3)}`)}${imageCell(outDir, r.images.edge_adapter, 'edge + adapter', `${esc(r.adapter_available ? (r.adapter ?? '') : 'no adapter available')}<br>consistency ${fmt(c.edge_adapter, 3)}`)}${imageCell(outDir, r.images.received, 'received', r.received ? `PSNR ${fmt(r.psnr_db, 1)} dB<br>consistency ${fmt(c.received, 3)}` : esc(r.lost_reason ?? 'lost'))}</div>
<p class="meta">${snr}<br>${air}<br>follows the prompt: cloud ${r.follows_prompt.cloud ? 'yes' : 'no'}, edge ${yn(r.follows_prompt.edge_base)}, edge+adapter ${yn(r.follows_prompt.edge_adapter)}, received ${yn(r.follows_prompt.received)}</p></section>`;
    })
    .join('\n');
  const failedRows = failures
    .map(
      (f) => `<section class="row"><h3>#${f.sequence} “${esc(f.prompt)}”: ${esc(f.status)}</h3>
<div class="imgs">${f.images.cloud ? imageCell(outDir, f.images.cloud, 'cloud', 'reference') : ''}</div>
<p class="meta">${esc(f.reason)}</p></section>`,
    )
    .join('\n');
  const noAdapter = records.every((r) => !r.adapter_available);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DeKA-g demo report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{margin:0 0 4px}h2{margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{margin:0 0 6px;font-size:15px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;margin:14px 0}
.kpi{background:#f5f7fa;border-radius:8px;padding:10px 12px}.kpi b{display:block;font-size:22px}.kpi span{color:#555;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:14px}
svg{background:#fff;border:1px solid #e3e3e3;border-radius:6px;max-width:100%;height:auto}
svg .t{font-size:13px;font-weight:600}svg .a{font-size:11px;fill:#444}svg .g{stroke:#eee}
.row{border:1px solid #e3e3e3;border-radius:8px;padding:10px 12px;margin:10px 0}
.imgs{display:flex;gap:14px;flex-wrap:wrap}figure{margin:0;text-align:center;font-size:12px;width:120px}
figure img{image-rendering:pixelated;border:1px solid #ccc;border-radius:4px}
.missing{width:96px;height:96px;margin:auto;display:flex;align-items:center;justify-content:center;background:#fbe9e9;color:#a33;border-radius:4px}
.meta{color:#555;font-size:12px;margin:8px 0 0}.note{background:#fff8e1;padding:8px 12px;border-radius:6px}
</style></head><body>
<h1>DeKA-g session report</h1>
<p>Cloud → edge (MAKD adapter) → JSCC with CALA over the loopback radio → user, on the shipped models (${esc(s.provider ?? 'cpu')}).
${s.images} images: ${s.received} received, ${s.lost ?? 0} lost, ${s.failed ?? 0} failed.${s.outcome ? ` Session: ${esc(s.outcome)}.` : ''}</p>
${s.jscc_model?.includes('--quick') ? `<p class="note">The JSCC codec installed is a quick smoke-run training (<code>${esc(s.jscc_model)}</code>): received images are far below what a fully trained codec gives.</p>` : ''}
${noAdapter ? '<p class="note">No MAKD adapter matched these prompts or none is installed (models/adapters/): the “edge + adapter” column shows the plain edge image.</p>' : ''}
<div class="kpis">
<div class="kpi"><b>${fmt(s.mean_consistency, 3)}</b><span>mean consistency of the received image with the cloud's (edge alone ${fmt(s.mean_consistency_edge_base, 3)}, with adapter ${fmt(s.mean_consistency_edge_adapter, 3)})</span></div>
<div class="kpi"><b>${fmt(s.mean_psnr_db, 1)} dB</b><span>mean PSNR, received vs sent image</span></div>
<div class="kpi"><b>${fmt(s.snr_est_rmse_db, 2)} dB</b><span>RMSE of the user's SNR estimate vs the configured SNR</span></div>
<div class="kpi"><b>${fmt(s.bytes_over_air_per_image, 0)} B</b><span>over the air per image, vs ${fmt(s.png_bytes_per_image, 0)} B as PNG</span></div>
<div class="kpi"><b>${fmt(s.ms_per_image, 0)} ms</b><span>per image, prompt to evaluated received image</span></div>
</div>
<h2>Charts</h2>
<div class="charts">${snrChart}${psnrChart}${consChart}${bytesChart}${latencyChart}</div>
<h2>Images</h2>
<p>Each row: the cloud's reference, the edge without and with the MAKD adapter, and what the user decoded from the radio. Consistency is measured against the cloud image (2 = identical); PSNR compares the received image with the one the edge sent.</p>
${rows}
${failures.length ? `<h2>Prompts without an image</h2>\n<p>Lost: in flight when the edge went away, or never answered. Failed: the edge or the cloud could not run the prompt, or it never ran.</p>\n${failedRows}` : ''}
<h2>Files</h2><p>session.jsonl (one record per image), summary.json, images/.</p>
</body></html>
`;
}

function yn(b: boolean | null): string {
  return b === null ? '–' : b ? 'yes' : 'no';
}
