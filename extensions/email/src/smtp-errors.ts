import { ApflowError, type ErrorCode } from 'apflow';
import type { SmtpTarget } from './smtp-target.ts';

const ID = 'send_email_executor';

/**
 * Secrets shorter than this are not scrubbed: the kernel's rule (a short one would match ordinary
 * text and garble the server's words; a password that short is guessable anyway).
 */
const MIN_SECRET_LENGTH = 8;

/** `text` with every one of `secrets` (of at least 8 characters) replaced by `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join('***');
  return out;
}

/** Socket errors that mean an address could not be reached at all (nothing was sent to it). */
const UNREACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Whether a send failed because its address could not be reached (another address may do). */
export function isUnreached(error: unknown): boolean {
  const { code, originalCode } = details(error);
  return code === 'ESOCKET' && UNREACHED.has(originalCode);
}

/** What nodemailer puts on its errors, read without trusting their shape. */
function details(error: unknown): {
  code: string;
  originalCode: string;
  command: string;
  responseCode: number;
  text: string;
} {
  const read = (key: string): unknown =>
    typeof error === 'object' && error !== null && key in error ? Reflect.get(error, key) : undefined;
  const code = read('code');
  const responseCode = read('responseCode');
  const response = read('response');
  const originalCode = read('originalCode');
  const command = read('command');
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: typeof code === 'string' ? code : '',
    originalCode: typeof originalCode === 'string' ? originalCode : '',
    command: typeof command === 'string' ? command : '',
    responseCode: typeof responseCode === 'number' ? responseCode : 0,
    text: typeof response === 'string' && response ? response : message,
  };
}

/**
 * The task error for a failed send: a refused login is APF_FORBIDDEN, a permanent (5xx) refusal
 * of the sender, recipients or message APF_INVALID_PARAMS, anything else (connection, TLS,
 * temporary 4xx) APF_UNAVAILABLE. The server's words are kept, passwords taken out.
 */
export function sendFailure(error: unknown, target: SmtpTarget): ApflowError {
  const { code, command, responseCode, text } = details(error);
  // Scrubbed before the spaces are collapsed: a password holding a tab or two spaces is still found.
  const said = scrub(text, target.secrets).replace(/\s+/g, ' ').trim().slice(0, 300);
  const where = `the SMTP server ${target.label}`;
  const fail = (errorCode: ErrorCode, detail: string) => new ApflowError(errorCode, { message: `${ID}: ${detail}` });
  if (code === 'EAUTH' || code === 'ENOAUTH') {
    const fields =
      target.origin === 'config'
        ? 'email.smtp.user and email.smtp.password (or APFLOW_SMTP_USER and APFLOW_SMTP_PASSWORD)'
        : 'smtp.user and smtp.password';
    const who = target.user === undefined ? 'without a user' : `of user '${target.user}'`;
    return fail('APF_FORBIDDEN', `${where} refused the login ${who} (${said}): check ${fields}`);
  }
  if (code === 'ETLS' && command === 'STARTTLS' && responseCode > 0 && target.requireTLS) {
    const fix =
      target.origin === 'config'
        ? 'give the server TLS (STARTTLS, or secure: true on port 465); only for a local relay without TLS set email.smtp.require_tls: false'
        : 'the task’s server must offer STARTTLS, or use secure: true (port 465)';
    return fail(
      'APF_FORBIDDEN',
      `${where} did not start TLS (${said}); TLS is required here (a login is never sent unencrypted): ${fix}`,
    );
  }
  const permanent = responseCode >= 500 && responseCode < 600;
  if (code === 'EENVELOPE')
    return permanent
      ? fail('APF_INVALID_PARAMS', `${where} refused the sender or the recipients (${said})`)
      : fail('APF_UNAVAILABLE', `${where} did not take the recipients now (${said}); try again later`);
  if (code === 'EMESSAGE')
    return permanent
      ? fail('APF_INVALID_PARAMS', `${where} refused the message (${said})`)
      : fail('APF_UNAVAILABLE', `${where} did not take the message now (${said}); try again later`);
  return fail('APF_UNAVAILABLE', `sending through ${where} failed: ${said}${code ? ` (${code})` : ''}`);
}
