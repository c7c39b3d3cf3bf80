/** A stream's output, kept up to a limit; the rest is counted and dropped. */
export interface CappedOutput {
  push(chunk: Buffer): void;
  /** The kept bytes as UTF-8 (a character cut at the limit is dropped whole). */
  text(): string;
  /** Bytes the stream produced in all. */
  readonly total: number;
  /** Whether bytes were dropped. */
  readonly truncated: boolean;
}

/** Collects at most `limit` bytes of a stream. */
export function cappedOutput(limit: number): CappedOutput {
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  return {
    push(chunk) {
      total += chunk.length;
      if (kept >= limit) return;
      const part = chunk.length > limit - kept ? chunk.subarray(0, limit - kept) : chunk;
      chunks.push(part);
      kept += part.length;
    },
    text() {
      const bytes = Buffer.concat(chunks);
      return (total > kept ? bytes.subarray(0, completeLength(bytes)) : bytes).toString('utf8');
    },
    get total() {
      return total;
    },
    get truncated() {
      return total > kept;
    },
  };
}

/** The length of `bytes` without a UTF-8 sequence cut short at its end. */
function completeLength(bytes: Buffer): number {
  // A sequence is at most 4 bytes: look back at most 3 for the lead byte of the last one.
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes.readUInt8(bytes.length - back);
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
