import { ApflowError, type ErrorCode } from 'apflow';
import type { SmtpTarget } from './smtp-target.ts';

const ID = 'send_email_executor';

/** `text` with every one of `secrets` replaced by `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}

/** What nodemailer puts on its errors, read without trusting their shape. */
function details(error: unknown): { code: string; responseCode: number; text: string } {
  const read = (key: string): unknown =>
    typeof error === 'object' && error !== null && key in error ? Reflect.get(error, key) : undefined;
  const code = read('code');
  const responseCode = read('responseCode');
  const response = read('response');
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: typeof code === 'string' ? code : '',
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
  const { code, responseCode, text } = details(error);
  const said = scrub(text.replace(/\s+/g, ' ').trim(), target.secrets).slice(0, 300);
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
