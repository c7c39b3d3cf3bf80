import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { eventually, memoryLog, started } from '../../../test/helpers.ts';
import { completed, failed, runOne } from '../../../test/plugins/builtin-executors-setup.ts';
import { configSmtp, emailApp, startSmtp, testTls, type Connection } from './email-setup.ts';

const USER = 'mailer';
const PASSWORD = 'config-pw-9d2b57';
const TASK_PASSWORD = 'task-pw-63e1f4';
const STORED_SUBJECT = 'Subject-stored-b81c';
const message = { to: 'ann@example.com', subject: 'Hi', text: 'Hello' };

/** Rejects when `promise` has not settled within `ms`, naming what was awaited. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

describe('send_email_executor: servers, policy and secrets', () => {
  test("a task's own smtp settings are refused by default", async (t) => {
    const configured = await startSmtp(t, { [USER]: PASSWORD });
    const own = await startSmtp(t, { task: TASK_PASSWORD });
    const app = await emailApp(t, { smtp: configSmtp(configured, USER, PASSWORD) });
    const error = failed(
      await runOne(app, 'send_email_executor', {
        ...message,
        smtp: { host: '127.0.0.1', port: own.port, user: 'task', password: TASK_PASSWORD },
      }),
    );
    assert.match(
      error,
      /^send_email_executor: the task's own smtp settings are refused: .*email\.allow_task_smtp: true/,
    );
    assert.equal(configured.connections.length + own.connections.length, 0, 'no server was reached');
  });

  test('with email.allow_task_smtp, a task server passes the outbound policy: 127.0.0.1 refused unless allowed', async (t) => {
    const tls = testTls(t);
    const configured = await startSmtp(t, { [USER]: PASSWORD });
    const own = await startSmtp(t, { task: TASK_PASSWORD }, { tls });
    const email = { smtp: configSmtp(configured, USER, PASSWORD), allow_task_smtp: true, ca: tls.ca };
    const smtp = { host: '127.0.0.1', port: own.port, user: 'task', password: TASK_PASSWORD };

    const strict = await emailApp(t, email);
    const error = failed(await runOne(strict, 'send_email_executor', { ...message, smtp }));
    assert.equal(
      error,
      `send_email_executor: the SMTP server 127.0.0.1:${own.port} is refused: 127.0.0.1 is not a public address (allow it with outbound.allow_hosts or outbound.allow_private)`,
    );
    assert.equal(own.connections.length, 0);

    // Allowed by name: the name is checked and resolved, the socket goes to the checked address.
    const allowed = await emailApp(t, email, { outbound: { allow_hosts: ['localhost'] } });
    completed(await runOne(allowed, 'send_email_executor', { ...message, smtp: { ...smtp, host: 'localhost' } }));
    assert.equal(own.messages.length, 1);
    assert.equal(own.messages[0]?.user, 'task', "the task's own login");
    assert.equal(own.messages[0]?.secure, true, 'over STARTTLS, the certificate checked for localhost');
    assert.equal(own.messages[0]?.ehlo, '[127.0.0.1]', "a task's server never learns this machine's name");
    assert.equal(own.messages[0]?.mailFrom, 'reports@example.com');
    assert.equal(configured.connections.length, 0, 'the configured server (and its login) was not used');
  });

  test('a refused login is a clear error without the password', async (t) => {
    const smtp = await startSmtp(t, { [USER]: 'the-right-one' });
    const app = await emailApp(t, { smtp: configSmtp(smtp, USER, PASSWORD) });
    const error = failed(await runOne(app, 'send_email_executor', message));
    assert.match(
      error,
      new RegExp(
        `^send_email_executor: the SMTP server 127\\.0\\.0\\.1:${smtp.port} refused the login of user 'mailer' \\(535 .*\\): check email\\.smtp\\.user and email\\.smtp\\.password`,
      ),
    );
    assert.ok(!error.includes(PASSWORD), error);
    assert.ok(!error.includes(Buffer.from(PASSWORD).toString('base64')), error);
    assert.equal(smtp.refusedLogins, 1);
    assert.equal(smtp.messages.length, 0);
  });

  test('cancelling closes the SMTP connection before the server accepts the message', async (t) => {
    const smtp = await startSmtp(t, { [USER]: PASSWORD }, { hold: true });
    const app = await emailApp(t, { smtp: configSmtp(smtp, USER, PASSWORD) });
    const tree = await app.engine.createTree([
      { name: 'mail', schemas: { method: 'send_email_executor' }, inputs: message },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    await eventually(() => smtp.held.length === 1);
    assert.equal((smtp.connections[0] as Connection).isClosed, false, 'the server holds the DATA answer');
    await app.engine.cancel([tree.id]);
    assert.equal((await done).status, 'cancelled');
    await within((smtp.connections[0] as Connection).closed, 5000, 'the server seeing the connection close');
    assert.equal(smtp.messages.length, 0, 'never accepted');
  });

  test('a timeout (the input, or the task timeout_s) closes the SMTP connection', async (t) => {
    const smtp = await startSmtp(t, { [USER]: PASSWORD }, { hold: true });
    const app = await emailApp(t, { smtp: configSmtp(smtp, USER, PASSWORD) });
    const error = failed(await runOne(app, 'send_email_executor', { ...message, timeout: 0.5 }));
    assert.equal(
      error,
      `send_email_executor: 127.0.0.1:${smtp.port} did not finish within 0.5s (timeout); the connection was closed before the server accepted the message`,
    );
    await within((smtp.connections[0] as Connection).closed, 5000, 'the server seeing the connection close');

    const tree = await app.engine.createTree([
      { name: 'mail', schemas: { method: 'send_email_executor' }, inputs: message, params: { timeout_s: 0.5 } },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    assert.equal((await done).status, 'failed');
    assert.match((await app.tasks.get(tree.id))?.error ?? '', /^Timeout: the task ran longer than 0\.5s/);
    await within((smtp.connections[1] as Connection).closed, 5000, 'the server seeing the connection close');
    assert.equal(smtp.held.length, 2);
    assert.equal(smtp.messages.length, 0);
  });

  test('the SMTP passwords (config and task) are in neither the database file nor the log', async (t) => {
    const tls = testTls(t);
    const configured = await startSmtp(t, { [USER]: PASSWORD });
    const own = await startSmtp(t, { task: TASK_PASSWORD }, { tls });
    const dir = mkdtempSync(join(tmpdir(), 'apflow-email-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const log = memoryLog();
    const app = await emailApp(
      t,
      { smtp: configSmtp(configured, USER, PASSWORD), allow_task_smtp: true, ca: tls.ca },
      {
        database: { url: `sqlite:${join(dir, 't.db')}` },
        outbound: { allow_hosts: ['localhost'] },
        log: { level: 'debug' },
      },
      { logStream: log.stream },
    );
    completed(await runOne(app, 'send_email_executor', { ...message, subject: STORED_SUBJECT }));
    const smtp = { host: 'localhost', port: own.port, user: 'task', password: TASK_PASSWORD };
    completed(await runOne(app, 'send_email_executor', { ...message, smtp }));
    failed(
      await runOne(app, 'send_email_executor', { ...message, smtp: { ...smtp, password: `${TASK_PASSWORD}-wrong` } }),
    );
    assert.equal(configured.messages.length + own.messages.length, 2);
    const files = readdirSync(dir).map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
    // The right files were read: the tasks' other inputs are stored there.
    assert.ok(
      files.some(({ bytes }) => bytes.includes(STORED_SUBJECT)),
      'the tasks are in the files read',
    );
    for (const { name, bytes } of files) {
      for (const secret of [PASSWORD, TASK_PASSWORD])
        assert.equal(bytes.includes(secret), false, `${secret} in ${name}`);
    }
    for (const secret of [PASSWORD, TASK_PASSWORD])
      assert.equal(log.text().includes(secret), false, `${secret} in the log`);
    assert.ok(log.lines.length > 0, 'the log was written');
  });
});
