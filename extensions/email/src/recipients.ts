import { ApflowError } from 'apflow';
import addressparser from 'nodemailer/lib/addressparser';

/** One mailbox: a display name (maybe empty) and an address. */
export interface Mailbox {
  name: string;
  address: string;
}

const ID = 'send_email_executor';
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+)*$/;
const LABEL = /^[A-Za-z0-9\u0080-\uFFFF]([A-Za-z0-9\u0080-\uFFFF-]*[A-Za-z0-9\u0080-\uFFFF])?$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const ADDRESS_LITERAL = /@\[[^\]]*\]$/;

/** How addresses are read. */
export interface AddressRules {
  /** Accept `user@[10.0.0.5]` (config `email.allow_address_literals`). */
  allowLiterals: boolean;
}

/** Whether `address` is a plain `local@domain` address (no quoted local parts, no comments). */
export function isEmailAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1 || address.length > 254) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  if (/^\[\d{1,3}(\.\d{1,3}){3}\]$/.test(domain)) return true;
  return domain.split('.').every((label) => label.length <= 63 && LABEL.test(label));
}

/**
 * The mailboxes of one recipient field (`to`, `cc`, `bcc`, `reply_to`): a string of one or more
 * comma-separated addresses, or an array of such strings. Throws APF_INVALID_PARAMS naming the
 * first bad entry by its position (`to[1] 'bob@' is not an email address`). An address whose
 * domain is an IP address (`x@[10.0.0.5]`) is refused unless `rules.allowLiterals`: the trusted
 * relay would deliver to that address directly, inside the network included.
 */
export function parseRecipients(
  field: string,
  value: string | readonly string[] | undefined,
  rules: AddressRules,
  indexed = true,
): Mailbox[] {
  if (value === undefined) return [];
  const name = (index: number) => (indexed ? `${field}[${index}]` : field);
  const mailboxes: Mailbox[] = [];
  for (const raw of typeof value === 'string' ? [value] : value) {
    // A line break in a header value is how headers are injected: refused, not cleaned.
    if (CONTROL.test(raw))
      throw invalid(`${name(mailboxes.length)} ${quote(raw)} contains a line break or control character`);
    const parsed = addressparser(raw);
    if (parsed.length === 0) throw invalid(`${name(mailboxes.length)} is empty: give an email address`);
    for (const entry of parsed) {
      const at = `${name(mailboxes.length)}`;
      if ('group' in entry && entry.group !== undefined) {
        throw invalid(`${at} ${quote(raw)} is an address group: list the addresses one by one`);
      }
      const address = 'address' in entry && typeof entry.address === 'string' ? entry.address : '';
      if (!isEmailAddress(address))
        throw invalid(`${at} ${quote(address || entry.name || raw)} is not an email address`);
      if (!rules.allowLiterals && ADDRESS_LITERAL.test(address))
        throw invalid(
          `${at} ${quote(address)} names its mail server by IP address (an address literal): refused, as the SMTP server would deliver to that address directly; use a domain name (an administrator may allow literals with email.allow_address_literals: true)`,
        );
      mailboxes.push({ name: entry.name ?? '', address });
    }
  }
  return mailboxes;
}

/** The one mailbox of `from`; throws APF_INVALID_PARAMS when it is not exactly one valid address. */
export function parseSender(field: string, value: string, rules: AddressRules): Mailbox {
  const mailboxes = parseRecipients(field, value, rules, false);
  const [first] = mailboxes;
  if (!first || mailboxes.length > 1) throw invalid(`${field} ${quote(value)} must be exactly one email address`);
  return first;
}

function quote(text: string): string {
  const short = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return `'${short.replace(/[\u0000-\u001f\u007f]/g, ' ')}'`;
}

function invalid(detail: string): ApflowError {
  return new ApflowError('APF_INVALID_PARAMS', { message: `${ID}: ${detail}` });
}
