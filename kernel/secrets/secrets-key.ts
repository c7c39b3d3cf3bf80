import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The key secret inputs are sealed under: `secrets.key` when set; else, for a SQLite file, a
 * random key kept in a file beside it (`<database>-secrets.key`, mode 0600, made once: every
 * process of this server reads the same one); else one derived from `auth.jwt_secret`, which
 * every server of a cluster shares; else none (secrets are kept in each process's memory).
 */
export function resolveSecretsKey(config: {
  secrets: { key?: string };
  database: { url: string };
  auth: { jwt_secret?: string };
}): { key?: string; keySource?: string } {
  if (config.secrets.key) return { key: config.secrets.key, keySource: 'secrets.key' };
  const url = config.database.url;
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : '';
  if (path && path !== ':memory:') return { key: keyFile(path), keySource: `key file ${path}-secrets.key` };
  // A separate label: the sealing key is never the signing key itself.
  if (config.auth.jwt_secret)
    return { key: `apflow secret inputs:${config.auth.jwt_secret}`, keySource: 'key derived from auth.jwt_secret' };
  return {};
}

/**
 * The variable that carries one server run's key from the `--workers` primary to its workers,
 * so secrets sealed without a lasting key open on every worker of that run.
 */
export const SESSION_KEY_ENV = 'APFLOW_SESSION_SECRETS_KEY';

function keyFile(path: string): string {
  const file = `${path}-secrets.key`;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(file), { recursive: true });
  // Written whole under a private name, then linked into place: of two processes starting
  // together, one link wins and both read the winner's complete key.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(draft, { force: true });
  }
  return readFileSync(file, 'utf8').trim();
}
