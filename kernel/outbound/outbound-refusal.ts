import { ApflowError, isApflowError } from '../errors/apflow-error.ts';
import { isRecord } from '../internal/is-record.ts';

/** What an outbound refusal carries besides its message. */
export interface RefusalDetail {
  /** What was refused: an origin (`http://127.0.0.1:9999`) or `host:port`, never a path or query. */
  target: string;
  /** Why, e.g. `127.0.0.1 is not a public address (allow it with …)`. */
  reason: string;
}

const MARK = 'outbound_refused';

/** The error for a refused target: APF_FORBIDDEN, "`target` is refused: `reason`". */
export function outboundRefusal(target: string, reason: string): ApflowError {
  return new ApflowError('APF_FORBIDDEN', {
    message: `${target} is refused: ${reason}`,
    data: { [MARK]: { target, reason } },
  });
}

/**
 * What the outbound policy refused behind `error`, if it did: a refused connection surfaces from
 * `fetch` as `TypeError: fetch failed` with the refusal as its cause.
 */
export function refusalDetail(error: unknown): RefusalDetail | undefined {
  let current = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (isApflowError(current) && typeof current.data === 'object' && current.data !== null && MARK in current.data) {
      const detail = current.data[MARK];
      if (isRefusalDetail(detail)) return detail;
    }
    current = typeof current === 'object' && current !== null && 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

function isRefusalDetail(value: unknown): value is RefusalDetail {
  return isRecord(value) && typeof value.target === 'string' && typeof value.reason === 'string';
}
