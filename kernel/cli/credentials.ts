import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApflowError } from '../errors/apflow-error.ts';

/** One saved login: the server it is for and the token it got. */
export interface SavedLogin {
  token: string;
  /** Who logged in, when known (shown by `apflow login --list`). */
  user?: string;
  saved_at: string;
}

type Logins = Record<string, SavedLogin>;

/**
 * Where `apflow login` keeps its tokens: `$APFLOW_CONFIG_DIR/credentials.json`, else
 * `$XDG_CONFIG_HOME/apflow/…`, else `~/.config/apflow/…`; the folder 0700, the file 0600.
 */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.APFLOW_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'apflow');
  return join(dir, 'credentials.json');
}

/** A server's address as logins are keyed: its origin and path, without a trailing slash. */
export function serverKey(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `'${url}' is not a server address (e.g. http://localhost:8000)`,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ApflowError('APF_INVALID_PARAMS', { message: `'${url}' is not an http:// or https:// address` });
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** Whether others than the user may read `file`. */
const exposed = (file: string) => process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0;

function readLogins(file: string): Logins {
  if (!existsSync(file)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Logins) : {};
  } catch (error) {
    throw new ApflowError('APF_INVALID_PARAMS', { message: `${file} is not valid JSON: ${(error as Error).message}` });
  }
}

function writeLogins(file: string, logins: Logins): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // mkdir's mode is only for a folder it makes: one made before (by hand) is closed here.
  if (process.platform !== 'win32') chmodSync(dirname(file), 0o700);
  // Written beside and renamed over: a crash never leaves half a file, and the mode holds from the start.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(logins, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/**
 * The saved login of `server`, if any. Like ssh with a key file, tokens others can read are not
 * used: the command goes on without one (and says why on stderr); `apflow login` rewrites the
 * file closed.
 */
export function savedLogin(server: string, file = credentialsFile()): SavedLogin | undefined {
  if (existsSync(file) && exposed(file)) {
    process.stderr.write(
      `apflow: not using the saved logins of ${file}: other users can read it (run 'chmod 600 ${file}', or log in again)\n`,
    );
    return undefined;
  }
  return readLogins(file)[serverKey(server)];
}

/** Saves (or replaces) the login of `server`. */
export function saveLogin(server: string, login: Omit<SavedLogin, 'saved_at'>, file = credentialsFile()): void {
  writeLogins(file, { ...readLogins(file), [serverKey(server)]: { ...login, saved_at: new Date().toISOString() } });
}

/** Forgets the login of `server`; answers whether there was one. */
export function forgetLogin(server: string, file = credentialsFile()): boolean {
  const logins = readLogins(file);
  const key = serverKey(server);
  if (!(key in logins)) return false;
  delete logins[key];
  if (Object.keys(logins).length === 0) rmSync(file, { force: true });
  else writeLogins(file, logins);
  return true;
}

/** Every saved login's server and user (never the tokens). */
export function listLogins(file = credentialsFile()): { server: string; user?: string; saved_at: string }[] {
  return Object.entries(readLogins(file)).map(([server, login]) => ({
    server,
    ...(login.user ? { user: login.user } : {}),
    saved_at: login.saved_at,
  }));
}
