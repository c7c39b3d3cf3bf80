import { DataTypes, type Migration } from 'apflow';

/**
 * `mcp_sessions`: which process holds each open MCP session (its loopback address on its host),
 * so that a request reaching another worker of the same server is handed to it.
 */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-sessions',
    async up(sequelize) {
      await sequelize.getQueryInterface().createTable('mcp_sessions', {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        host: { type: DataTypes.STRING(255), allowNull: false },
        owner_url: { type: DataTypes.STRING(255), allowNull: false },
        user_id: { type: DataTypes.STRING(255), allowNull: true },
        seen_at: { type: DataTypes.DATE, allowNull: false },
      });
      await sequelize.getQueryInterface().addIndex('mcp_sessions', ['owner_url']);
    },
    async down(sequelize) {
      await sequelize.getQueryInterface().dropTable('mcp_sessions');
    },
  },
];
