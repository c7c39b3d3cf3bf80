import type { Sequelize } from 'sequelize';
import { DataTypes } from '../data-types.ts';
import type { Migration } from './index.ts';

/**
 * `apflow_tasks`: the original's columns (reference/original-apflow.md §1) plus what the engine
 * needs: the tree a task belongs to, its place in the created array, attempts and retry time,
 * the lease of whoever runs it, and (on root rows) the tree's run state and event counter.
 */
export const createTasks: Migration = {
  name: '0001-create-tasks',
  async up(sequelize: Sequelize) {
    const json = sequelize.getDialect() === 'postgres' ? DataTypes.JSONB : DataTypes.JSON;
    const qi = sequelize.getQueryInterface();
    await qi.createTable('apflow_tasks', {
      id: { type: DataTypes.STRING(255), primaryKey: true },
      parent_id: { type: DataTypes.STRING(255), allowNull: true },
      user_id: { type: DataTypes.STRING(255), allowNull: true },
      name: { type: DataTypes.TEXT, allowNull: false },
      status: { type: DataTypes.STRING(20), allowNull: false, defaultValue: 'pending' },
      priority: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      dependencies: { type: json, allowNull: true },
      inputs: { type: json, allowNull: true },
      params: { type: json, allowNull: true },
      result: { type: json, allowNull: true },
      error: { type: DataTypes.TEXT, allowNull: true },
      schemas: { type: json, allowNull: true },
      progress: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
      created_at: { type: DataTypes.DATE, allowNull: false },
      started_at: { type: DataTypes.DATE, allowNull: true },
      updated_at: { type: DataTypes.DATE, allowNull: false },
      completed_at: { type: DataTypes.DATE, allowNull: true },
      has_children: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      original_task_id: { type: DataTypes.STRING(255), allowNull: true },
      has_copy: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      root_id: { type: DataTypes.STRING(255), allowNull: false },
      position: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      next_attempt_at: { type: DataTypes.DATE, allowNull: true },
      lease_owner: { type: DataTypes.STRING(255), allowNull: true },
      lease_expires_at: { type: DataTypes.DATE, allowNull: true },
      run_state: { type: DataTypes.STRING(20), allowNull: true },
      event_seq: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    });
    await qi.addIndex('apflow_tasks', ['root_id']);
    await qi.addIndex('apflow_tasks', ['parent_id']);
    await qi.addIndex('apflow_tasks', ['user_id', 'created_at']);
    await qi.addIndex('apflow_tasks', ['status']);
    await qi.addIndex('apflow_tasks', ['original_task_id']);
    await qi.addIndex('apflow_tasks', ['run_state']);
  },
  async down(sequelize: Sequelize) {
    await sequelize.getQueryInterface().dropTable('apflow_tasks');
  },
};
