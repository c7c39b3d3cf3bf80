import { basename, resolve } from 'node:path';
import { ApflowError } from '../errors/apflow-error.ts';
import { projectFiles } from './scaffold/project-files.ts';
import { executorFiles, pluginFiles } from './scaffold/skeletons.ts';
import { writeNewFiles } from './scaffold/write-files.ts';

/** Names `apflow new` accepts: an executor id and a plugin folder alike. */
const NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** `apflow init [DIR]`: a new project in DIR (default: here). */
export function initCommand(dir = '.'): void {
  const target = resolve(dir);
  const name =
    basename(target)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[._-]+/, '') || 'apflow-app';
  const written = writeNewFiles(target, projectFiles(name));
  const cd = dir === '.' ? '' : `cd ${dir} && `;
  process.stdout.write(
    `${written.map((file) => `created ${file}`).join('\n')}\n\nNext: ${cd}npm install && npm start\n`,
  );
}

/** `apflow new executor NAME` / `apflow new plugin NAME`: a typed skeleton with its test, here. */
export function newCommand(kind: string, name: string | undefined): void {
  if (kind !== 'executor' && kind !== 'plugin') {
    throw new ApflowError('APF_INVALID_PARAMS', { message: `apflow new: unknown kind '${kind}' (executor or plugin)` });
  }
  if (!name || !NAME.test(name)) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `apflow new ${kind}: NAME must be lowercase letters, digits, '_' or '-', starting with a letter (got ${name === undefined ? 'nothing' : `'${name}'`})`,
    });
  }
  const written = writeNewFiles(process.cwd(), kind === 'executor' ? executorFiles(name) : pluginFiles(name));
  const hint =
    kind === 'plugin'
      ? `Enable it: plugins: ['./plugins/${name}'] in apflow.config.ts.`
      : `Tasks run it with schemas: { method: '${name}' }.`;
  process.stdout.write(`${written.map((file) => `created ${file}`).join('\n')}\n\n${hint}\n`);
}
