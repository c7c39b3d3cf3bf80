// The dashboard and durable runs (issue 24) end to end: a real server running the durable fixture
// executors, a real headless Chromium: waiting tasks shown distinctly, a question answered through
// the form drawn from its schema, a wrong answer refused as the server words it, spawned children
// drawn as they appear, and the list filtered on input_required.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { isRecord } from 'apflow';
import { repoRoot, rpc, tempProject } from '../helpers.ts';
import { needsChromium, server as serve, useBrowser } from './dashboard-setup.ts';

const fixtures = join(repoRoot, 'test', 'fixtures');

/** Asks `inputs.prompt` with `inputs.schema` (none when absent) and returns the answer. */
const ASK = `import { defineExecutor } from 'apflow';
export default defineExecutor({
  id: 'ask',
  async execute(inputs, ctx) {
    const answer = await ctx.askInput({ prompt: String(inputs.prompt), ...(inputs.schema ? { schema: inputs.schema } : {}) });
    return { answer };
  },
});
`;

/** A server running the fixture executors, the durable ones and `ask` (a temp project's). */
async function server(t: TestContext) {
  const project = tempProject(t, { 'executors/ask.ts': ASK });
  const dirs = [join(fixtures, 'executors'), join(fixtures, 'durable-executors'), join(project, 'executors')];
  return { ...(await serve(t, { executors: { dirs } })), log: join(project, 'effects.log') };
}

/** A task as `tasks.get` answers it (over HTTP, as any client). */
async function getTask(url: string, id: string): Promise<Record<string, unknown>> {
  const { body } = await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.get', params: { task_id: id } });
  if (!isRecord(body) || !isRecord(body.result)) throw new Error(`tasks.get ${id}: ${JSON.stringify(body)}`);
  return body.result;
}

const node = (id: string, more = '') => `svg .node[data-id="${id}"]${more}`;
const textOf = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';

describe('dashboard: waiting tasks and the answer form, in headless Chromium', { skip: needsChromium }, () => {
  const open = useBrowser();

  test('the answer form is two more small scripts: the JavaScript, apflow/client included, stays far under 200 KB gzipped', async (t) => {
    const { url } = await server(t);
    let gzipped = 0;
    const scripts = ['app.js', 'api.js', 'tree-view.js', 'task-panel.js', 'input-form.js', 'tree-list.js'];
    for (const asset of [...scripts, 'schedules-view.js', 'client.js']) {
      const response = await fetch(`${url}/ui?asset=${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(response.status, 200, asset);
      gzipped += Number(response.headers.get('content-length'));
    }
    assert.ok(gzipped > 0 && gzipped < 25 * 1024, `${gzipped} bytes of gzipped JavaScript`);
    const html = await (await fetch(`${url}/ui`)).text();
    assert.doesNotMatch(html, /https?:\/\//, 'nothing loaded from elsewhere');
    assert.equal((await fetch(`${url}/ui?asset=waiting.css`)).status, 200);
  });

  test('an approval waits with its prompt, is listed by the input_required filter, and is answered by the form', async (t) => {
    const { app, url, log } = await server(t);
    const prompt = '<b>Ship</b> release 1.2?';
    await app.engine.createTree([
      { id: 'release', name: 'release', schemas: { method: 'noop' } },
      {
        id: 'approve',
        name: 'approve',
        parent_id: 'release',
        schemas: { method: 'approval' },
        inputs: { prompt, log },
      },
    ]);
    const page = await open(t, `${url}/ui#tree=release`);
    await page.waitForSelector(node('approve'));
    await page.click('#execute');
    await page.waitForSelector(node('approve', '[data-status="input_required"][data-waiting="input"]'));
    assert.equal(await textOf(page, node('approve', ' .wait')), '?');
    assert.equal(
      await page.isDisabled('#cancel'),
      false,
      'a tree waiting for an answer is running: it can be cancelled',
    );

    // The filter lists the waiting task (not a root) with its prompt; a click opens it with its question.
    await page.selectOption('#status-filter', 'input_required');
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#tree-list li')].map((li) => li.getAttribute('data-id')).join() === 'approve',
    );
    assert.match(await textOf(page, '#tree-list li .badge'), /input_required/);
    assert.match(await textOf(page, '#tree-list li small'), /<b>Ship<\/b> release 1\.2\?/);
    await page.click('#tree-list li[data-id="approve"]');
    await page.waitForSelector('#panel form.answer');
    assert.equal(await textOf(page, '#panel [data-field="prompt"]'), prompt);
    assert.equal(await textOf(page, '#panel dd[data-field="waiting"]'), 'for input');
    assert.equal(await page.$('#panel b'), null, 'the prompt is shown as text');
    // Drawn from the schema: a checkbox for the required boolean, a text input for the optional note.
    assert.equal(await page.getAttribute('form.answer input[name="approved"]', 'type'), 'checkbox');
    assert.equal(await page.getAttribute('form.answer input[name="note"]', 'type'), 'text');
    assert.equal(await page.$$eval('form.answer .req', (marks) => marks.length), 1, 'one required field');

    await page.check('form.answer input[name="approved"]');
    await page.fill('form.answer input[name="note"]', 'looks good');
    await page.click('form.answer button[type="submit"]');
    await page.waitForSelector(node('release', '[data-status="completed"]'));
    await page.waitForSelector(node('approve', '[data-status="completed"]:not([data-waiting])'));
    await page.waitForFunction(() => !document.querySelector('#panel form.answer'));
    assert.equal(await page.$('#panel dd[data-field="waiting"]'), null, 'no longer waiting');
    const done = await getTask(url, 'approve');
    assert.ok(isRecord(done.result) && isRecord(done.result.answer));
    assert.deepEqual(done.result.answer, { approved: true, note: 'looks good' });
    assert.equal(done.waiting, undefined);
    // The step before the question ran once, the one after it once.
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['approve draft', 'approve publish']);

    // Nothing waits any more: the filtered list is empty.
    await page.waitForFunction(() => document.querySelectorAll('#tree-list li').length === 0);
  });

  test('fields of every kind, a wrong answer refused as the server words it, and an answer without a form', async (t) => {
    const { app, url } = await server(t);
    const pick = {
      type: 'object',
      properties: {
        colour: { type: 'string', enum: ['red', 'green'] },
        count: { type: 'integer', title: 'How many' },
        name: { type: 'string', description: 'who asks' },
        ratio: { type: 'number' },
      },
      required: ['colour', 'count'],
    };
    const list = { type: 'object', properties: { items: { type: 'array' } }, required: ['items'] };
    await app.engine.createTree([
      { id: 'asks', name: 'asks', schemas: { method: 'noop' } },
      {
        id: 'pick',
        name: 'pick',
        parent_id: 'asks',
        schemas: { method: 'ask' },
        inputs: { prompt: 'Pick', schema: pick },
      },
      {
        id: 'raw',
        name: 'raw',
        parent_id: 'asks',
        schemas: { method: 'ask' },
        inputs: { prompt: 'List', schema: list },
      },
    ]);
    const page = await open(t, `${url}/ui#tree=asks`);
    await page.waitForSelector(node('asks'));
    await page.click('#execute');
    await page.waitForSelector(node('raw', '[data-status="input_required"]'));

    // A schema the form cannot draw (an array): a JSON textarea, its schema shown.
    await page.click(node('raw'));
    await page.waitForSelector('form.answer textarea[name="json"]');
    assert.match(await textOf(page, 'form.answer pre.schema'), /"array"/);
    await page.fill('form.answer textarea', 'not json');
    await page.click('form.answer button[type="submit"]');
    await page.waitForSelector('form.answer .answer-error:not([hidden])');
    assert.match(await textOf(page, 'form.answer .answer-error'), /not JSON/);
    await page.fill('form.answer textarea', '{"items": "three"}');
    await page.click('form.answer button[type="submit"]');
    await page.waitForFunction(() =>
      /does not match the question's schema/.test(
        document.querySelector('form.answer .answer-error')?.textContent ?? '',
      ),
    );
    assert.match(await textOf(page, 'form.answer .answer-error'), /items/);
    assert.equal((await getTask(url, 'raw')).status, 'input_required', 'the wrong answer changed nothing');
    await page.fill('form.answer textarea', '{"items": [1, 2, 3]}');
    await page.click('form.answer button[type="submit"]');
    await page.waitForSelector(node('raw', '[data-status="completed"]'));

    // Drawn fields: a select for the enum, number inputs, text; empty optional fields are left out.
    await page.click(node('pick'));
    await page.waitForSelector('form.answer select[name="colour"]');
    assert.deepEqual(
      await page.$$eval('form.answer select[name="colour"] option', (options) => options.map((o) => o.textContent)),
      ['red', 'green'],
      'a required enum has no empty choice',
    );
    assert.equal(await page.getAttribute('form.answer input[name="count"]', 'type'), 'number');
    assert.match(await textOf(page, 'form.answer'), /How many/);
    assert.match(await textOf(page, 'form.answer'), /who asks/);
    await page.selectOption('form.answer select[name="colour"]', { label: 'green' });
    await page.fill('form.answer input[name="count"]', '3');
    await page.click('form.answer button[type="submit"]');
    await page.waitForSelector(node('asks', '[data-status="completed"]'));
    assert.deepEqual((await getTask(url, 'pick')).result, { answer: { colour: 'green', count: 3 } });
    assert.deepEqual((await getTask(url, 'raw')).result, { answer: { items: [1, 2, 3] } });
  });

  test('spawned tasks appear as children; a spawner and a sleeper show what they wait for; cancel reaches them', async (t) => {
    const { app, url } = await server(t);
    await app.engine.createTree([
      { id: 'work', name: 'work', schemas: { method: 'noop' } },
      {
        id: 'fan',
        name: 'fan',
        parent_id: 'work',
        schemas: { method: 'fan-out' },
        inputs: { n: 2, child: 'approval' },
      },
      { id: 'nap', name: 'nap', parent_id: 'work', schemas: { method: 'nap' }, inputs: { s: 3600 } },
    ]);
    const page = await open(t, `${url}/ui#tree=work`);
    await page.waitForSelector(node('work'));
    await page.click('#execute');
    await page.waitForSelector(node('nap', '[data-status="pending"][data-waiting="sleep"]'));
    await page.waitForSelector(node('fan', '[data-status="pending"][data-waiting="children"]'));
    // The spawned children are drawn under their spawner, each waiting for an answer.
    await page.waitForFunction(
      () => document.querySelectorAll('svg .node[data-status="input_required"][data-waiting="input"]').length === 2,
    );
    const spawned = (await app.tasks.tree('work')).filter((task) => task.parent_id === 'fan').map((task) => task.id);
    assert.equal(spawned.length, 2);
    for (const id of spawned) assert.ok(await page.$(node(id)), `spawned ${id} drawn`);

    await page.click(node('fan'));
    await page.waitForFunction(
      () => document.querySelector('#panel dd[data-field="waiting"]')?.textContent === 'for 2 spawned tasks',
    );
    await page.click(node('nap'));
    await page.waitForSelector('#panel dd[data-field="waiting"]');
    const until = (await getTask(url, 'nap')).waiting;
    assert.ok(isRecord(until) && typeof until.until === 'string');
    const at = await page.evaluate((iso) => new Date(iso).toLocaleString(), until.until);
    assert.equal(await textOf(page, '#panel dd[data-field="waiting"]'), `sleeping until ${at}`);

    // One spawned child answered through its form; then the whole tree is cancelled while it waits.
    await page.click(node(spawned[0] ?? ''));
    await page.check('form.answer input[name="approved"]');
    await page.click('form.answer button[type="submit"]');
    await page.waitForSelector(node(spawned[0] ?? '', '[data-status="completed"]'));
    assert.equal(await page.isDisabled('#cancel'), false);
    await page.click('#cancel');
    await page.waitForSelector(node('work', '[data-status="cancelled"]'));
    await page.waitForSelector(node('nap', '[data-status="cancelled"]:not([data-waiting])'));
    await page.waitForSelector(node(spawned[1] ?? '', '[data-status="cancelled"]:not([data-waiting])'));
  });
});
