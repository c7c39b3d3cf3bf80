/** Shared setup of the dashboard tests: a server on a SQLite file, and pages of one headless Chromium. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { App } from 'apflow';
import { testApp } from '../helpers.ts';

const CHROMIUM = process.env.APFLOW_TEST_CHROMIUM ?? '/usr/bin/chromium';
/** The JWT secret of the dashboard tests' servers with authentication on. */
export const SECRET = 'dashboard-test-secret-of-enough-length-0123456789';
/** The `skip` of a suite that needs the browser. */
export const needsChromium = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)`;

/** A listening server on a temp SQLite file (a lasting secrets key), `inline` over the test defaults. */
export async function server(t: TestContext, inline: Record<string, unknown> = {}): Promise<{ app: App; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-dashboard-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const app = await testApp(t, { database: { url: `sqlite:${join(dir, 'db.sqlite')}` }, ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** Launches the browser before the suite's tests and closes it after; `page(t, address)` opens a page. */
export function useBrowser() {
  let browser: Browser | undefined;
  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
  });
  return async (t: TestContext, address: string): Promise<Page> => {
    if (!browser) throw new Error('the browser did not start');
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    t.after(() => context.close());
    const page = await context.newPage();
    // Waits guard against hangs, not speed: CI shares two cores between this browser and another test file.
    page.setDefaultTimeout(60_000);
    await page.goto(address);
    return page;
  };
}
