import { open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import ssh2 from 'ssh2';
import { ApflowError } from 'apflow';

/** Largest key file read (an OpenSSH RSA-16384 key is far below this). */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** How the run authenticates (never logged, never in a result or message). */
export interface Credentials {
  password?: string;
  privateKey?: string;
  passphrase?: string;
}

/** The inputs credentials come from. */
export interface CredentialInputs {
  password?: string;
  private_key?: string;
  key_file?: string;
  passphrase?: string;
}

/**
 * The credentials of a run: `password`, and a private key from `private_key` or from `key_file`
 * (only inside a folder of `ssh.key_dirs`), checked to decrypt with `passphrase` before any
 * connection.
 */
export async function loadCredentials(inputs: CredentialInputs, keyDirs: readonly string[]): Promise<Credentials> {
  if (inputs.private_key !== undefined && inputs.key_file !== undefined) {
    throw new ApflowError('APF_INVALID_PARAMS', { message: 'ssh_executor: give private_key or key_file, not both' });
  }
  if (inputs.password === undefined && inputs.private_key === undefined && inputs.key_file === undefined) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: 'ssh_executor: no credentials: give password, private_key or key_file',
    });
  }
  const privateKey = inputs.key_file === undefined ? inputs.private_key : await readKeyFile(inputs.key_file, keyDirs);
  if (privateKey !== undefined) {
    const parsed = ssh2.utils.parseKey(privateKey, inputs.passphrase);
    if (parsed instanceof Error) {
      const source = inputs.key_file === undefined ? 'private_key' : `key_file ${inputs.key_file}`;
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: `ssh_executor: ${source} cannot be used: ${parsed.message} (an encrypted key needs its passphrase)`,
      });
    }
  }
  return { password: inputs.password, privateKey, passphrase: inputs.passphrase };
}

/** Reads a key file named by a task: a file-system reach, allowed only under `ssh.key_dirs`. */
async function readKeyFile(path: string, keyDirs: readonly string[]): Promise<string> {
  if (!keyDirs.length) {
    throw new ApflowError('APF_FORBIDDEN', {
      message:
        'ssh_executor: key_file is refused: no key folder is allowed on this server (config ssh.key_dirs); pass the key as private_key instead',
    });
  }
  if (!isAbsolute(path)) {
    throw new ApflowError('APF_INVALID_PARAMS', { message: `ssh_executor: key_file must be an absolute path` });
  }
  // Links are followed first, so a link inside a key folder cannot point outside it.
  const real = await realpath(path).catch(() => undefined);
  const dirs = await Promise.all(keyDirs.map((dir) => realpath(dir).catch(() => undefined)));
  const inside = real !== undefined && dirs.some((dir) => dir !== undefined && isInside(real, dir));
  if (!inside) {
    // The same answer for a missing file and a file outside: a task cannot probe the file system.
    throw new ApflowError('APF_FORBIDDEN', {
      message: `ssh_executor: key_file ${path} is refused: it is not an existing file inside a folder of ssh.key_dirs`,
    });
  }
  const handle = await open(real, 'r').catch((error: unknown) => {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new ApflowError('APF_INVALID_PARAMS', { message: `ssh_executor: key_file ${path} cannot be read (${code})` });
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > MAX_KEY_FILE_BYTES) {
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: `ssh_executor: key_file ${path} is not a key file (a regular file of at most ${MAX_KEY_FILE_BYTES} bytes)`,
      });
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}
