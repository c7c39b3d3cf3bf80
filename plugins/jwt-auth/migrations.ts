import { DataTypes, type Migration } from 'apflow';

/** `jwt_auth_users`: users who may log in with a password (scrypt hashes, never the password), and their token versions. */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-users',
    async up(sequelize) {
      const json = sequelize.getDialect() === 'postgres' ? DataTypes.JSONB : DataTypes.JSON;
      await sequelize.getQueryInterface().createTable('jwt_auth_users', {
        username: { type: DataTypes.STRING(255), primaryKey: true },
        password_hash: { type: DataTypes.STRING(255), allowNull: false },
        roles: { type: json, allowNull: false },
        created_at: { type: DataTypes.DATE, allowNull: false },
      });
    },
    async down(sequelize) {
      await sequelize.getQueryInterface().dropTable('jwt_auth_users');
    },
  },
  {
    // Login tokens carry the version (claim `tv`): a new one on every `users add` revokes the
    // tokens minted before, and a removed user has none. Existing users start at 'v0'.
    name: '0002-token-version',
    async up(sequelize) {
      await sequelize.getQueryInterface().addColumn('jwt_auth_users', 'token_version', {
        type: DataTypes.STRING(64),
        allowNull: false,
        defaultValue: 'v0',
      });
    },
    async down(sequelize) {
      await sequelize.getQueryInterface().removeColumn('jwt_auth_users', 'token_version');
    },
  },
];
