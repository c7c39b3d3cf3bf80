import { ApflowError, Type, isRecord } from 'apflow';

/** How to reach one MCP server: a program to start (stdio) or a URL (Streamable HTTP, legacy SSE). */
export type ServerSpec =
  | { transport: 'stdio'; command: string[]; env?: Record<string, string>; cwd?: string }
  | { transport: 'http'; url: string; headers?: Record<string, string> };

/** The server fields of `mcp_executor`'s inputs (TypeBox), with what each is for. */
export const serverSpecFields = {
  transport: Type.Union([Type.Literal('stdio'), Type.Literal('http')], {
    description:
      "'stdio' starts `command` and speaks MCP on its stdin/stdout; 'http' calls `url` (Streamable HTTP, falling back to the legacy HTTP+SSE transport)",
  }),
  command: Type.Optional(
    Type.Array(Type.String(), {
      minItems: 1,
      description:
        'stdio: the program and its arguments, e.g. ["npx", "-y", "@modelcontextprotocol/server-everything"] (no shell)',
    }),
  ),
  env: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description:
        'stdio: variables for the program, added to HOME, LOGNAME, PATH, SHELL, TERM and USER (nothing else is inherited)',
    }),
  ),
  cwd: Type.Optional(Type.String({ description: 'stdio: the working directory of the program' })),
  url: Type.Optional(
    Type.String({
      pattern: '^https?://',
      description: "http: the server's MCP endpoint, e.g. https://example.com/mcp",
    }),
  ),
  headers: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: 'http: headers sent with every request (e.g. Authorization); never logged or returned',
    }),
  ),
};

const isStringRecord = (value: unknown): value is Record<string, string> =>
  isRecord(value) && Object.values(value).every((item) => typeof item === 'string');

/**
 * Checks a server description (an executor's inputs, or an agent's `mcp` tool entry) and returns
 * the fields of its transport. Errors are APF_INVALID_PARAMS naming the field, prefixed by `where`.
 */
export function checkServerSpec(raw: unknown, where: string): ServerSpec {
  const bad = (field: string, why: string) =>
    new ApflowError('APF_INVALID_PARAMS', { message: `${where}: ${field} ${why}` });
  if (!isRecord(raw))
    throw bad('the server', "must be an object: {transport: 'stdio', command: [...]} or {transport: 'http', url}");
  const { transport } = raw;
  if (transport === 'stdio') {
    const { command, env, cwd } = raw;
    if (command === undefined)
      throw bad('command', "is required with transport 'stdio' (the program and its arguments, as an array)");
    if (
      !Array.isArray(command) ||
      command.length === 0 ||
      !command.every((word) => typeof word === 'string') ||
      !command[0]
    ) {
      throw bad('command', 'must be a non-empty array of strings (the program, then its arguments)');
    }
    if (env !== undefined && !isStringRecord(env)) throw bad('env', 'must map variable names to strings');
    if (cwd !== undefined && typeof cwd !== 'string') throw bad('cwd', 'must be a string');
    return { transport, command: command as string[], ...(env ? { env } : {}), ...(cwd !== undefined ? { cwd } : {}) };
  }
  if (transport === 'http') {
    const { url, headers } = raw;
    if (url === undefined) throw bad('url', "is required with transport 'http'");
    if (typeof url !== 'string' || !/^https?:\/\//.test(url) || !URL.canParse(url))
      throw bad('url', 'must be an http(s) URL');
    if (headers !== undefined && !isStringRecord(headers)) throw bad('headers', 'must map header names to strings');
    return { transport, url, ...(headers ? { headers } : {}) };
  }
  if (transport === undefined) throw bad('transport', "is required: 'stdio' or 'http'");
  throw bad('transport', "must be 'stdio' or 'http'");
}

/** Values of a spec that must never be shown: header values and the program's variables. */
export function specSecrets(spec: ServerSpec): string[] {
  const values = spec.transport === 'http' ? Object.values(spec.headers ?? {}) : Object.values(spec.env ?? {});
  // Also the part after a scheme ("Bearer <token>"): servers may echo the token alone.
  return values.flatMap((value) => [value, ...value.split(/\s+/).slice(1)]).filter((value) => value.length >= 4);
}

/** `text` with each of `secrets` replaced by `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  // Longest first, so a token inside a longer value is not left half-replaced.
  return [...secrets].sort((a, b) => b.length - a.length).reduce((out, secret) => out.split(secret).join('***'), text);
}

/** A URL as it may be shown: origin and path, no query (tokens travel there) and no credentials. */
export function shownUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
