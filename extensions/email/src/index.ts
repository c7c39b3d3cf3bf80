import { definePlugin } from 'apflow';
import { configuredServer, EmailSettings } from './email-settings.ts';
import { createSendEmailExecutor } from './send-email-executor.ts';

export { EmailSettings, SMTP_ENV } from './email-settings.ts';
export { EmailInputs } from './email-inputs.ts';
export { isEmailAddress } from './recipients.ts';

/**
 * `@apflow/email`: `send_email_executor`, mail over SMTP through the server of the config section
 * `email.smtp` (or the `APFLOW_SMTP_*` variables).
 */
export default definePlugin({
  name: 'email',
  version: '0.1.0',
  description: 'send_email_executor: email over SMTP (nodemailer) through the configured server',
  config: { key: 'email', schema: EmailSettings },
  setup(app) {
    const settings = app.settings;
    const configured = configuredServer(settings, app.env);
    app.executors.register(createSendEmailExecutor({ settings, configured }));
    // Where mail goes, never with what credentials.
    const server = configured.server;
    app.log.debug(
      { smtp: server ? `${server.host}:${server.port}` : null, allow_task_smtp: settings.allow_task_smtp },
      'email ready',
    );
  },
});
