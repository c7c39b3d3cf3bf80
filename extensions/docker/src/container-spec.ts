import { ApflowError, Type, type Static } from 'apflow';
import { MEMORY_PATTERN } from './docker-settings.ts';
import type { BindMount } from './mount-policy.ts';

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';
const EnvValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

/** `env` as the original takes it: `{NAME: value}` or `["NAME=value"]` (names are checked when the run starts). */
export const Env = Type.Union([
  Type.Record(Type.String(), EnvValue),
  Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*=' })),
]);

/** `resources`: CPUs (`1.5`, `"0.5"`) and memory (bytes, or `"512m"`, `"1g"`, binary units). */
export const Resources = Type.Object(
  {
    cpu: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.String({ pattern: '^[0-9.]+$' })])),
    memory: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: MEMORY_PATTERN })])),
  },
  { additionalProperties: false },
);

/** Smallest memory limit the Engine accepts. */
const MIN_MEMORY = 6 * 1024 * 1024;
const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** What {@link containerSpec} builds a container from. */
export interface SpecInputs {
  image: string;
  command?: string | string[];
  env?: Static<typeof Env>;
  secret_env?: Record<string, string>;
  working_dir?: string;
  resources?: Static<typeof Resources>;
}

/** What the administrator's config puts on every container. */
export interface HostLimits {
  /** `docker.network`. */
  network: string;
  /** `docker.pids_limit`. */
  pidsLimit: number;
  /** `docker.max_memory`, in bytes: the limit when the task asks none, and the most it may ask. */
  maxMemory: number;
  /** `docker.max_cpus`: the limit when the task asks none, and the most it may ask. */
  maxCpus: number;
  /** Bytes the Engine's json-file log of the container may hold on disk. */
  logFileBytes: number;
}

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message: `docker_executor: ${message}` });

/** Bytes of a memory limit (`512m`, `"1.5g"`, 268435456). */
export function memoryBytes(memory: number | string): number {
  if (typeof memory === 'number') return memory;
  const match = /^([0-9.]+)\s*([bkmg]?)b?$/i.exec(memory.trim());
  const bytes = match
    ? Math.floor(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? Number.NaN))
    : Number.NaN;
  if (!Number.isFinite(bytes)) throw invalid(`resources.memory '${memory}' is not a size such as 512m or 1g`);
  return bytes;
}

function nanoCpus(cpu: number | string, max: number): number {
  const cpus = Number(cpu);
  if (!Number.isFinite(cpus) || cpus <= 0) throw invalid(`resources.cpu '${cpu}' is not a number of CPUs such as 0.5`);
  if (cpus > max) throw invalid(`resources.cpu ${cpus} is over docker.max_cpus (${max})`);
  return Math.round(cpus * 1e9);
}

function memoryLimit(memory: number | string | undefined, max: number): number {
  if (memory === undefined) return max;
  const bytes = memoryBytes(memory);
  if (bytes < MIN_MEMORY) throw invalid(`resources.memory must be at least 6m (the Engine's minimum)`);
  if (bytes > max) throw invalid(`resources.memory ${memory} is over docker.max_memory (${max} bytes)`);
  return bytes;
}

/** `NAME=value` lines: `env` first, `secret_env` over it. */
function envLines(env: SpecInputs['env'], secretEnv: SpecInputs['secret_env']): string[] {
  const named = (input: string, name: string) => {
    if (!new RegExp(ENV_NAME).test(name)) throw invalid(`${input} name '${name}' is not a variable name`);
    return name;
  };
  const lines = Array.isArray(env)
    ? [...env]
    : Object.entries(env ?? {}).map(([name, value]) => `${named('env', name)}=${String(value)}`);
  for (const [name, value] of Object.entries(secretEnv ?? {})) lines.push(`${named('secret_env', name)}=${value}`);
  if (lines.some((line) => line.includes('\0'))) throw invalid('env values may not contain NUL characters');
  return lines;
}

/**
 * The body of `POST /containers/create`. A string command runs through `/bin/sh -c` (the
 * Dockerfile's shell form); an array runs as given (exec form); none runs the image's own CMD.
 * Never privileged, no new privileges, no TTY (so the logs come multiplexed), on `limits.network`,
 * with a process limit, memory and CPU limits (the task's, at most the config's maxima), and a
 * json-file log capped on disk (one file, no rotation kept).
 */
export function containerSpec(
  inputs: SpecInputs,
  mounts: BindMount[],
  limits: HostLimits,
  labels: Record<string, string>,
): Record<string, unknown> {
  const { command, working_dir: workingDir, resources } = inputs;
  if (workingDir !== undefined && !workingDir.startsWith('/'))
    throw invalid(`working_dir '${workingDir}' must be an absolute path`);
  const memory = memoryLimit(resources?.memory, limits.maxMemory);
  return {
    Image: inputs.image,
    ...(command === undefined ? {} : { Cmd: typeof command === 'string' ? ['/bin/sh', '-c', command] : command }),
    Env: envLines(inputs.env, inputs.secret_env),
    ...(workingDir === undefined ? {} : { WorkingDir: workingDir }),
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Labels: labels,
    HostConfig: {
      NetworkMode: limits.network,
      Mounts: mounts,
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
      AutoRemove: false,
      PidsLimit: limits.pidsLimit,
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: nanoCpus(resources?.cpu ?? limits.maxCpus, limits.maxCpus),
      LogConfig: { Type: 'json-file', Config: { 'max-size': String(limits.logFileBytes), 'max-file': '1' } },
    },
  };
}
