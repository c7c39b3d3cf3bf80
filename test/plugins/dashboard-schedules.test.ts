// The dashboard's schedules view end to end: a real server with the schedules plugin, a real
// headless Chromium (Debian's, driven by playwright-core), clicks and what the page shows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { isRecord } from 'apflow';
import { rpc } from '../helpers.ts';
import { needsChromium, SECRET, server, useBrowser } from './dashboard-setup.ts';

const TEMPLATE = [{ name: 'a', schemas: { method: 'system_info_executor' } }];

/** A schedule as the API answers it (the fields these tests read). */
interface Schedule {
  id: string;
  name: string;
  enabled: boolean;
  next_fire_at: string | null;
  upcoming?: string[];
  recent_runs?: { kind: string; state: string; root_task_id: string | null }[];
}

/** Calls a JSON-RPC method of /tasks over HTTP; throws the server's error. */
async function call(url: string, method: string, params: unknown): Promise<Schedule> {
  const { body } = await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method, params });
  if (!isRecord(body) || !isRecord(body.result)) throw new Error(`${method}: ${JSON.stringify(body)}`);
  // Our own server's answer, shaped as the schedules contract says.
  return body.result as unknown as Schedule;
}

/** `iso` as the page shows a time (the browser's locale and zone). */
const local = (page: Page, iso: string) => page.evaluate((value) => new Date(value).toLocaleString(), iso);
const textOf = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';

describe('dashboard schedules view in headless Chromium', { skip: needsChromium }, () => {
  const open = useBrowser();

  test('its script is one more small asset: the JavaScript stays far under 200 KB gzipped', async (t) => {
    const { url } = await server(t);
    let gzipped = 0;
    for (const asset of ['app.js', 'api.js', 'tree-view.js', 'task-panel.js', 'schedules-view.js']) {
      const response = await fetch(`${url}/ui?asset=${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(response.status, 200, asset);
      assert.match(response.headers.get('content-type') ?? '', /javascript/);
      gzipped += Number(response.headers.get('content-length'));
    }
    assert.ok(gzipped > 0 && gzipped < 20 * 1024, `${gzipped} bytes of gzipped JavaScript`);
  });

  test('lists schedules with their trigger and next fire; runs link to their trees; pause, resume, run now', async (t) => {
    const { url } = await server(t);
    const every = await call(url, 'schedules.create', { name: 'every second', interval_s: 1, tasks: TEMPLATE });
    const weekly = await call(url, 'schedules.create', {
      name: 'weekly report',
      cron: '0 9 * * 1',
      timezone: 'Europe/Berlin',
      tasks: TEMPLATE,
    });
    const page = await open(t, `${url}/ui`);
    await page.waitForSelector('#app:not([hidden])');
    await page.click('#to-schedules');
    const item = (id: string) => `#schedule-list li[data-id="${id}"]`;
    await page.waitForSelector(item(every.id));
    await page.waitForSelector(item(weekly.id));
    assert.equal(await page.isVisible('#canvas'), false, 'the tree view is hidden meanwhile');
    assert.match(await textOf(page, item(every.id)), /every 1 s/);
    assert.match(await textOf(page, item(every.id)), /next: \d/);
    assert.match(await textOf(page, item(weekly.id)), /cron 0 9 \* \* 1 \(Europe\/Berlin\)/);
    assert.equal(
      await textOf(page, `${item(weekly.id)} [data-field="next"]`),
      `next: ${await local(page, weekly.next_fire_at ?? '')}`,
    );
    assert.match(await textOf(page, `${item(weekly.id)} .badge`), /enabled/);

    // The detail: the next fires the server computes.
    await page.click(item(weekly.id));
    await page.waitForFunction(() => document.querySelector('#schedule-title')?.textContent === 'weekly report');
    const { upcoming = [] } = await call(url, 'schedules.get', { id: weekly.id });
    assert.equal(upcoming.length, 5);
    const shown = await textOf(page, '#schedule-body dd[data-field="upcoming"]');
    assert.deepEqual(shown.split('\n'), await Promise.all(upcoming.map((iso) => local(page, iso))));

    // Run now: a manual run appears.
    await page.click('#schedule-run');
    await page.waitForSelector('#schedule-runs tr[data-kind="manual"][data-state="started"] a[data-root]');
    const runs = (await call(url, 'schedules.get', { id: weekly.id })).recent_runs ?? [];
    assert.deepEqual(
      runs.map((run) => run.kind),
      ['manual'],
    );

    // The interval schedule's runs appear as the page refreshes by itself; one opens its tree.
    await page.click(item(every.id));
    const link = '#schedule-runs tr[data-kind="scheduled"] a[data-root]';
    await page.waitForSelector(link);
    const root = (await page.getAttribute(link, 'data-root')) ?? '';
    assert.ok(root);
    await page.click(`#schedule-runs a[data-root="${root}"]`);
    await page.waitForSelector(`svg .node[data-id="${root}"]`);
    assert.equal(await page.isVisible('#schedules'), false);
    assert.equal(await page.evaluate(() => location.hash), `#tree=${encodeURIComponent(root)}`);
    assert.equal(await textOf(page, '#tree-title'), 'a');

    // Back to the schedules, the same one selected: pause and resume reach the server.
    await page.click('#to-schedules');
    await page.waitForSelector('#schedule-pause:not([hidden]):not([disabled])');
    await page.click('#schedule-pause');
    await page.waitForSelector(`${item(every.id)}[data-enabled="false"]`);
    await page.waitForSelector('#schedule-resume:not([hidden])');
    assert.equal(await textOf(page, '#schedule-body dd[data-field="state"]'), 'paused');
    assert.equal(await textOf(page, `${item(every.id)} [data-field="next"]`), 'next: — (paused)');
    const paused = await call(url, 'schedules.get', { id: every.id });
    assert.equal(paused.enabled, false);
    assert.equal(paused.next_fire_at, null);
    await page.click('#schedule-resume');
    await page.waitForSelector(`${item(every.id)}[data-enabled="true"]`);
    await page.waitForSelector('#schedule-pause:not([hidden])');
    assert.equal(await textOf(page, '#schedule-body dd[data-field="state"]'), 'enabled');
    assert.equal((await call(url, 'schedules.get', { id: every.id })).enabled, true);
  });

  test('a schedule named with HTML is shown as text', async (t) => {
    const { url } = await server(t);
    const name = '<img src=x onerror="window.pwned=1"><b>bold</b>';
    const tricky = await call(url, 'schedules.create', { name, webhook: true, tasks: TEMPLATE });
    const page = await open(t, `${url}/ui#schedules=${encodeURIComponent(tricky.id)}`);
    await page.waitForFunction((text) => document.querySelector('#schedule-title')?.textContent === text, name);
    assert.equal(await textOf(page, `#schedule-list li[data-id="${tricky.id}"] .name`), name);
    assert.match(await textOf(page, '#schedule-list li'), /webhook only/);
    assert.match(await textOf(page, '#schedule-body dd[data-field="webhook"]'), /\/webhooks\//);
    assert.equal(await page.$('#schedules img, #schedules b'), null, 'no element made from the name');
    assert.equal(await page.evaluate(() => 'pwned' in window), false);
  });

  test('without the schedules plugin the view says so', async (t) => {
    const { url } = await server(t, { disabled_plugins: ['schedules'] });
    const page = await open(t, `${url}/ui#schedules`);
    await page.waitForSelector('#schedules-note:not([hidden])');
    assert.match(await textOf(page, '#schedules-note'), /schedules plugin is disabled/);
    assert.equal(await page.isVisible('#error'), false, 'not shown as a failure');
    assert.equal(await page.isDisabled('#schedule-run'), true);
  });

  test('with authentication on: a login form, then only that user’s schedules', async (t) => {
    const { app, url } = await server(t, { auth: { jwt_secret: SECRET } });
    const users = (
      app.service('jwt-auth') as { users: { add(name: string, password: string, roles: string[]): Promise<unknown> } }
    ).users;
    await users.add('alice', 'alice-password', []);
    const schedules = app.service('schedules');
    assert.ok(schedules, 'the schedules plugin is on');
    await schedules.call('create', { name: 'alice daily', cron: '0 6 * * *', tasks: TEMPLATE, user_id: 'alice' });
    await schedules.call('create', { name: 'bob daily', cron: '0 7 * * *', tasks: TEMPLATE, user_id: 'bob' });
    const page = await open(t, `${url}/ui#schedules`);
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#login input[name=username]', 'alice');
    await page.fill('#login input[name=password]', 'alice-password');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#schedule-list li');
    const names = await page.$$eval('#schedule-list li .name', (items) => items.map((entry) => entry.textContent));
    assert.deepEqual(names, ['alice daily']);
  });
});
