/** Shared setup of the email tests: a real local SMTP server (smtp-server) and an app loading @apflow/email. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { App, CreateAppOptions } from 'apflow';
import { testApp } from '../../../test/helpers.ts';

/** One message the server accepted. */
export interface Received {
  /** The user who logged in. */
  user: string;
  mailFrom: string;
  rcptTo: string[];
  /** The message as it came over DATA (headers and body, CRLF line ends). */
  raw: string;
  /** Whether the session was encrypted (STARTTLS) when the message came. */
  secure: boolean;
  /** The name the client gave in EHLO. */
  ehlo: string;
}

/** A test CA and a certificate it signed for `localhost` (PEM). */
export interface TestTls {
  ca: string;
  cert: string;
  key: string;
}

/** One connection the server saw. */
export interface Connection {
  /** Settles when the connection closes. */
  closed: Promise<void>;
  isClosed: boolean;
}

/** A local SMTP server. */
export interface TestSmtp {
  port: number;
  messages: Received[];
  connections: Connection[];
  /** Messages whose DATA arrived in full but were never answered (`hold`). */
  held: string[];
  /** Logins refused. */
  refusedLogins: number;
  /** Logins tried (AUTH commands the server received), refused or not. */
  logins: number;
}

/**
 * An SMTP server on 127.0.0.1 (or `options.host`; AUTH PLAIN and LOGIN required) that records each
 * message. Without `tls` it offers no STARTTLS; with it, STARTTLS with that certificate. With
 * `hold`, it reads a message's DATA and never answers it (a slow server). With `echoPassword`,
 * a refused login's answer quotes the password (a careless server).
 */
export async function startSmtp(
  t: TestContext,
  users: Record<string, string>,
  options: { hold?: boolean; tls?: TestTls; host?: string; echoPassword?: boolean } = {},
): Promise<TestSmtp> {
  const state: TestSmtp = { port: 0, messages: [], connections: [], held: [], refusedLogins: 0, logins: 0 };
  const bySession = new Map<string, () => void>();
  const server = new SMTPServer({
    name: 'mx.test',
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    ...(options.tls
      ? { key: options.tls.key, cert: options.tls.cert, hideSTARTTLS: false }
      : { disabledCommands: ['STARTTLS'] }),
    closeTimeout: 200,
    onConnect(session: SMTPServerSession, callback) {
      const connection: Connection = { closed: Promise.resolve(), isClosed: false };
      connection.closed = new Promise<void>((resolve) =>
        bySession.set(session.id, () => {
          connection.isClosed = true;
          resolve();
        }),
      );
      state.connections.push(connection);
      callback();
    },
    onClose(session: SMTPServerSession) {
      bySession.get(session.id)?.();
    },
    onAuth(auth, _session, callback) {
      state.logins += 1;
      if (auth.username !== undefined && users[auth.username] === auth.password)
        return callback(null, { user: auth.username });
      state.refusedLogins += 1;
      callback(new Error(options.echoPassword ? `Invalid password ${auth.password}` : 'Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (options.hold) return void state.held.push(raw);
        state.messages.push({
          user: String(session.user),
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw,
          secure: session.secure,
          ehlo: session.hostNameAppearsAs,
        });
        callback(null, 'Message queued as test-1');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const address = server.server.address();
  state.port = typeof address === 'object' && address ? address.port : 0;
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return state;
}

/** An app loading `@apflow/email` by package name, with `email` as its config section. */
export function emailApp(
  t: TestContext,
  email: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  options: CreateAppOptions = {},
): Promise<App> {
  return testApp(t, { plugins: ['@apflow/email'], email, ...extra }, options);
}

/**
 * The `email.smtp` section for `smtp` with one user. The test server offers no TLS, so the login
 * is allowed in the clear (`require_tls: false`, as for a local relay) unless `extra` says otherwise.
 */
export function configSmtp(
  smtp: TestSmtp,
  user: string,
  password: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: smtp.port,
    user,
    password,
    from: 'Reports <reports@example.com>',
    require_tls: false,
    ...extra,
  };
}

/** Makes a test CA and a certificate for `localhost` signed by it (openssl, in a temporary folder). */
export function testTls(t: TestContext): TestTls {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-email-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Arguments without spaces: each command is split on them; files are relative to `dir`.
  const ssl = (command: string) => execFileSync('openssl', command.split(' '), { cwd: dir, stdio: 'pipe' });
  const key = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
  ssl(
    `req -x509 ${key} -keyout ca.key -out ca.pem -days 2 -subj /CN=apflow-email-test-CA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign`,
  );
  ssl(`req ${key} -keyout key.pem -out csr.pem -subj /CN=localhost`);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost\n');
  ssl('x509 -req -in csr.pem -CA ca.pem -CAkey ca.key -CAcreateserial -extfile ext.cnf -days 2 -out cert.pem');
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

/** One header's value in a raw message (unfolded), or undefined. */
export function header(raw: string, name: string): string | undefined {
  const head = raw.split('\r\n\r\n')[0] ?? '';
  const match = new RegExp(`^${name}: (.*(?:\\r\\n[ \\t].*)*)`, 'im').exec(head);
  return match?.[1]?.replace(/\r\n[ \t]/g, ' ');
}
