// The dashboard's timeline (issue 26) end to end: a real server, a real headless Chromium. A tree
// with a task that fails once and is retried and a step that sleeps: a bar per task, the retried
// task's two attempts, the running bar growing live, the bars still once the tree ended; the task
// panel's duration and attempts, the tree's totals in its head, the trees list's duration.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { repoRoot, rpc, started, tempProject } from '../helpers.ts';
import { needsChromium, server as serve, useBrowser } from './dashboard-setup.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const server = (t: TestContext, inline: Record<string, unknown> = {}) =>
  serve(t, { executors: { dirs: [fixtures] }, ...inline });

/** An executor reporting one LLM call of 1,000 input and 500 output tokens, and of an unpriced model with `inputs.other`. */
const LLM_CALL = `import { defineExecutor } from 'apflow';
export default defineExecutor({
  id: 'llm_call',
  execute(inputs, ctx) {
    ctx.usage({ provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1000, output_tokens: 500 });
    if (inputs.other) ctx.usage({ provider: 'acme', model: 'unpriced', input_tokens: 10, output_tokens: 5 });
    return { ok: true };
  },
});
`;

const row = (id: string, more = '') => `#timeline .row[data-id="${id}"]${more}`;
const textOf = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';
/** The widths of the bars of every row, by task id. */
const widths = (page: Page): Promise<Record<string, number[]>> =>
  page.$$eval('#timeline .row', (rows) =>
    Object.fromEntries(
      rows.map((group) => [
        group.getAttribute('data-id'),
        [...group.querySelectorAll('rect.seg')].map((bar) => Number(bar.getAttribute('width'))),
      ]),
    ),
  );
/** Resolves after the page drew two more frames. */
const frames = (page: Page) =>
  page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

describe('dashboard timeline in headless Chromium', { skip: needsChromium }, () => {
  const open = useBrowser();

  test('the timeline and the figures are small scripts: all the page’s JavaScript stays far under 200 KB gzipped', async (t) => {
    const { url } = await server(t);
    const page = await fetch(`${url}/ui`);
    const html = await page.text();
    const scripts = ['app.js', 'api.js', 'tree-view.js', 'task-panel.js', 'input-form.js', 'tree-list.js'];
    const timeline = ['run-log.js', 'run-figures.js', 'timeline-view.js', 'tree-head.js'];
    let gzipped = 0;
    for (const asset of [...scripts, ...timeline, 'schedules-view.js', 'client.js']) {
      const response = await fetch(`${url}/ui?asset=${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(response.status, 200, asset);
      gzipped += Number(response.headers.get('content-length'));
    }
    assert.ok(gzipped > 0 && gzipped < 32 * 1024, `${gzipped} bytes of gzipped JavaScript`);
    assert.match(html, /ui\?asset=timeline\.css/);
    assert.equal((await fetch(`${url}/ui?asset=timeline.css`)).status, 200);
  });

  test('bars per task, a retried task’s two attempts, a running bar that grows live and stops at the end', async (t) => {
    const { app, url } = await server(t);
    await app.engine.createTree([
      { id: 'tl', name: 'timeline root', schemas: { method: 'noop' } },
      {
        id: 'tl-flaky',
        name: 'flaky step',
        parent_id: 'tl',
        schemas: { method: 'flaky' },
        inputs: { failures: 1 },
        params: { retries: 1, retry_delay_s: 0.2 },
      },
      {
        id: 'tl-sleep',
        name: 'sleeping step',
        parent_id: 'tl',
        schemas: { method: 'sleep' },
        inputs: { ms: 3000 },
        // After the flaky step: it starts after the timeline's first moment, so its bar grows.
        dependencies: ['tl-flaky'],
      },
    ]);
    const page = await open(t, `${url}/ui#tree=tl`);
    await page.waitForSelector('svg .node[data-id="tl"]');
    await page.click('#show-timeline');
    await page.waitForSelector(row('tl-sleep'));
    assert.equal(await page.isVisible('#canvas'), false, 'the timeline replaces the tree view');
    assert.deepEqual(
      await page.$$eval('#timeline .row', (rows) => rows.map((group) => group.getAttribute('data-id'))),
      ['tl', 'tl-flaky', 'tl-sleep'],
      'a row per task, in the tree’s order',
    );
    assert.equal(await page.$$eval('#timeline rect.seg', (bars) => bars.length), 0, 'nothing ran yet');

    await page.click('#execute');
    const running = row('tl-sleep', ' rect.seg.run.open');
    await page.waitForSelector(running);
    const first = Number(await page.getAttribute(running, 'width'));
    await page.waitForFunction(
      ([selector, before]) => Number(document.querySelector(selector)?.getAttribute('width')) > Number(before),
      [running, String(first)] as const,
    );
    assert.equal(await page.getAttribute('#timeline', 'data-live'), 'true');
    // The panel of the running task says how long it has run, and keeps counting.
    await page.click(row('tl-sleep'));
    await page.waitForFunction(() =>
      /^running for /.test(document.querySelector('#panel dd[data-field="duration"]')?.textContent ?? ''),
    );
    // Its parent waits for its children: hatched from the first child's start.
    assert.equal(await page.$$eval(row('tl', ' rect.seg.wait.w-children'), (bars) => bars.length), 1);

    await page.waitForSelector(row('tl', '[data-status="completed"]'));
    await page.waitForSelector('#timeline[data-live="false"]');
    // The retried task: two attempts, the first failed, a wait for the retry between them.
    const flaky = await page.$$eval(row('tl-flaky', ' rect.seg'), (bars) =>
      bars.map((bar) => bar.getAttribute('class')),
    );
    assert.deepEqual(flaky, ['seg run s-failed', 'seg wait w-retry', 'seg run s-completed']);
    const drawn = await widths(page);
    for (const id of ['tl', 'tl-flaky', 'tl-sleep'])
      assert.ok(drawn[id]?.length && drawn[id].every((width) => width > 0), `bars for ${id}: ${drawn[id]}`);
    assert.match(
      await textOf(page, `${row('tl-sleep')} > title`),
      /sleeping step \(completed\): .+ → .+\n.*\(\d\.\d\d s\)/,
    );
    // Ended: drawn again later (hidden and shown), the bars are where they were.
    await page.click('#show-tree');
    await page.click('#show-timeline');
    await frames(page);
    assert.deepEqual(await widths(page), drawn, 'the bars stopped with the tree');

    // The panel: duration and attempts; the head: the tree's totals; the list: its duration.
    await page.click(row('tl-flaky'));
    await page.waitForFunction(() => document.querySelector('#panel dd[data-field="attempts"]')?.textContent === '2');
    // APFLOW_SCREENSHOT_TIMELINE=docs/dashboard-timeline.png refreshes the picture in docs/getting-started.md.
    if (process.env.APFLOW_SCREENSHOT_TIMELINE) await page.screenshot({ path: process.env.APFLOW_SCREENSHOT_TIMELINE });
    assert.match(await textOf(page, '#panel dd[data-field="duration"]'), /^\d+(\.\d+)? m?s$/);
    assert.equal(await textOf(page, '#tree-totals [data-field="counts"]'), '3 tasks: 3 completed');
    assert.match(await textOf(page, '#tree-totals [data-field="duration"]'), /^\d\.\d\d s$/);
    assert.equal(await page.$('#tree-totals [data-field="tokens"]'), null, 'no LLM calls, no tokens');
    assert.equal(await textOf(page, '#tree-list li[data-id="tl"] [data-field="cost"]'), '');
  });

  test('the timeline is drawn from the log when a finished tree is opened, and the view chosen is kept', async (t) => {
    const { app, url } = await server(t);
    await app.engine.createTree([
      { id: 'done', name: 'done', schemas: { method: 'noop' } },
      { id: 'done-a', name: 'a', parent_id: 'done', schemas: { method: 'sleep' }, inputs: { ms: 50 } },
      { id: 'done-b', name: 'b', parent_id: 'done', schemas: { method: 'fail' } },
    ]);
    await app.engine.createTree([{ id: 'lone', name: 'lone', schemas: { method: 'sleep' }, inputs: { ms: 50 } }]);
    await started(await app.engine.execute('done')).done;
    await started(await app.engine.execute('lone')).done;
    const page = await open(t, `${url}/ui#tree=done`);
    await page.click('#show-timeline');
    await page.waitForSelector(row('done-b', ' rect.seg.run.s-failed'));
    await page.waitForSelector(row('done-a', ' rect.seg.run.s-completed'));
    await page.waitForSelector(row('done', ' rect.seg.run.s-completed'));
    assert.equal(await page.getAttribute('#timeline', 'data-live'), 'false');
    await page.reload();
    await page.waitForSelector(row('done-a', ' rect.seg.run'));
    assert.equal(
      await page.getAttribute('#show-timeline', 'aria-pressed'),
      'true',
      'still the timeline after a reload',
    );
    // The trees list: a lone task's duration; a tree's from its first task's start (tasks.list's
    // tree_started_at: its root ran after its children, so its own start is not the tree's).
    const duration = (id: string) => textOf(page, `#tree-list li[data-id="${id}"] [data-field="duration"]`);
    assert.match(await duration('lone'), /^\d+ ms$/);
    const listed = (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.list', params: {} })).body
      ?.result as { id: string; tree_started_at?: string; started_at: string; completed_at: string }[];
    const done = listed.find((task) => task.id === 'done');
    assert.ok(done?.tree_started_at && done.tree_started_at < done.started_at, 'the tree began before its root');
    assert.match(await duration('done'), /^\d+(\.\d+)? m?s$/);
  });

  test('waits are drawn hatched: a question until its answer, a durable sleep until it wakes; waking is no new attempt', async (t) => {
    const { app, url } = await server(t, {
      executors: { dirs: [fixtures, join(repoRoot, 'test', 'fixtures', 'durable-executors')] },
    });
    await app.engine.createTree([
      { id: 'waits', name: 'waits', schemas: { method: 'noop' } },
      { id: 'waits-ask', name: 'ask', parent_id: 'waits', schemas: { method: 'approval' } },
      { id: 'waits-nap', name: 'nap', parent_id: 'waits', schemas: { method: 'nap' }, inputs: { s: 0.3 } },
    ]);
    const page = await open(t, `${url}/ui#tree=waits`);
    await page.click('#show-timeline');
    await page.waitForSelector(row('waits-ask'));
    await page.click('#execute');
    await page.waitForSelector(row('waits-ask', ' rect.seg.wait.w-input.open'));
    // A tree waiting for an answer runs on. (The wait can show from the events the page already
    // followed before Execute's own snapshot lands: the log replays from that snapshot, and one
    // frame in between draws the snapshot alone.)
    await page
      .waitForSelector('#timeline[data-live="true"]', { timeout: 5_000 })
      .catch(() => assert.fail('a tree waiting for an answer runs on'));
    await page.waitForSelector(row('waits-nap', ' rect.seg.wait.w-sleep'));
    await app.engine.resume('waits-ask', { approved: true });
    await page.waitForSelector('#timeline[data-live="false"]');
    const kinds = (id: string) =>
      page.$$eval(row(id, ' rect.seg'), (bars) => bars.map((bar) => bar.getAttribute('class')));
    assert.deepEqual(await kinds('waits-ask'), ['seg run s-completed', 'seg wait w-input', 'seg run s-completed']);
    assert.deepEqual(await kinds('waits-nap'), ['seg run s-completed', 'seg wait w-sleep', 'seg run s-completed']);
    assert.match(await textOf(page, `${row('waits-ask')} > title`), /waiting for an answer: /);
    await page.click(row('waits-ask'));
    await page.waitForSelector('#panel dd[data-field="attempts"]');
    assert.equal(await textOf(page, '#panel dd[data-field="attempts"]'), '1');
  });

  test('token usage and cost: the task panel, the tree’s totals in its head, the cost column of the list', async (t) => {
    const project = tempProject(t, { 'executors/llm-call.ts': LLM_CALL });
    const { app, url } = await server(t, {
      executors: { dirs: [fixtures, join(project, 'executors')] },
      usage: { prices: { 'openai/gpt-4o-mini': { input: 2, output: 4 } } },
    });
    await app.engine.createTree([
      { id: 'tok', name: 'tokens', schemas: { method: 'noop' } },
      { id: 'tok-a', name: 'a', parent_id: 'tok', schemas: { method: 'llm_call' } },
      { id: 'tok-b', name: 'b', parent_id: 'tok', schemas: { method: 'llm_call' }, inputs: { other: true } },
      { id: 'tok-c', name: 'c', parent_id: 'tok', schemas: { method: 'noop' } },
    ]);
    const page = await open(t, `${url}/ui#tree=tok`);
    await page.waitForSelector('svg .node[data-id="tok"]');
    const [n1000, n1500, n3015] = await page.evaluate(() => [1000, 1500, 3015].map((n) => n.toLocaleString()));
    await page.click('svg .node[data-id="tok-a"]');
    await page.click('#execute');
    await page.waitForFunction(
      (total) => document.querySelector('#tree-totals [data-field="tokens"]')?.textContent === `${total} tokens`,
      n3015,
    );
    // 1,000 tokens at $2 and 500 at $4 per million: $0.004 a call; the unpriced model's call adds nothing.
    assert.equal(await textOf(page, '#tree-totals [data-field="cost"]'), '$0.0080');
    await page.waitForSelector('#panel dd[data-field="tokens"]');
    assert.equal(
      await textOf(page, '#panel dd[data-field="tokens"]'),
      `${n1500} tokens (${n1000} in, 500 out; 1 call)`,
    );
    assert.equal(await textOf(page, '#panel dd[data-field="cost"]'), '$0.0040');
    await page.click('svg .node[data-id="tok-b"]');
    await page.waitForFunction(() =>
      /acme/.test(document.querySelector('#panel dd[data-field="models"]')?.textContent ?? ''),
    );
    assert.deepEqual((await textOf(page, '#panel dd[data-field="models"]')).split('\n'), [
      `openai/gpt-4o-mini: ${n1500} tokens, $0.0040`,
      'acme/unpriced: 15 tokens, no price',
    ]);
    await page.click('svg .node[data-id="tok-c"]');
    await page.waitForSelector('#panel dd[data-field="duration"]');
    assert.equal(await page.$('#panel dd[data-field="tokens"]'), null, 'no LLM calls, no tokens');
    await page.waitForFunction(
      () => document.querySelector('#tree-list li[data-id="tok"] [data-field="cost"]')?.textContent === '$0.0080',
    );
  });
});
