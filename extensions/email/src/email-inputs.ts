import { Type, type Static } from 'apflow';
import { MAX_TIMEOUT_S } from './email-settings.ts';

const Recipients = Type.Union([Type.String(), Type.Array(Type.String())], {
  description: "One address ('Ann <ann@example.com>'), several separated by commas, or an array of them",
});

const Attachment = Type.Object(
  {
    filename: Type.String({ minLength: 1 }),
    content: Type.Optional(Type.String({ description: 'The content, utf8 text or base64 (see encoding)' })),
    encoding: Type.Optional(Type.Union([Type.Literal('base64'), Type.Literal('utf8')], { default: 'utf8' })),
    content_type: Type.Optional(Type.String({ minLength: 1 })),
    from: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Takes the content from the inputs (dependency results are merged there): a key or a dotted path such as '<dependency id>.body'",
      }),
    ),
  },
  // Unknown keys reach the executor, which refuses `path` and `href` with a message saying why.
  { description: 'Exactly one of content and from; never path or href' },
);

/** The inputs of `send_email_executor`. */
export const EmailInputs = Type.Object({
  to: Recipients,
  cc: Type.Optional(Recipients),
  bcc: Type.Optional(Recipients),
  from: Type.Optional(Type.String({ minLength: 1, description: 'Defaults to email.smtp.from' })),
  reply_to: Type.Optional(Recipients),
  subject: Type.String(),
  text: Type.Optional(Type.String()),
  html: Type.Optional(Type.String()),
  attachments: Type.Optional(Type.Array(Attachment)),
  smtp: Type.Optional(
    Type.Object(
      {
        host: Type.String({ minLength: 1 }),
        port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
        secure: Type.Optional(Type.Boolean()),
        user: Type.Optional(Type.String()),
        password: Type.Optional(Type.String()),
      },
      {
        additionalProperties: false,
        description: 'A server of the task’s own; refused unless the config sets email.allow_task_smtp: true',
      },
    ),
  ),
  timeout: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_TIMEOUT_S,
      description: 'Seconds for the whole send, at most 86400 (default email.timeout_s)',
    }),
  ),
});
/** The inputs of `send_email_executor` as `execute` gets them (checked against {@link EmailInputs}). */
export type EmailInputs = Static<typeof EmailInputs>;
/** One entry of `attachments`. */
export type AttachmentInput = Static<typeof Attachment>;
