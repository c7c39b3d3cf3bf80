import { ApflowError, isRecord, isUnsafeKey } from 'apflow';
import type { AttachmentInput } from './email-inputs.ts';

/** An attachment ready for nodemailer: the bytes themselves, never a file path or URL. */
export interface MailAttachment {
  filename: string;
  content: Buffer;
  contentType?: string;
}

const ID = 'send_email_executor';
/** Keys that would make nodemailer read a file or fetch a URL on the server. */
const READING_KEYS = ['path', 'href'] as const;
const CONTROL = /[\u0000-\u001f\u007f]/;
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(\\s*;.*)?$`);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Builds the attachments from their inputs: inline `content` (utf8 or base64), or `from`, a key or
 * dotted path of the inputs (where dependency results are merged). Refuses `path` and `href`,
 * and a total size over `maxBytes`.
 */
export function buildAttachments(
  items: readonly AttachmentInput[] | undefined,
  inputs: Readonly<Record<string, unknown>>,
  maxBytes: number,
): MailAttachment[] {
  const built: MailAttachment[] = [];
  let total = 0;
  for (const [index, item] of (items ?? []).entries()) {
    const at = `attachments[${index}]`;
    for (const key of READING_KEYS) {
      if (Object.hasOwn(item, key)) {
        throw new ApflowError('APF_FORBIDDEN', {
          message: `${ID}: ${at}.${key} is refused: attachments never read files or URLs on the server; give content (utf8 or base64) or from: '<input key or dotted path>' (a dependency's result)`,
        });
      }
    }
    if (CONTROL.test(item.filename)) throw invalid(`${at}.filename contains a line break or control character`);
    if (item.content_type !== undefined && CONTROL.test(item.content_type))
      throw invalid(`${at}.content_type contains a line break or control character`);
    if (item.content_type !== undefined && !CONTENT_TYPE.test(item.content_type))
      throw invalid(`${at}.content_type '${item.content_type}' is not a MIME type such as text/csv`);
    if ((item.content === undefined) === (item.from === undefined))
      throw invalid(`${at} needs exactly one of content and from`);
    const source = item.content !== undefined ? { text: item.content } : fromInputs(inputs, item.from ?? '', at);
    const content = toBytes(source.text, item.encoding ?? 'utf8', at);
    total += content.length;
    if (total > maxBytes)
      throw invalid(
        `the attachments come to more than ${maxBytes} bytes (email.max_attachment_bytes) at ${at}: send less or raise the limit`,
      );
    const contentType = item.content_type ?? ('contentType' in source ? source.contentType : undefined);
    built.push({ filename: item.filename, content, ...(contentType ? { contentType } : {}) });
  }
  return built;
}

/** The content `path` names in the inputs: text as is, any other JSON value serialized. */
function fromInputs(
  inputs: Readonly<Record<string, unknown>>,
  path: string,
  at: string,
): { text: string; contentType?: string } {
  const segments = Object.hasOwn(inputs, path) ? [path] : path.split('.');
  // The task's own SMTP password must not be mailed away, even by its author's mistake.
  if (segments[0] === 'smtp') throw invalid(`${at}.from '${path}' may not name the smtp settings`);
  let value: unknown = inputs;
  for (const segment of segments) {
    value = child(value, segment);
    if (value === undefined)
      throw invalid(
        `${at}.from '${path}' names nothing in the inputs (a dependency's result is merged under its task id, or by field name with schemas.input_schema)`,
      );
  }
  if (typeof value === 'string') return { text: value };
  if (value === null) throw invalid(`${at}.from '${path}' is null: there is no content to attach`);
  if (typeof value === 'object') return { text: JSON.stringify(value, null, 2), contentType: 'application/json' };
  return { text: String(value) };
}

/** The own value under `key` (an index of an array), or undefined. */
function child(holder: unknown, key: string): unknown {
  if (isUnsafeKey(key)) return undefined;
  if (Array.isArray(holder)) {
    const items: readonly unknown[] = holder;
    return /^\d+$/.test(key) ? items[Number(key)] : undefined;
  }
  return isRecord(holder) && Object.hasOwn(holder, key) ? holder[key] : undefined;
}

function toBytes(text: string, encoding: 'base64' | 'utf8', at: string): Buffer {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8');
  const compact = text.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1)
    throw invalid(`${at} is not valid base64 (encoding: 'base64')`);
  return Buffer.from(compact, 'base64');
}

function invalid(detail: string): ApflowError {
  return new ApflowError('APF_INVALID_PARAMS', { message: `${ID}: ${detail}` });
}
