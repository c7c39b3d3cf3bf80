import { ApflowError, Type, type Static } from 'apflow';

const SmtpSettings = Type.Object(
  {
    host: Type.Optional(Type.String({ minLength: 1 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    secure: Type.Optional(Type.Boolean()),
    user: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    from: Type.Optional(Type.String({ minLength: 1 })),
    reject_unauthorized: Type.Optional(Type.Boolean()),
    require_tls: Type.Optional(
      Type.Boolean({
        description:
          'Refuse to send without TLS (STARTTLS must succeed). Default: true when a user is set; false only for a local relay without TLS',
      }),
    ),
    name: Type.Optional(
      Type.String({ minLength: 1, pattern: '^[^\\s]+$', description: 'The EHLO name (default: the host name)' }),
    ),
  },
  { additionalProperties: false },
);

/** Longest timeout (a day): Node timers fire at once past 2^31 ms. */
export const MAX_TIMEOUT_S = 86_400;

/** The config section `email` (its schema, checked when the plugin loads). */
export const EmailSettings = Type.Object(
  {
    smtp: Type.Optional(SmtpSettings),
    allow_task_smtp: Type.Boolean({ default: false }),
    max_recipients: Type.Integer({ minimum: 1, default: 50 }),
    max_attachment_bytes: Type.Integer({ minimum: 0, default: 10 * 1024 * 1024 }),
    timeout_s: Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMEOUT_S, default: 60 }),
    allow_address_literals: Type.Boolean({
      default: false,
      description:
        'Allow addresses whose domain is an IP address (user@[10.0.0.5]): the relay would deliver there directly',
    }),
    ca: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'PEM CA certificates trusted, beside the system ones, for TLS to SMTP servers (configured and tasks’)',
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);
/** The `email` config section as the plugin gets it, defaults filled in. */
export type EmailSettings = Static<typeof EmailSettings>;

/** An SMTP server to send through, with every default filled in. */
export interface SmtpServer {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  /** TLS certificate checks (only the configured server may turn them off). */
  rejectUnauthorized: boolean;
  /** Fail unless the session is encrypted before anything (the login) is sent. */
  requireTLS: boolean;
  /** The EHLO name; undefined: nodemailer's (the machine's host name). */
  name?: string;
}

/** The server the administrator configured (`email.smtp` and the `APFLOW_SMTP_*` variables). */
export interface ConfiguredServer {
  /** Undefined when no host is configured. */
  server?: SmtpServer;
  from?: string;
}

/** Environment variables read by the plugin; each wins over its `email.smtp` key, as the kernel's do. */
export const SMTP_ENV = {
  host: 'APFLOW_SMTP_HOST',
  port: 'APFLOW_SMTP_PORT',
  secure: 'APFLOW_SMTP_SECURE',
  user: 'APFLOW_SMTP_USER',
  password: 'APFLOW_SMTP_PASSWORD',
  from: 'APFLOW_SMTP_FROM',
} as const;

/** Defaults of an SMTP server: port 465 means implicit TLS, otherwise 587 with STARTTLS when offered. */
export function withDefaults(host: string, port: number | undefined, secure: boolean | undefined) {
  const isSecure = secure ?? port === 465;
  return { host, port: port ?? (isSecure ? 465 : 587), secure: isSecure };
}

/** The configured server from the section and the environment; throws APF_CONFIG_INVALID on a bad variable. */
export function configuredServer(
  settings: EmailSettings,
  env: Readonly<Record<string, string | undefined>>,
): ConfiguredServer {
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const smtp = settings.smtp ?? {};
  const host = read(SMTP_ENV.host) ?? smtp.host;
  const portText = read(SMTP_ENV.port);
  const secureText = read(SMTP_ENV.secure);
  const port = portText === undefined ? smtp.port : parsePort(portText);
  const secure = secureText === undefined ? smtp.secure : parseBoolean(SMTP_ENV.secure, secureText);
  const from = read(SMTP_ENV.from) ?? smtp.from;
  if (host === undefined) return { from };
  const user = read(SMTP_ENV.user) ?? smtp.user;
  const password = read(SMTP_ENV.password) ?? smtp.password;
  const defaults = withDefaults(host, port, secure);
  return {
    server: {
      ...defaults,
      ...(user === undefined ? {} : { user }),
      ...(password === undefined ? {} : { password }),
      rejectUnauthorized: smtp.reject_unauthorized ?? true,
      // A login over a connection left plain (STARTTLS stripped by a machine in the middle) gives the password away.
      requireTLS: !defaults.secure && (smtp.require_tls ?? user !== undefined),
      ...(smtp.name === undefined ? {} : { name: smtp.name }),
    },
    from,
  };
}

function parsePort(text: string): number {
  const port = Number(text.trim());
  if (Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  throw new ApflowError('APF_CONFIG_INVALID', {
    message: `${SMTP_ENV.port} must be a port number (1-65535), not '${text}'`,
  });
}

function parseBoolean(name: string, text: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text.trim())) return true;
  if (/^(0|false|no|off)$/i.test(text.trim())) return false;
  throw new ApflowError('APF_CONFIG_INVALID', { message: `${name} must be true or false, not '${text}'` });
}
