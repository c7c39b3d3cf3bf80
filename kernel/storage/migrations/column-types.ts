import type { Dialect } from './index.ts';

/** Column types whose names differ between the dialects (the others, VARCHAR(n), TEXT, INTEGER, are the same). */
export interface ColumnTypes {
  /** JSON documents: JSON on SQLite, JSONB on PostgreSQL. */
  json: string;
  /** A point in time: DATETIME on SQLite, TIMESTAMP WITH TIME ZONE on PostgreSQL. */
  time: string;
  /** A boolean: TINYINT(1) on SQLite (0 or 1), BOOLEAN on PostgreSQL. */
  bool: string;
  /** The literal false, for defaults. */
  false: string;
}

const TYPES: Readonly<Record<Dialect, ColumnTypes>> = {
  sqlite: { json: 'JSON', time: 'DATETIME', bool: 'TINYINT(1)', false: '0' },
  postgres: { json: 'JSONB', time: 'TIMESTAMP WITH TIME ZONE', bool: 'BOOLEAN', false: 'false' },
};

/**
 * The column types of `dialect`, for the statements of an SQL migration. They are the types
 * Sequelize's `DataTypes` make, so tables made either way are alike.
 */
export function columnTypes(dialect: Dialect): ColumnTypes {
  return TYPES[dialect];
}
