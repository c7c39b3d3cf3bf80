import { ApflowError } from '../errors/apflow-error.ts';
import { openForCommand } from './open-tasks.ts';
import { readStdin } from './read-input.ts';

/** The part of the jwt-auth plugin's service these commands use. */
interface AuthService {
  users: {
    add(
      username: string,
      password: string,
      roles: string[],
    ): Promise<{ username: string; roles: string[]; replaced?: boolean }>;
    list(): Promise<{ username: string; roles: string[]; created_at: string }[]>;
    remove(username: string): Promise<boolean>;
  };
  mint(sub: string, roles: string[], expires: string): Promise<string>;
  /** Seconds within which running servers refuse a revoked token. */
  revocationDelayS?: number;
}

/** What a running server does with the tokens of a user just removed or given a new password. */
const revocationNote = (auth: AuthService, name: string) =>
  `tokens issued to ${name} before now are refused${auth.revocationDelayS ? ` within ${auth.revocationDelayS} s` : ''}`;

async function withAuth<T>(options: { config?: string }, work: (auth: AuthService) => Promise<T>): Promise<T> {
  const app = await openForCommand(options);
  try {
    // The kernel does not import plugins: the service's shape is declared above.
    const auth = (app.service as (name: string) => AuthService | undefined)('jwt-auth');
    if (!auth)
      throw new ApflowError('APF_CONFIG_INVALID', {
        message: 'the jwt-auth plugin is disabled (disabled_plugins), so there are no users or tokens',
      });
    return await work(auth);
  } finally {
    await app.close();
  }
}

/** `apflow users add NAME [--admin] [--password-stdin] | list | remove NAME`. */
export async function usersCommand(
  action: string,
  name: string | undefined,
  options: { config?: string; admin?: boolean; passwordStdin?: boolean },
): Promise<void> {
  await withAuth(options, async (auth) => {
    if (action === 'list') {
      for (const user of await auth.users.list())
        process.stdout.write(`${user.username}\t${user.roles.join(',') || '-'}\t${user.created_at}\n`);
      return;
    }
    if (!name) throw new ApflowError('APF_INVALID_PARAMS', { message: `users ${action} needs a user name` });
    if (action === 'remove') {
      if (!(await auth.users.remove(name))) throw new ApflowError('APF_NOT_FOUND', { message: `no user '${name}'` });
      process.stdout.write(`removed ${name}; ${revocationNote(auth, name)}\n`);
      return;
    }
    if (action !== 'add')
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: `unknown users action '${action}' (use add, list or remove)`,
      });
    if (!options.passwordStdin && process.stdin.isTTY) {
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: 'give the password on standard input with --password-stdin (it is never a command-line argument)',
      });
    }
    const user = await auth.users.add(name, await readStdin(), options.admin ? ['admin'] : []);
    const roles = user.roles.length ? ` (${user.roles.join(', ')})` : '';
    process.stdout.write(
      user.replaced
        ? `updated ${user.username}${roles}; ${revocationNote(auth, user.username)}\n`
        : `added ${user.username}${roles}\n`,
    );
  });
}

/** `apflow auth token --sub ID [--role R] [--expires 30d]`: prints a token signed with the configured secret. */
export async function authTokenCommand(
  action: string,
  options: { config?: string; sub?: string; role?: string | string[]; expires?: string },
): Promise<void> {
  if (action !== 'token')
    throw new ApflowError('APF_INVALID_PARAMS', { message: `unknown auth action '${action}' (use token)` });
  if (!options.sub) throw new ApflowError('APF_INVALID_PARAMS', { message: 'auth token needs --sub <user id>' });
  const roles =
    options.role === undefined ? [] : Array.isArray(options.role) ? options.role.map(String) : [String(options.role)];
  await withAuth(options, async (auth) =>
    process.stdout.write(`${await auth.mint(String(options.sub), roles, options.expires ?? '30d')}\n`),
  );
}
