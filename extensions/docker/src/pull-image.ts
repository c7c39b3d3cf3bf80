import { createInterface } from 'node:readline';
import { ApflowError, isRecord } from 'apflow';
import { EngineError, type EngineApi } from './engine-api.ts';
import type { ImageReference } from './image-policy.ts';

/** When to pull: `missing` (default) when the Engine lacks the image, `always`, or `never`. */
export type PullPolicy = 'missing' | 'always' | 'never';

/** The policy the `pull` input asks for (`true` is `always`, `false` is `never`). */
export function pullPolicy(pull: boolean | PullPolicy | undefined): PullPolicy {
  if (pull === true) return 'always';
  if (pull === false) return 'never';
  return pull ?? 'missing';
}

/** Whether the Engine has `image`. */
async function present(api: EngineApi, image: ImageReference, signal: AbortSignal): Promise<boolean> {
  try {
    await api.send({ method: 'GET', path: `/images/${encodeURIComponent(image.full)}/json`, signal });
    return true;
  } catch (error) {
    if (error instanceof EngineError && error.status === 404) return false;
    throw error;
  }
}

/**
 * Makes sure the Engine has `image`, pulling it as `policy` says. The Engine pulls from the
 * registry the image names; the pull stops when `signal` closes the connection. Progress
 * messages name the image and the Engine's status line (`Pulling fs layer`, `Download complete`).
 */
export async function ensureImage(
  api: EngineApi,
  image: ImageReference,
  policy: PullPolicy,
  signal: AbortSignal,
  progress: (message: string) => void,
): Promise<void> {
  if (policy !== 'always' && (await present(api, image, signal))) return;
  if (policy === 'never') {
    throw new ApflowError('APF_NOT_FOUND', {
      message: `docker_executor: the image '${image.full}' is not on the Docker Engine and pull is 'never'; pull it there first, or set pull to 'missing'`,
    });
  }
  progress(`docker_executor: pulling ${image.full}`);
  const query = new URLSearchParams({ fromImage: image.name, tag: image.tag });
  const response = await api.open({ method: 'POST', path: `/images/create?${query}`, signal }).catch((error) => {
    if (!(error instanceof EngineError)) throw error;
    throw new ApflowError(error.status === 404 ? 'APF_NOT_FOUND' : 'APF_UNAVAILABLE', {
      message: `docker_executor: pulling '${image.full}' failed: ${error.message}`,
    });
  });
  let failure: string | undefined;
  let lastStatus = '';
  // The answer is one JSON object per line; a failed pull still answers 200, with an `error` line.
  for await (const line of createInterface({ input: response, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === '') continue;
    let event: unknown;
    try {
      event = JSON.parse(line) as unknown;
    } catch {
      continue;
    }
    if (!isRecord(event)) continue;
    if (typeof event.error === 'string') failure = event.error;
    if (typeof event.status === 'string' && event.status !== lastStatus) {
      lastStatus = event.status;
      progress(`docker_executor: pulling ${image.full}: ${event.status}`);
    }
  }
  if (failure !== undefined) {
    throw new ApflowError('APF_UNAVAILABLE', {
      message: `docker_executor: pulling '${image.full}' failed: ${failure}`,
    });
  }
}
