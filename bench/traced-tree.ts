import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from 'apflow';
import { peakRssMb, withApp, type Figures } from './bench-app.ts';
import { started } from './started.ts';

/**
 * The `tree-10k` run with the telemetry plugin on, exporting every span (OTLP/HTTP protobuf, the
 * default) to a local receiver that reads and drops them: what tracing costs a run. Reads make no
 * spans (only runs do), so there is no traced `http-read`.
 */
export async function tracedTree(): Promise<Figures> {
  let spans = 0;
  let bytes = 0;
  const sink = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      spans += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces`;
  try {
    return await withApp(
      async (app) => {
        const figures = await runTree10k(app);
        const ended = performance.now();
        await app.service('telemetry')?.flush();
        return {
          ...figures,
          // After the run: sending the spans still batched (they are made after each commit, off the engine's path).
          flush_ms: Math.round(performance.now() - ended),
          export_requests: spans,
          exported_kb: Math.round(bytes / 1024),
          peak_rss_mb: peakRssMb(),
        };
      },
      undefined,
      { telemetry: { enabled: true, otlp: { endpoint } } },
    );
  } finally {
    sink.close();
  }
}

/** Creates the tree of one root and 9,999 no-op leaves on `app` and runs it to its final event. */
export async function runTree10k(app: App): Promise<Figures> {
  const tasks: Record<string, unknown>[] = [{ id: 'root', name: 'root', schemas: { method: 'bench_noop' } }];
  for (let i = 1; i < 10_000; i++)
    tasks.push({ id: `t${i}`, name: `t${i}`, parent_id: 'root', schemas: { method: 'bench_noop' } });
  const created = performance.now();
  await app.engine.createTree(tasks);
  const start = performance.now();
  const { done } = started(await app.engine.execute('root'));
  const outcome = await done;
  const ms = performance.now() - start;
  if (outcome.status !== 'completed') throw new Error(`tree ended ${outcome.status}`);
  return {
    tasks: 10_000,
    create_ms: Math.round(start - created),
    run_ms: Math.round(ms),
    tasks_per_s: Math.round(10_000 / (ms / 1000)),
  };
}
