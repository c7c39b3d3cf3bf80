import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
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
  /** Whether the send fails unless the session is encrypted first (the login is never sent in the clear). */
  requireTLS: boolean;
  options: SMTPTransportOptions;
  /** The password and the forms it travels in (AUTH PLAIN and LOGIN), to take out of any text. */
  secrets: string[];
}

const ID = 'send_email_executor';
/**
 * The EHLO name given to a task's server: an address literal, as nodemailer itself falls back to,
 * so a server a task names learns nothing of this machine (its host name).
 */
const TASK_EHLO_NAME = '[127.0.0.1]';

/**
 * The servers a message may go to, in order (the next is tried only when one cannot be reached at
 * all): the task's own `smtp` (only with `email.allow_task_smtp`, through the outbound policy: one
 * target per checked address, the name as TLS servername), else the configured one (the
 * administrator's: trusted, not subject to the task policy, its name resolved by nodemailer).
 */
export async function chooseTargets(
  taskSmtp: EmailInputs['smtp'],
  configured: ConfiguredServer,
  settings: EmailSettings,
  outbound: Outbound,
): Promise<SmtpTarget[]> {
  if (taskSmtp === undefined) {
    if (!configured.server)
      throw new ApflowError('APF_NOT_FOUND', {
        message: `${ID}: no SMTP server is configured: set email.smtp.host in the config (or APFLOW_SMTP_HOST)`,
      });
    return [target(configured.server, 'config', configured.server.host, settings.ca)];
  }
  if (!settings.allow_task_smtp)
    throw new ApflowError('APF_FORBIDDEN', {
      message: `${ID}: the task's own smtp settings are refused: mail goes through the configured server (email.smtp); an administrator may allow per-task servers with email.allow_task_smtp: true`,
    });
  const defaults = withDefaults(taskSmtp.host, taskSmtp.port, taskSmtp.secure);
  // The configured credentials never go to a task's server: only what the task gave is used,
  // and never over a plain connection (no opt-out for a task's server).
  const server: SmtpServer = {
    ...defaults,
    ...(taskSmtp.user === undefined ? {} : { user: taskSmtp.user }),
    ...(taskSmtp.password === undefined ? {} : { password: taskSmtp.password }),
    rejectUnauthorized: true,
    requireTLS: !defaults.secure && taskSmtp.user !== undefined,
    name: TASK_EHLO_NAME,
  };
  let addresses: { address: string }[];
  try {
    addresses = await outbound.checkHost(server.host, server.port);
    if (!addresses.length) throw new Error(`${server.host} does not resolve`);
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
  return addresses.map(({ address }) => target(server, 'task', address, settings.ca));
}

function target(server: SmtpServer, origin: SmtpTarget['origin'], connectTo: string, ca?: string): SmtpTarget {
  const name = isIP(server.host) ? undefined : server.host;
  const options: SMTPTransportOptions = {
    host: connectTo,
    port: server.port,
    secure: server.secure,
    requireTLS: server.requireTLS,
    ...(server.name === undefined ? {} : { name: server.name }),
    // SNI and certificate checks use the name, while the socket goes to the checked address.
    ...(name ? { servername: name } : {}),
    tls: {
      rejectUnauthorized: server.rejectUnauthorized,
      ...(name ? { servername: name } : {}),
      // Node's `ca` replaces the system roots: keep them and add the configured CAs.
      ...(ca === undefined ? {} : { ca: [...rootCertificates, ca] }),
    },
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
    requireTLS: server.requireTLS,
    options,
    secrets: secretForms(server.user ?? '', server.password),
  };
}

function secretForms(user: string, password: string | undefined): string[] {
  if (!password) return [];
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return [password, base64(password), base64(`\u0000${user}\u0000${password}`)];
}
