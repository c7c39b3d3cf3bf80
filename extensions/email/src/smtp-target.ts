import { isIP } from 'node:net';
import { ApflowError, refusalDetail, type Outbound } from 'apflow';
import type { SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import type { EmailInputs } from './email-inputs.ts';
import { withDefaults, type ConfiguredServer, type EmailSettings, type SmtpServer } from './email-settings.ts';

/** Where one message goes, and what must never be shown of it. */
export interface SmtpTarget {
  /** `host:port` as named (for messages and logs). */
  label: string;
  /** Whose server: the administrator's (`config`) or the task's own (`task`). */
  origin: 'config' | 'task';
  user?: string;
  options: SMTPTransportOptions;
  /** The password and the forms it travels in (AUTH PLAIN and LOGIN), to take out of any text. */
  secrets: string[];
}

const ID = 'send_email_executor';

/**
 * The server a message goes to: the task's own `smtp` (only with `email.allow_task_smtp`, through
 * the outbound policy: connect to the checked address, the name as TLS servername), else the
 * configured one (the administrator's: trusted, not subject to the task policy).
 */
export async function chooseTarget(
  taskSmtp: EmailInputs['smtp'],
  configured: ConfiguredServer,
  settings: EmailSettings,
  outbound: Outbound,
): Promise<SmtpTarget> {
  if (taskSmtp === undefined) {
    if (!configured.server)
      throw new ApflowError('APF_NOT_FOUND', {
        message: `${ID}: no SMTP server is configured: set email.smtp.host in the config (or APFLOW_SMTP_HOST)`,
      });
    return target(configured.server, 'config', configured.server.host);
  }
  if (!settings.allow_task_smtp)
    throw new ApflowError('APF_FORBIDDEN', {
      message: `${ID}: the task's own smtp settings are refused: mail goes through the configured server (email.smtp); an administrator may allow per-task servers with email.allow_task_smtp: true`,
    });
  // The configured credentials never go to a task's server: only what the task gave is used.
  const server: SmtpServer = {
    ...withDefaults(taskSmtp.host, taskSmtp.port, taskSmtp.secure),
    ...(taskSmtp.user === undefined ? {} : { user: taskSmtp.user }),
    ...(taskSmtp.password === undefined ? {} : { password: taskSmtp.password }),
    rejectUnauthorized: true,
  };
  let address: string;
  try {
    const [first] = await outbound.checkHost(server.host, server.port);
    if (!first) throw new Error(`${server.host} does not resolve`);
    address = first.address;
  } catch (error) {
    const refused = refusalDetail(error);
    if (refused)
      throw new ApflowError('APF_FORBIDDEN', {
        message: `${ID}: the SMTP server ${refused.target} is refused: ${refused.reason}`,
      });
    throw new ApflowError('APF_UNAVAILABLE', {
      message: `${ID}: the SMTP server ${server.host}:${server.port} cannot be reached: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  return target(server, 'task', address);
}

function target(server: SmtpServer, origin: SmtpTarget['origin'], connectTo: string): SmtpTarget {
  const name = isIP(server.host) ? undefined : server.host;
  const options: SMTPTransportOptions = {
    host: connectTo,
    port: server.port,
    secure: server.secure,
    // SNI and certificate checks use the name, while the socket goes to the checked address.
    ...(name ? { servername: name } : {}),
    tls: { rejectUnauthorized: server.rejectUnauthorized, ...(name ? { servername: name } : {}) },
    ...(server.user === undefined ? {} : { auth: { user: server.user, pass: server.password ?? '' } }),
    // A closed send (cancel, timeout) drops the socket at once instead of waiting for the server.
    socketCloseTimeout: 0,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
  };
  return {
    label: `${server.host}:${server.port}`,
    origin,
    ...(server.user === undefined ? {} : { user: server.user }),
    options,
    secrets: secretForms(server.user ?? '', server.password),
  };
}

function secretForms(user: string, password: string | undefined): string[] {
  if (!password) return [];
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return [password, base64(password), base64(`\u0000${user}\u0000${password}`)];
}
