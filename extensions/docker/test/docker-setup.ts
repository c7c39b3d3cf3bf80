/** Shared setup of the docker_executor tests: an app loading the extension by its package name. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { App, CreateAppOptions } from 'apflow';
import { testApp } from '../../../test/helpers.ts';

export { runOne, runTree, completed, failed, type Json } from '../../../test/plugins/builtin-executors-setup.ts';

/** What docker_executor returns. */
export interface DockerResult {
  exit_code: number;
  success: boolean;
  logs: string;
  stdout: string;
  stderr: string;
  truncated: boolean;
  container_id: string;
  oom_killed: boolean;
  image: string;
  log_limit_bytes: number;
  demo_mode?: boolean;
}

/** A socket no Engine listens on: runs that pass every check then fail to reach it. */
export const NO_ENGINE = '/nonexistent/apflow-test/docker.sock';

/**
 * An app with `@apflow/docker` loaded as users load it (`plugins: ['@apflow/docker']`), the
 * config section `docker` set to `docker` (omitted when undefined), `inline` merged over it.
 */
export function dockerApp(
  t: TestContext,
  docker: Record<string, unknown> | undefined,
  inline: Record<string, unknown> = {},
  options: CreateAppOptions = {},
): Promise<App> {
  return testApp(t, { plugins: ['@apflow/docker'], ...(docker === undefined ? {} : { docker }), ...inline }, options);
}

/** A temp folder removed after the test. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-docker-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
