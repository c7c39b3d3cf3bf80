import { definePlugin } from 'apflow';
import { SshSettings } from './settings.ts';
import { createSshExecutor } from './ssh-executor.ts';

export { SshSettings, DEFAULT_MAX_OUTPUT_BYTES } from './settings.ts';
export { SshInputs } from './inputs.ts';
export { fingerprintOf } from './host-key-check.ts';

/**
 * `@apflow/ssh`: `ssh_executor`, one command on a remote host over SSH (ssh2). The host goes
 * through the outbound policy; its key is checked against `host_key_sha256` / `known_hosts`.
 * Server-wide settings live in the config section `ssh`.
 */
export default definePlugin({
  name: 'ssh',
  version: '0.1.0',
  description: 'ssh_executor: runs a command on a remote host over SSH, host keys verified',
  config: { key: 'ssh', schema: SshSettings },
  setup(app) {
    app.executors.register(createSshExecutor(app.settings));
  },
});
