import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApflowClient } from '../../client/index.ts';
import { packageRoot } from '../internal/package-root.ts';
import { projectDataDir } from './daemon-files.ts';

/** What `run flow --background` prints for each tree it started. */
export interface BackgroundStart {
  root_task_id: string;
  status: 'started';
  message: string;
  /** Locally: the process running it, and its output (the outcome JSON at its end). */
  pid?: number;
  log?: string;
}

/**
 * Starts the tree of `rootId` on the server and returns once it began: the streamed execute's
 * first answer comes, then the stream is let go (the run goes on on the server).
 */
export async function startRemote(client: ApflowClient, rootId: string, demo: boolean): Promise<BackgroundStart> {
  const started = await client.start(rootId, demo ? { params: { use_demo: true } } : {});
  return {
    root_task_id: started.root_task_id,
    status: 'started',
    message: `running on the server: follow it with apflow tasks watch ${started.root_task_id}`,
  };
}

/**
 * Runs the stored task `target` (of the tree of `rootId`) in a process of its own that outlives
 * this one: `apflow run flow --task-id TARGET` in its own session, its output in `.data/run-ROOT.log` of the project
 * folder (the config file's, else the current one, as `apflow daemon`'s files).
 */
export async function startDetached(
  rootId: string,
  target: string,
  options: { demo: boolean; config?: string },
): Promise<BackgroundStart> {
  const dataDir = projectDataDir(options.config);
  mkdirSync(dataDir, { recursive: true });
  const log = join(dataDir, `run-${rootId.replace(/[^\w.-]/g, '_')}.log`);
  const bin = fileURLToPath(new URL('bin/apflow.js', packageRoot));
  const args = [
    'run',
    'flow',
    '--task-id',
    target,
    ...(options.demo ? ['--use-demo'] : []),
    ...(options.config ? ['--config', options.config] : []),
  ];
  const fd = openSync(log, 'a');
  try {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: process.cwd(),
      env: process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number)); // a spawned child has a pid
      child.once('error', reject);
    });
    child.unref();
    return {
      root_task_id: rootId,
      status: 'started',
      message: `running in process ${pid}: follow it with apflow tasks watch ${rootId}; its outcome goes to the log`,
      pid,
      log,
    };
  } finally {
    closeSync(fd); // the child has its own copy
  }
}
