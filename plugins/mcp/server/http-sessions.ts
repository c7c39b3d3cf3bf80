import { randomUUID } from 'node:crypto';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { PluginApp } from 'apflow';
import type { McpServerSettings } from '../settings.ts';
import { createEventStore } from './event-store.ts';
import { loadMcpSdk } from './load-sdk.ts';
import type { OwnerListener } from './owner-listener.ts';
import type { SessionRegistry } from './session-registry.ts';

/** One MCP session over HTTP: its transport and server, and who opened it. */
export interface HttpSession {
  readonly id: string;
  readonly transport: StreamableHTTPServerTransport;
  readonly server: Server;
  /** The user who opened it (null with authentication off): only they may use it. */
  readonly userId: string | null;
  /** What the per-user limit counts by: the user, or the client address without authentication. */
  readonly limitKey: string;
  /** Requests (and GET streams) open now; an idle session has none. */
  open: number;
  lastSeen: number;
}

/** Where the other processes' sessions are, and how to reach this one's. */
export interface SessionHomes {
  registry: SessionRegistry;
  listener: OwnerListener;
}

/** How often sessions are swept and this process's rows refreshed. */
export const sweepMs = (settings: McpServerSettings) =>
  Math.min(60_000, Math.max(1000, (settings.session_ttl_s * 1000) / 4));

/**
 * The MCP sessions this process holds: created by `initialize`, ended by `DELETE`, by
 * `session_ttl_s` without a request or an open stream, or by the server closing. The counts are
 * bounded (`max_sessions`, `max_sessions_per_user`, per process), so clients that never `DELETE`
 * cannot grow memory without end. Each session is recorded in `mcp_sessions` with this
 * process's loopback address, so other workers hand its requests here.
 */
export function createHttpSessions(
  app: PluginApp,
  settings: McpServerSettings,
  homes: SessionHomes,
  createServer: (serverClosing: () => boolean) => Promise<Server>,
) {
  const sessions = new Map<string, HttpSession>();
  let closingAll = false;
  const perKey = (key: string) => [...sessions.values()].filter((session) => session.limitKey === key).length;
  const forget = (id: string) =>
    void homes.registry
      .remove(id)
      .catch((error: unknown) => app.log.warn({ err: error }, 'cannot remove an MCP session record'));

  const end = (session: HttpSession) => {
    if (sessions.get(session.id) !== session) return;
    sessions.delete(session.id);
    forget(session.id);
    void session.transport.close().catch(() => undefined);
    void session.server.close().catch(() => undefined);
  };

  const sweep = setInterval(() => {
    const idleSince = Date.now() - settings.session_ttl_s * 1000;
    for (const session of sessions.values()) if (session.open === 0 && session.lastSeen < idleSince) end(session);
    void homes.listener
      .current()
      // Only a process that has held sessions writes: idle servers and one-shot commands do not.
      .then((url) => (url ? homes.registry.refresh(url) : undefined))
      .catch((error: unknown) => app.log.warn({ err: error }, 'cannot refresh the MCP session records'));
  }, sweepMs(settings));
  sweep.unref();

  return {
    get: (id: string) => sessions.get(id),
    /** Why a new session cannot open now (for `limitKey`), or undefined when it can. */
    refusal(limitKey: string): { status: number; message: string } | undefined {
      if (sessions.size >= settings.max_sessions)
        return {
          status: 503,
          message: `The server holds its most MCP sessions (${settings.max_sessions}); try again later`,
        };
      if (perKey(limitKey) >= settings.max_sessions_per_user) {
        return {
          status: 429,
          message: `You hold ${settings.max_sessions_per_user} MCP sessions, the most allowed: end some (DELETE /mcp) or let them expire`,
        };
      }
      return undefined;
    },
    /** A new session, registered once its `initialize` succeeded (see {@link settle}). */
    async open(userId: string | null, limitKey: string): Promise<HttpSession> {
      const { StreamableHTTPServerTransport } = await loadMcpSdk();
      const server = await createServer(() => closingAll);
      const id = randomUUID();
      const events = createEventStore(settings.replay_events);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => id,
        eventStore: events,
        onsessionclosed: () => end(session),
      });
      const session: HttpSession = { id, transport, server, userId, limitKey, open: 0, lastSeen: Date.now() };
      transport.onclose = () => {
        events.clear();
        end(session);
      };
      await server.connect(transport);
      await homes.registry.add(id, await homes.listener.url(), userId);
      sessions.set(id, session);
      return session;
    },
    /** Drops a session whose `initialize` did not succeed (the transport never took its id). */
    settle(session: HttpSession): void {
      if (session.transport.sessionId === undefined) end(session);
    },
    /** Ends every session (the generation is closing): their GET streams close, clients reconnect. */
    async closeAll(): Promise<void> {
      closingAll = true;
      clearInterval(sweep);
      for (const session of [...sessions.values()]) end(session);
      const url = await homes.listener.current();
      if (url) await homes.registry.removeOwned(url).catch(() => undefined);
      await homes.listener.close();
    },
    get size() {
      return sessions.size;
    },
  };
}

/** The open sessions of this server. */
export type HttpSessions = ReturnType<typeof createHttpSessions>;
