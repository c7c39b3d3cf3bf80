import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { listenLocal, started } from '../../../test/helpers.ts';
import { completed, failed, runOne, runTree } from '../../../test/plugins/builtin-executors-setup.ts';
import { configSmtp, emailApp, header, startSmtp } from './email-setup.ts';

interface MailResult {
  success: boolean;
  message_id: string;
  accepted: string[];
  rejected: string[];
  response: string;
  demo?: boolean;
  demo_mode?: boolean;
}

const USER = 'mailer';
const PASSWORD = 'config-pw-41c7e0';

describe('send_email_executor', () => {
  test('through the configured server with AUTH: text and html, cc, and bcc in the envelope only', async (t) => {
    const smtp = await startSmtp(t, { [USER]: PASSWORD });
    // No outbound allowance: the configured server is the administrator's, not a task's target.
    const app = await emailApp(t, { smtp: configSmtp(smtp, USER, PASSWORD) });
    const result = completed<MailResult>(
      await runOne(app, 'send_email_executor', {
        to: ['Ann Lee <ann@example.com>', 'bob@example.com'],
        cc: 'carol@example.com',
        bcc: ['dave@example.com'],
        reply_to: 'help@example.com',
        subject: 'Weekly report',
        text: 'The plain text body.',
        html: '<p>The <b>html</b> body.</p>',
      }),
    );
    assert.equal(smtp.messages.length, 1);
    const [message] = smtp.messages;
    assert.ok(message);
    assert.equal(message.user, USER);
    assert.equal(message.mailFrom, 'reports@example.com');
    assert.deepEqual(message.rcptTo.slice().sort(), [
      'ann@example.com',
      'bob@example.com',
      'carol@example.com',
      'dave@example.com',
    ]);
    const { raw } = message;
    assert.equal(header(raw, 'From'), 'Reports <reports@example.com>');
    assert.equal(header(raw, 'To'), 'Ann Lee <ann@example.com>, bob@example.com');
    assert.equal(header(raw, 'Cc'), 'carol@example.com');
    assert.equal(header(raw, 'Reply-To'), 'help@example.com');
    assert.equal(header(raw, 'Subject'), 'Weekly report');
    assert.equal(header(raw, 'Bcc'), undefined, 'no Bcc header');
    assert.ok(!raw.includes('dave@example.com'), 'the bcc address is nowhere in the message');
    assert.match(header(raw, 'Content-Type') ?? '', /^multipart\/alternative/);
    assert.match(raw, /Content-Type: text\/plain[^]*The plain text body\./);
    assert.match(raw, /Content-Type: text\/html[^]*<p>The <b>html<\/b> body\.<\/p>/);

    assert.equal(result.success, true);
    assert.equal(result.message_id, header(raw, 'Message-ID'));
    assert.deepEqual(result.accepted.slice().sort(), message.rcptTo.slice().sort());
    assert.deepEqual(result.rejected, []);
    assert.match(result.response, /^250 .*Message queued as test-1/);
  });

  test('APFLOW_SMTP_* environment variables configure the server', async (t) => {
    const smtp = await startSmtp(t, { envuser: 'env-pw' });
    const env = {
      APFLOW_SMTP_HOST: '127.0.0.1',
      APFLOW_SMTP_PORT: String(smtp.port),
      APFLOW_SMTP_USER: 'envuser',
      APFLOW_SMTP_PASSWORD: 'env-pw',
      APFLOW_SMTP_FROM: 'env@example.com',
    };
    // The variables and the config section merge: the test relay has no TLS.
    const app = await emailApp(t, { smtp: { require_tls: false } }, {}, { env });
    completed(await runOne(app, 'send_email_executor', { to: 'ann@example.com', subject: 'Hi', text: 'x' }));
    assert.equal(smtp.messages[0]?.user, 'envuser');
    assert.equal(smtp.messages[0]?.mailFrom, 'env@example.com');
  });

  test('attachments from a dependency result (a report task, then the email), inline base64 too', async (t) => {
    const smtp = await startSmtp(t, { [USER]: PASSWORD });
    const report = { period: '2024-W12', rows: [{ region: 'north', total: 42 }] };
    const http = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(report));
    });
    const reportUrl = `http://127.0.0.1:${await listenLocal(t, http)}/report`;
    const app = await emailApp(
      t,
      { smtp: configSmtp(smtp, USER, PASSWORD) },
      { outbound: { allow_hosts: ['127.0.0.1'] } },
    );
    const logo = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x10]);
    const { byName } = await runTree(app, [
      {
        id: 'mail',
        name: 'mail',
        schemas: { method: 'send_email_executor' },
        dependencies: ['report'],
        inputs: {
          to: 'ann@example.com',
          subject: 'Your report',
          text: 'Attached.',
          attachments: [
            { filename: 'report.txt', from: 'report.body', content_type: 'text/plain' },
            { filename: 'report.json', from: 'report.json' },
            { filename: 'logo.png', content: logo.toString('base64'), encoding: 'base64', content_type: 'image/png' },
          ],
        },
      },
      {
        id: 'report',
        name: 'report',
        parent_id: 'mail',
        schemas: { method: 'rest_executor' },
        inputs: { url: reportUrl },
      },
    ]);
    assert.equal(byName('report').status, 'completed');
    completed(byName('mail'));
    const raw = smtp.messages[0]?.raw ?? '';
    const flat = raw.replace(/\r\n/g, '');
    const base64 = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64');
    assert.match(raw, /Content-Type: text\/plain; name=report\.txt/);
    assert.match(raw, /Content-Disposition: attachment; filename=report\.txt/);
    assert.ok(flat.includes(base64(JSON.stringify(report))), 'the report body, as the dependency returned it');
    assert.match(raw, /Content-Type: application\/json; name=report\.json/);
    assert.ok(flat.includes(base64(JSON.stringify(report, null, 2))), 'the parsed JSON, serialized');
    assert.match(raw, /Content-Type: image\/png; name=logo\.png/);
    assert.ok(flat.includes(base64(logo)), 'the inline base64 attachment, byte for byte');
  });

  test('inputs are checked before any connection: addresses, path/href, limits, sender', async (t) => {
    const smtp = await startSmtp(t, { [USER]: PASSWORD });
    const app = await emailApp(t, {
      smtp: configSmtp(smtp, USER, PASSWORD),
      max_recipients: 3,
      max_attachment_bytes: 10,
    });
    const send = async (inputs: Record<string, unknown>) =>
      failed(await runOne(app, 'send_email_executor', { subject: 'x', text: 'y', ...inputs }));
    assert.equal(
      await send({ to: ['ann@example.com', 'bob@'] }),
      "send_email_executor: to[1] 'bob@' is not an email address",
    );
    assert.match(
      await send({ to: 'ann@example.com', cc: 'Carol' }),
      /^send_email_executor: cc\[0\] 'Carol' is not an email address$/,
    );
    assert.match(await send({ to: 'a@example.com\r\nBcc: x@evil.test' }), /to\[0\] .* contains a line break/);
    for (const key of ['path', 'href']) {
      const error = await send({ to: 'ann@example.com', attachments: [{ filename: 'p', [key]: '/etc/passwd' }] });
      assert.match(
        error,
        new RegExp(
          `^send_email_executor: attachments\\[0\\]\\.${key} is refused: attachments never read files or URLs`,
        ),
      );
    }
    assert.match(
      await send({ to: ['a@example.com', 'b@example.com'], bcc: 'c@example.com, d@example.com' }),
      /4 recipients \(to, cc and bcc together\) are more than email\.max_recipients \(3\)/,
    );
    assert.match(
      await send({ to: 'ann@example.com', attachments: [{ filename: 'big.txt', content: 'more than ten bytes' }] }),
      /more than 10 bytes \(email\.max_attachment_bytes\)/,
    );
    assert.match(
      await send({ to: 'ann@example.com', attachments: [{ filename: 'r.txt', from: 'missing.body' }] }),
      /attachments\[0\]\.from 'missing\.body' names nothing in the inputs/,
    );
    assert.match(
      await send({ to: 'ann@example.com', from: 'not an address' }),
      /^send_email_executor: from 'not an address' is not an email address$/,
    );
    assert.equal(
      await send({ to: 'ann@example.com', bcc: 'ops@[10.0.0.5]' }),
      "send_email_executor: bcc[0] 'ops@[10.0.0.5]' names its mail server by IP address (an address literal): refused, as the SMTP server would deliver to that address directly; use a domain name (an administrator may allow literals with email.allow_address_literals: true)",
    );
    // Past 2^31 ms a Node timer fires at once: a timeout over a day would end the send at once.
    assert.match(
      await send({ to: 'ann@example.com', timeout: 86_401 }),
      /^Invalid inputs for executor 'send_email_executor': .*timeout/,
    );
    assert.equal(smtp.connections.length, 0, 'nothing reached the SMTP server');
    await assert.rejects(emailApp(t, { timeout_s: 86_401 }), /timeout_s/);
  });

  test('address literals are delivered only with email.allow_address_literals: true', async (t) => {
    const smtp = await startSmtp(t, { [USER]: PASSWORD });
    const app = await emailApp(t, { smtp: configSmtp(smtp, USER, PASSWORD), allow_address_literals: true });
    completed(await runOne(app, 'send_email_executor', { to: 'ops@[10.0.0.5]', subject: 'x', text: 'y' }));
    assert.deepEqual(smtp.messages[0]?.rcptTo, ['ops@[10.0.0.5]']);
  });

  test('demo mode returns a realistic result and sends nothing', async (t) => {
    const smtp = await startSmtp(t, { [USER]: PASSWORD });
    const app = await emailApp(t, { smtp: configSmtp(smtp, USER, PASSWORD) });
    const tree = await app.engine.createTree([
      {
        name: 'mail',
        schemas: { method: 'send_email_executor' },
        inputs: { to: ['ann@example.com'], cc: 'bob@example.com', subject: 'Hi', text: 'x' },
      },
    ]);
    const { done } = started(await app.engine.execute(tree.id, { demo: true }));
    assert.equal((await done).status, 'completed');
    const result = completed<MailResult>((await app.tasks.get(tree.id)) ?? assert.fail('no task'));
    assert.equal(result.success, true);
    assert.equal(result.demo, true);
    assert.match(result.message_id, /^<demo-[0-9a-f-]+@apflow\.demo>$/);
    assert.deepEqual(result.accepted, ['ann@example.com', 'bob@example.com']);
    assert.deepEqual(result.rejected, []);
    assert.match(result.response, /nothing was sent/);
    assert.equal(smtp.connections.length, 0, 'no SMTP connection was made');
  });
});
