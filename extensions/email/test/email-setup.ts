/** Shared setup of the email tests: a real local SMTP server (smtp-server) and an app loading @apflow/email. */
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
}

/**
 * An SMTP server on 127.0.0.1 (AUTH PLAIN and LOGIN required, no TLS) that records each
 * message. With `hold`, it reads a message's DATA and never answers it (a slow server).
 */
export async function startSmtp(
  t: TestContext,
  users: Record<string, string>,
  options: { hold?: boolean } = {},
): Promise<TestSmtp> {
  const state: TestSmtp = { port: 0, messages: [], connections: [], held: [], refusedLogins: 0 };
  const bySession = new Map<string, () => void>();
  const server = new SMTPServer({
    name: 'mx.test',
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
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
      if (auth.username !== undefined && users[auth.username] === auth.password)
        return callback(null, { user: auth.username });
      state.refusedLogins += 1;
      callback(new Error('Invalid username or password'));
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
        });
        callback(null, 'Message queued as test-1');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
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

/** The `email.smtp` section for `smtp` with one user. */
export function configSmtp(smtp: TestSmtp, user: string, password: string): Record<string, unknown> {
  return { host: '127.0.0.1', port: smtp.port, user, password, from: 'Reports <reports@example.com>' };
}

/** One header's value in a raw message (unfolded), or undefined. */
export function header(raw: string, name: string): string | undefined {
  const head = raw.split('\r\n\r\n')[0] ?? '';
  const match = new RegExp(`^${name}: (.*(?:\\r\\n[ \\t].*)*)`, 'im').exec(head);
  return match?.[1]?.replace(/\r\n[ \t]/g, ' ');
}
