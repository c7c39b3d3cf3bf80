import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { ApflowError, isApflowError } from 'apflow';
import { errorText } from './error-text.ts';
import type { Root } from 'protobufjs';
import { ID } from './executor-id.ts';
import type { GrpcLibs } from './grpc-libs.ts';
import { checkProtoText } from './schema-limits.ts';

/** Where a task's schema comes from: the `.proto` text itself, or a file under `grpc.proto_dirs`. */
export type ProtoSource = { proto: string } | { proto_file: string };

const PARSE_OPTIONS = { keepCase: true, alternateCommentMode: true };

/**
 * Loads a schema from `.proto` text or from a file, reading files (the `proto_file` and every
 * `import`) only inside `protoDirs`; `google/protobuf/*` imports come bundled with protobufjs.
 * A path that leaves the folders (`..`, an absolute path, a symbolic link) is APF_FORBIDDEN.
 * The text is counted before it is parsed (see {@link checkProtoText}).
 */
export function loadProto(libs: GrpcLibs, source: ProtoSource, protoDirs: readonly string[]): Root {
  const { protobuf } = libs;
  const root = new protobuf.Root();
  // Well-known google/protobuf files come from memory (protobufjs bundles them): no file is read.
  root.resolvePath = (origin, target) =>
    protobuf.common.get(target) ? target : resolveInside(target, protoDirs, 'proto_file' in source && !origin);
  try {
    if ('proto' in source) {
      checkProtoText(source.proto, 'the .proto text');
      const parsed = protobuf.parse(source.proto, root, PARSE_OPTIONS);
      const imports = [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])];
      if (imports.length) root.loadSync(imports, PARSE_OPTIONS);
    } else {
      root.loadSync(source.proto_file, PARSE_OPTIONS);
    }
    root.resolveAll();
  } catch (error) {
    if (isApflowError(error)) throw error;
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: the .proto schema does not load: ${errorText(error)}`,
    });
  }
  return root;
}

/**
 * The real path of `target` (a `proto_file` or an import) inside one of `dirs`: relative paths are
 * looked up in each folder in order, absolute ones must lie inside one. Judged on the path first
 * (nothing outside is even looked at), then on the real path (a symbolic link may not lead out).
 */
function resolveInside(target: string, dirs: readonly string[], isProtoFile: boolean): string {
  const what = isProtoFile ? `proto_file "${target}"` : `import "${target}"`;
  if (!dirs.length) {
    throw new ApflowError('APF_FORBIDDEN', {
      message: `${ID}: ${what} would be read from the server's disk, which only config grpc.proto_dirs allows (none configured); pass the .proto text as the input proto instead`,
    });
  }
  const outside = () =>
    new ApflowError('APF_FORBIDDEN', {
      message: `${ID}: ${what} is outside config grpc.proto_dirs; only files inside those folders are read`,
    });
  const paths = isAbsolute(target) ? [resolve(target)] : dirs.map((dir) => resolve(dir, target));
  const candidates = paths.filter((path) => dirs.some((dir) => within(path, resolve(dir))));
  if (!candidates.length) throw outside();
  const realDirs = dirs.map(realOrNull).filter((dir) => dir !== null);
  for (const candidate of candidates) {
    const real = realOrNull(candidate);
    if (!real) continue;
    if (!realDirs.some((dir) => within(real, dir))) throw outside();
    if (statSync(real).isFile()) return real;
  }
  throw new ApflowError('APF_INVALID_PARAMS', { message: `${ID}: ${what} is not found in config grpc.proto_dirs` });
}

/** Whether `path` lies strictly inside `dir` (both absolute and normalized). */
function within(path: string, dir: string): boolean {
  return path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
