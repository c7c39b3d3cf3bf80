import { realpath } from 'node:fs/promises';
import { isAbsolute, posix, sep } from 'node:path';
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
async function real(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

const within = (root: string, path: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * Checks every volume against `docker.mounts` and returns the Engine's mounts. Host paths are
 * compared after resolving `..` and symlinks (a link inside an allowed folder pointing out of
 * it is refused), and the resolved path is what gets mounted. A host path that does not exist
 * is refused: the Engine would create it, as root. `mode` defaults to `rw` (as Docker), or `ro`
 * where the rule says `read_only`.
 */
export async function checkMounts(volumes: Volumes | undefined, rules: readonly MountRule[]): Promise<BindMount[]> {
  const wanted = volumes === undefined ? [] : wantedOf(volumes);
  if (wanted.length === 0) return [];
  const roots = (
    await Promise.all(
      rules.map(async (rule) => {
        const { path, read_only } = typeof rule === 'string' ? { path: rule, read_only: false } : rule;
        const resolved = isAbsolute(path) ? await real(path) : undefined;
        return resolved === undefined ? [] : [{ path: resolved, readOnly: read_only }];
      }),
    )
  ).flat();
  const mounts: BindMount[] = [];
  for (const { host, target, mode } of wanted) {
    if (!isAbsolute(host)) throw invalid(`the volume's host path '${host}' must be absolute`);
    if (!posix.isAbsolute(target) || posix.normalize(target) === '/')
      throw invalid(`the volume's container path '${target}' must be an absolute path other than /`);
    const source = await real(host);
    if (source === undefined) throw refuse(`the host path '${host}' does not exist (it is never created)`);
    const covering = roots.filter((root) => within(root.path, source));
    const shown = source === host ? `'${host}'` : `'${host}' (${source})`;
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
