/** A query parameter of a route that parses its query string by hand (no Fastify schema). */
export interface QueryNote {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

/** What the document says about a built-in route beyond what its Fastify schema holds. */
export interface RouteNote {
  summary: string;
  description?: string;
  query?: QueryNote[];
  /** The response's media type when it is not JSON. */
  produces?: string;
}

const TASK_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'];
const agentCard: RouteNote = {
  summary: 'A2A agent card',
  description: 'The v1.0 card to `A2A-Version: 1.x`, else the v0.3 card. See plugins/a2a/README.md.',
};

/**
 * Summaries of the built-in plugins' routes (keyed `METHOD url`, Fastify's pattern). Routes not
 * listed here are still documented, from their method, pattern and schema.
 */
export const ROUTE_NOTES: Readonly<Record<string, RouteNote>> = {
  'GET /health': {
    summary: 'Server health',
    description: '`{status, version, uptime_s, database, workers, plugins, executors, reload_errors}`; 200 when the database answers, 503 when it does not.',
  },
  'GET /tasks': {
    summary: 'List tasks (roots), newest first',
    query: [
      { name: 'user_id', description: "the tasks' owner (others need the admin role when authentication is on)", schema: { type: 'string' } },
      { name: 'status', description: 'only tasks in this status', schema: { type: 'string', enum: TASK_STATUSES } },
      { name: 'root_only', description: 'roots only (default true)', schema: { type: 'boolean' } },
      { name: 'limit', description: 'at most this many (default 100)', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
      { name: 'offset', description: 'skip this many (default 0)', schema: { type: 'integer', minimum: 0 } },
    ],
  },
  'GET /tasks/:task_id/status': {
    summary: "A task's status",
    description: '`{task_id, root_task_id, name, status, progress, error, is_running, started_at, updated_at, completed_at}`; 404 for unknown ids.',
  },
  'GET /tasks/:task_id/events': {
    summary: "Server-Sent Events of the task's tree",
    description: 'Replays the event log after `Last-Event-ID` (or `?last_event_id=`), then live events, ending with `final` and `stream_end`. See plugins/sse/README.md.',
    query: [{ name: 'last_event_id', description: 'resume after this event (as the Last-Event-ID header)', schema: { type: 'string' } }],
    produces: 'text/event-stream',
  },
  'GET /ws': {
    summary: 'WebSocket',
    description:
      'Upgrade to a WebSocket: `{"action": "subscribe", "task_id"}`, `unsubscribe`, `ping`, `auth`, and the JSON-RPC calls of /tasks and /system. With authentication on, the token may come with the upgrade, as `?token=`, or in an `auth` message. See plugins/websocket/README.md.',
  },
  'POST /auth/login': {
    summary: 'Log in',
    description: '`{username, password}` → `{access_token, token_type: "bearer", expires_in}`. Attempts are rate-limited (429 with Retry-After).',
  },
  'GET /.well-known/agent-card.json': agentCard,
  'GET /.well-known/agent-card': agentCard,
  'GET /.well-known/agent.json': agentCard,
  'GET /docs': {
    summary: 'This documentation (Swagger UI)',
    description: 'The page loads its scripts and styles from this server (`/docs?asset=<file>`).',
    query: [{ name: 'asset', description: "one of the page's files (swagger-ui.css, swagger-ui-bundle.js, …)", schema: { type: 'string' } }],
    produces: 'text/html',
  },
  'GET /openapi.json': { summary: 'This OpenAPI 3.1 document' },
};

/** Summaries of the JSON-RPC endpoints the built-in plugins serve. */
export const ENDPOINT_NOTES: Readonly<Record<string, string>> = {
  '/tasks': 'The tasks API (see plugins/tasks-api/README.md).',
  '/system': 'Server health, executors, and the methods other plugins add.',
  '/': "apflow's `execute_task_tree`, and the methods of the plugin answering the rest.",
};

/**
 * Paths that need no token when authentication is on: the jwt-auth plugin's public set
 * (plugins/jwt-auth/token-source.ts), which the two documents' routes belong to.
 */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set([
  '/.well-known/agent-card.json',
  '/.well-known/agent-card',
  '/.well-known/agent.json',
  '/health',
  '/auth/login',
  '/docs',
  '/openapi.json',
]);

