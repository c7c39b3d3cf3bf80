import { TASK_STATUSES } from 'apflow';

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

const mcpNote = 'See docs/mcp.md and plugins/mcp/README.md.';
const protectedResource: RouteNote = {
  summary: "The MCP endpoint's protected-resource metadata (RFC 9728)",
  description:
    '`{resource, authorization_servers, bearer_methods_supported}`: how MCP clients authenticate to /mcp (a bearer JWT in `Authorization`).',
};
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
    description:
      '`{status, version, uptime_s, database, workers, plugins, endpoints, executors, tasks, cluster, reload_errors}` (`endpoints` names where each protocol is served, e.g. `mcp: "/mcp"`); 200 when the database answers, 503 when it does not.',
  },
  'GET /tasks': {
    summary: 'List tasks (roots), newest first',
    query: [
      {
        name: 'user_id',
        description: "the tasks' owner (others need the admin role when authentication is on)",
        schema: { type: 'string' },
      },
      {
        name: 'status',
        description: 'only tasks in this status',
        schema: { type: 'string', enum: [...TASK_STATUSES] },
      },
      { name: 'root_only', description: 'roots only (default true)', schema: { type: 'boolean' } },
      {
        name: 'limit',
        description: 'at most this many (default 100)',
        schema: { type: 'integer', minimum: 1, maximum: 1000 },
      },
      { name: 'offset', description: 'skip this many (default 0)', schema: { type: 'integer', minimum: 0 } },
    ],
  },
  'GET /tasks/:task_id/status': {
    summary: "A task's status",
    description:
      '`{task_id, root_task_id, name, status, progress, error, is_running, started_at, updated_at, completed_at}`; 404 for unknown ids.',
  },
  'GET /tasks/:task_id/events': {
    summary: "Server-Sent Events of the task's tree",
    description:
      'Replays the event log after `Last-Event-ID` (or `?last_event_id=`), then live events, ending with `final` and `stream_end`. See plugins/sse/README.md.',
    query: [
      {
        name: 'last_event_id',
        description: 'resume after this event (as the Last-Event-ID header)',
        schema: { type: 'string' },
      },
    ],
    produces: 'text/event-stream',
  },
  'GET /ws': {
    summary: 'WebSocket',
    description:
      'Upgrade to a WebSocket: `{"action": "subscribe", "task_id"}`, `unsubscribe`, `ping`, `auth`, and the JSON-RPC calls of /tasks and /system. With authentication on, the token may come with the upgrade, as `?token=`, or in an `auth` message. See plugins/websocket/README.md.',
  },
  'POST /auth/login': {
    summary: 'Log in',
    description:
      '`{username, password}` → `{access_token, token_type: "bearer", expires_in}`. Attempts are rate-limited (429 with Retry-After).',
  },
  'GET /.well-known/agent-card.json': agentCard,
  'GET /.well-known/agent-card': agentCard,
  'GET /.well-known/agent.json': agentCard,
  'GET /docs': {
    summary: 'This documentation (Swagger UI)',
    description: 'The page loads its scripts and styles from this server (`/docs?asset=<file>`).',
    query: [
      {
        name: 'asset',
        description: "one of the page's files (swagger-ui.css, swagger-ui-bundle.js, …)",
        schema: { type: 'string' },
      },
    ],
    produces: 'text/html',
  },
  'GET /openapi.json': { summary: 'This OpenAPI 3.1 document' },
  'POST /mcp': {
    summary: 'MCP (Streamable HTTP): one JSON-RPC message',
    description: `The Model Context Protocol (2025-06-18 and 2025-11-25): \`initialize\` opens a session (its id comes back in \`Mcp-Session-Id\`, which every later request sends); \`tools/list\`, \`tools/call\` (execute_task, create_task, get_task, get_task_tree, list_tasks, get_task_status, cancel_task, copy_task, delete_task, update_task, list_executors), \`resources/list\`, \`resources/templates/list\`, \`resources/read\` (task://{task_id}, tasks://?status=&limit=&offset=), \`resources/subscribe\`. Send \`Accept: application/json, text/event-stream\`: a request is answered as JSON or as an event stream carrying its progress notifications, then its answer. ${mcpNote}`,
    produces: 'text/event-stream',
  },
  'GET /mcp': {
    summary: "MCP: the session's server stream",
    description: `Server-Sent Events of the session (resource updates); with \`Last-Event-ID\` it resumes a dropped stream, replaying what was sent after that event. ${mcpNote}`,
    produces: 'text/event-stream',
  },
  'DELETE /mcp': { summary: 'MCP: end the session named by Mcp-Session-Id', description: mcpNote },
  'GET /.well-known/oauth-protected-resource/mcp': protectedResource,
  'GET /.well-known/oauth-protected-resource': protectedResource,
};

/** Summaries of the JSON-RPC endpoints the built-in plugins serve. */
export const ENDPOINT_NOTES: Readonly<Record<string, string>> = {
  '/tasks': 'The tasks API (see plugins/tasks-api/README.md).',
  '/system': 'Server health, executors, and the methods other plugins add.',
  '/': "apflow's `execute_task_tree`, and the methods of the plugin answering the rest.",
};
