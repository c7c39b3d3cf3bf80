import type { PingResult } from '../storage/create-storage.ts';
import type { ReloadError } from '../executors/executor-folders.ts';

/** The report of `GET /health` (and `system.health`). */
export interface HealthReport {
  /** `ok`; `degraded` when a reload failed; `unavailable` when the database does not answer. */
  status: 'ok' | 'degraded' | 'unavailable';
  version: string;
  uptime_s: number;
  database: PingResult & { dialect: string };
  workers: { count: number; pid: number };
  plugins: string[];
  /** Where each protocol is served (`mcp: "/mcp"`, …), as the plugins that serve them name their routes. */
  endpoints: Record<string, string>;
  executors: number;
  /** Tasks and trees this server runs now (every worker of it). */
  tasks: { running: number; trees: number };
  /** The database as all servers share it: engines alive (workers and servers) and tasks ready for a free slot. */
  cluster: { engines: number; ready: number };
  reload_errors: ReloadError[];
  /** One entry per plugin section (`schedules`…): what that plugin reports of its own work. */
  readonly [section: string]: unknown;
}

/** The facts a health report is made from. */
export interface HealthSources {
  version: string;
  startedAt: number;
  workers: number;
  dialect: string;
  ping(): Promise<PingResult>;
  plugins(): string[];
  endpoints(): Record<string, string>;
  executors(): number;
  tasks(): Promise<{ running: number; trees: number }>;
  cluster(): Promise<{ engines: number; ready: number }>;
  reloadErrors(): ReloadError[];
  /** Plugins' own sections, by name (a section that fails reports `{ error }`). */
  sections?: ReadonlyMap<string, () => unknown>;
}

/** The report's own keys: no plugin section may take one. */
export const HEALTH_KEYS: ReadonlySet<string> = new Set([
  'status',
  'version',
  'uptime_s',
  'database',
  'workers',
  'plugins',
  'endpoints',
  'executors',
  'tasks',
  'cluster',
  'reload_errors',
]);

async function sectionsOf(sections: ReadonlyMap<string, () => unknown> | undefined, databaseOk: boolean) {
  const out: Record<string, unknown> = {};
  for (const [name, report] of sections ?? []) {
    try {
      out[name] = databaseOk ? await report() : { error: 'the database does not answer' };
    } catch (error) {
      out[name] = { error: error instanceof Error ? error.message : String(error) };
    }
  }
  return out;
}

/** Builds a health report; the HTTP status is 503 exactly when `status` is `unavailable`. */
export async function buildHealthReport(sources: HealthSources): Promise<HealthReport> {
  const database = { ...(await sources.ping()), dialect: sources.dialect };
  const [tasks, cluster] = database.ok
    ? await Promise.all([sources.tasks(), sources.cluster().catch(() => ({ engines: 0, ready: 0 }))])
    : [await sources.tasks(), { engines: 0, ready: 0 }];
  const reloadErrors = sources.reloadErrors();
  return {
    status: !database.ok ? 'unavailable' : reloadErrors.length > 0 ? 'degraded' : 'ok',
    version: sources.version,
    uptime_s: Math.round((Date.now() - sources.startedAt) / 1000),
    database,
    workers: { count: sources.workers, pid: process.pid },
    plugins: sources.plugins(),
    endpoints: sources.endpoints(),
    executors: sources.executors(),
    tasks,
    cluster,
    reload_errors: reloadErrors,
    ...(await sectionsOf(sources.sections, database.ok)),
  };
}
