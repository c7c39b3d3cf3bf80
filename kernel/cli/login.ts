import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createInterface } from 'node:readline/promises';
import { AuthenticationError, createClient } from '../../client/index.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import { errorMessage } from '../internal/error-message.ts';
import { isRecord } from '../internal/is-record.ts';
import { credentialsFile, forgetLogin, listLogins, saveLogin, serverKey } from './credentials.ts';
import { printJson, printTable, wantsJson } from './print.ts';
import { readStdin } from './read-input.ts';

const LOGIN_HELP = `Save a token for a server, used by --server URL (in a file only you can read)

Usage: apflow login URL [--token-stdin | -u NAME [--password-stdin] | --token T]
       apflow login --list [--json]

Options:
      --token-stdin     A token you have, from standard input (checked against the server, then saved)
  -u, --username <name> Log in as NAME with POST URL/auth/login (the password is asked without echo)
      --password-stdin  The password from standard input
      --token <token>   A token you have, on the command line (visible to other users in the process
                        list: prefer APFLOW_TOKEN or apflow login URL --token-stdin)
      --list            The servers you are logged in to (never their tokens)
      --json            With --list: JSON even on a terminal
`;

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });

function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>, command: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw invalid(`${command}: ${errorMessage(error).replace(/\. To specify a positional argument.*$/s, '')}`);
  }
}

/**
 * `apflow login URL`: gets a token for the server (`--token`/`--token-stdin`: one you have,
 * checked; `-u NAME`: by `POST URL/auth/login` with a password asked without echo, or read
 * from stdin) and saves it for `--server URL` (credentials.ts: a 0600 file). `--list` lists them.
 */
export async function loginCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) return void process.stdout.write(LOGIN_HELP);
  const { values, positionals } = parse(
    argv,
    {
      token: { type: 'string' },
      'token-stdin': { type: 'boolean' },
      username: { type: 'string', short: 'u' },
      'password-stdin': { type: 'boolean' },
      list: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    'login',
  );
  if (values.list) {
    const logins = listLogins();
    if (wantsJson({ json: values.json === true })) return printJson(logins);
    return printTable(
      ['SERVER', 'USER', 'SAVED'],
      logins.map((login) => [login.server, login.user ?? '', login.saved_at]),
    );
  }
  const [url] = positionals;
  if (positionals.length !== 1 || url === undefined)
    throw invalid("login takes the server's address: apflow login URL (e.g. http://localhost:8000)");
  const server = serverKey(url);
  const ways = [values.token !== undefined, values['token-stdin'] === true, values.username !== undefined];
  if (ways.filter(Boolean).length > 1) throw invalid('log in one way: --token, --token-stdin or --username');
  if (values['password-stdin'] && values.username === undefined)
    throw invalid('--password-stdin goes with --username NAME');
  let login: { token: string; user?: string };
  if (values.token !== undefined || values['token-stdin']) {
    const token = typeof values.token === 'string' ? values.token : await readStdin();
    login = await checkToken(server, token);
  } else {
    const user = typeof values.username === 'string' ? values.username : await ask('Username: ');
    const password = values['password-stdin'] ? await readStdin() : await askHidden('Password: ');
    login = { token: await passwordLogin(server, user, password), user };
  }
  saveLogin(server, login);
  process.stdout.write(
    `Logged in to ${server}${login.user ? ` as ${login.user}` : ''} (token saved in ${credentialsFile()})\n`,
  );
}

/** `apflow logout URL`: forgets the saved token of the server (the token itself stays valid until it expires). */
export async function logoutCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h'))
    return void process.stdout.write('Forget the saved token of a server\n\nUsage: apflow logout URL\n');
  const { positionals } = parse(argv, {}, 'logout');
  const [url] = positionals;
  if (positionals.length !== 1 || url === undefined)
    throw invalid("logout takes the server's address: apflow logout URL");
  const server = serverKey(url);
  process.stdout.write(
    forgetLogin(server)
      ? `Logged out of ${server} (its token removed from ${credentialsFile()})\n`
      : `Not logged in to ${server}\n`,
  );
}

/**
 * A token is saved once the server takes it (`tasks.count` answers). A server without
 * authentication takes any token: said on stderr, and saved all the same.
 */
async function checkToken(server: string, token: string): Promise<{ token: string; user?: string }> {
  if (token === '') throw invalid('the token is empty');
  const refused = (error: unknown) => error instanceof AuthenticationError;
  const open = await createClient({ baseUrl: server })
    .tasks.count()
    .then(
      () => true,
      (error: unknown) => (refused(error) ? false : Promise.reject(error)),
    );
  if (open) process.stderr.write(`${server} does not check tokens (authentication is off there): saved unchecked\n`);
  else
    await createClient({ baseUrl: server, token })
      .tasks.count()
      .catch((error: unknown) => {
        throw refused(error)
          ? new ApflowError('APF_UNAUTHENTICATED', { message: `${server} refused the token: ${errorMessage(error)}` })
          : error;
      });
  const user = tokenSubject(token);
  return user === undefined ? { token } : { token, user };
}

/** The `sub` of a JWT, read (not verified: the server did that) to show who logged in. */
function tokenSubject(token: string): string | undefined {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return isRecord(payload) && typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

/** `POST URL/auth/login {username, password}` → its `access_token`. */
async function passwordLogin(server: string, username: string, password: string): Promise<string> {
  if (username === '' || password === '') throw invalid('the username and the password must not be empty');
  let response: Response;
  try {
    // A redirect is not followed: fetch would send the password again, to wherever it points.
    response = await fetch(`${server}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
      redirect: 'manual',
    });
  } catch (error) {
    throw new ApflowError('APF_UNAVAILABLE', {
      message: `cannot reach ${server}: ${errorMessage((error as Error).cause ?? error)}`,
    });
  }
  if (response.status >= 300 && response.status < 400)
    throw invalid(
      `${server} answered with a redirect${redirectTarget(response)}: log in to the address it names (the password was not sent there)`,
    );
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status === 404)
    throw invalid(`${server} has no /auth/login (authentication off, or not by apflow's users): log in with --token`);
  if (response.ok && isRecord(body) && typeof body.access_token === 'string') return body.access_token;
  const said = isRecord(body) && isRecord(body.error) ? String(body.error.message) : `HTTP ${response.status}`;
  throw new ApflowError(response.status === 401 ? 'APF_UNAUTHENTICATED' : 'APF_INVALID_PARAMS', {
    message: `login to ${server} as ${username} failed: ${said}`,
  });
}

function redirectTarget(response: Response): string {
  const location = response.headers.get('location');
  return location ? ` (to ${location})` : '';
}

function needTerminal(what: string): void {
  if (!process.stdin.isTTY)
    throw invalid(`no terminal to ask the ${what} on: give it with --${what === 'password' ? 'password-stdin' : what}`);
}

async function ask(question: string): Promise<string> {
  needTerminal('username');
  const lines = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await lines.question(question)).trim();
  } finally {
    lines.close();
  }
}

/** A line typed without echo (raw mode): Enter ends it, Ctrl-C gives up. */
async function askHidden(question: string): Promise<string> {
  needTerminal('password');
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      stdin.on('data', (chunk: string) => {
        for (const key of chunk) {
          if (key === '\r' || key === '\n' || key === '\u0004') return resolve(typed);
          if (key === '\u0003') return reject(invalid('login cancelled'));
          typed = key === '\u007f' || key === '\b' ? typed.slice(0, -1) : typed + key;
        }
      });
    });
  } finally {
    stdin.removeAllListeners('data');
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}
