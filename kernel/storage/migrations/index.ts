import type { Sequelize } from 'sequelize';

/** One schema change; `name` orders them and is recorded in `apflow_migrations`. */
export interface Migration {
  name: string;
  up(sequelize: Sequelize): Promise<void>;
  down(sequelize: Sequelize): Promise<void>;
}

/** Every migration, oldest first. Tables arrive with the features that use them. */
export const migrations: readonly Migration[] = [];
