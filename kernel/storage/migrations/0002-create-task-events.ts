import type { Sequelize } from 'sequelize';
import { DataTypes } from '../data-types.ts';
import type { Migration } from './index.ts';

/**
 * `apflow_task_events`: every task event, kept (for `engine.event_retention_s`) so a stream can
 * resume from the last event it saw (`Last-Event-ID`), on any server, after any restart.
 */
export const createTaskEvents: Migration = {
  name: '0002-create-task-events',
  async up(sequelize: Sequelize) {
    const json = sequelize.getDialect() === 'postgres' ? DataTypes.JSONB : DataTypes.JSON;
    const qi = sequelize.getQueryInterface();
    await qi.createTable('apflow_task_events', {
      root_task_id: { type: DataTypes.STRING(255), primaryKey: true },
      seq: { type: DataTypes.INTEGER, primaryKey: true },
      task_id: { type: DataTypes.STRING(255), allowNull: false },
      type: { type: DataTypes.STRING(20), allowNull: false },
      event: { type: json, allowNull: false },
      created_at: { type: DataTypes.DATE, allowNull: false },
    });
    await qi.addIndex('apflow_task_events', ['created_at']);
  },
  async down(sequelize: Sequelize) {
    await sequelize.getQueryInterface().dropTable('apflow_task_events');
  },
};
