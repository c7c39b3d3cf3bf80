import { Type, type Static } from 'apflow';

/** The `jwt_auth` config section (the tokens themselves are configured under `auth`). */
export const JwtAuthSettings = Type.Object(
  {
    /** Login attempts per IP and per username within `login_window_s` before 429. */
    login_max_attempts: Type.Integer({ default: 10, minimum: 1 }),
    login_window_s: Type.Integer({ default: 300, minimum: 1 }),
  },
  { additionalProperties: false, default: {} },
);

export type JwtAuthConfig = Static<typeof JwtAuthSettings>;
