import type { Sequelize } from 'sequelize';
import { createTasks } from './0001-create-tasks.ts';
import { createTaskEvents } from './0002-create-task-events.ts';
import { taskClaims } from './0003-task-claims.ts';
import { durableRuns } from './0004-durable-runs.ts';
import { idempotencyKeys } from './0005-idempotency-keys.ts';
import { usageLedger } from './0006-usage.ts';
import { hasUsage, traceParent } from './0007-task-columns.ts';
import { taskIndexes } from './0009-task-indexes.ts';
import { eventBatches } from './0010-event-batches.ts';

/** The SQL dialects apflow runs on. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * A schema change in SQL: the statements for the database's dialect, run in order, recorded in
 * the same transaction (a failed one leaves nothing behind). Running it loads no ORM.
 */
export interface SqlMigration {
  /** Recorded in `apflow_migrations` once it ran (migrations run in the order listed). */
  name: string;
  /** The statements to run on `dialect`; {@link columnTypes} names the types that differ. */
  sql(dialect: Dialect): readonly string[];
}

/**
 * A schema change written with Sequelize's query interface (`DataTypes` from `apflow`): Sequelize
 * loads when one runs. On PostgreSQL it is recorded after it ran (not in one transaction).
 */
export interface SequelizeMigration {
  name: string;
  up(sequelize: Sequelize): Promise<void>;
  /** Not run by apflow (migrations only go forward); kept for authors who write one. */
  down?(sequelize: Sequelize): Promise<void>;
}

/** One schema change of the kernel or a plugin. */
export type Migration = SqlMigration | SequelizeMigration;

/** Every migration of the kernel, oldest first. */
export const migrations: readonly Migration[] = [
  createTasks,
  createTaskEvents,
  taskClaims,
  durableRuns,
  idempotencyKeys,
  usageLedger,
  traceParent,
  hasUsage,
  taskIndexes,
  eventBatches,
];
