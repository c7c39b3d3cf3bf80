import { eventJson, type TaskEvent } from 'apflow';

const frames = new WeakMap<TaskEvent, Buffer>();

/**
 * The WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked as server frames are) that
 * carries `event`, built once and shared by every connection subscribed to its tree: a server
 * frame is the same bytes for every client, so fan-out is one socket write each.
 */
export function eventFrame(event: TaskEvent): Buffer {
  let frame = frames.get(event);
  if (!frame) {
    frame = textFrame(eventJson(event));
    frames.set(event, frame);
  }
  return frame;
}

const ends = new WeakMap<TaskEvent, Buffer>();

/** The `stream_end` message after a tree's `final` event, as a frame built once for every subscriber. */
export function streamEndFrame(final: TaskEvent): Buffer {
  let frame = ends.get(final);
  if (!frame) {
    frame = textFrame(JSON.stringify({ type: 'stream_end', task_id: final.root_task_id }));
    ends.set(final, frame);
  }
  return frame;
}

/** One unfragmented, unmasked text frame holding `text`. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (headerLength === 2) {
    frame[1] = length;
  } else if (headerLength === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, headerLength, 'utf8');
  return frame;
}
