import { ApflowError } from 'apflow';
import { buildAttachments, type MailAttachment } from './attachments.ts';
import type { EmailInputs } from './email-inputs.ts';
import type { ConfiguredServer, EmailSettings } from './email-settings.ts';
import { parseRecipients, parseSender, type Mailbox } from './recipients.ts';

/** A checked message, in the fields nodemailer takes (mailboxes as objects: it encodes them). */
export interface ComposedMessage {
  from: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  subject: string;
  text?: string;
  html?: string;
  attachments: MailAttachment[];
}

const ID = 'send_email_executor';

/**
 * Checks the inputs and builds the message: every address valid (no address literal unless
 * `email.allow_address_literals`), at least one recipient and at
 * most `email.max_recipients` (to, cc and bcc together), a sender (the input, else
 * `email.smtp.from`), no line break in the subject, attachments within `email.max_attachment_bytes`.
 */
export function composeMessage(
  inputs: EmailInputs,
  settings: EmailSettings,
  configured: ConfiguredServer,
): ComposedMessage {
  const rules = { allowLiterals: settings.allow_address_literals };
  const to = parseRecipients('to', inputs.to, rules);
  const cc = parseRecipients('cc', inputs.cc, rules);
  const bcc = parseRecipients('bcc', inputs.bcc, rules);
  const replyTo = parseRecipients('reply_to', inputs.reply_to, rules);
  const count = to.length + cc.length + bcc.length;
  if (to.length === 0) throw invalid('to needs at least one address');
  if (count > settings.max_recipients)
    throw invalid(
      `${count} recipients (to, cc and bcc together) are more than email.max_recipients (${settings.max_recipients})`,
    );
  const sender = inputs.from ?? configured.from;
  if (sender === undefined)
    throw invalid('there is no sender: give from, or set email.smtp.from in the config (or APFLOW_SMTP_FROM)');
  const from = parseSender(inputs.from === undefined ? 'email.smtp.from' : 'from', sender, rules);
  if (/[\r\n]/.test(inputs.subject)) throw invalid('subject contains a line break: give it on one line');
  const attachments = buildAttachments(inputs.attachments, inputs, settings.max_attachment_bytes);
  return {
    from,
    to,
    cc,
    bcc,
    replyTo,
    subject: inputs.subject,
    ...(inputs.text === undefined ? {} : { text: inputs.text }),
    ...(inputs.html === undefined ? {} : { html: inputs.html }),
    attachments,
  };
}

function invalid(detail: string): ApflowError {
  return new ApflowError('APF_INVALID_PARAMS', { message: `${ID}: ${detail}` });
}
