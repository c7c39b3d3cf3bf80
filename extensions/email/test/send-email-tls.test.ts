import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { completed, failed, runOne } from '../../../test/plugins/builtin-executors-setup.ts';
import { configSmtp, emailApp, startSmtp, testTls } from './email-setup.ts';

const USER = 'mailer';
const PASSWORD = 'config-pw-5e0a93';
const TASK_PASSWORD = 'task-pw-7b21c8';
const message = { to: 'ann@example.com', subject: 'Hi', text: 'Hello' };
const from = 'Reports <reports@example.com>';

describe('send_email_executor: TLS and the login', () => {
  test('a login is never sent without TLS: the configured server (unless email.smtp.require_tls: false), a task server', async (t) => {
    const plain = await startSmtp(t, { [USER]: PASSWORD, task: TASK_PASSWORD });
    // email.smtp with a user and no require_tls: TLS is required by default.
    const smtp = { host: '127.0.0.1', port: plain.port, user: USER, password: PASSWORD, from };
    const app = await emailApp(t, { smtp, allow_task_smtp: true }, { outbound: { allow_hosts: ['127.0.0.1'] } });
    assert.match(
      failed(await runOne(app, 'send_email_executor', message)),
      new RegExp(
        `^send_email_executor: the SMTP server 127\\.0\\.0\\.1:${plain.port} did not start TLS \\(5\\d\\d .*\\); TLS is required here \\(a login is never sent unencrypted\\): .*email\\.smtp\\.require_tls: false$`,
      ),
    );
    const task = { host: '127.0.0.1', port: plain.port, user: 'task', password: TASK_PASSWORD };
    assert.match(
      failed(await runOne(app, 'send_email_executor', { ...message, smtp: task })),
      /did not start TLS .*: the task’s server must offer STARTTLS, or use secure: true \(port 465\)$/,
    );
    assert.equal(plain.logins, 0, 'no AUTH command reached the server');
    assert.equal(plain.messages.length, 0);
    // The administrator's opt-out, for a local relay without TLS.
    const relay = await emailApp(t, { smtp: { ...smtp, require_tls: false } });
    completed(await runOne(relay, 'send_email_executor', message));
    assert.equal(plain.messages[0]?.secure, false);
  });

  test('STARTTLS to the configured server, its certificate trusted through email.ca; EHLO says email.smtp.name', async (t) => {
    const tls = testTls(t);
    const server = await startSmtp(t, { [USER]: PASSWORD }, { tls });
    const smtp = { host: 'localhost', port: server.port, user: USER, password: PASSWORD, from };
    const untrusted = await emailApp(t, { smtp });
    assert.match(
      failed(await runOne(untrusted, 'send_email_executor', message)),
      /^send_email_executor: sending through the SMTP server localhost:\d+ failed: unable to verify the first certificate/,
    );
    const app = await emailApp(t, { smtp: { ...smtp, name: 'apflow.example.com' }, ca: tls.ca });
    completed(await runOne(app, 'send_email_executor', message));
    assert.equal(server.messages.length, 1);
    assert.equal(server.messages[0]?.secure, true);
    assert.equal(server.messages[0]?.ehlo, 'apflow.example.com');
    assert.equal(server.logins, 1, 'one login, over TLS (the untrusted attempt never sent it)');
  });

  test('a task server by name: the next checked address is tried, and a name the certificate lacks is refused', async (t) => {
    const tls = testTls(t);
    // Only on ::1: `localhost` is checked as 127.0.0.1 then ::1, and 127.0.0.1 refuses the connection.
    const own = await startSmtp(t, { task: TASK_PASSWORD }, { tls, host: '::1' });
    const app = await emailApp(
      t,
      { smtp: configSmtp(own, USER, PASSWORD), allow_task_smtp: true, ca: tls.ca },
      { outbound: { allow_hosts: ['localhost', 'mail.localhost'] } },
    );
    const task = { host: 'localhost', port: own.port, user: 'task', password: TASK_PASSWORD };
    completed(await runOne(app, 'send_email_executor', { ...message, smtp: task }));
    assert.equal(own.messages[0]?.user, 'task');
    assert.equal(own.messages[0]?.secure, true);
    // mail.localhost is loopback too (checked as such), but the certificate is for localhost only.
    const error = failed(
      await runOne(app, 'send_email_executor', { ...message, smtp: { ...task, host: 'mail.localhost' } }),
    );
    assert.match(error, /^send_email_executor: sending through the SMTP server mail\.localhost:\d+ failed: .*altnames/);
    assert.equal(own.logins, 1, 'the login went only to the server whose certificate matched');
  });

  test('server answers quoted in errors lose the password, double spaces included; a short one garbles nothing', async (t) => {
    // Double spaces (smtp-server itself turns a tab in its answer into a space).
    const password = 'pass  word  with-gaps';
    const echoing = await startSmtp(t, { [USER]: 'the-right-one' }, { echoPassword: true });
    const app = await emailApp(t, { smtp: configSmtp(echoing, USER, password) });
    const error = failed(await runOne(app, 'send_email_executor', message));
    assert.match(error, /refused the login of user 'mailer' \(535 Invalid password \*\*\*\)/);
    assert.ok(!error.includes('word with-gaps') && !error.includes('word  with-gaps'), error);
    assert.equal(echoing.refusedLogins, 1, 'the server saw the password (and quoted it)');

    const strict = await startSmtp(t, { [USER]: 'the-right-one' });
    const short = await emailApp(t, { smtp: configSmtp(strict, USER, 'e') });
    assert.match(failed(await runOne(short, 'send_email_executor', message)), /\(535 Invalid username or password\)/);
  });
});
