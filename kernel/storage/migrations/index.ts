import type { Sequelize } from 'sequelize';
import { createTasks } from './0001-create-tasks.ts';
import { createTaskEvents } from './0002-create-task-events.ts';
import { taskClaims } from './0003-task-claims.ts';

/** One schema change; `name` orders them and is recorded in `apflow_migrations`. */
export interface Migration {
  name: string;
  up(sequelize: Sequelize): Promise<void>;
  down(sequelize: Sequelize): Promise<void>;
}

/** Every migration, oldest first. */
export const migrations: readonly Migration[] = [createTasks, createTaskEvents, taskClaims];
