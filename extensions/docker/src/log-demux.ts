/** Bytes of one frame header of the Engine's multiplexed stream: type, 3 zero bytes, size (uint32 BE). */
const HEADER_BYTES = 8;
const STDOUT = 1;
const STDERR = 2;

/** A container's output, split by stream and in arrival order, capped at a byte limit. */
export interface CapturedLogs {
  stdout: string;
  stderr: string;
  /** Both streams interleaved as the container wrote them. */
  logs: string;
  /** Whether output past the limit was dropped. */
  truncated: boolean;
}

/**
 * Splits the Engine's multiplexed log stream of a non-TTY container (each frame an 8-byte header
 * then its payload) into stdout and stderr, keeping at most `limit` bytes of payload in all.
 * Frames may arrive cut anywhere, headers included: the unread rest waits for the next chunk.
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private readonly parts: { stream: number; bytes: Buffer }[] = [];
  private kept = 0;
  private cut = false;

  constructor(private readonly limit: number) {}

  /** Whether the limit is reached: further output only counts as dropped. */
  get full(): boolean {
    return this.kept >= this.limit;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Buffer): void {
    let buffer = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buffer.length >= HEADER_BYTES) {
      const size = buffer.readUInt32BE(4);
      if (buffer.length < HEADER_BYTES + size) break;
      this.keep(buffer[0] ?? STDOUT, buffer.subarray(HEADER_BYTES, HEADER_BYTES + size));
      buffer = buffer.subarray(HEADER_BYTES + size);
    }
    // A copy: the rest must not pin the whole chunk it was cut from.
    this.pending = Buffer.from(buffer);
  }

  /** Records that the reader stopped reading before the stream's end. */
  markCut(): void {
    this.cut = true;
  }

  /** The output so far (a frame cut off at the end counts as dropped). */
  result(): CapturedLogs {
    const truncated = this.cut || this.pending.length > 0;
    const text = (stream?: number) => {
      const bytes = Buffer.concat(
        this.parts.filter((part) => stream === undefined || part.stream === stream).map((part) => part.bytes),
      ).toString('utf8');
      // A cut at the limit may split a character, which then decodes as U+FFFD at the very end.
      return truncated ? bytes.replace(/\uFFFD$/, '') : bytes;
    };
    return { stdout: text(STDOUT), stderr: text(STDERR), logs: text(), truncated };
  }

  private keep(stream: number, payload: Buffer): void {
    const room = this.limit - this.kept;
    const kept = payload.length <= room ? payload : payload.subarray(0, Math.max(0, room));
    if (kept.length < payload.length) this.cut = true;
    if (kept.length === 0) return;
    this.kept += kept.length;
    this.parts.push({ stream: stream === STDERR ? STDERR : STDOUT, bytes: Buffer.from(kept) });
  }
}
