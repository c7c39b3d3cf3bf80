import type { Sequelize } from 'sequelize';
import { DataTypes } from '../data-types.ts';
import type { Migration } from './index.ts';

/**
 * Per-task claiming, so several servers share one database: `ready_at` (claimable from then on),
 * `run_id` (the run a task is part of: its scope), `active_run` (on a root: the tree's run under
 * way), `run_demo` (the run is in demo mode, wherever it runs), `pinned_to` (the only server that may run it,
 * for runs that need something held in that server's memory), and `apflow_servers`, where every
 * engine keeps a heartbeat so the others can tell when it is gone.
 */
export const taskClaims: Migration = {
  name: '0003-task-claims',
  async up(sequelize: Sequelize) {
    const qi = sequelize.getQueryInterface();
    await qi.addColumn('apflow_tasks', 'ready_at', { type: DataTypes.DATE, allowNull: true });
    await qi.addColumn('apflow_tasks', 'run_id', { type: DataTypes.STRING(64), allowNull: true });
    await qi.addColumn('apflow_tasks', 'pinned_to', { type: DataTypes.STRING(255), allowNull: true });
    await qi.addColumn('apflow_tasks', 'active_run', { type: DataTypes.STRING(64), allowNull: true });
    await qi.addColumn('apflow_tasks', 'run_demo', { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false });
    // The claim reads this index in order: most urgent first, then the longest ready.
    await sequelize.query(
      'CREATE INDEX apflow_tasks_ready ON apflow_tasks (priority, ready_at, position) WHERE ready_at IS NOT NULL',
    );
    await qi.addIndex('apflow_tasks', ['parent_id', 'status']);
    await qi.addIndex('apflow_tasks', ['root_id', 'status']);
    await qi.addIndex('apflow_tasks', ['lease_owner']);
    await qi.createTable('apflow_servers', {
      id: { type: DataTypes.STRING(255), primaryKey: true },
      started_at: { type: DataTypes.DATE, allowNull: false },
      heartbeat_at: { type: DataTypes.DATE, allowNull: false },
    });
  },
  async down(sequelize: Sequelize) {
    const qi = sequelize.getQueryInterface();
    await qi.dropTable('apflow_servers');
    await sequelize.query('DROP INDEX apflow_tasks_ready');
    await qi.removeIndex('apflow_tasks', ['parent_id', 'status']);
    await qi.removeIndex('apflow_tasks', ['root_id', 'status']);
    await qi.removeIndex('apflow_tasks', ['lease_owner']);
    for (const column of ['ready_at', 'run_id', 'pinned_to', 'active_run', 'run_demo'])
      await qi.removeColumn('apflow_tasks', column);
  },
};
