import { Type, type Static } from 'apflow';

/** The `jwt_auth` config section (the tokens themselves are configured under `auth`). */
export const JwtAuthSettings = Type.Object(
  {
    /** Failed logins per client address and username within `login_window_s` before 429. */
    login_max_attempts: Type.Integer({ default: 10, minimum: 1 }),
    /** Failed logins per client address, whatever the usernames, within `login_window_s` before 429. */
    login_max_attempts_per_address: Type.Integer({ default: 50, minimum: 1 }),
    login_window_s: Type.Integer({ default: 300, minimum: 1 }),
    /**
     * How long a stored user's token version is remembered: a token of a removed user, or one
     * minted before a password change, stops working within this many seconds (0: every request asks the database).
     */
    token_recheck_s: Type.Number({ default: 5, minimum: 0, maximum: 300 }),
  },
  { additionalProperties: false, default: {} },
);

export type JwtAuthConfig = Static<typeof JwtAuthSettings>;
