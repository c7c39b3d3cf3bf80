import { DataTypes, type Migration } from 'apflow';

/** `jwt_auth_users`: users who may log in with a password (scrypt hashes, never the password). */
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
];
