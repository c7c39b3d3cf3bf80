import { ApflowError, refusalDetail } from 'apflow';

/**
 * The error for a request that failed before any answer: APF_FORBIDDEN when the outbound policy
 * refused a hop (naming the first URL when a redirect led there), else APF_UNAVAILABLE with the
 * network's reason. `target` names the request without query or credentials (`GET https://h/p`).
 */
export function fetchFailure(who: string, error: unknown, url: URL, target: string): ApflowError {
  const refused = refusalDetail(error);
  if (refused) {
    const hop = refused.target === url.origin ? '' : ` (redirected from ${target})`;
    return new ApflowError('APF_FORBIDDEN', {
      message: `${who}: ${refused.target}/ is refused: ${refused.reason}${hop}`,
    });
  }
  return new ApflowError('APF_UNAVAILABLE', {
    message: `${who}: ${target} failed: ${describeFailure(error)}`,
    cause: error,
  });
}

/** fetch says only "fetch failed"; the reason (refused, DNS, TLS…) is in its cause. */
function describeFailure(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (!(cause instanceof Error)) return String(cause);
  return cause.message || ('code' in cause && typeof cause.code === 'string' ? cause.code : '') || cause.name;
}
