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
 * Bytes to drop from the end of `bytes` so that it does not end inside a UTF-8 sequence: a lead
 * byte whose sequence the buffer does not hold whole. Complete characters (U+FFFD included) stay.
 */
function incompleteTail(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/**
 * Splits the Engine's multiplexed log stream of a non-TTY container (each frame an 8-byte header
 * then its payload) into stdout and stderr, keeping at most `limit` bytes of payload in all.
 * Frames may arrive cut anywhere, headers included. Payload is kept as it arrives (never a whole
 * frame waits in a buffer), and once the limit is reached nothing more is kept: memory stays
 * within `limit` plus one header, and each byte is handled once.
 */
export class LogDemuxer {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerBytes = 0;
  /** The stream of the frame being read, and how much of its payload is still to come. */
  private stream = STDOUT;
  private remaining = 0;
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
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.keep(chunk.subarray(at, at + take));
        this.remaining -= take;
        at += take;
        continue;
      }
      const take = Math.min(HEADER_BYTES - this.headerBytes, chunk.length - at);
      chunk.copy(this.header, this.headerBytes, at, at + take);
      this.headerBytes += take;
      at += take;
      if (this.headerBytes === HEADER_BYTES) {
        this.stream = this.header[0] === STDERR ? STDERR : STDOUT;
        this.remaining = this.header.readUInt32BE(4);
        this.headerBytes = 0;
      }
    }
  }

  /** Records that the reader stopped reading before the stream's end. */
  markCut(): void {
    this.cut = true;
  }

  /** The output so far (a frame cut off at the end counts as dropped, and so does a character cut in two there). */
  result(): CapturedLogs {
    const truncated = this.cut || this.remaining > 0 || this.headerBytes > 0;
    const last = this.parts.at(-1);
    if (truncated && last) last.bytes = last.bytes.subarray(0, last.bytes.length - incompleteTail(last.bytes));
    const text = (stream?: number) =>
      Buffer.concat(
        this.parts.filter((part) => stream === undefined || part.stream === stream).map((part) => part.bytes),
      ).toString('utf8');
    return { stdout: text(STDOUT), stderr: text(STDERR), logs: text(), truncated };
  }

  private keep(payload: Buffer): void {
    const room = this.limit - this.kept;
    const kept = payload.length <= room ? payload : payload.subarray(0, Math.max(0, room));
    if (kept.length < payload.length) this.cut = true;
    if (kept.length === 0) return;
    this.kept += kept.length;
    // A copy: the part must not pin the whole chunk it was cut from.
    this.parts.push({ stream: this.stream, bytes: Buffer.from(kept) });
  }
}
