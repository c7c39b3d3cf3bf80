import { createClient, type ApflowClient } from '../../client/index.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import { text, type Parsed } from './command-group.ts';
import { savedLogin } from './credentials.ts';
import { undici } from '../outbound/undici.ts';

/** Options every command that talks to apflow takes. */
export interface ConnectOptions {
  config?: string;
  /** A running server to talk to (env APFLOW_SERVER_URL); absent: the configured database, here. */
  server?: string;
  /** Its bearer token (env APFLOW_TOKEN; else the saved `apflow login` of that server). */
  token?: string;
}

/** A client of apflow, local or remote, and how to let it go. */
export interface Connection {
  client: ApflowClient;
  /** True against a running server; false on the configured database in this process. */
  remote: boolean;
  /** Where: the server's URL, or `local`. */
  where: string;
  close(): Promise<void>;
}

/**
 * Connects a command to apflow: a running server with `--server` (or `APFLOW_SERVER_URL`),
 * through `apflow/client`; without one, an app on the configured database in this process,
 * answered through the same client (so both print the same). Locally the command acts as the
 * operator (authentication is the server's gate; here the database is at hand anyway).
 */
export async function connect(options: ConnectOptions, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const server = options.server ?? (env.APFLOW_SERVER_URL || undefined);
  if (server) {
    const token = options.token ?? (env.APFLOW_TOKEN || undefined) ?? savedLogin(server)?.token;
    const client = createClient({ baseUrl: server, token, fetch: patientFetch(), timeout: 0 });
    return { client, remote: true, where: server, close: async () => undefined };
  }
  if (options.token)
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: '--token needs --server (or APFLOW_SERVER_URL): without one the command works on the local database',
    });
  // Loaded only here: a remote command never loads the app (its start is most of a CLI call's time).
  const [{ openForCommand }, { injectFetch }] = await Promise.all([
    import('./open-tasks.ts'),
    import('./inject-fetch.ts'),
  ]);
  const app = await openForCommand({ ...options, withoutAuth: true });
  const client = createClient({ baseUrl: 'http://apflow.local/', fetch: injectFetch(app), timeout: 24 * 3600_000 });
  return { client, remote: false, where: 'local', close: () => app.close() };
}

/**
 * A fetch that waits as long as a blocking call takes: `apflow run` answers when its tree ends,
 * and Node's own fetch gives up on an answer that has not begun within 300 s. A dead server still
 * fails at once (connection refused); a proxy in front has its own read timeout.
 */
function patientFetch(): typeof fetch {
  const dispatcher = new (undici().Agent)({ headersTimeout: 0, bodyTimeout: 0 });
  return ((input: string | URL | Request, init?: RequestInit) =>
    undici().fetch(input as string, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}

/**
 * Runs `work` with a client of apflow as `parsed` names it (`--server`, `--token`, `--config`),
 * and lets the connection go afterwards, whatever happens: every command that talks to apflow
 * is written once against it, so both modes print the same.
 */
export async function withClient<T>(
  parsed: Parsed,
  work: (client: ApflowClient, connection: Connection) => Promise<T>,
): Promise<T> {
  const connection = await connect({
    server: text(parsed, 'server'),
    token: text(parsed, 'token'),
    config: text(parsed, 'config'),
  });
  try {
    return await work(connection.client, connection);
  } finally {
    await connection.close();
  }
}
