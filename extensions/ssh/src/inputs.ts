import { Type, type Static } from 'apflow';

/** Longest `timeout` (a day): Node timers fire at once past 2^31 ms, so the bound keeps them honest. */
export const MAX_TIMEOUT_S = 86_400;

const Fingerprint = Type.String({ pattern: '^(SHA256:)?[A-Za-z0-9+/]{43}=?$' });
const Variables = Type.Record(Type.String(), Type.String());

/** The inputs of `ssh_executor` (the original's names, plus host-key and output options). */
export const SshInputs = Type.Object({
  host: Type.String({ minLength: 1, description: 'Host name or address (checked by the outbound policy)' }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 22 })),
  username: Type.String({ minLength: 1 }),
  password: Type.Optional(Type.String({ description: 'Secret: stored sealed, never shown' })),
  private_key: Type.Optional(Type.String({ description: 'Private key text (OpenSSH or PEM). Secret' })),
  key_file: Type.Optional(
    Type.String({ description: 'Absolute path of a private key file on the server, inside config ssh.key_dirs' }),
  ),
  passphrase: Type.Optional(Type.String({ description: 'Passphrase of an encrypted key. Secret' })),
  command: Type.String({ minLength: 1, description: 'Command line run by the remote login shell' }),
  env: Type.Optional(Variables),
  secret_env: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: 'Like env, for values that are secrets (sealed, scrubbed)',
    }),
  ),
  env_mode: Type.Optional(
    Type.Union([Type.Literal('export'), Type.Literal('request')], {
      description: 'export (default): set by the remote shell; request: SSH env requests (server AcceptEnv)',
    }),
  ),
  timeout: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_TIMEOUT_S,
      default: 60,
      description: 'Seconds for connecting and running (at most 86400)',
    }),
  ),
  host_key_sha256: Type.Optional(
    Type.Union([Fingerprint, Type.Array(Fingerprint, { minItems: 1 })], {
      description: 'The host key fingerprint as `ssh-keygen -lf` prints it (SHA256:…), or several',
    }),
  ),
  known_hosts: Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.String())], { description: 'known_hosts text or lines for the host' }),
  ),
});

/** Inputs as `execute` gets them. */
export type SshInputs = Static<typeof SshInputs>;
