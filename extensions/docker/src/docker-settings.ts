import { ApflowError, Type, type Static } from 'apflow';

/** Default output kept per run (stdout and stderr together): 1 MiB. */
export const DEFAULT_MAX_LOG_BYTES = 1024 * 1024;
/** The longest timeout there is, in seconds (a day): timers overflow far above it. */
export const MAX_TIMEOUT_S = 86_400;
/** Default `pids_limit`: processes and threads per container. */
export const DEFAULT_PIDS_LIMIT = 256;
/** Default `max_memory`. */
export const DEFAULT_MAX_MEMORY = '1g';
/** Default `max_cpus`. */
export const DEFAULT_MAX_CPUS = 1;
/** A memory size: bytes, or a number with a binary unit (`512m`, `1.5g`). */
export const MEMORY_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*[bkmgBKMG]?[bB]?$';
/** The Engine's usual socket. */
export const DEFAULT_SOCKET = '/var/run/docker.sock';

const MountRule = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object(
    { path: Type.String({ minLength: 1 }), read_only: Type.Boolean({ default: false }) },
    { additionalProperties: false },
  ),
]);

/** The config section `docker` (the plugin's settings). */
export const DockerSettings = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'docker_executor refuses every task unless true: a container runs as root on this host',
    }),
    images: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: "Images tasks may run: exact references ('alpine:3.20'), or a prefix ending in '*' ('alpine:*')",
    }),
    mounts: Type.Array(MountRule, {
      default: [],
      description:
        'Host folders (or files) tasks may mount, with everything below them; {path, read_only: true} forces ro',
    }),
    socket: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'The Engine socket; default DOCKER_HOST (unix://) or ' + DEFAULT_SOCKET,
      }),
    ),
    network: Type.String({
      minLength: 1,
      default: 'none',
      description:
        "The containers' network mode: 'none' keeps them off the network (the outbound policy cannot see them)",
    }),
    max_log_bytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: DEFAULT_MAX_LOG_BYTES }),
    max_timeout: Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_TIMEOUT_S,
      default: 3600,
      description: 'The longest `timeout` (seconds) a task may ask for (at most 86400)',
    }),
    pids_limit: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: DEFAULT_PIDS_LIMIT,
      description: 'Processes (and threads) a container may have at once: stops fork bombs',
    }),
    max_memory: Type.Union([Type.Integer({ minimum: 6 * 1024 * 1024 }), Type.String({ pattern: MEMORY_PATTERN })], {
      default: DEFAULT_MAX_MEMORY,
      description:
        'The most memory a container may have, and what it gets when the task asks none (bytes, or 512m, 2g)',
    }),
    max_cpus: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1024,
      default: DEFAULT_MAX_CPUS,
      description: 'The most CPUs a container may use, and what it gets when the task asks none',
    }),
  },
  { additionalProperties: false, default: {} },
);
/** The settings of the config section `docker`, defaults filled in (see {@link DockerSettings} the schema). */
export type DockerSettings = Static<typeof DockerSettings>;

/** One allowed mount root, as configured. */
export type MountRule = Static<typeof MountRule>;

/**
 * The Engine socket to use: `docker.socket`, else `DOCKER_HOST` when it is a `unix://` address,
 * else {@link DEFAULT_SOCKET}. Another kind of `DOCKER_HOST` (tcp://, ssh://) is refused: this
 * executor speaks to a local socket only.
 */
export function socketPath(settings: DockerSettings, env: Readonly<Record<string, string | undefined>>): string {
  if (settings.socket !== undefined) return settings.socket.replace(/^unix:\/\//, '');
  const host = env.DOCKER_HOST;
  if (host === undefined || host === '') return DEFAULT_SOCKET;
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  throw new ApflowError('APF_UNAVAILABLE', {
    message: `docker_executor: DOCKER_HOST=${host.split('://')[0]}://… is not supported (unix sockets only); set docker.socket to the Engine's unix socket`,
  });
}

/** Refuses every run while `docker.enabled` is not true. */
export function checkEnabled(settings: DockerSettings): void {
  if (settings.enabled) return;
  throw new ApflowError('APF_FORBIDDEN', {
    message:
      'docker_executor is disabled: a container runs as root on this host, so an administrator must turn it on with `docker: { enabled: true, images: [...] }` in the config',
  });
}
