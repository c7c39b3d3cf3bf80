import type * as SequelizeModule from 'sequelize';
import { lazyRequire } from '../internal/lazy-require.ts';

/** Sequelize, loaded on first use (on PostgreSQL for its pool, on SQLite only for a migration written with it). */
export const sequelizeModule = lazyRequire<typeof SequelizeModule>('sequelize');
type Types = typeof SequelizeModule.DataTypes;

/**
 * Sequelize's column types, for migrations (the kernel's and plugins'). Read from Sequelize on
 * first use, which is inside a migration: importing apflow does not load Sequelize.
 */
export const DataTypes: Types = new Proxy({} as Types, {
  get: (_target, key) => Reflect.get(sequelizeModule().DataTypes, key),
  has: (_target, key) => key in sequelizeModule().DataTypes,
});
