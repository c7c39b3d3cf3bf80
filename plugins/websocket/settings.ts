import { Type } from 'apflow';

/** The `websocket` config section. */
export const Settings = Type.Object(
  {
    max_buffered_bytes: Type.Integer({ default: 8 * 1024 * 1024, minimum: 1024 }),
    /** Largest message (or frame) a client may send; default `server.body_limit`. */
    max_message_bytes: Type.Optional(Type.Integer({ minimum: 1024 })),
    /** With authentication on, seconds a connection has to authenticate before it is closed. */
    auth_timeout_s: Type.Number({ default: 10, exclusiveMinimum: 0 }),
    /** With authentication on, seconds between checks that a connection's token is still accepted (not revoked). */
    recheck_s: Type.Number({ default: 10, exclusiveMinimum: 0 }),
    /** Open connections (and upgrades under way) per client address. */
    max_connections_per_ip: Type.Integer({ default: 64, minimum: 1 }),
  },
  { additionalProperties: false, default: {} },
);

/** Settings of the websocket plugin, defaults applied. */
export interface WebSocketSettings {
  max_buffered_bytes: number;
  max_message_bytes?: number;
  auth_timeout_s: number;
  recheck_s: number;
  max_connections_per_ip: number;
}
