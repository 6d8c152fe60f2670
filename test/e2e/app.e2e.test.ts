/**
 * End to end, as a user would: `dekag serve` in its own process, Debian's Chromium (headless, through
 * playwright-core) on the printed URL, and a loopback session driven through the UI: connect the radio,
 * type a prompt (a typo first, then with autocomplete), record to SigMF, start, wait for received images,
 * replay the recording. Asserts real images and filled charts and the token; prints the page's main-thread
 * long tasks during the session (how long they are is a benchmark's business, not a test's: `dekag bench ui`).
 * Screenshots go to out/e2e/.
 *
 * Needs: the build (tsc -p tsconfig.json and tsc -p app/renderer/tsconfig.json into the same folder),
 * /usr/bin/chromium (Debian package `chromium`), and models with the JSCC codec (models/manifest.json entry
 * "jscc", or DEKAG_MODELS_DIR pointing at such a folder). Missing prerequisites skip the test with the
 * reason, except under CI=true, where they fail it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import WebSocket from 'ws';
import type { ImageRecordView } from '../../src/server/api.js';
import { writeFakeTrainer } from '../../src/server/testing.js';

const here = dirname(fileURLToPath(import.meta.url));
const build = resolve(here, '..', '..'); // <build>/test/e2e -> <build>
const root = resolve(build, '..');
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(root, 'out', 'e2e');

function missing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  if (!existsSync(join(build, 'app', 'renderer', 'main.js'))) return `the renderer is not built into ${build} (tsc -p app/renderer/tsconfig.json --outDir ${build})`;
  const modelsDir = process.env['DEKAG_MODELS_DIR'] ?? join(root, 'models');
  try {
    const manifest = JSON.parse(readFileSync(join(modelsDir, 'manifest.json'), 'utf8')) as { models?: Record<string, unknown> };
    if (!manifest.models?.['jscc']) return `${modelsDir}/manifest.json has no 'jscc' model yet (train it, or set DEKAG_MODELS_DIR)`;
  } catch (e) {
    return `no models at ${modelsDir}: ${(e as Error).message}`;
  }
  return undefined;
}

/**
 * Starts `dekag serve` (files under `work`, the token kept in `work/config`) and resolves with the URL it
 * prints. `port` 0 picks a free one; a restart passes the port it had.
 */
function serve(work: string, port = 0, env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  const dekag = `const { runCli } = await import(${JSON.stringify(pathToFileURL(join(build, 'src', 'cli', 'main.js')).href)}); process.exitCode = await runCli(process.argv.slice(1));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', dekag, '--', 'serve', '--port', String(port), '--recordings', join(work, 'recordings'), '--adapters', join(work, 'adapters')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEKAG_CONFIG_DIR: join(work, 'config'), ...env },
  });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`dekag serve printed no URL in 20 s: ${out} ${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`dekag serve exited with ${code}: ${err}`)));
  });
}

async function stopServe(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** Pixel spread of a PNG data URL: a blank (one-colour) image has 0. */
function pngSpread(dataUrl: string): { width: number; height: number; spread: number } {
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  let sum = 0;
  let sum2 = 0;
  const n = png.width * png.height;
  for (let i = 0; i < n; i++) {
    const v = (png.data[4 * i]! + png.data[4 * i + 1]! + png.data[4 * i + 2]!) / 3;
    sum += v;
    sum2 += v * v;
  }
  return { width: png.width, height: png.height, spread: Math.sqrt(Math.max(0, sum2 / n - (sum / n) ** 2)) };
}

/**
 * Polls a page expression until it is truthy. (Not page.waitForFunction: with a string it compiles the
 * text inside the page, which our CSP forbids, as it should; page.evaluate goes through the debugger.)
 */
async function waitFor(page: Page, expr: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await page.evaluate(expr))) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${expr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF), enough to read the export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length) rows.push([...row, field]);
  return rows;
}

const why = missing();
const skip = why !== undefined && process.env['CI'] !== 'true' ? why : false;

test('browser mode: a loopback session through the UI', { skip, timeout: 240_000 }, async () => {
  if (why) assert.fail(why);
  const recordings = mkdtempSync(join(tmpdir(), 'dekag-e2e-'));
  const { child, url } = await serve(recordings);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    // --- the token is enforced, for HTTP and for the WebSocket
    const origin = new URL(url).origin;
    assert.equal((await fetch(`${origin}/`)).status, 401);
    assert.equal((await fetch(`${origin}/${'0'.repeat(32)}/main.js`)).status, 401);
    assert.equal((await fetch(url)).status, 200);
    const refused = await new Promise<number>((res) => {
      const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws`);
      ws.on('unexpected-response', (_q, r) => res(r.statusCode ?? 0));
      ws.on('open', () => res(101));
      ws.on('error', () => res(-1));
    });
    assert.equal(refused, 401);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Failed loads are checked by URL below (the deliberate 401s are outside the app's URL).
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && r.url().startsWith(url)) pageErrors.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    // Long tasks of the page's main thread, from the start (buffered), with their start times.
    // (Page-side code is passed as text: this file compiles without the DOM library.)
    await page.addInitScript(`
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
      // every text the session badge shows (models loading, image k of N, a replay's progress)
      window.__statusTexts = [];
      document.addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('session-status');
        if (el) new MutationObserver(() => window.__statusTexts.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
      });`);
    const bare = await page.goto(`${origin}/`);
    assert.equal(bare?.status(), 401);
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });

    // --- devices: connect the loopback
    await page.click('button[data-device="loopback"]');
    await page.waitForSelector('#device-settings:not([hidden])');
    await page.waitForSelector('#channel-settings:not([hidden])');
    await shot(page, '1-devices');

    // --- session: a typo gets a clear error with the fix; autocomplete completes words
    await page.click('#tab-session');
    const prompt = page.locator('#prompt');
    await prompt.pressSequentially('a red strar', { delay: 10 });
    await waitFor(page, `document.getElementById('prompt-error').textContent.includes("did you mean 'star'")`);
    await shot(page, '2-session-typo');
    await prompt.fill('');
    await prompt.pressSequentially('a large red striped st', { delay: 10 });
    await page.waitForSelector('#suggestions:not([hidden]) li:text-is("star")');
    // the shortest completion is first: 'star' before 'stars'; Tab takes the highlighted one
    await page.keyboard.press('Tab');
    await prompt.pressSequentially('on the left on grass', { delay: 10 });
    assert.equal(await prompt.inputValue(), 'a large red striped star on the left on grass');
    await waitFor(page, `document.getElementById('prompt-ok').textContent.includes('shape star')`);
    assert.equal(await page.textContent('#prompt-error'), '');
    // an attenuator sweep on the loopback's channel: 20 dB, then 10 dB, one image each
    await page.check('input[name="snr-mode"][value="sweep"]');
    await page.fill('#sweep-from', '20');
    await page.fill('#sweep-to', '10');
    await page.fill('#sweep-step', '10');
    await page.fill('#sweep-per', '1');
    await page.selectOption('#rate', '0.25');
    assert.match((await page.textContent('#sweep-by')) ?? '', /^A sweep attenuates the loopback's signal/, 'the page says what a sweep moves');
    await shot(page, '3-session');

    // --- record the received stream while the session runs
    await page.click('#tab-live');
    // the offered name is timestamped, so two recordings do not collide
    assert.match(await page.inputValue('#rec-name'), /^rec-\d{8}-\d{6}(-\d+)?$/);
    await page.fill('#rec-name', 'e2e');
    await page.click('#rec-start');
    await waitFor(page, `document.getElementById('rec-status').textContent.startsWith('recording to')`);

    // --- run it
    await page.click('#tab-session');
    const t0 = (await page.evaluate('performance.now()')) as number;
    await page.click('#start');
    await page.waitForSelector('#screen-live.active');
    await waitFor(page, '(window.dekagUi?.images ?? 0) >= 1', 120_000);
    await waitFor(page, `document.getElementById('session-status').textContent === 'done'`, 120_000);
    const t1 = (await page.evaluate('performance.now()')) as number;
    // progress as the badge showed it: the first session loads the models, then each sweep step
    const statusTexts = (await page.evaluate('window.__statusTexts')) as string[];
    assert.ok(statusTexts.some((t) => /^running: loading models… \(.*cloud generator/.test(t)), `models loading shown: ${statusTexts.join(' | ')}`);
    assert.ok(statusTexts.some((t) => /^running: [01] of 2 images at 10 dB, loopback attenuation 10 dB$/.test(t)), `the second step: ${statusTexts.join(' | ')}`);
    await page.waitForTimeout(300); // let the last animation frame draw the charts
    await shot(page, '4-live');

    // --- real images: four PNGs, 32x32, not blank
    const srcs = (await page.evaluate(`['cloud', 'edge', 'edgeAdapted', 'received'].map((k) => document.getElementById('img-' + k).getAttribute('src'))`)) as (string | null)[];
    const adapters = (await page.evaluate(`[...document.getElementById('adapter').options].map((o) => o.value)`)) as string[];
    const hasStarAdapter = adapters.some((a) => a.includes('star'));
    for (const [i, src] of srcs.entries()) {
      if (i === 2 && !hasStarAdapter) continue; // no MAKD adapter for the subject: the stage does not run
      assert.ok(src?.startsWith('data:image/png;base64,'), `image ${i} is a PNG data URL`);
      const { width, height, spread } = pngSpread(src!);
      assert.equal(width, 32);
      assert.equal(height, 32);
      assert.ok(spread > 5, `image ${i} is not blank (pixel spread ${spread.toFixed(1)})`);
    }

    // --- charts hold data; the waterfall has been painted
    const counts = (await page.evaluate('window.dekagUi.charts.counts()')) as Record<string, number>;
    assert.equal(counts['snr'], 2, 'two measured SNR points');
    assert.equal(counts['quality'], 2, 'two PSNR points');
    assert.equal(counts['bytes'], 2);
    assert.ok(counts['constellation']! >= 16, `constellation points: ${counts['constellation']}`);
    assert.equal(counts['spectrum'], 256);
    const record = (await page.evaluate('window.dekagUi.lastRecord')) as ImageRecordView;
    assert.equal(record.index, 1);
    assert.equal(record.configuredSnrDb, 10, 'the second step of the sweep');
    assert.ok(record.measuredSnrDb !== null && Math.abs(record.measuredSnrDb - 10) < 3, `measured ${record.measuredSnrDb} dB at 10 dB configured`);
    assert.ok(record.bytesOverAir > 0 && record.bytesOverAir < record.pngBytes, `over the air ${record.bytesOverAir} B < PNG ${record.pngBytes} B`);
    const waterfallColours = (await page.evaluate(`(() => {
      const c = document.getElementById('waterfall');
      const d = c.getContext('2d').getImageData(0, 0, c.width, 20).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return seen.size;
    })()`)) as number;
    assert.ok(waterfallColours > 10, `waterfall rows painted (${waterfallColours} colours)`);
    assert.match((await page.textContent('#provider')) ?? '', /provider: (cpu|cuda|webgpu|dml|coreml)/);

    // --- long tasks while the session ran: printed for the log; `dekag bench ui` measures them against the target
    const tasks = (await page.evaluate('window.__longTasks')) as { start: number; duration: number }[];
    const during = tasks.filter((t) => t.start >= t0 && t.start <= t1);
    const worst = Math.max(0, ...during.map((t) => t.duration));
    process.stdout.write(`# e2e: session ${(t1 - t0).toFixed(0)} ms in the page; ${during.length} long tasks, longest ${worst.toFixed(0)} ms (all page long tasks: ${tasks.map((t) => t.duration.toFixed(0)).join(', ') || 'none'})\n`);

    // --- the recording indicator shows duration and size while it runs
    const recBadge = (await page.textContent('#rec-badge')) ?? '';
    assert.match(recBadge, /^● REC \d+:\d\d · [\d.]+ (B|kB|MB|GB)$/, `recording badge: ${recBadge}`);
    assert.equal(await page.isVisible('#rec-badge'), true);

    // --- results kept: the session's history (every image, the adapter used, the folder) and its export
    const last = (await page.evaluate('window.dekagUi.state.lastSession')) as { sessionId: string; folder: string };
    assert.equal(last.folder, join(recordings, 'sessions', last.sessionId));
    await waitFor(page, `document.querySelectorAll('#history-table tbody tr').length === 2`);
    assert.equal(await page.inputValue('#history-session'), last.sessionId);
    assert.match((await page.textContent('#history-folder')) ?? '', new RegExp(last.sessionId));
    const jsonl = readFileSync(join(last.folder, 'session.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(jsonl.length, 2, 'the record holds both images of the sweep');
    const historyText = (await page.evaluate(`[...document.querySelectorAll('#history-table tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent))`)) as string[][];
    for (const [i, rec] of jsonl.entries()) {
      assert.equal(historyText[i]![2], rec['prompt']);
      assert.equal(historyText[i]![3], rec['adapter_available'] ? rec['adapter'] : 'none (base model)', 'the adapter actually used');
    }
    await page.locator('#history-panel').scrollIntoViewIfNeeded();
    await shot(page, '4b-history');
    const download = async (button: string): Promise<{ name: string; text: string }> => {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      const path = await d.path();
      return { name: d.suggestedFilename(), text: readFileSync(path, 'utf8') };
    };
    const json = await download('#export-json');
    assert.equal(json.name, `${last.sessionId}.json`);
    const exported = JSON.parse(json.text) as { session_id: string; summary: Record<string, any>; records: Record<string, any>[] };
    assert.equal(exported.session_id, last.sessionId);
    assert.deepEqual(exported.records, jsonl, 'the JSON export is the session record');
    assert.equal(exported.summary['images'], 2);
    assert.deepEqual(exported.summary, JSON.parse(readFileSync(join(last.folder, 'summary.json'), 'utf8')));
    const csv = await download('#export-csv');
    assert.equal(csv.name, `${last.sessionId}.csv`);
    const table = parseCsv(csv.text);
    const head = table[0]!;
    const rows = table.slice(1).map((r) => Object.fromEntries(head.map((h, k) => [h, r[k] ?? ''])));
    assert.equal(rows.length, jsonl.length, 'one CSV row per image');
    const cell = (x: unknown): string => (x === null || x === undefined ? '' : String(x));
    for (const [i, rec] of jsonl.entries()) {
      const r = rows[i]!;
      assert.equal(r['prompt'], rec['prompt']);
      assert.equal(r['sequence'], cell(rec['sequence']));
      assert.equal(r['status'], rec['status']);
      assert.equal(r['adapter'], rec['adapter_available'] ? cell(rec['adapter']) : '');
      assert.equal(r['configured_snr_db'], cell(rec['snr']['configured_db']));
      assert.equal(r['measured_snr_db'], cell(rec['snr']['measured_db']));
      assert.equal(r['psnr_db_vs_sent'], cell(rec['psnr_db']));
      assert.equal(r['consistency_received'], cell(rec['consistency']['received']));
      assert.equal(r['rate'], cell(rec['rate']));
      assert.equal(r['payload_bytes'], cell(rec['air']['payload_bytes']));
      assert.equal(r['png_bytes'], cell(rec['air']['png_bytes']));
    }
    assert.deepEqual(rows.map((r) => Number(r['configured_snr_db'])), [20, 10], 'the sweep, as recorded');
    const report = await download('#export-html');
    assert.equal(report.name, `${last.sessionId}-report.html`);
    assert.equal(report.text, readFileSync(join(last.folder, 'report.html'), 'utf8'));
    assert.match(await page.textContent('#history-msg') ?? '', /Saved .*report\.html/);

    // --- charts: absolute frequency on the spectrum, the waterfall's axes and colour scale, throughput in bit/s
    const spectrumX = (await page.evaluate(`(() => { const d = window.dekagUi.charts.spectrumRange(); return d; })()`)) as { min: number; max: number };
    const dev = (await page.evaluate('window.dekagUi.state.device.settings')) as { freqHz: number; sampleRateHz: number };
    assert.ok(Math.abs(spectrumX.min - (dev.freqHz - dev.sampleRateHz / 2) / 1e6) < 1e-6 && Math.abs(spectrumX.max - (dev.freqHz + dev.sampleRateHz / 2) / 1e6) < 1e-6, `spectrum axis ${JSON.stringify(spectrumX)} MHz`);
    assert.equal(await page.textContent('#wf-freq-mid'), `${(dev.freqHz / 1e6).toFixed(3)} MHz`);
    assert.match((await page.textContent('#wf-time-bottom')) ?? '', /^−[\d.]+ s$/);
    assert.match((await page.textContent('#wf-scale-hi')) ?? '', /^-?\d+$/);
    assert.match((await page.textContent('#throughput')) ?? '', /bit\/s/);

    // --- stop the recording; replay it through the receiver
    await page.click('#rec-stop');
    await waitFor(page, `document.getElementById('rec-status').textContent.startsWith('saved')`);
    const saved = (await page.textContent('#rec-status'))!;
    const samples = Number(/saved (\d+) samples/.exec(saved)?.[1]);
    assert.match(saved, /; (nothing lost|\d+ gaps?, [\d,]+ samples lost \([\d.]+ %\))$/, 'the saved message says what was lost');
    process.stdout.write(`# e2e: recording during the session: ${saved}\n`);
    await waitFor(page, `/^rec-\\d{8}-\\d{6}/.test(document.getElementById('rec-name').value)`); // 'e2e' is taken now: a fresh name is offered
    assert.ok(samples > 100_000, `recorded ${samples} samples`);
    await waitFor(page, `document.getElementById('rec-list').options.length > 0`);
    const before = (await page.evaluate('window.dekagUi.images')) as number;
    await page.click('#replay');
    await waitFor(page, `window.dekagUi.images > ${before}`, 60_000);
    const replayed = (await page.evaluate('window.dekagUi.lastRecord')) as ImageRecordView;
    assert.match(replayed.prompt, /replayed frame/);
    assert.ok(replayed.images.received && pngSpread(replayed.images.received).spread > 5, 'the replayed frame decodes to a real image');
    await shot(page, '5-replay');
    const replayTexts = (await page.evaluate('window.__statusTexts')) as string[];
    assert.ok(replayTexts.some((t) => /^replaying e2e: \d+ images?, [\d.]+ s of [\d.]+ s \(\d+ %\)$/.test(t)), `replay progress shown: ${replayTexts.slice(-5).join(' | ')}`);
    // A short replay may already be over (Stop disabled, status 'done'); stop it only if it still runs. The
    // check and the click happen in one step in the page, so the replay cannot end between them.
    await page.evaluate(`{ const b = document.getElementById('stop'); if (!b.disabled) b.click(); }`);
    await waitFor(page, `['stopped', 'done'].includes(document.getElementById('session-status').textContent)`);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await stopServe(child);
    rmSync(recordings, { recursive: true, force: true });
  }
});

test('browser mode: a connected receiver streams with no session: live spectrum and waterfall, an idle recording holds samples', { skip, timeout: 120_000 }, async () => {
  if (why) assert.fail(why);
  const work = mkdtempSync(join(tmpdir(), 'dekag-e2e-idle-'));
  const { child, url } = await serve(work);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const errors: string[] = [];
    const page = await openApp(browser, url, errors);
    await page.click('button[data-device="loopback"]');
    await page.waitForSelector('#device-settings:not([hidden])');
    await page.click('#tab-live');
    // no session: the spectrum and the waterfall fill from the radio's own stream
    await waitFor(page, `window.dekagUi.charts.counts().spectrum === 256 && window.dekagUi.charts.counts().waterfallRows >= 5`, 15_000);
    assert.equal(await page.textContent('#session-status'), 'idle');
    const rows0 = ((await page.evaluate('window.dekagUi.charts.counts()')) as Record<string, number>)['waterfallRows']!;
    await page.waitForTimeout(1000);
    const rows1 = ((await page.evaluate('window.dekagUi.charts.counts()')) as Record<string, number>)['waterfallRows']!;
    assert.ok(rows1 >= rows0 + 5, `waterfall rows keep coming: ${rows0} then ${rows1} a second later`);
    // an idle recording of about a second captures what is received
    await page.fill('#rec-name', 'idle');
    await page.click('#rec-start');
    await waitFor(page, `document.getElementById('rec-status').textContent.startsWith('recording to')`);
    await page.waitForTimeout(1000);
    await page.click('#rec-stop');
    await waitFor(page, `document.getElementById('rec-status').textContent.startsWith('saved')`);
    await shot(page, '12-idle-spectrum');
    const meta = JSON.parse(readFileSync(join(work, 'recordings', 'idle.sigmf-meta'), 'utf8')) as { global: Record<string, unknown> };
    const dataBytes = statSync(join(work, 'recordings', 'idle.sigmf-data')).size;
    assert.equal(meta.global['core:datatype'], 'cf32_le');
    const samples = dataBytes / 8;
    const rate = meta.global['core:sample_rate'] as number;
    assert.ok(samples > 0.5 * rate, `an idle ~1 s recording holds ${samples} samples at ${rate} S/s`);
    // what it lost is said in the status and the list, and agrees with the file's discontinuities
    const captures = (meta as unknown as { captures: Record<string, unknown>[] }).captures;
    const lost = captures.reduce((n, c) => n + ((c['dekag:lost_samples'] as number | undefined) ?? 0), 0);
    const status = (await page.textContent('#rec-status')) ?? '';
    await waitFor(page, `[...document.getElementById('rec-list').options].some((o) => o.text.startsWith('idle ('))`);
    const option = (await page.evaluate(`[...document.getElementById('rec-list').options].find((o) => o.text.startsWith('idle (')).text`)) as string;
    if (lost === 0) {
      assert.match(status, /nothing lost$/);
      assert.match(option, /nothing lost\)$/);
    } else {
      assert.match(status, new RegExp(`${lost.toLocaleString('en')} samples lost`));
      assert.match(option, /gaps?, [\d,]+ samples lost/);
    }
    process.stdout.write(`# e2e: idle recording ${samples} samples, ${lost} lost; list: ${option}\n`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await stopServe(child);
    rmSync(work, { recursive: true, force: true });
  }
});

/** Starts `dekag rtl-tcp serve` on a free port (its own loopback radio); resolves with the port it printed. */
function rtlTcpServe(): Promise<{ child: ChildProcess; port: number }> {
  const dekag = `const { runCli } = await import(${JSON.stringify(pathToFileURL(join(build, 'src', 'cli', 'main.js')).href)}); process.exitCode = await runCli(process.argv.slice(1));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', dekag, '--', 'rtl-tcp', 'serve', '--device', 'loopback', '--port', '0', '--rate', '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`dekag rtl-tcp printed no port in 20 s: ${out} ${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, port: Number(m[1]) });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`dekag rtl-tcp exited with ${code}: ${err}`)));
  });
}

test('browser mode: TX and RX on two radios (the loopback transmits, an rtl_tcp server added from the page receives) and a session runs', { skip, timeout: 180_000 }, async () => {
  if (why) assert.fail(why);
  const work = mkdtempSync(join(tmpdir(), 'dekag-e2e-ends-'));
  const rtl = await rtlTcpServe();
  const { child, url } = await serve(work);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  try {
    const errors: string[] = [];
    const page = await openApp(browser, url, errors);
    // a malformed host is named in the page; a good one is added to the list
    await page.fill('#net-host', 'not a host');
    await page.click('#net-add');
    await waitFor(page, `document.getElementById('net-msg').textContent.startsWith('Host:')`);
    assert.equal(await page.getAttribute('#net-host', 'aria-invalid'), 'true');
    await page.fill('#net-host', '127.0.0.1');
    await page.fill('#net-port', String(rtl.port));
    await page.click('#net-add');
    const rtlId = `rtl_tcp:127.0.0.1:${rtl.port}`;
    await page.waitForSelector(`button[data-device-rx="${rtlId}"]`);
    // the loopback transmits, the rtl_tcp server receives
    await page.click('button[data-device-tx="loopback"]');
    await waitFor(page, `window.dekagUi.state?.radios.tx === 'loopback'`);
    await page.click(`button[data-device-rx="${rtlId}"]`);
    await waitFor(page, `window.dekagUi.state?.radios.rx === ${JSON.stringify(rtlId)}`);
    const radioBadge = (await page.textContent('#radio-status')) ?? '';
    assert.match(radioBadge, /^TX Loopback → RX rtl_tcp/);
    const state = (await page.evaluate('window.dekagUi.state')) as { device: { id: string; settings: { sampleRateHz: number } }; txDevice: { id: string; settings: { sampleRateHz: number } } };
    assert.equal(state.device.id, rtlId);
    assert.equal(state.txDevice.id, 'loopback');
    assert.equal(state.device.settings.sampleRateHz, state.txDevice.settings.sampleRateHz, 'the receiver took the transmitter rate');
    assert.equal(await page.isHidden('#channel-settings'), true, 'the loopback channel form is hidden when the loopback is only the TX end');
    await shot(page, '13-tx-rx-devices');
    // the receiver streams before any session: its spectrum arrives
    await page.click('#tab-live');
    await waitFor(page, `window.dekagUi.charts.counts().spectrum === 256`, 15_000);
    // a one-image session over the two ends
    await startSession(page, 1);
    await waitFor(page, `['done', 'failed', 'stopped'].includes(document.getElementById('session-status').textContent)`, 120_000);
    assert.equal(await page.textContent('#session-status'), 'done');
    const last = (await page.evaluate('window.dekagUi.state.lastSession')) as { folder: string };
    const records = readFileSync(join(last.folder, 'session.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { status: string });
    assert.equal(records.length, 1);
    // The two ends are two separate simulated radios (no air between them), so the frame is lost; with a
    // real HackRF and RTL-SDR on one frequency it would be received.
    assert.ok(['received', 'lost'].includes(records[0]!.status), `status ${records[0]!.status}`);
    await shot(page, '14-tx-rx-session');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await stopServe(child);
    await stopServe(rtl.child, 'SIGINT');
    rmSync(work, { recursive: true, force: true });
  }
});

/** A page on `url`, ready, collecting page errors (uncaught exceptions) into `errors`. */
async function openApp(browser: Browser, url: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return page;
}

/** Starts a long loopback session from the Session screen (target SNR, `images` images). */
async function startSession(page: Page, images: number): Promise<void> {
  await page.click('#tab-session');
  await page.fill('#prompt', 'a red star on grass');
  await page.check('input[name="snr-mode"][value="target"]');
  await page.fill('#snr-target', '20');
  await page.fill('#images', String(images));
  await page.click('#start');
  await waitFor(page, `document.getElementById('session-status').textContent.startsWith('running')`, 30_000);
}

/** What a page shows of the engine's state: header badges, buttons, the device table. */
function pageView(page: Page): Promise<{ radio: string; session: string; stop: boolean; start: boolean; disconnectShown: boolean; tableConnected: string[]; images: number }> {
  return page.evaluate(`({
    radio: document.getElementById('radio-status').textContent,
    session: document.getElementById('session-status').textContent,
    stop: !document.getElementById('stop').disabled,
    start: !document.getElementById('start').disabled,
    disconnectShown: !document.getElementById('device-settings').hidden,
    tableConnected: [...document.querySelectorAll('#device-table button[data-device]')].filter((b) => b.disabled).map((b) => b.dataset.device),
    images: window.dekagUi.images,
  })`) as Promise<{ radio: string; session: string; stop: boolean; start: boolean; disconnectShown: boolean; tableConnected: string[]; images: number }>;
}

test('browser mode: a reloaded page and a second tab show the running session, and either can stop it', { skip, timeout: 300_000 }, async () => {
  if (why) assert.fail(why);
  const work = mkdtempSync(join(tmpdir(), 'dekag-e2e-'));
  const { child, url } = await serve(work);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const errors: string[] = [];
  try {
    const one = await openApp(browser, url, errors);
    await one.click('button[data-device="loopback"]');
    await one.waitForSelector('#device-settings:not([hidden])');
    await startSession(one, 40);
    await waitFor(one, '(window.dekagUi?.images ?? 0) >= 1', 120_000);

    // --- reload: the page loads the engine's state (it used to say "no radio" and "connect a radio first")
    await one.reload();
    await one.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    let v = await pageView(one);
    assert.match(v.radio, /^Loopback/i, `header after reload: ${v.radio}`);
    assert.deepEqual(v.tableConnected, ['loopback'], 'the device table agrees with the header');
    assert.ok(v.disconnectShown, 'the radio settings and Disconnect are shown');
    assert.match(v.session, /^running: [1-9]\d* of 40 images at 20 dB$/);
    assert.ok(v.stop && !v.start, 'Stop enabled, Start disabled after reload');
    assert.ok(v.images >= 1, 'the images of the running session are shown again');
    assert.ok(await one.locator('#screen-live.active').count(), 'a page opened mid-session shows the live view');

    // --- a second tab: the same state; images arrive there with Stop enabled
    const two = await openApp(browser, url, errors);
    v = await pageView(two);
    assert.match(v.radio, /^Loopback/i);
    assert.match(v.session, /^running/);
    assert.ok(v.stop && !v.start, `second tab: Stop enabled (${JSON.stringify(v)})`);
    const seen = v.images;
    await waitFor(two, `window.dekagUi.images > ${seen}`, 60_000);
    await shot(two, '6-second-tab-running');

    // --- the second tab stops the session the first one started; both tabs see it stopped
    await two.click('#stop');
    for (const p of [one, two]) await waitFor(p, `document.getElementById('session-status').textContent === 'stopped'`, 30_000);
    // the session's id (in the log) is its folder's name, and the page shows the folder
    const last = (await one.evaluate('window.dekagUi.state.lastSession')) as { sessionId: string; folder: string };
    assert.equal(last.folder, join(work, 'sessions', last.sessionId));
    assert.ok(existsSync(join(last.folder, 'session.jsonl')), `${last.folder}/session.jsonl`);
    assert.match((await one.textContent('#log'))!, new RegExp(`session ${last.sessionId} stopped`));
    assert.equal(await two.textContent('#session-folder'), `Session record (session.jsonl, images): ${last.folder}`);
    // every image of the stopped session is in both tabs' history, in order, as the record on disk has it
    const lines = readFileSync(join(last.folder, 'session.jsonl'), 'utf8').trim().split('\n').length;
    for (const p of [one, two]) {
      await waitFor(p, `document.querySelectorAll('#history-table tbody tr').length === ${lines}`, 10_000);
      const seqs = (await p.evaluate(`[...document.querySelectorAll('#history-table tbody tr')].map((tr) => Number(tr.cells[0].textContent))`)) as number[];
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    }
    for (const p of [one, two]) {
      v = await pageView(p);
      assert.ok(!v.stop && v.start, `after stop: ${JSON.stringify(v)}`);
    }

    // --- and the other way round: the second tab starts one, the first (reloaded) tab stops it
    await startSession(two, 40);
    await waitFor(one, `document.getElementById('session-status').textContent.startsWith('running')`, 30_000);
    assert.ok((await pageView(one)).stop, 'the first tab may stop the session the second started');
    await one.click('#stop');
    for (const p of [one, two]) await waitFor(p, `document.getElementById('session-status').textContent === 'stopped'`, 30_000);
    await shot(one, '7-stopped-from-other-tab');
    // the radio stays connected and either tab may disconnect it
    await one.click('#tab-devices');
    await one.click('#disconnect');
    await waitFor(two, `document.getElementById('radio-status').textContent === 'no radio'`);
    // the device table is refreshed from the engine's device list, a request after the state event
    await waitFor(two, `document.querySelectorAll('#device-table button[data-device]:disabled').length === 0`);
    assert.deepEqual((await pageView(two)).tableConnected, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await stopServe(child);
    rmSync(work, { recursive: true, force: true });
  }
});

test('browser mode: forms name the wrong field; a 100 kB prompt is refused in the page and the link stays', { skip, timeout: 180_000 }, async () => {
  if (why) assert.fail(why);
  const work = mkdtempSync(join(tmpdir(), 'dekag-e2e-'));
  // A stand-in for the trainer's Python (its JSON progress lines, slowly): Distill is disabled while it runs.
  const fakePython = writeFakeTrainer(work, [{ step: 20, total: 25 }], 1);
  const { child, url } = await serve(work, 0, { DEKAG_PYTHON: fakePython });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const errors: string[] = [];
  try {
    const page = await openApp(browser, url, errors);
    await page.click('button[data-device="loopback"]');
    await page.waitForSelector('#device-settings:not([hidden])');

    // --- Distill is disabled while a distillation runs, in every tab; the bar never shows a total that changes
    await page.click('#tab-session');
    assert.equal(await page.isDisabled('#distill'), false);
    await page.click('#distill');
    await waitFor(page, `document.getElementById('distill-status').textContent.startsWith('distilling')`);
    assert.equal(await page.isDisabled('#distill'), true, 'disabled while running');
    const second = await openApp(browser, url, errors);
    await second.click('#tab-session');
    assert.equal(await second.isDisabled('#distill'), true, 'disabled in a second tab too');
    await waitFor(page, `document.getElementById('distill-status').textContent.includes('step 20 of 25')`, 20_000);
    assert.equal(await page.isDisabled('#distill'), true);
    await waitFor(page, `document.getElementById('distill-status').textContent.startsWith('adapter user/')`, 20_000);
    assert.equal(await page.isDisabled('#distill'), false, 'enabled again when it is done');
    await second.close();
    await page.click('#tab-devices');

    // --- an empty number field is an error naming it, not 0; the field is marked
    await page.fill('#freq', '');
    await page.click('#device-form button[type="submit"]');
    await waitFor(page, `document.getElementById('device-msg').textContent !== ''`);
    assert.match((await page.textContent('#device-msg'))!, /^Frequency \(MHz\) is empty; enter a number from/);
    assert.ok(await page.locator('#freq.invalid[aria-invalid="true"]').count(), 'the field is highlighted');
    assert.notEqual(((await page.evaluate('window.dekagUi.state.device.settings.freqHz')) as number), 0, 'nothing was sent');
    await shot(page, '8-form-empty-field');
    // typing clears the stale message and the mark; Apply confirms what the radio took
    await page.fill('#freq', '915');
    assert.equal(await page.textContent('#device-msg'), '');
    assert.equal(await page.locator('#freq.invalid').count(), 0);
    await page.click('#device-form button[type="submit"]');
    await waitFor(page, `document.getElementById('device-msg').textContent.startsWith('Applied')`);
    assert.match((await page.textContent('#device-msg'))!, /^Applied: 915 MHz, 1 Msps/);
    await waitFor(page, 'window.dekagUi.state.device.settings.freqHz === 915e6');
    // out of range, in the channel form (the browser's own validation would have blocked it silently)
    await page.fill('#ch-doppler', '5000');
    await page.click('#channel-form button[type="submit"]');
    await waitFor(page, `document.getElementById('channel-msg').textContent !== ''`);
    assert.equal(await page.textContent('#channel-msg'), 'Doppler (Hz) must be from 0 to 1000, not 5000');
    await page.fill('#ch-doppler', '10');
    await page.click('#channel-form button[type="submit"]');
    await waitFor(page, `document.getElementById('channel-msg').textContent.startsWith('Applied: fading')`);
    // one SNR control: Channel SNR on the Session screen; out of range is named, a good value reaches the
    // loopback at once and the Devices screen shows it
    await page.click('#tab-session');
    await page.fill('#snr-target', '99');
    await page.press('#snr-target', 'Tab');
    await waitFor(page, `document.getElementById('snr-msg').textContent !== ''`);
    assert.equal(await page.textContent('#snr-msg'), 'Channel SNR (dB) must be from -10 to 60, not 99');
    await page.fill('#snr-target', '15');
    await page.press('#snr-target', 'Tab');
    await waitFor(page, `document.getElementById('snr-msg').textContent.startsWith('Channel SNR set to 15 dB')`);
    await waitFor(page, 'window.dekagUi.state.device.channel.snrDb === 15');
    assert.equal(await page.textContent('#ch-snr-now'), '15 dB');
    assert.equal(await page.locator('#ch-snr').count(), 0, 'no second SNR field on the Devices screen');
    await page.click('#tab-devices');

    // --- the session form: an empty Images field names it
    await page.click('#tab-session');
    await page.fill('#prompt', 'a red star on grass');
    await page.check('input[name="snr-mode"][value="target"]');
    await page.fill('#images', '');
    await page.click('#start');
    await waitFor(page, `document.getElementById('session-error').textContent !== ''`);
    assert.match((await page.textContent('#session-error'))!, /^Images is empty; enter a whole number from 1 to 100/);
    assert.ok(await page.locator('#images.invalid').count());
    assert.equal(await page.textContent('#session-status'), 'idle', 'no session started');

    // --- a pasted ~100 kB prompt: refused in the page, naming the field; nothing sent, the link stays
    const big = 'a red star on grass '.repeat(5000);
    await page.fill('#images', '2');
    await page.fill('#prompt', big);
    await waitFor(page, `document.getElementById('prompt-error').textContent.startsWith('Prompt is')`);
    assert.equal(await page.textContent('#prompt-error'), `Prompt is ${big.length} characters long; at most 4000 (one short description per line)`);
    assert.ok(await page.locator('#prompt.invalid').count());
    await page.click('#start');
    await waitFor(page, `document.getElementById('session-error').textContent.startsWith('Prompt is')`);
    await shot(page, '9-prompt-too-long');
    assert.equal(await page.textContent('#session-status'), 'idle');
    // the same oversized request sent straight to the engine from the page: an error reply, not a closed socket
    const raw = (await page.evaluate(`new Promise((resolve) => {
      const ws = new WebSocket(new URL('ws', location.href).href.replace('http', 'ws'));
      ws.onopen = () => ws.send(JSON.stringify({ id: 5, method: 'checkPrompt', params: { prompt: ${JSON.stringify(big)} } }));
      ws.onmessage = (m) => { const r = JSON.parse(m.data); if (r.id === 5) { resolve({ code: r.error && r.error.code, open: ws.readyState === WebSocket.OPEN }); ws.close(); } };
      ws.onclose = (e) => resolve({ closed: e.code });
    })`)) as { code?: string; open?: boolean; closed?: number };
    assert.deepEqual(raw, { code: 'E_TOO_LARGE', open: true });
    assert.equal(await page.textContent('#link-status'), 'engine connected');
    // a prompt of the right size works again on the same connection
    await page.fill('#prompt', 'a red star on grass');
    await waitFor(page, `document.getElementById('prompt-ok').textContent.includes('shape star')`);
    assert.equal(await page.textContent('#prompt-error'), '');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await stopServe(child);
    rmSync(work, { recursive: true, force: true });
  }
});

test('browser mode: when the server dies the page says so; a restarted server answers the same URL and the page reconnects', { skip, timeout: 240_000 }, async () => {
  if (why) assert.fail(why);
  const work = mkdtempSync(join(tmpdir(), 'dekag-e2e-'));
  let { child, url } = await serve(work);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const errors: string[] = [];
  try {
    // the token is kept privately in the config folder (DEKAG_CONFIG_DIR)
    const tokenFile = join(work, 'config', 'serve-token');
    assert.equal(readFileSync(tokenFile, 'utf8').trim(), new URL(url).pathname.split('/')[1]);
    if (process.platform !== 'win32') assert.equal(statSync(tokenFile).mode & 0o777, 0o600);

    const page = await openApp(browser, url, errors);
    await page.click('button[data-device="loopback"]');
    await page.waitForSelector('#device-settings:not([hidden])');
    await startSession(page, 40);
    assert.equal(await page.isHidden('#engine-banner'), true);

    // --- the server dies: a plain banner, no "running", no Stop that cannot reach anything
    await stopServe(child, 'SIGKILL');
    await page.waitForSelector('#engine-banner:not([hidden])', { timeout: 10_000 });
    assert.match((await page.textContent('#engine-banner'))!, /Disconnected from the engine\..*dekag serve.*Trying again/s);
    assert.equal(await page.textContent('#session-status'), 'unknown: engine unreachable');
    assert.equal(await page.isDisabled('#stop'), true);
    assert.equal(await page.isDisabled('#start'), true);
    assert.equal(await page.textContent('#link-status'), 'engine disconnected');
    await shot(page, '10-engine-disconnected');
    // Reconnect while it is still down: still down, still said
    await page.click('#reconnect');
    await page.waitForTimeout(500);
    assert.equal(await page.isHidden('#engine-banner'), false);

    // --- restart on the same port: the same URL (the stored token) works, and the page finds it by itself
    const port = Number(new URL(url).port);
    const restarted = await serve(work, port);
    child = restarted.child;
    assert.equal(restarted.url, url, 'a restarted server answers the same URL');
    await waitFor(page, `document.getElementById('engine-banner').hidden`, 20_000);
    assert.equal(await page.textContent('#link-status'), 'engine connected');
    // the page shows the new engine's state: no radio, no session, Start enabled once a radio is connected
    await waitFor(page, `document.getElementById('radio-status').textContent === 'no radio'`);
    assert.equal(await page.textContent('#session-status'), 'idle');
    assert.equal(await page.isDisabled('#stop'), true);
    await page.click('#tab-devices');
    await page.click('button[data-device="loopback"]');
    await waitFor(page, `document.getElementById('radio-status').textContent !== 'no radio'`);
    await shot(page, '11-reconnected');
    // a second page on the old URL works too
    const again = await openApp(browser, url, errors);
    assert.match((await pageView(again)).radio, /^Loopback/i);
    // --new-token makes a new one: the old URL is refused (401)
    await stopServe(child);
    const renewed = await new Promise<{ child: ChildProcess; url: string }>((res, rej) => {
      const dekag = `const { runCli } = await import(${JSON.stringify(pathToFileURL(join(build, 'src', 'cli', 'main.js')).href)}); process.exitCode = await runCli(process.argv.slice(1));`;
      const c = spawn(process.execPath, ['--input-type=module', '-e', dekag, '--', 'serve', '--port', String(port), '--new-token', '--recordings', join(work, 'recordings')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEKAG_CONFIG_DIR: join(work, 'config') } });
      let out = '';
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\/)/.exec(out);
        if (m) res({ child: c, url: m[1]! });
      });
      c.on('exit', (code) => rej(new Error(`serve --new-token exited ${code}`)));
    });
    child = renewed.child;
    assert.notEqual(renewed.url, url);
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(renewed.url)).status, 200);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await stopServe(child);
    rmSync(work, { recursive: true, force: true });
  }
});
