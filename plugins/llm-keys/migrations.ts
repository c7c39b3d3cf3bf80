import { DataTypes, type Migration } from 'apflow';

/**
 * `llm_keys_header_runs`: the trees started with an `X-LLM-API-KEY` header, without the key, so
 * that after a restart their tasks fail with "key no longer available" instead of running with
 * some other key.
 */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-header-runs',
    async up(sequelize) {
      await sequelize.getQueryInterface().createTable('llm_keys_header_runs', {
        root_task_id: { type: DataTypes.STRING(255), primaryKey: true },
        created_at: { type: DataTypes.DATE, allowNull: false },
      });
    },
    async down(sequelize) {
      await sequelize.getQueryInterface().dropTable('llm_keys_header_runs');
    },
  },
];
