import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const CHUNK = 64 * 1024;
/** How often `logs -f` looks for new lines (a poll also sees truncation and rotation, which fs.watch may miss). */
const FOLLOW_POLL_MS = 250;

/**
 * The last `count` lines of `file` after byte `from`, read from its end so a large log costs
 * little, and the size read up to (where following goes on from). Throws ENOENT when there is
 * no such file.
 */
export function lastLines(file: string, count: number, from = 0): { text: string; size: number } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (count <= 0 || size <= from) return { text: '', size };
    const chunks: Buffer[] = [];
    let start = size;
    let newlines = 0;
    // One newline more than lines wanted (the last line ends with one), or the file's start.
    while (start > from && newlines <= count) {
      const length = Math.min(CHUNK, start - from);
      start -= length;
      const chunk = Buffer.alloc(length);
      readSync(fd, chunk, 0, length, start);
      chunks.unshift(chunk);
      for (const byte of chunk) if (byte === 0x0a) newlines += 1;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const lines = text.split('\n');
    const ended = lines.at(-1) === '';
    if (ended) lines.pop();
    const kept = lines.slice(-count).join('\n');
    return { text: kept + (ended ? '\n' : ''), size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes what is appended to `file` after byte `from` until `signal` aborts, like `tail -F`: a
 * file truncated in place (copytruncate) is read again from its start, a file replaced (rotated
 * by renaming) is read to its end and then the new one from its start, and a missing file is
 * waited for.
 */
export async function followLog(
  file: string,
  from: number,
  write: (chunk: Buffer) => void,
  signal: AbortSignal,
): Promise<void> {
  let open: { fd: number; ino: number; position: number } | undefined;
  let position = from;
  const buffer = Buffer.alloc(CHUNK);
  const drain = () => {
    if (!open) return;
    for (;;) {
      const read = readSync(open.fd, buffer, 0, CHUNK, open.position);
      if (read === 0) return;
      open.position += read;
      write(Buffer.from(buffer.subarray(0, read)));
    }
  };
  try {
    while (!signal.aborted) {
      const current = statOrNull(file);
      if (open && current && (current.ino !== open.ino || current.size < open.position)) {
        drain();
        closeSync(open.fd);
        open = undefined;
        position = 0;
      }
      if (!open && current) {
        const fd = openSync(file, 'r');
        open = { fd, ino: fstatSync(fd).ino, position: Math.min(position, fstatSync(fd).size) };
      }
      drain();
      await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => {});
    }
  } finally {
    if (open) closeSync(open.fd);
  }
}

function statOrNull(file: string): { ino: number; size: number } | null {
  try {
    const { ino, size } = statSync(file);
    return { ino, size };
  } catch {
    return null;
  }
}
