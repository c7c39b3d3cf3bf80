/**
 * Shared setup of the CLI tests that compare local and remote mode: a temp project with a SQLite
 * file, a real `apflow serve` on it with authentication on, tokens, and a runner for `apflow …`
 * locally (the project's database, in the CLI's own process) or with `--server` and a token.
 */
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import {
  launchApflow,
  repoRoot,
  spawnApflow,
  tempProject,
  waitListening,
  type SpawnApflowOptions,
} from '../helpers.ts';

/** The JWT secret of the test servers. */
export const CLI_SECRET = 'cli-remote-test-secret-of-enough-length-0123';
/** Fixture executors (echo, sleep, fail…), by path. */
export const fixtureExecutors = join(repoRoot, 'test', 'fixtures', 'executors');

/** What one `apflow …` run printed, and its exit code. */
export interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/**
 * A project whose config names the fixture executors and a SQLite file, with a server on it
 * (auth on). `cli(args, {as})` runs apflow in the project: locally without `as`, else against
 * the server with a token for that user (`admin` has the admin role).
 */
export async function remoteProject(t: TestContext, files: Record<string, string> = {}) {
  const dir = tempProject(t, {
    'apflow.config.ts': `import { defineConfig } from 'apflow';
export default defineConfig({
  database: { url: 'sqlite:./.data/apflow.sqlite' },
  executors: { dirs: [${JSON.stringify(fixtureExecutors)}] },
  examples: { auto_init: false },
});
`,
    ...files,
  });
  const env = { APFLOW_JWT_SECRET: CLI_SECRET, APFLOW_CONFIG_DIR: join(dir, '.apflow-home') };
  const server = launchApflow(t, ['serve', '--host', '127.0.0.1', '--port', '0'], { cwd: dir, env });
  const url = await waitListening(server);
  const tokens = new Map<string, string>();
  const token = async (user: string): Promise<string> => {
    const known = tokens.get(user);
    if (known) return known;
    const args = ['auth', 'token', '--sub', user, ...(user === 'admin' ? ['--role', 'admin'] : [])];
    const made = await collect(spawnApflow(args, { cwd: dir, env }));
    if (made.code !== 0) throw new Error(`apflow auth token failed: ${made.stderr}`);
    tokens.set(user, made.stdout.trim());
    return made.stdout.trim();
  };
  /** Runs `apflow ARGS` in the project: locally, or (`as`) against the server as that user. */
  const cli = async (args: string[], options: SpawnApflowOptions & { as?: string } = {}): Promise<CliResult> => {
    const remote = options.as === undefined ? [] : ['--server', url, '--token', await token(options.as)];
    return collect(spawnApflow([...args, ...remote], { cwd: dir, ...options, env: { ...env, ...options.env } }));
  };
  return { dir, url, env, token, cli };
}

async function collect(proc: ReturnType<typeof spawnApflow>): Promise<CliResult> {
  const code = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}
