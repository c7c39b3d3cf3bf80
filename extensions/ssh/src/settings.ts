import { Type, type Static } from 'apflow';

/** Default cap of stdout and of stderr, each: 1 MiB. */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

/** The plugin's config section `ssh` (server-wide; tasks cannot change it). */
export const SshSettings = Type.Object(
  {
    require_host_key: Type.Boolean({
      default: false,
      description: 'Refuse a task that gives neither host_key_sha256 nor known_hosts (no unverified hosts)',
    }),
    max_output_bytes: Type.Integer({
      minimum: 1,
      default: DEFAULT_MAX_OUTPUT_BYTES,
      description: 'Most bytes of stdout, and of stderr, kept in the result; the rest is read and dropped',
    }),
    key_dirs: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'Folders a task may name a key_file in (none: key_file is refused)',
    }),
    known_hosts: Type.String({
      default: '',
      description: 'known_hosts lines of hosts every task is checked against, beside its own known_hosts',
    }),
  },
  { additionalProperties: false, default: {} },
);

/** The `ssh` config section, defaults filled in. */
export type SshSettings = Static<typeof SshSettings>;
