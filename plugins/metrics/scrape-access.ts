import { createHash, timingSafeEqual } from 'node:crypto';
import { ApflowError, isAdmin, type FastifyRequest, type PluginApp, type RequestContext } from 'apflow';

/** The shortest scrape token accepted: shorter ones can be guessed. */
const MIN_TOKEN_LENGTH = 16;

/** The principal a request presenting the scrape token gets (on the metrics route only). */
// One shared principal, frozen with its roles (which a Principal types as a plain array).
const NO_ROLES: string[] = [];
Object.freeze(NO_ROLES);
const SCRAPER = Object.freeze({ user_id: 'metrics-scraper', roles: NO_ROLES });

/** Who may read the metrics route, decided once per generation from the config. */
export interface ScrapeAccess {
  /** The route's own credential (route `config.credential`): the scrape token as `Authorization: Bearer`. */
  credential(request: RequestContext): typeof SCRAPER | undefined;
  /** Throws 401 or 403 unless the request may read the metrics. */
  check(request: FastifyRequest): void;
}

/**
 * The access rule of `/metrics`: open while authentication is off and no scrape token is set;
 * otherwise an administrator's token or the scrape token (`metrics.token`, env
 * `APFLOW_METRICS_TOKEN`), compared in constant time. The scrape token is accepted on this
 * route only, as `Authorization: Bearer <token>` (what Prometheus' `authorization` setting sends).
 */
export function createScrapeAccess(app: PluginApp, configured: string | undefined): ScrapeAccess {
  const token = configured ?? nonEmpty(app.env.APFLOW_METRICS_TOKEN);
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new ApflowError('APF_CONFIG_INVALID', {
      message: `metrics.token (or APFLOW_METRICS_TOKEN) must be at least ${MIN_TOKEN_LENGTH} characters: use a long random value`,
    });
  }
  const expected = token === undefined ? undefined : digest(token);
  const authOn = app.config.auth.enabled;
  return {
    credential(request) {
      if (!expected) return undefined;
      const presented = bearer(request.headers.authorization);
      return presented !== undefined && timingSafeEqual(digest(presented), expected) ? SCRAPER : undefined;
    },
    check(request) {
      const principal = request.apflow.principal;
      if (principal === SCRAPER || isAdmin(principal)) return;
      if (!authOn && !expected) return;
      if (!principal) {
        throw new ApflowError('APF_UNAUTHENTICATED', {
          message: 'Reading the metrics needs the scrape token: send Authorization: Bearer <metrics.token>',
        });
      }
      throw new ApflowError('APF_FORBIDDEN', {
        message:
          'Reading the metrics needs an administrator token or the scrape token (metrics.token, sent as Authorization: Bearer <token>)',
      });
    },
  };
}

/** Hashing both sides first gives equal lengths, so the comparison's time says nothing about the token. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function bearer(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
