// The dashboard end to end: a real server, a real headless Chromium (Debian's, driven by
// playwright-core), clicks and what the page shows.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { eventually, repoRoot } from '../helpers.ts';
import { needsChromium, SECRET, server as serve, useBrowser } from './dashboard-setup.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** A server on a temp SQLite file (the examples are created at start, as on a fresh install). */
const server = (t: TestContext, inline: Record<string, unknown> = {}) =>
  serve(t, { executors: { dirs: [fixtures] }, examples: { auto_init: true }, ...inline });

const statuses = (page: Page) =>
  page.$$eval('svg .node', (nodes) => nodes.map((node) => (node as SVGGElement).dataset.status));

/** Pastes a tasks array into the "New tree" dialog and executes it. */
async function paste(page: Page, tasks: unknown): Promise<void> {
  await page.click('#new-tree');
  await page.fill('#paste textarea', JSON.stringify(tasks));
  await page.click('#paste-run');
}

describe('dashboard in headless Chromium', { skip: needsChromium }, () => {
  const page = useBrowser();
  const open = (t: TestContext, url: string) => page(t, `${url}/ui`);

  test('serves its page and scripts itself, small: under 200 KB of gzipped JavaScript', async (t) => {
    const { url } = await server(t);
    const page = await fetch(`${url}/ui`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<title>apflow<\/title>/);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing loaded from elsewhere');
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    let gzipped = 0;
    for (const asset of ['app.js', 'api.js', 'tree-view.js', 'task-panel.js']) {
      const response = await fetch(`${url}/ui?asset=${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(response.status, 200, asset);
      assert.match(response.headers.get('content-type') ?? '', /javascript/);
      gzipped += Number(response.headers.get('content-length'));
    }
    assert.ok(gzipped > 0 && gzipped < 200 * 1024, `${gzipped} bytes of gzipped JavaScript`);
    const again = await fetch(`${url}/ui?asset=app.js`, {
      headers: { 'if-none-match': (await fetch(`${url}/ui?asset=app.js`)).headers.get('etag') ?? '' },
    });
    assert.equal(again.status, 304, 'unchanged assets are not sent again');
    const missing = await fetch(`${url}/ui?asset=nope.js`);
    assert.equal(missing.status, 404);
    assert.match(JSON.stringify(await missing.json()), /No such dashboard asset 'nope.js'/);
  });

  test('runs an example and shows its nodes turn completed live; copies it', async (t) => {
    const { app, url } = await server(t);
    const page = await open(t, url);
    await page.waitForSelector('#tree-list li');
    assert.equal(await page.isVisible('#login'), false, 'no login form while authentication is off');
    await page.click('#run-example');
    await page.waitForSelector('svg .node[data-id="example-system-info"]');
    await page.waitForFunction(() => {
      const nodes = [...document.querySelectorAll('svg .node')] as SVGGElement[];
      return nodes.length >= 4 && nodes.every((node) => node.dataset.status === 'completed');
    });
    // The task panel shows what the server stored.
    await page.click('svg .node[data-id="example-system-info"]');
    await page.waitForSelector('#panel pre[data-field="result"]');
    assert.match((await page.textContent('#panel')) ?? '', /example-system-info/);
    // Copy: a new tree opens, the original stays.
    await page.click('#copy');
    await page.waitForFunction(
      () => location.hash.startsWith('#tree=') && location.hash !== '#tree=example-system-info',
    );
    const copied = decodeURIComponent((await page.evaluate(() => location.hash)).slice('#tree='.length));
    assert.equal((await app.tasks.get(copied))?.original_task_id, 'example-system-info');
    await page.waitForSelector(`svg .node[data-id="${copied}"][data-status="pending"]`);
  });

  test('a pasted tree runs live, a long one is cancelled, and bad input is shown as the server words it', async (t) => {
    const { url } = await server(t);
    const page = await open(t, url);
    await page.waitForSelector('#tree-list li');
    await paste(page, [
      { name: 'nothing', schemas: { method: 'noop' } },
      { id: 'x', name: 'x' },
    ]);
    await page.waitForSelector('#error:not([hidden])');
    assert.match((await page.textContent('#error')) ?? '', /Mixed mode not supported/);

    await paste(page, [
      { id: 'slow-root', name: 'slow root', schemas: { method: 'noop' } },
      ...[1, 2, 3].map((n) => ({
        id: `slow-${n}`,
        name: `sleeper ${n}`,
        parent_id: 'slow-root',
        schemas: { method: 'sleep' },
        inputs: { ms: 400 },
      })),
    ]);
    const seen = new Set<string>();
    for (
      let i = 0;
      i < 100 && !(seen.has('in_progress') && (await statuses(page)).every((status) => status === 'completed'));
      i++
    ) {
      for (const status of await statuses(page)) if (status) seen.add(status);
      await page.waitForTimeout(50);
    }
    assert.ok(seen.has('in_progress'), `running shown while it ran (saw ${[...seen].join(', ')})`);
    assert.deepEqual(await statuses(page), ['completed', 'completed', 'completed', 'completed']);

    await paste(page, [
      { id: 'stuck-root', name: 'stuck root', schemas: { method: 'noop' } },
      { id: 'stuck-child', name: 'hangs', parent_id: 'stuck-root', schemas: { method: 'hang' } },
    ]);
    await page.waitForSelector('svg .node[data-id="stuck-child"][data-status="in_progress"]');
    await page.waitForSelector('#cancel:not([disabled])');
    await page.click('#cancel');
    await page.waitForSelector('svg .node[data-id="stuck-root"][data-status="cancelled"]');
    await page.waitForSelector('svg .node[data-id="stuck-child"][data-status="cancelled"]');
    // The list filters by status.
    await page.selectOption('#status-filter', 'cancelled');
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#tree-list li .name')].map((item) => item.textContent).join() === 'stuck root',
    );
    await page.selectOption('#status-filter', '');
  });

  test('the stream resumes after a dropped connection, and a 1,000-task tree is drawn and followed to its end', async (t) => {
    const { app, url } = await server(t);
    const page = await open(t, url);
    let sockets = 0;
    page.on('websocket', () => sockets++);
    await page.waitForSelector('#tree-list li');
    const steps = [1, 2, 3, 4].map((n) => ({
      id: `step-${n}`,
      name: `step ${n}`,
      parent_id: 'chain',
      schemas: { method: 'sleep' },
      inputs: { ms: 300 },
      dependencies: n > 1 ? [`step-${n - 1}`] : [],
    }));
    await paste(page, [{ id: 'chain', name: 'chain', schemas: { method: 'noop' } }, ...steps]);
    await page.waitForSelector('svg .node[data-id="step-1"][data-status="completed"]');
    // A reload of the server's plugins closes every WebSocket (1001): the page reconnects and
    // subscribes again after the last event it saw.
    await app.reload();
    // The page waits 250 ms before reconnecting; on a loaded machine the chain may end first.
    await eventually(() => sockets >= 2, 10_000).catch(() => assert.fail(`reconnected (${sockets} sockets)`));
    await page.waitForSelector('svg .node[data-id="chain"][data-status="completed"]');
    assert.deepEqual(await statuses(page), Array(5).fill('completed'));
    assert.equal(await page.$$eval('svg path.dep', (paths) => paths.length), 3, 'dependency edges drawn');
    // APFLOW_SCREENSHOT=docs/dashboard-tree.png refreshes the picture in docs/getting-started.md.
    if (process.env.APFLOW_SCREENSHOT) {
      await page.click('svg .node[data-id="step-3"]');
      await page.screenshot({ path: process.env.APFLOW_SCREENSHOT });
    }

    const big = [
      { id: 'big', name: 'big', schemas: { method: 'noop' } },
      ...Array.from({ length: 999 }, (_, i) => ({
        id: `big-${i}`,
        name: `leaf ${i}`,
        parent_id: 'big',
        schemas: { method: 'noop' },
      })),
    ];
    await app.engine.createTree(big);
    await page.goto(`${url}/ui#tree=big`);
    await page.waitForFunction(() => document.querySelectorAll('svg .node').length === 1000);
    await page.click('#execute');
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('svg .node')].every(
          (node) => (node as SVGGElement).dataset.status === 'completed',
        ),
      undefined,
      { timeout: 90_000 },
    );
  });

  test('a root that completes with failed tasks under it: its panel counts the tree, its node is marked', async (t) => {
    const { app, url } = await server(t);
    await app.engine.createTree([
      { id: 'mixed', name: 'mixed', schemas: { method: 'noop' } },
      ...Array.from({ length: 10 }, (_, i) => ({
        id: `mixed-${i}`,
        name: `child ${i}`,
        parent_id: 'mixed',
        schemas: { method: i < 6 ? 'fail' : 'noop' },
      })),
    ]);
    const page = await open(t, url);
    await page.goto(`${url}/ui#tree=mixed`);
    await page.click('svg .node[data-id="mixed"]');
    const counts = '#panel dd[data-field="counts"]';
    await page.waitForSelector(counts);
    assert.equal(await page.textContent(counts), '11 tasks: 11 pending');
    await page.click('#execute');
    await page.waitForSelector('svg .node[data-id="mixed"][data-status="completed"].warn');
    await page.waitForFunction(
      (selector) => document.querySelector(selector)?.textContent === '11 tasks: 5 completed, 6 failed',
      counts,
    );
    assert.ok(await page.isVisible('svg .node[data-id="mixed"] .mark'), 'the root shows its warning mark');
    assert.ok(await page.$eval(counts, (dd) => dd.classList.contains('warn')), 'the counts are shown as a warning');
    // A child's panel has no counts.
    await page.click('svg .node[data-id="mixed-0"]');
    await page.waitForSelector('#panel pre[data-field="error"]');
    assert.equal(await page.$(counts), null);
  });

  test('a snapshot of the tree shown before, answered late, does not replace the tree opened since', async (t) => {
    const { app, url } = await server(t);
    const tree = (id: string, children: number) =>
      app.engine.createTree([
        { id, name: id, schemas: { method: 'noop' } },
        ...Array.from({ length: children }, (_, i) => ({
          id: `${id}-${i}`,
          name: `${id} ${i}`,
          parent_id: id,
          schemas: { method: 'noop' },
        })),
      ]);
    await tree('before', 1);
    await tree('after', 3);
    const page = await open(t, url);
    await page.goto(`${url}/ui#tree=before`);
    await page.waitForSelector('svg .node[data-id="before-0"]');
    // From now on a snapshot of 'before' is answered 1 s late: the one its Execute opens and the
    // refresh its run ends with come back after 'after' is shown.
    const late: Promise<void>[] = [];
    await page.route('**/tasks', async (route) => {
      const body = route.request().postDataJSON() as { method?: string; params?: { task_id?: string } } | null;
      if (body?.method !== 'tasks.tree' || body.params?.task_id !== 'before') return route.continue();
      const answer = new Promise((resolve) => setTimeout(resolve, 1_000)).then(() => route.continue());
      late.push(answer);
      await answer;
    });
    await page.click('#execute');
    await page.waitForSelector('svg .node[data-id="before"][data-status="completed"]');
    await eventually(() => late.length > 0, 10_000).catch(() => assert.fail('no snapshot of the run was asked for'));
    await page.goto(`${url}/ui#tree=after`);
    await page.waitForFunction(() => document.querySelectorAll('svg .node').length === 4);
    await Promise.all(late);
    // Two frames after the late answer reached the page: whatever it changes is drawn by then.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    assert.equal(await page.textContent('#tree-title'), 'after');
    assert.deepEqual(await statuses(page), Array(4).fill('pending'));
    assert.equal(await page.isEnabled('#execute'), true, 'the shown tree can be executed');
  });

  test('a snapshot of the shown tree answered after a later one does not put back what it was', async (t) => {
    const { app, url } = await server(t);
    await app.engine.createTree([
      { id: 'twice', name: 'twice', schemas: { method: 'noop' } },
      { id: 'twice-quick', name: 'quick', parent_id: 'twice', schemas: { method: 'noop' } },
      { id: 'twice-slow', name: 'slow', parent_id: 'twice', schemas: { method: 'sleep' }, inputs: { ms: 1_500 } },
    ]);
    const page = await open(t, url);
    await page.goto(`${url}/ui#tree=twice`);
    // The quick child selected: its ending calls for a snapshot while the slow one still runs.
    await page.click('svg .node[data-id="twice-quick"]');
    // Of the snapshots asked for after Execute's own, the first is answered 3 s after it was
    // taken: after the run ended and the snapshot its end asks for was shown.
    let asked = 0;
    const late: Promise<void>[] = [];
    await page.route('**/tasks', async (route) => {
      const body = route.request().postDataJSON() as { method?: string } | null;
      if (body?.method !== 'tasks.tree' || ++asked !== 2) return route.continue();
      const response = await route.fetch();
      const answer = new Promise((resolve) => setTimeout(resolve, 3_000)).then(() => route.fulfill({ response }));
      late.push(answer);
      await answer;
    });
    await page.click('#execute');
    await page.waitForSelector('svg .node[data-id="twice"][data-status="completed"]');
    assert.equal(late.length, 1, 'a snapshot was asked for while the run went on');
    await Promise.all(late);
    // Two frames after the late answer reached the page: whatever it changes is drawn by then.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    assert.deepEqual(await statuses(page), ['completed', 'completed', 'completed']);
  });

  test('with authentication on: a login form, then only that user’s trees', async (t) => {
    const { app, url } = await server(t, { auth: { jwt_secret: SECRET }, examples: { auto_init: false } });
    const users = (
      app.service('jwt-auth') as { users: { add(name: string, password: string, roles: string[]): Promise<unknown> } }
    ).users;
    await users.add('alice', 'alice-password', []);
    await users.add('bob', 'bob-password', []);
    await app.engine.createTree([{ name: 'alice tree', schemas: { method: 'noop' } }], { userId: 'alice' });
    await app.engine.createTree([{ name: 'bob tree', schemas: { method: 'noop' } }], { userId: 'bob' });
    const page = await open(t, url);
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#login input[name=username]', 'alice');
    await page.fill('#login input[name=password]', 'wrong');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#error:not([hidden])');
    assert.match((await page.textContent('#error')) ?? '', /invalid|password|credentials/i);
    await page.fill('#login input[name=password]', 'alice-password');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#tree-list li');
    const names = await page.$$eval('#tree-list li .name', (items) => items.map((item) => item.textContent));
    assert.deepEqual(names, ['alice tree']);
    // Live events come through the WebSocket with the token too, sent in a message, not the URL.
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.click('#tree-list li');
    await page.click('#execute');
    await page.waitForSelector('svg .node[data-status="completed"]');
    assert.ok(sockets.length > 0 && sockets.every((address) => !address.includes('token')), sockets.join(', '));
  });
});
