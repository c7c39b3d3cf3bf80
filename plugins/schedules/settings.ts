import { Type, type Static } from 'apflow';

/** The `schedules` config section. */
export const SchedulesSettings = Type.Object(
  {
    /**
     * Seconds between a server's looks at the schedules table when no fire is due sooner: how
     * soon it sees schedules created or changed on another server, and takes over fires a
     * stopped server had claimed. Fires due sooner wake it at their time.
     */
    poll_s: Type.Number({ default: 1, minimum: 0.05, maximum: 60 }),
    /** `catch_up: all` fires at most this many missed times per schedule (a schedule may ask fewer). */
    catch_up_max: Type.Integer({ default: 10, minimum: 1, maximum: 1000 }),
    /** A fire this many seconds late is a miss (catch_up decides); an earlier one is on time. */
    misfire_grace_s: Type.Number({ default: 60, minimum: 1 }),
    /** Schedules one user may have (administrators and the operator are not limited). */
    max_per_user: Type.Integer({ default: 1000, minimum: 1 }),
    /** Schedules claimed per look: the rest wait for the next look (a few milliseconds later). */
    claim_batch: Type.Integer({ default: 2000, minimum: 1, maximum: 5000 }),
    /**
     * Seconds fire records are kept (a schedule's recent runs, replay keys of webhooks); the
     * runs' trees stay until deleted. At least an hour, so a replayed webhook is always known.
     */
    fire_retention_s: Type.Integer({ default: 604_800, minimum: 3600 }),
    /** Seconds a signed webhook request stays valid (its `t=` timestamp against this server's clock). */
    webhook_tolerance_s: Type.Integer({ default: 300, minimum: 1, maximum: 3600 }),
    /** Largest webhook body accepted, in bytes. */
    webhook_max_bytes: Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 16_777_216 }),
  },
  { additionalProperties: false, default: {} },
);

/** Settings of the schedules plugin, defaults filled in. */
export type SchedulesConfig = Static<typeof SchedulesSettings>;
