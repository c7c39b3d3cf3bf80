import { EventSourceParserStream } from 'eventsource-parser/stream';

/** One message of an event stream, its data parsed. `event` is set for named ones (`overflow`). */
export interface StreamMessage {
  id?: string;
  event?: string;
  data: Record<string, unknown>;
}

/**
 * The messages of a Server-Sent Events response, in order. It ends when the response ends;
 * a dropped connection ends it too, or throws (the callers resume from the last id either way).
 */
export async function* sseMessages(response: Response): AsyncGenerator<StreamMessage> {
  if (!response.body) return;
  const messages = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  const reader = messages.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      let data: unknown;
      try {
        data = JSON.parse(value.data);
      } catch {
        continue;
      }
      if (data && typeof data === 'object')
        yield { id: value.id, event: value.event, data: data as Record<string, unknown> };
    }
  } finally {
    // Stops reading (and closes the connection) when the consumer breaks out early.
    await reader.cancel().catch(() => undefined);
  }
}
