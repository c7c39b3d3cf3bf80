// The `dashboard` workload: the page in Debian's headless Chromium (playwright-core) against an
// in-process apflow on SQLite. First load (navigation start to the trees list drawn: the page is
// usable), the JavaScript it loaded (gzipped bytes on the wire), and a 1,000-task tree: the time
// to draw it, and the longest main-thread task (Chromium's long-task timing) while it runs live.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { App } from 'apflow';

const CHROMIUM = process.env.APFLOW_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Measures the dashboard of `app` (listening at `url`); throws when the browser is missing. */
export async function measureDashboard(app: App, url: string): Promise<Record<string, number>> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (apt-get install chromium)`);
  const tasks = [
    { id: 'big', name: 'big', schemas: { method: 'bench_noop' } },
    ...Array.from({ length: 999 }, (_, i) => ({
      id: `big-${i}`,
      name: `leaf ${i}`,
      parent_id: 'big',
      schemas: { method: 'bench_progress' },
      inputs: { steps: 2, ms: 5 },
    })),
  ];
  await app.engine.createTree(tasks);
  for (let i = 0; i < 30; i++) await app.engine.createTree([{ name: `tree ${i}`, schemas: { method: 'bench_noop' } }]);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    let jsBytes = 0;
    page.on('response', (response) => {
      if (/asset=.*\.js/.test(response.url()))
        void response.headerValue('content-length').then((length) => (jsBytes += Number(length ?? 0)));
    });
    await page.goto(`${url}/ui`);
    await page.waitForSelector('#tree-list li');
    const firstLoadMs = await page.evaluate(() => performance.now());
    const drawStart = Date.now();
    await page.evaluate(() => (location.hash = '#tree=big'));
    await page.waitForFunction(() => document.querySelectorAll('svg .node').length === 1000);
    const drawMs = Date.now() - drawStart;
    await page.evaluate(() => {
      const store = window as unknown as { longest: number };
      store.longest = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) store.longest = Math.max(store.longest, entry.duration);
      }).observe({ type: 'longtask', buffered: false });
    });
    const runStart = Date.now();
    await page.click('#execute');
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('svg .node')].every(
          (node) => (node as SVGGElement).dataset.status === 'completed',
        ),
      undefined,
      { timeout: 60_000 },
    );
    const runMs = Date.now() - runStart;
    const longestTaskMs = await page.evaluate(() => (window as unknown as { longest: number }).longest);
    return {
      first_load_ms: Math.round(firstLoadMs),
      js_gzip_kb: Math.round((jsBytes / 1024) * 10) / 10,
      draw_1000_ms: drawMs,
      run_1000_ms: runMs,
      longest_task_ms: Math.round(longestTaskMs),
    };
  } finally {
    await browser.close();
  }
}
