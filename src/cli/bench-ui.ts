/**
 * `dekag bench ui [--sessions N] [--images N] [--chromium PATH] [--json] [--out FILE]`: how responsive the
 * renderer stays while a session runs. The engine and its server run in this process (browser mode, the
 * shipped models, a temporary recordings folder); a headless Chromium (through playwright-core, a dev
 * dependency) opens the app, connects the loopback radio, starts a SigMF recording and runs N sessions
 * through the UI. For each it
 * collects the page's main-thread long tasks (PerformanceObserver 'longtask': tasks over 50 ms) between the
 * click on Start and the 'done' badge. The docs' target: no task over 100 ms.
 *
 * A timing lives here, not in a test: on a loaded 2-core machine the browser, the engine and the models
 * share the cores and a task's length says as much about the machine as about the page.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../util/errors.js';
import { machineDescription, mean } from './bench-common.js';
import { optionalInt, parse } from './options.js';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';
/** The responsiveness target the docs name (docs/app.md, "Responsive UI"). */
export const LONG_TASK_LIMIT_MS = 100;

export interface UiSessionResult {
  session: number;
  images: number;
  duration_ms: number;
  long_tasks: number;
  longest_task_ms: number;
  /** Sum over long tasks of the time past 50 ms (Lighthouse's total blocking time). */
  blocking_ms: number;
  /** Animation frames in which the charts redrew, and chart updates made in them. */
  chart_frames: number;
  chart_updates: number;
}

interface PageLike {
  evaluate(expr: string): Promise<unknown>;
}

/** Polls a page expression until it is truthy (the page's CSP forbids compiling text in the page itself). */
async function waitFor(page: PageLike, expr: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await page.evaluate(expr))) {
    if (Date.now() > end) throw new Error(`bench ui: timed out after ${timeoutMs / 1000} s waiting for: ${expr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The long-task and chart-frame record the page keeps from its first script on (page-side code as text). */
const OBSERVE_LONG_TASKS = `
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });`;

/** Figures of the long tasks that started in [t0, t1]. */
export function summariseLongTasks(tasks: { start: number; duration: number }[], t0: number, t1: number): Pick<UiSessionResult, 'long_tasks' | 'longest_task_ms' | 'blocking_ms'> {
  const during = tasks.filter((t) => t.start >= t0 && t.start <= t1);
  return {
    long_tasks: during.length,
    longest_task_ms: Math.max(0, ...during.map((t) => t.duration)),
    blocking_ms: during.reduce((s, t) => s + Math.max(0, t.duration - 50), 0),
  };
}

export async function runBenchUi(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    sessions: { type: 'string' },
    images: { type: 'string' },
    chromium: { type: 'string' },
    models: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
  });
  const sessions = optionalInt(values, 'sessions', 3, 1, 50);
  const images = optionalInt(values, 'images', 4, 1, 100);
  const executablePath = (values['chromium'] as string | undefined) ?? DEFAULT_CHROMIUM;
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new UsageError("bench ui drives a browser through playwright-core, a dev dependency: run 'npm install' in the project (not --omit=dev)");
  }
  const work = mkdtempSync(join(tmpdir(), 'dekag-bench-ui-'));
  const { createEngine } = await import('../server/backends.js');
  const { startServer } = await import('../server/serve.js');
  const engine = createEngine({ modelsDir: values['models'] as string | undefined, recordingsDir: join(work, 'recordings'), userAdaptersDir: join(work, 'adapters') });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ engine });
  } catch (e) {
    await engine.dispose();
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  const results: UiSessionResult[] = [];
  try {
    let browser;
    try {
      browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
    } catch (e) {
      throw new UsageError(`bench ui could not start Chromium at ${executablePath} (apt-get install chromium, or --chromium PATH): ${(e as Error).message.split('\n')[0]}`);
    }
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.addInitScript(OBSERVE_LONG_TASKS);
      await page.goto(server.url);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
      await page.click('button[data-device="loopback"]');
      await page.waitForSelector('#channel-settings:not([hidden])');
      await page.click('#tab-session');
      await page.fill('#prompt', 'a large red striped star on the left on grass');
      await page.check('input[name="snr-mode"][value="target"]');
      await page.fill('#snr-target', '20');
      await page.fill('#images', String(images));
      // record the received stream to SigMF meanwhile, as a user recording a session would
      await page.click('#tab-live');
      await page.fill('#rec-name', 'bench-ui');
      await page.click('#rec-start');
      await waitFor(page, `document.getElementById('rec-status').textContent.startsWith('recording to')`, 30_000);
      for (let k = 0; k < sessions; k++) {
        await page.click('#tab-session');
        const before = (await page.evaluate('window.dekagUi.charts.redraws()')) as { frames: number; updates: number };
        const received = (await page.evaluate('window.dekagUi.images')) as number;
        const t0 = (await page.evaluate('performance.now()')) as number;
        await page.click('#start');
        await page.waitForSelector('#screen-live.active');
        // done: every image of this session shown and the badge back to 'done' (it still says so from the last one)
        await waitFor(page, `window.dekagUi.images >= ${received + images} && document.getElementById('session-status').textContent === 'done'`, 600_000);
        const t1 = (await page.evaluate('performance.now()')) as number;
        const after = (await page.evaluate('window.dekagUi.charts.redraws()')) as { frames: number; updates: number };
        const tasks = (await page.evaluate('window.__longTasks')) as { start: number; duration: number }[];
        const r: UiSessionResult = {
          session: k + 1,
          images,
          duration_ms: t1 - t0,
          ...summariseLongTasks(tasks, t0, t1),
          chart_frames: after.frames - before.frames,
          chart_updates: after.updates - before.updates,
        };
        results.push(r);
        if (values['json'] !== true) {
          process.stdout.write(
            `session ${r.session}: ${images} images in ${(r.duration_ms / 1000).toFixed(1)} s; ${r.long_tasks} long tasks, longest ${r.longest_task_ms.toFixed(0)} ms, ` +
              `blocking ${r.blocking_ms.toFixed(0)} ms; charts redrawn in ${r.chart_frames} frames (${r.chart_updates} chart updates)\n`,
          );
        }
      }
      await page.click('#rec-stop');
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
    await engine.dispose();
    rmSync(work, { recursive: true, force: true });
  }
  const longest = Math.max(...results.map((r) => r.longest_task_ms));
  const report = {
    bench: 'ui',
    machine: machineDescription(),
    command: `npx dekag bench ui --sessions ${sessions} --images ${images} --json`,
    limit_ms: LONG_TASK_LIMIT_MS,
    longest_task_ms: longest,
    mean_longest_task_ms: mean(results.map((r) => r.longest_task_ms)),
    mean_blocking_ms: mean(results.map((r) => r.blocking_ms)),
    within_limit: longest <= LONG_TASK_LIMIT_MS,
    sessions: results,
  };
  if (typeof values['out'] === 'string') writeFileSync(values['out'], JSON.stringify(report, null, 2) + '\n');
  if (values['json'] === true) process.stdout.write(JSON.stringify(report) + '\n');
  else process.stdout.write(`longest main-thread task over ${sessions} session${sessions === 1 ? '' : 's'}: ${longest.toFixed(0)} ms (target <= ${LONG_TASK_LIMIT_MS} ms)\n`);
  return 0;
}
