import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Following, PluginApp } from 'apflow';
import { ToolFailure, type McpCaller } from './caller.ts';
import { parseResourceUri, RESOURCE_NOT_FOUND } from './resources.ts';

/** Subscriptions a session may hold at once: each follows a tree's events. */
const MAX_SUBSCRIPTIONS = 100;

/**
 * `resources/subscribe` for `task://{id}`: while subscribed, every event of that task (and the
 * end of its tree's run) sends `notifications/resources/updated`, from whichever server runs it.
 * The caller must be able to read the task; the subscription ends with the session.
 */
export function createResourceSubscriptions(app: PluginApp, server: Server) {
  const active = new Map<string, Following>();
  return {
    async subscribe(uri: string, caller: McpCaller): Promise<void> {
      const target = parseResourceUri(uri);
      if (target.kind !== 'task')
        throw new ToolFailure(`Subscriptions are for task://{task_id} resources, not ${uri}`, -32602);
      if (active.has(uri)) return;
      if (active.size >= MAX_SUBSCRIPTIONS)
        throw new ToolFailure(
          `A session holds at most ${MAX_SUBSCRIPTIONS} subscriptions: unsubscribe from some first`,
          -32602,
        );
      const task = await app.tasks.visible(target.taskId, caller.principal);
      if (!task) throw new ToolFailure(`Resource ${uri} not found`, RESOURCE_NOT_FOUND);
      const root = task.id === task.root_id ? task : await app.tasks.get(task.root_id);
      if (!root || active.has(uri)) return;
      const following = app.engine.follow(root.id, root.event_seq, (event) => {
        if (event.task_id === task.id || event.type === 'final')
          void server.sendResourceUpdated({ uri }).catch(() => undefined);
      });
      active.set(uri, following);
      following.replayed.catch((error: unknown) =>
        caller.log.warn({ err: error, uri }, 'an MCP resource subscription stopped'),
      );
    },
    unsubscribe(uri: string): void {
      active.get(uri)?.stop();
      active.delete(uri);
    },
    close(): void {
      for (const following of active.values()) following.stop();
      active.clear();
    },
  };
}
