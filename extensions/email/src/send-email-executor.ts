import { randomUUID } from 'node:crypto';
import { ApflowError, defineExecutor } from 'apflow';
import { createTransport } from 'nodemailer';
import type { SMTPSentMessageInfo } from 'nodemailer/lib/smtp-transport';
import { composeMessage } from './compose-message.ts';
import { EmailInputs } from './email-inputs.ts';
import type { ConfiguredServer, EmailSettings } from './email-settings.ts';
import { isUnreached, scrub, sendFailure } from './smtp-errors.ts';
import { chooseTargets, type SmtpTarget } from './smtp-target.ts';

const ID = 'send_email_executor';

/** What the executor needs from the plugin: its config section and the configured server. */
export interface SendEmailDeps {
  settings: EmailSettings;
  configured: ConfiguredServer;
}

/**
 * `send_email_executor`: sends one message over SMTP (nodemailer) through the configured server,
 * or the task's own one when `email.allow_task_smtp` allows it (through the outbound policy).
 * Cancel and timeout close the SMTP connection.
 */
export function createSendEmailExecutor({ settings, configured }: SendEmailDeps) {
  return defineExecutor({
    id: ID,
    name: 'Send email',
    description:
      'Sends an email over SMTP (to, cc, bcc, from, reply_to, subject, text, html, attachments) through the configured server',
    inputSchema: EmailInputs,
    secretInputs: ['smtp.password'],
    async execute(inputs, ctx) {
      const message = composeMessage(inputs, settings, configured);
      const targets = await chooseTargets(inputs.smtp, configured, settings, ctx.outbound);
      const timeoutS = inputs.timeout ?? settings.timeout_s;
      const recipients = message.to.length + message.cc.length + message.bcc.length;
      const timeout = new AbortController();
      // A timer cleared when the send ends (AbortSignal.timeout would stay armed for its whole span).
      const timer = setTimeout(() => timeout.abort(), timeoutS * 1000);
      const signal = AbortSignal.any([ctx.signal, timeout.signal]);
      let sent: { info: SMTPSentMessageInfo; target: SmtpTarget } | undefined;
      try {
        for (const [index, target] of targets.entries()) {
          ctx.progress(0.1, `connecting to ${target.label}`);
          const transport = createTransport(target.options);
          try {
            sent = { info: await transport.sendMail({ ...message, signal }), target };
            break;
          } catch (error) {
            if (ctx.signal.aborted) throw error;
            if (timeout.signal.aborted)
              throw new ApflowError('APF_UNAVAILABLE', {
                message: `${ID}: ${target.label} did not finish within ${timeoutS}s (timeout); the connection was closed before the server accepted the message`,
              });
            // An address that could not be reached at all: the server's next address may be.
            if (!isUnreached(error) || index === targets.length - 1) throw sendFailure(error, target);
          } finally {
            transport.close();
          }
        }
      } finally {
        clearTimeout(timer);
      }
      if (!sent) throw new ApflowError('APF_INTERNAL', { message: `${ID}: no SMTP server address to send to` });
      const { info, target } = sent;
      const accepted = info.accepted.map(String);
      const rejected = info.rejected.map(String);
      const response = scrub(info.response, target.secrets);
      ctx.progress(1, `${target.label} accepted the message for ${accepted.length} of ${recipients} recipients`);
      ctx.log.info(
        {
          smtp: target.label,
          origin: target.origin,
          message_id: info.messageId,
          accepted: accepted.length,
          rejected: rejected.length,
        },
        'email sent',
      );
      return { success: accepted.length > 0, message_id: info.messageId, accepted, rejected, response };
    },
    demoResult(inputs) {
      // Demo inputs are not checked: whatever strings the recipient fields hold are echoed.
      const listed = [inputs.to, inputs.cc, inputs.bcc].flatMap((field) =>
        typeof field === 'string'
          ? field.split(',')
          : Array.isArray(field)
            ? field.filter((item) => typeof item === 'string')
            : [],
      );
      return {
        success: true,
        message_id: `<demo-${randomUUID()}@apflow.demo>`,
        accepted: listed.map((entry) => entry.trim()).filter(Boolean),
        rejected: [],
        response: '250 Demo mode: nothing was sent (no SMTP connection was made)',
        demo: true,
      };
    },
  });
}
