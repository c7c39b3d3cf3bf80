/** One Server-Sent Events frame: its `id:`, `event:` and joined `data:` lines. */
export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

/** The most characters one frame may hold before the stream is judged broken (a remote that never ends a frame). */
const MAX_FRAME_CHARS = 16 * 1024 * 1024;

/**
 * The frames of an event stream, in order, as they arrive; comments (`: keepalive`) are
 * skipped. Ends when the body ends; a frame cut off by the end is dropped (the caller resumes
 * after the last complete one).
 */
export async function* sseFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buffer = '';
  // Where the search for a frame's end resumes: a large frame arriving in many chunks is scanned once.
  let scanned = 0;
  // A CR ending one chunk may be the first half of a CRLF split across two chunks.
  let cr = false;
  for await (const chunk of body) {
    let text = decoder.decode(chunk, { stream: true });
    if (cr && text.startsWith('\n')) text = text.slice(1);
    cr = text.endsWith('\r');
    buffer += text.replace(/\r\n?/g, '\n');
    let start = 0;
    let end = buffer.indexOf('\n\n', Math.max(scanned - 1, 0));
    while (end !== -1) {
      const frame = parseFrame(buffer.slice(start, end));
      start = end + 2;
      if (frame) yield frame;
      end = buffer.indexOf('\n\n', start);
    }
    // One slice per chunk, not per frame: a chunk of many small frames is not copied once per frame.
    if (start) buffer = buffer.slice(start);
    scanned = buffer.length;
    if (buffer.length > MAX_FRAME_CHARS) throw new Error('an event stream frame is larger than 16 MiB');
  }
}

function parseFrame(text: string): SseFrame | undefined {
  const data: string[] = [];
  const frame: SseFrame = { data: '' };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id') frame.id = value;
    else if (field === 'event') frame.event = value;
  }
  if (data.length === 0 && frame.id === undefined) return undefined;
  frame.data = data.join('\n');
  return frame;
}
