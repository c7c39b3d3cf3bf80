/**
 * `apflow/client`'s browser build, as the dashboard serves it (`/ui?asset=client.js`), loaded in a
 * real headless Chromium: typed calls, a streamed run and a typed error, from the page's origin.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { needsChromium, server, useBrowser } from '../plugins/dashboard-setup.ts';
import { fixtures } from './client-setup.ts';

describe('apflow/client in a browser', { skip: needsChromium }, () => {
  const open = useBrowser();

  test('the browser build runs a tree, streams its events, and throws typed errors', async (t) => {
    const { url } = await server(t, { executors: { dirs: [fixtures] } });
    const page = await open(t, `${url}/ui`);
    const outcome = await page.evaluate(async () => {
      const { createClient, NotFoundError } = await import('/ui?asset=client.js' as string);
      const client = createClient({ baseUrl: location.origin });
      const tasks = [{ id: 'b-root', name: 'browser', schemas: { method: 'echo' }, inputs: { from: 'chromium' } }];
      const types: string[] = [];
      const stream = client.execute(tasks, { stream: true });
      for await (const event of stream) types.push(event.type);
      const root = await client.tasks.get({ task_id: 'b-root' });
      let missing = '';
      try {
        await client.tasks.tree({ task_id: 'nobody' });
      } catch (error) {
        missing = `${error instanceof NotFoundError} ${(error as { code: number }).code}`;
      }
      return { started: (await stream.started).root_task_id, types, result: root.result, missing };
    });
    assert.equal(outcome.started, 'b-root');
    assert.deepEqual(outcome.result, { from: 'chromium' });
    assert.equal(outcome.types.at(-1), 'final');
    assert.ok(outcome.types.includes('task_completed'));
    assert.equal(outcome.missing, 'true -32004');
  });
});
