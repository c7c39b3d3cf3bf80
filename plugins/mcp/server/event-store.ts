import { randomBytes } from 'node:crypto';
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

interface Stored {
  id: string;
  streamId: string;
  message: JSONRPCMessage;
}

/**
 * The messages one session sent on its SSE streams, for a client that resumes a dropped stream
 * with `Last-Event-ID`: the newest `limit` only (memory is bounded), replayed for the stream the
 * id belongs to. Event ids are `<stream>_<n>`, unique within the session.
 */
export function createEventStore(limit: number): EventStore & { clear(): void } {
  const events: Stored[] = [];
  const byId = new Map<string, Stored>();
  const prefix = randomBytes(4).toString('hex');
  let n = 0;
  return {
    async storeEvent(streamId, message) {
      const stored = { id: `${prefix}${(n += 1)}_${streamId}`, streamId, message };
      if (limit === 0) return stored.id;
      events.push(stored);
      byId.set(stored.id, stored);
      while (events.length > limit) byId.delete((events.shift() as Stored).id);
      return stored.id;
    },
    async getStreamIdForEventId(eventId) {
      // Parsed rather than looked up: an event evicted from the store still names its stream.
      const at = eventId.indexOf('_');
      return eventId.startsWith(prefix) && at > 0 ? (byId.get(eventId)?.streamId ?? eventId.slice(at + 1)) : undefined;
    },
    async replayEventsAfter(lastEventId, { send }) {
      const last = byId.get(lastEventId);
      // An id no longer held (or never given) replays nothing; the stream still resumes live.
      if (!last) return lastEventId.slice(lastEventId.indexOf('_') + 1);
      for (const event of events.slice(events.indexOf(last) + 1)) {
        if (event.streamId === last.streamId) await send(event.id, event.message);
      }
      return last.streamId;
    },
    clear() {
      events.length = 0;
      byId.clear();
    },
  };
}
