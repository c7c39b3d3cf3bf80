import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { App } from 'apflow';
import { eventually, started, testApp } from '../helpers.ts';
import { startPageServer, within } from '../fixtures/web-targets.ts';
import { completed, failed, runOne, type Json } from './builtin-executors-setup.ts';

interface ScrapeResult {
  url: string;
  status_code: number;
  content_type: string;
  title: string;
  content: string;
  links: { text: string; href: string }[];
  truncated: boolean;
}

// The test server listens on 127.0.0.1, which the outbound policy refuses unless allowed.
const localTargets = { outbound: { allow_hosts: ['127.0.0.1'] } };
const run = async (app: App, inputs: Json) => runOne(app, 'scrape_executor', inputs);
const hidden = ['SCRIPT-TEXT', 'NOSCRIPT-TEXT', 'color: red', 'alert(1)'];

describe('scrape_executor', () => {
  test('markdown (default): the main article, absolute links, no script or style', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startPageServer(t);
    const result = completed<ScrapeResult>(await run(app, { url: `${base}/article` }));
    assert.equal(result.url, `${base}/article`);
    assert.equal(result.status_code, 200);
    assert.equal(result.title, 'The Lighthouse Keeper');
    assert.equal(result.truncated, false);
    assert.match(result.content, /Every evening the keeper climbed the ninety steps/);
    assert.match(result.content, new RegExp(`\\[its story\\]\\(${base}/ships/unknown\\.html\\)`));
    assert.match(result.content, /^-\s+First entry$/m);
    assert.ok(!result.content.includes('Tide table'), 'the main content only, not the whole body');
    for (const text of hidden) assert.ok(!result.content.includes(text), `${text} is not in the content`);
    assert.deepEqual(result.links, [
      { text: 'Home', href: `${base}/` },
      { text: 'About', href: `${base}/about` },
      { text: 'its story', href: `${base}/ships/unknown.html` },
      { text: 'today', href: 'https://tides.example.org/today' },
      { text: 'Contact', href: `${base}/contact` },
    ]);
    assert.match(String(seen[0]?.headers['user-agent']), /^apflow\/.* scrape_executor$/);
  });

  test('a selector picks its elements; text format tidies the whitespace', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startPageServer(t);
    const target = completed<ScrapeResult>(
      await run(app, { url: `${base}/article`, selector: '#target', format: 'text' }),
    );
    assert.equal(target.content, 'Tide table for today');
    assert.deepEqual(target.links, [{ text: 'today', href: 'https://tides.example.org/today' }]);

    const list = completed<ScrapeResult>(
      await run(app, { url: `${base}/article`, selector: 'article', format: 'text', include_links: false }),
    );
    assert.deepEqual(list.links, []);
    assert.match(list.content, /^The Lighthouse Keeper\n\nEvery evening the keeper climbed/);
    assert.match(list.content, /\n\nFirst entry\nSecond entry$/);
    assert.ok(!/ {2}/.test(list.content), 'no runs of spaces');
    for (const text of hidden) assert.ok(!list.content.includes(text), `${text} is not in the text`);
  });

  test('html format keeps the markup, without scripts or styles', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startPageServer(t);
    const result = completed<ScrapeResult>(
      await run(app, { url: `${base}/article`, selector: 'body', format: 'html' }),
    );
    assert.match(result.content, /<div id="target"><b>Tide table<\/b>/);
    assert.match(result.content, new RegExp(`<a href="${base}/about">About</a>`));
    assert.ok(!/<script|<style|<noscript/i.test(result.content));
    for (const text of hidden) assert.ok(!result.content.includes(text), `${text} is not in the html`);
  });

  test('the charset is decoded from the header or the page meta; plain text is read as is', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startPageServer(t);
    const latin1 = completed<ScrapeResult>(await run(app, { url: `${base}/latin1`, format: 'text' }));
    assert.equal(latin1.title, 'Café');
    assert.equal(latin1.content, 'crème brûlée');
    const meta = completed<ScrapeResult>(await run(app, { url: `${base}/meta-1252`, format: 'text' }));
    assert.equal(meta.title, 'Naïve');
    assert.equal(meta.content, 'à la carte');
    const plain = completed<ScrapeResult>(await run(app, { url: `${base}/plain` }));
    assert.equal(plain.content, 'line one\n\nline two');
    assert.equal(plain.content_type, 'text/plain');
  });

  test('megabytes of spaces are tidied in one pass, as text, markdown and plain text', async (t) => {
    // A whitespace pattern that retries from every space would take minutes here, blocking the server.
    const app = await testApp(t, localTargets);
    const { base } = await startPageServer(t);
    const text = completed<ScrapeResult>(await run(app, { url: `${base}/spaces`, format: 'text' }));
    assert.equal(text.truncated, false);
    assert.equal(text.content, 'alpha beta\n\ngamma');
    const markdown = completed<ScrapeResult>(await run(app, { url: `${base}/spaces`, selector: 'pre, p' }));
    assert.equal(markdown.content, `alpha${' '.repeat(64)}beta\n\ngamma`, 'runs in <pre> are cut to 64');
    const plain = completed<ScrapeResult>(await run(app, { url: `${base}/spaces.txt` }));
    assert.equal(plain.content.replace(/ +/, ' '), 'alpha beta');
    assert.equal(plain.content.length, 'alphabeta'.length + 2 * 1024 * 1024 - 200, 'plain text keeps inner spaces');
  });

  test('redirects are followed: url is the final one', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startPageServer(t);
    const result = completed<ScrapeResult>(await run(app, { url: `${base}/moved` }));
    assert.equal(result.url, `${base}/article`);
    assert.equal(result.title, 'The Lighthouse Keeper');
  });

  test('a redirect to a refused address fails the task, naming both hops', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startPageServer(t);
    const error = failed(await run(app, { url: `${base}/away` }));
    assert.equal(
      error,
      'scrape_executor: http://169.254.169.254/ is refused: 169.254.169.254 is not a public address ' +
        `(allow it with outbound.allow_hosts or outbound.allow_private) (redirected from GET ${base}/away)`,
    );
  });

  test('the default policy refuses 127.0.0.1 and nothing is requested', async (t) => {
    const app = await testApp(t);
    const { base, seen } = await startPageServer(t);
    const error = failed(await run(app, { url: `${base}/article` }));
    assert.equal(
      error,
      `scrape_executor: ${base}/ is refused: 127.0.0.1 is not a public address ` +
        '(allow it with outbound.allow_hosts or outbound.allow_private)',
    );
    assert.equal(seen.length, 0);
  });

  test('a type that is not a page fails with a clear error', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startPageServer(t);
    assert.equal(
      failed(await run(app, { url: `${base}/pdf` })),
      `scrape_executor: ${base}/pdf is application/pdf, not a page (scrape_executor reads text/html, ` +
        'application/xhtml+xml, text/plain; use rest_executor for other content)',
    );
  });

  test('a selector that matches nothing or is not CSS fails, naming it', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startPageServer(t);
    assert.equal(
      failed(await run(app, { url: `${base}/article`, selector: '#nowhere' })),
      `scrape_executor: selector '#nowhere' matches nothing on ${base}/article`,
    );
    assert.match(failed(await run(app, { url: `${base}/article`, selector: 'a[' })), /selector 'a\[' is not valid CSS/);
  });

  test('max_bytes stops the download: truncated content, the server sees the connection close', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startPageServer(t);
    const result = completed<ScrapeResult>(
      await run(app, { url: `${base}/big`, selector: 'body', format: 'text', max_bytes: 100_000 }),
    );
    assert.equal(result.truncated, true);
    assert.equal(result.title, 'Big');
    assert.ok(result.content.length > 50_000 && result.content.length <= 100_000, `${result.content.length} chars`);
    assert.equal(
      await within((seen[0] as { ended: Promise<string> }).ended, 5000, 'the download ending'),
      'closed early',
    );
  });

  test('an error status is scraped and reported', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startPageServer(t);
    const result = completed<ScrapeResult>(await run(app, { url: `${base}/missing`, format: 'text' }));
    assert.equal(result.status_code, 404);
    assert.equal(result.title, 'Not found');
  });

  test('a page that never comes fails after the timeout, and the connection is dropped', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startPageServer(t);
    assert.equal(
      failed(await run(app, { url: `${base}/hang`, timeout: 0.3 })),
      `scrape_executor: GET ${base}/hang timed out after 0.3s`,
    );
    assert.equal(await within((seen[0] as { ended: Promise<string> }).ended, 5000, 'the close'), 'closed early');
  });

  test('cancelling the task aborts the download', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startPageServer(t);
    const tree = await app.engine.createTree([
      { name: 'scrape', schemas: { method: 'scrape_executor' }, inputs: { url: `${base}/hang` } },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    await eventually(() => seen.length === 1);
    await app.engine.cancel([tree.id]);
    assert.equal((await done).status, 'cancelled');
    assert.equal(await within((seen[0] as { ended: Promise<string> }).ended, 5000, 'the close'), 'closed early');
  });

  test('inputs are checked: an http(s) url and a known format', async (t) => {
    const app = await testApp(t, localTargets);
    for (const inputs of [
      { url: 'ftp://x' },
      {},
      { url: 'http://x', format: 'pdf' },
      // A longer setTimeout overflows and fires at once; more than 5 MiB would block the server too long.
      { url: 'http://x', timeout: 86_401 },
      { url: 'http://x', max_bytes: 5 * 1024 * 1024 + 1 },
    ]) {
      assert.match(failed(await run(app, inputs)), /^Invalid inputs for executor 'scrape_executor'/);
    }
  });

  test('demo mode returns the demo result without a download', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startPageServer(t);
    const tree = await app.engine.createTree([
      { name: 'scrape', schemas: { method: 'scrape_executor' }, inputs: { url: `${base}/article` } },
    ]);
    await started(await app.engine.execute(tree.id, { demo: true })).done;
    const result = (await app.tasks.get(tree.id))?.result as Json;
    assert.equal(result.demo_mode, true);
    assert.match(String(result.title), /demo/);
    assert.equal(seen.length, 0);
  });
});
