/**
 * What an executor's context is and does around the run's end, through the engine: its properties
 * (an executor may spread it into another's context, as tools do), and its signal and durable
 * calls when the executor reads them only after the run was cancelled, timed out or suspended.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { createApp, defineExecutor, type App, type ExecutorContext, type ExecutorDefinition } from 'apflow';
import { testDatabases } from '../databases.ts';
import { memoryLog, started } from '../helpers.ts';

const sqlite = testDatabases().filter((db) => db.name === 'sqlite');

/** A promise and what settles it. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const opened = new Promise<T>((resolve) => (open = resolve));
  return { open, opened };
}

/** What an executor saw of its context when it looked after the run's end. */
interface Late {
  aborted: boolean;
  reason: string;
  ranLateStep: boolean;
}

/** Waits for the executor, then reads its signal and tries a step (whose function must not run). */
async function lookLate(ctx: ExecutorContext, release: Promise<void>, seen: (late: Late) => void): Promise<string> {
  await release;
  let ranLateStep = false;
  void ctx.step('late', () => (ranLateStep = true));
  const reason: unknown = ctx.signal.reason;
  seen({ aborted: ctx.signal.aborted, reason: reason instanceof Error ? reason.message : String(reason), ranLateStep });
  return 'too late';
}

async function appWith(t: TestContext, url: string, executors: ExecutorDefinition[]): Promise<App> {
  const app = await createApp({
    env: {},
    logStream: memoryLog().stream,
    executors,
    inline: { database: { url }, examples: { auto_init: false }, log: { level: 'warn' } },
  });
  t.after(() => app.close());
  return app;
}

/** Polls the task until `until` holds (the engine ends runs in the background). */
async function taskWhen(app: App, id: string, until: (task: { waiting?: unknown }) => boolean) {
  for (;;) {
    const task = await app.tasks.get(id);
    if (task && until(task)) return task;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const db of sqlite) {
  describe(`executor context on ${db.name}`, () => {
    test('its properties, in order and enumerable; spread into another context, its calls still work', async (t) => {
      const seen: Record<string, unknown> = {};
      const probe = defineExecutor({
        id: 'ctx_shape',
        async execute(_inputs, ctx) {
          seen.keys = Object.keys(ctx);
          seen.spread = Object.keys({ ...ctx });
          seen.functions = Object.keys(ctx).filter((key) => typeof ctx[key as keyof ExecutorContext] === 'function');
          seen.signal = ctx.signal instanceof AbortSignal && ctx.signal === ctx.signal && !ctx.signal.aborted;
          seen.log = ctx.log === ctx.log && typeof ctx.log.info === 'function';
          // Another executor's context made from this one (as a tool calling an executor makes it).
          const copy: ExecutorContext = { ...ctx, progress: () => undefined };
          const { step } = ctx;
          const a = await copy.step('a', () => 1);
          const b = await step('b', () => 2);
          ctx.progress(0.5, 'half way');
          const own = new AbortController().signal;
          ctx.signal = own;
          seen.replaced = ctx.signal === own;
          return { a, b, same: ctx.task_id === ctx.task.id, params: ctx.params };
        },
      });
      const app = await appWith(t, await db.create(t), [probe]);
      const tree = await app.engine.createTree([{ id: 'p', name: 'ctx_shape', params: { mode: 'x' } }]);
      const outcome = await started(await app.engine.execute(tree.id)).done;
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(outcome.result, { a: 1, b: 2, same: true, params: { mode: 'x' } });
      const keys = ['step', 'askInput', 'sleep', 'sleepUntil', 'spawn', 'map', 'task_id', 'root_task_id', 'user_id'];
      const expected = [...keys, 'task', 'params', 'signal', 'progress', 'outbound', 'usage', 'resolveKey', 'log'];
      assert.deepEqual(seen.keys, expected);
      assert.deepEqual(seen.spread, expected);
      const functions = ['step', 'askInput', 'sleep', 'sleepUntil', 'spawn', 'map', 'progress', 'usage', 'resolveKey'];
      assert.deepEqual(seen.functions, functions);
      assert.equal(seen.signal, true);
      assert.equal(seen.log, true);
      assert.equal(seen.replaced, true);
    });

    test('cancelled, the run ends; its signal read afterwards is aborted, and a step then does nothing', async (t) => {
      const running = gate();
      const release = gate();
      const late = gate<Late>();
      const waiter = defineExecutor({
        id: 'ctx_cancelled',
        execute(_inputs, ctx) {
          running.open();
          return lookLate(ctx, release.opened, late.open);
        },
      });
      const app = await appWith(t, await db.create(t), [waiter]);
      const tree = await app.engine.createTree([{ id: 'c', name: 'ctx_cancelled' }]);
      const { done } = started(await app.engine.execute(tree.id));
      await running.opened;
      await app.engine.cancel([tree.id], 'no longer wanted');
      assert.equal((await done).status, 'cancelled');
      release.open();
      assert.deepEqual(await late.opened, { aborted: true, reason: 'no longer wanted', ranLateStep: false });
      assert.equal((await app.tasks.get(tree.id))?.status, 'cancelled');
    });

    test('timed out, the run fails; its signal read afterwards is aborted by the timeout', async (t) => {
      const release = gate();
      const late = gate<Late>();
      const slow = defineExecutor({
        id: 'ctx_timed_out',
        execute: (_inputs, ctx) => lookLate(ctx, release.opened, late.open),
      });
      const app = await appWith(t, await db.create(t), [slow]);
      const tree = await app.engine.createTree([{ id: 's', name: 'ctx_timed_out', params: { timeout_s: 0.1 } }]);
      const outcome = await started(await app.engine.execute(tree.id)).done;
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error, 'Timeout: the task ran longer than 0.1s');
      release.open();
      assert.deepEqual(await late.opened, { aborted: true, reason: 'timeout', ranLateStep: false });
    });

    test('suspended by a durable call, the run ends; its signal is aborted and later calls do nothing', async (t) => {
      const release = gate();
      const late = gate<Late>();
      const sleeper = defineExecutor({
        id: 'ctx_suspended',
        execute(_inputs, ctx) {
          void ctx.sleep(3600);
          return lookLate(ctx, release.opened, late.open);
        },
      });
      const app = await appWith(t, await db.create(t), [sleeper]);
      const tree = await app.engine.createTree([{ id: 'z', name: 'ctx_suspended' }]);
      started(await app.engine.execute(tree.id));
      const waiting = await taskWhen(app, tree.id, (task) => isSleep(task.waiting));
      assert.ok(isSleep(waiting.waiting));
      release.open();
      assert.deepEqual(await late.opened, { aborted: true, reason: 'suspended', ranLateStep: false });
      const task = await app.tasks.get(tree.id);
      assert.ok(isSleep(task?.waiting), 'it still waits: the late step stored nothing');
    });
  });
}

const isSleep = (waiting: unknown) =>
  typeof waiting === 'object' && waiting !== null && (waiting as { kind?: unknown }).kind === 'sleep';
