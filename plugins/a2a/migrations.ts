import { DataTypes, type Migration } from 'apflow';

/**
 * `a2a_tasks`: the A2A Tasks apflow answered, each tied (once a tree was sent) to the apflow
 * tree that does the work; `a2a_push_configs`: where to push their updates.
 */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-a2a-tables',
    async up(sequelize) {
      const json = sequelize.getDialect() === 'postgres' ? DataTypes.JSONB : DataTypes.JSON;
      const qi = sequelize.getQueryInterface();
      await qi.createTable('a2a_tasks', {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        context_id: { type: DataTypes.STRING(255), allowNull: false },
        user_id: { type: DataTypes.STRING(255), allowNull: true },
        root_task_id: { type: DataTypes.STRING(255), allowNull: true },
        // The state while no tree decides it (input-required, or canceled before a tree came).
        state: { type: DataTypes.STRING(32), allowNull: false },
        status_message: { type: json, allowNull: true },
        history: { type: json, allowNull: false },
        metadata: { type: json, allowNull: true },
        created_at: { type: DataTypes.DATE, allowNull: false },
        updated_at: { type: DataTypes.DATE, allowNull: false },
      });
      await qi.addIndex('a2a_tasks', ['user_id', 'created_at']);
      await qi.addIndex('a2a_tasks', ['root_task_id']);
      await qi.createTable('a2a_push_configs', {
        task_id: { type: DataTypes.STRING(64), primaryKey: true },
        id: { type: DataTypes.STRING(255), primaryKey: true },
        url: { type: DataTypes.TEXT, allowNull: false },
        // Token and credentials are sealed (AES-256-GCM) with a2a.push.secrets_key, or not stored.
        sealed_secrets: { type: DataTypes.TEXT, allowNull: true },
        scheme: { type: DataTypes.STRING(64), allowNull: true },
        protocol_version: { type: DataTypes.STRING(8), allowNull: false },
        // The seq of the last event of the task's tree whose updates this config got (or gave up on).
        delivered_seq: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        created_at: { type: DataTypes.DATE, allowNull: false },
      });
    },
    async down(sequelize) {
      const qi = sequelize.getQueryInterface();
      await qi.dropTable('a2a_push_configs');
      await qi.dropTable('a2a_tasks');
    },
  },
  {
    // Who delivers a task's pushes (one server or worker at a time), under a lease.
    name: '0002-push-lease',
    async up(sequelize) {
      const qi = sequelize.getQueryInterface();
      await qi.addColumn('a2a_tasks', 'push_owner', { type: DataTypes.STRING(255), allowNull: true });
      await qi.addColumn('a2a_tasks', 'push_until', { type: DataTypes.DATE, allowNull: true });
    },
    async down(sequelize) {
      const qi = sequelize.getQueryInterface();
      await qi.removeColumn('a2a_tasks', 'push_owner');
      await qi.removeColumn('a2a_tasks', 'push_until');
    },
  },
];
