import { realpath } from 'node:fs/promises';
import { isAbsolute, normalize, posix, sep } from 'node:path';
import { ApflowError, Type, type Static } from 'apflow';
import type { MountRule } from './docker-settings.ts';

const Mode = Type.Union([Type.Literal('ro'), Type.Literal('rw')]);

/**
 * The `volumes` input, in the forms of the original (docker-py): `["/host:/in/container:ro", …]`,
 * or `{"/host": {"bind": "/in/container", "mode": "ro"}}`, or `{"/host": "/in/container"}`.
 */
export const Volumes = Type.Union([
  Type.Array(Type.String({ minLength: 3 }), { maxItems: 32 }),
  Type.Record(
    Type.String({ minLength: 1 }),
    Type.Union([
      Type.String({ minLength: 1 }),
      Type.Object({ bind: Type.String({ minLength: 1 }), mode: Type.Optional(Mode) }, { additionalProperties: false }),
    ]),
  ),
]);
/** The `volumes` input, as {@link Volumes} (the schema) checks it. */
export type Volumes = Static<typeof Volumes>;

/** A bind mount as the Engine's `HostConfig.Mounts` takes it. */
export interface BindMount {
  Type: 'bind';
  Source: string;
  Target: string;
  ReadOnly: boolean;
}

interface Wanted {
  host: string;
  target: string;
  mode: 'ro' | 'rw' | undefined;
}

const refuse = (message: string) => new ApflowError('APF_FORBIDDEN', { message: `docker_executor: ${message}` });
const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message: `docker_executor: ${message}` });

/** The volumes asked for, one entry each. */
function wantedOf(volumes: Volumes): Wanted[] {
  if (Array.isArray(volumes)) {
    return volumes.map((spec) => {
      const [host = '', target = '', mode, ...rest] = spec.split(':');
      if (rest.length || (mode !== undefined && mode !== 'ro' && mode !== 'rw'))
        throw invalid(`volume '${spec}' must be 'host_path:container_path' or 'host_path:container_path:ro|rw'`);
      return { host, target, mode };
    });
  }
  return Object.entries(volumes).map(([host, to]) =>
    typeof to === 'string' ? { host, target: to, mode: undefined } : { host, target: to.bind, mode: to.mode },
  );
}

/** The real path of `path` (`..` and symlinks resolved), or undefined when it does not exist. */
async function realOf(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

const within = (root: string, path: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
const below = (root: string, path: string) => path !== root && within(root, path);

interface Root {
  /** The entry as configured, normalised. */
  configured: string;
  /** Its real path. */
  path: string;
  readOnly: boolean;
}

/**
 * The usable `docker.mounts` entries, resolved. An entry inside a read-write entry is dropped:
 * a task mounting the outer one could replace it with a symlink to anywhere.
 */
async function rootsOf(rules: readonly MountRule[]): Promise<Root[]> {
  const resolved = (
    await Promise.all(
      rules.map(async (rule) => {
        const { path, read_only } = typeof rule === 'string' ? { path: rule, read_only: false } : rule;
        const real = isAbsolute(path) ? await realOf(path) : undefined;
        return real === undefined ? [] : [{ configured: normalize(path), path: real, readOnly: read_only }];
      }),
    )
  ).flat();
  const writable = resolved.filter((root) => !root.readOnly);
  return resolved.filter(
    (root) => !writable.some((outer) => below(outer.path, root.path) || below(outer.configured, root.configured)),
  );
}

/**
 * Checks every volume against `docker.mounts` and returns the Engine's mounts. Host paths are
 * compared after resolving `..` and symlinks (a link inside an allowed folder pointing out of
 * it is refused), and the resolved path is what gets mounted. A read-write entry may be mounted
 * only as itself: anything below it can be changed by the tasks that mount it (a folder swapped
 * for a symlink to `/` between this check and the Engine's bind). Below a read-only entry (and
 * outside every read-write one) any existing path may be mounted. A host path that does not exist
 * is refused: the Engine would create it, as root. `mode` defaults to `rw` (as Docker), or `ro`
 * where the entry is `read_only`. Call it again right before the container is created.
 */
export async function checkMounts(volumes: Volumes | undefined, rules: readonly MountRule[]): Promise<BindMount[]> {
  const wanted = volumes === undefined ? [] : wantedOf(volumes);
  if (wanted.length === 0) return [];
  const roots = await rootsOf(rules);
  const mounts: BindMount[] = [];
  for (const { host, target, mode } of wanted) {
    if (!isAbsolute(host)) throw invalid(`the volume's host path '${host}' must be absolute`);
    if (!posix.isAbsolute(target) || posix.normalize(target) === '/')
      throw invalid(`the volume's container path '${target}' must be an absolute path other than /`);
    const source = await realOf(host);
    if (source === undefined) throw refuse(`the host path '${host}' does not exist (it is never created)`);
    const shown = source === host ? `'${host}'` : `'${host}' (${source})`;
    const exact = roots.filter((root) => root.path === source);
    const underWritable = roots.find((root) => !root.readOnly && below(root.path, source));
    if (exact.length === 0 && underWritable !== undefined)
      throw refuse(
        `mounting ${shown} is not allowed: it is below the read-write docker.mounts entry '${underWritable.path}', of which only the entry itself may be mounted (tasks can change what is below it); mount '${underWritable.path}', or have an administrator list the folder as an entry of its own`,
      );
    const covering = exact.length > 0 ? exact : roots.filter((root) => root.readOnly && within(root.path, source));
    if (covering.length === 0)
      throw refuse(`mounting ${shown} is not allowed: it is not inside docker.mounts; an administrator must add it`);
    const writable = covering.some((root) => !root.readOnly);
    if (mode === 'rw' && !writable)
      throw refuse(`${shown} may only be mounted read-only (docker.mounts says read_only); use mode 'ro'`);
    mounts.push({
      Type: 'bind',
      Source: source,
      Target: posix.normalize(target),
      ReadOnly: mode === 'ro' || !writable,
    });
  }
  return mounts;
}
