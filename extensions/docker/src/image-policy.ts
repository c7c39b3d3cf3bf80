import { ApflowError } from 'apflow';

/** An image reference split as the Engine's pull takes it. */
export interface ImageReference {
  /** `name:tag` or `name@digest`, with `:latest` added when neither was given. */
  full: string;
  /** The repository (`registry:port/path/name`). */
  name: string;
  /** The tag, or the digest (`sha256:…`). */
  tag: string;
}

/**
 * Splits `image`. A `:` after the last `/` starts the tag (before it, it is a registry's port);
 * an image with neither tag nor digest means `:latest`, as `docker run` reads it.
 */
export function parseImage(image: string): ImageReference {
  const at = image.indexOf('@');
  if (at >= 0) return { full: image, name: image.slice(0, at), tag: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/')) return { full: image, name: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { full: `${image}:latest`, name: image, tag: 'latest' };
}

/**
 * Whether `docker.images` lets `image` run. A pattern ending in `*` allows every reference that
 * starts with what precedes the `*` (`alpine:*`, `ghcr.io/acme/*`, `*` alone allows all); any
 * other pattern allows exactly that reference, both compared with `:latest` added when untagged.
 * Names are compared as written: `alpine` and `docker.io/library/alpine` are different patterns.
 */
export function imageAllowed(image: ImageReference, patterns: readonly string[]): boolean {
  return patterns.some((pattern) =>
    pattern.endsWith('*') ? image.full.startsWith(pattern.slice(0, -1)) : parseImage(pattern).full === image.full,
  );
}

/** Refuses an image `docker.images` does not list, saying which setting to change. */
export function checkImage(image: string, patterns: readonly string[]): ImageReference {
  const reference = parseImage(image);
  if (imageAllowed(reference, patterns)) return reference;
  const listed = patterns.length === 0 ? 'the list is empty' : `allowed: ${patterns.join(', ')}`;
  throw new ApflowError('APF_FORBIDDEN', {
    message: `docker_executor: the image '${reference.full}' is not in docker.images (${listed}); an administrator must add it (or a pattern such as '${reference.name}:*') to docker.images`,
  });
}
