import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ApflowError } from '../../errors/apflow-error.ts';

/**
 * Writes `files` (path under `dir` → content), none of which may exist yet: if any does, nothing
 * is written and the error names them. Returns the paths written, relative to the working folder.
 */
export function writeNewFiles(dir: string, files: Record<string, string>): string[] {
  const taken = Object.keys(files).filter((path) => existsSync(join(dir, path)));
  if (taken.length > 0) {
    throw new ApflowError('APF_CONFLICT', {
      message: `${taken.map((path) => relative(process.cwd(), join(dir, path)) || path).join(', ')} already exist${taken.length === 1 ? 's' : ''}: nothing written`,
    });
  }
  return Object.entries(files).map(([path, content]) => {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    return relative(process.cwd(), file) || file;
  });
}
