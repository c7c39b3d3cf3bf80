import { ApflowError } from '../errors/apflow-error.ts';
import { isRecord } from '../internal/is-record.ts';

/** An environment variable and the config key it sets; the first listed name wins. */
interface EnvBinding {
  names: readonly string[];
  /** The config key: a section and the keys below it (`['mcp', 'client', 'stdio', 'enabled']`). */
  path: readonly [string, ...string[]];
  /** `list`: comma-separated values; `all-or-nothing`: a boolean that means the list ['*']. */
  type: 'string' | 'integer' | 'number' | 'boolean' | 'list' | 'star-if-true';
}

/** Environment variables apflow reads, with the guide's AIPARTNERUPFLOW_* names as aliases. */
export const envBindings: readonly EnvBinding[] = [
  {
    names: ['APFLOW_HOST', 'AIPARTNERUPFLOW_HOST', 'AIPARTNERUPFLOW_API_HOST'],
    path: ['server', 'host'],
    type: 'string',
  },
  {
    names: ['APFLOW_PORT', 'AIPARTNERUPFLOW_PORT', 'AIPARTNERUPFLOW_API_PORT'],
    path: ['server', 'port'],
    type: 'integer',
  },
  { names: ['APFLOW_WORKERS', 'AIPARTNERUPFLOW_WORKERS'], path: ['server', 'workers'], type: 'integer' },
  { names: ['APFLOW_BASE_URL', 'AIPARTNERUPFLOW_BASE_URL'], path: ['server', 'base_url'], type: 'string' },
  {
    names: ['APFLOW_DATABASE_URL', 'AIPARTNERUPFLOW_DATABASE_URL', 'DATABASE_URL'],
    path: ['database', 'url'],
    type: 'string',
  },
  { names: ['APFLOW_SQLITE_SYNCHRONOUS'], path: ['database', 'sqlite', 'synchronous'], type: 'string' },
  {
    names: ['APFLOW_POSTGRES_SYNCHRONOUS_COMMIT'],
    path: ['database', 'postgres', 'synchronous_commit'],
    type: 'string',
  },
  {
    names: ['APFLOW_POSTGRES_PREPARED_STATEMENTS'],
    path: ['database', 'postgres', 'prepared_statements'],
    type: 'boolean',
  },
  {
    names: ['APFLOW_JWT_SECRET', 'AIPARTNERUPFLOW_JWT_SECRET', 'AIPARTNERUPFLOW_JWT_SECRET_KEY'],
    path: ['auth', 'jwt_secret'],
    type: 'string',
  },
  { names: ['APFLOW_LOG_LEVEL', 'LOG_LEVEL'], path: ['log', 'level'], type: 'string' },
  { names: ['APFLOW_LOG_FORMAT'], path: ['log', 'format'], type: 'string' },
  { names: ['APFLOW_CORS_ORIGINS', 'AIPARTNERUPFLOW_CORS_ORIGINS'], path: ['server', 'cors_origins'], type: 'list' },
  {
    names: ['APFLOW_CORS_ALLOW_ALL', 'AIPARTNERUPFLOW_CORS_ALLOW_ALL'],
    path: ['server', 'cors_origins'],
    type: 'star-if-true',
  },
  // What each server of a cluster may want to set on its own (containers set env, not files).
  { names: ['APFLOW_ENGINE_CONCURRENCY'], path: ['engine', 'concurrency'], type: 'integer' },
  { names: ['APFLOW_ENGINE_PER_USER_CONCURRENCY'], path: ['engine', 'per_user_concurrency'], type: 'integer' },
  { names: ['APFLOW_ENGINE_CLUSTER_CONCURRENCY'], path: ['engine', 'cluster_concurrency'], type: 'integer' },
  { names: ['APFLOW_ENGINE_LEASE_S'], path: ['engine', 'lease_s'], type: 'number' },
  { names: ['APFLOW_OUTBOUND_ALLOW_PRIVATE'], path: ['outbound', 'allow_private'], type: 'boolean' },
  { names: ['APFLOW_OUTBOUND_ALLOW_HOSTS'], path: ['outbound', 'allow_hosts'], type: 'list' },
  { names: ['APFLOW_OUTBOUND_DENY_HOSTS'], path: ['outbound', 'deny_hosts'], type: 'list' },
  { names: ['APFLOW_SECRETS_KEY'], path: ['secrets', 'key'], type: 'string' },
  // Sections of built-in plugins.
  { names: ['APFLOW_A2A_SECRETS_KEY'], path: ['a2a', 'secrets_key'], type: 'string' },
  { names: ['APFLOW_MCP_STDIO_ENABLED'], path: ['mcp', 'client', 'stdio', 'enabled'], type: 'boolean' },
  { names: ['APFLOW_MCP_STDIO_ALLOW'], path: ['mcp', 'client', 'stdio', 'allow'], type: 'list' },
];

/** Names of the variables that choose the config file. */
export const configFileEnvNames = ['APFLOW_CONFIG', 'AIPARTNERUPFLOW_CONFIG'] as const;

/** Reads the config layer the environment gives, as a partial config object. */
export function readEnvLayer(env: NodeJS.ProcessEnv): Record<string, Record<string, unknown>> {
  const layer: Record<string, Record<string, unknown>> = {};
  for (const binding of envBindings) {
    const set = firstSet(env, binding.names);
    if (!set) continue;
    const [name, raw] = set;
    if (binding.type === 'star-if-true') {
      if (/^(1|true|yes)$/i.test(raw.trim())) setKey(layer, binding.path, ['*']);
      continue;
    }
    setKey(
      layer,
      binding.path,
      binding.type === 'integer'
        ? parseInteger(name, raw)
        : binding.type === 'number'
          ? parseNumber(name, raw)
          : binding.type === 'boolean'
            ? parseBoolean(name, raw)
            : binding.type === 'list'
              ? raw
                  .split(',')
                  .map((item) => item.trim())
                  .filter(Boolean)
              : raw,
    );
  }
  return layer;
}

/** The first of `names` set (and not empty) in `env`, with its value. */
function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): [name: string, raw: string] | undefined {
  for (const name of names) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') return [name, raw];
  }
  return undefined;
}

/** Sets `path` in `layer`, making the objects on the way. */
function setKey(layer: Record<string, unknown>, [first, ...rest]: EnvBinding['path'], value: unknown): void {
  let at = layer;
  let key = first;
  for (const next of rest) {
    const child = at[key];
    if (isRecord(child)) at = child;
    else {
      const made: Record<string, unknown> = {};
      at[key] = made;
      at = made;
    }
    key = next;
  }
  at[key] = value;
}

function parseNumber(name: string, raw: string): number {
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value)) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `environment variable ${name} must be a number, got '${raw}'`,
    });
  }
  return value;
}

function parseBoolean(name: string, raw: string): boolean {
  if (/^(1|true|yes)$/i.test(raw.trim())) return true;
  if (/^(0|false|no)$/i.test(raw.trim())) return false;
  throw new ApflowError('APF_CONFIG_INVALID', {
    message: `environment variable ${name} must be true or false, got '${raw}'`,
  });
}

function parseInteger(name: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim())) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `environment variable ${name} must be a whole number, got '${raw}'`,
    });
  }
  return Number(raw);
}
