import { ApflowError } from 'apflow';

/** An image reference read by Docker's rules, normalised as the Engine normalises it. */
export interface ImageReference {
  /** What the Engine is given: `name:tag`, or `name@digest` (a tag beside a digest is dropped, as Docker does). */
  full: string;
  /** The familiar name (`alpine`, `acme/app`, `ghcr.io/acme/app`, `127.0.0.1:5000/x`): the pull's `fromImage`. */
  name: string;
  /** The tag, or the digest (`sha256:…`): the pull's `tag`. */
  tag: string;
  /** The registry: `docker.io` when the reference names none. */
  registry: string;
  /** The repository in that registry, `library/` added for Docker Hub's official images. */
  repository: string;
  /** Whether the reference pins a digest. */
  digest: boolean;
}

const DOCKER_HUB = 'docker.io';
const DOMAIN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message: `docker_executor: ${message}` });

/** Whether Docker reads a first path component as a registry: it has `.` or `:`, is `localhost`, or has capitals. */
const isRegistry = (component: string) =>
  /[.:]/.test(component) || component === 'localhost' || component !== component.toLowerCase();

/** Splits `name` (no tag, no digest) into registry and path, as Docker does; `undefined` when malformed. */
function splitName(name: string, addLibrary: boolean): { registry: string; path: string } | undefined {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hosted = slash >= 0 && isRegistry(first);
  let registry = hosted ? first : DOCKER_HUB;
  let path = hosted ? name.slice(slash + 1) : name;
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (!DOMAIN.test(registry) || !path.split('/').every((part) => PATH_COMPONENT.test(part))) return undefined;
  if (addLibrary && registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  return { registry, path };
}

/** The familiar form of a repository, as `docker` prints it. */
function familiar(registry: string, repository: string): string {
  // Kept whole when Docker would read the short form's first component as a registry.
  if (registry !== DOCKER_HUB || isRegistry(repository.split('/')[0] ?? '')) return `${registry}/${repository}`;
  return repository.startsWith('library/') && repository.split('/').length === 2 ? repository.slice(8) : repository;
}

/**
 * Reads `image` by Docker's rules: a first path component holding `.` or `:` (or `localhost`) is
 * the registry (so `alpine:3/evil` is the repository `evil` on a registry `alpine:3`); `@…` is a
 * digest; a `:` after the last `/` starts the tag; no tag and no digest means `:latest`. Docker
 * Hub is `docker.io` (`index.docker.io` too), and its one-component names get `library/`.
 */
export function parseImage(image: string): ImageReference {
  const at = image.indexOf('@');
  const digest = at < 0 ? undefined : image.slice(at + 1);
  const named = at < 0 ? image : image.slice(0, at);
  const colon = named.lastIndexOf(':');
  const hasTag = colon > named.lastIndexOf('/');
  const tag = hasTag ? named.slice(colon + 1) : undefined;
  const split = splitName(hasTag ? named.slice(0, colon) : named, true);
  const bad = (why: string) => invalid(`the image '${image}' is not a valid reference: ${why}`);
  if (image.length > 512 || split === undefined)
    throw bad('expected [registry[:port]/]name[/name…][:tag][@digest], names in lower case');
  if (tag !== undefined && !TAG.test(tag)) throw bad(`the tag '${tag}' is not a tag`);
  if (digest !== undefined && !DIGEST.test(digest)) throw bad(`'${digest}' is not a digest such as sha256:…`);
  const name = familiar(split.registry, split.path);
  const version = digest ?? tag ?? 'latest';
  const full = digest === undefined ? `${name}:${version}` : `${name}@${digest}`;
  return { full, name, tag: version, registry: split.registry, repository: split.path, digest: digest !== undefined };
}

/** One `docker.images` entry, read: a matcher of references. */
type ImageMatcher = (image: ImageReference) => boolean;

/**
 * Reads one `docker.images` pattern; throws naming it when malformed. Forms: `*` (anything);
 * `name:*` (every tag or digest of exactly that repository); `prefix/*` (every repository below
 * a registry or path: `ghcr.io/*`, `ghcr.io/acme/*`, `acme/*` on Docker Hub); anything else is an
 * exact reference (`alpine` = `alpine:latest` = `docker.io/library/alpine:latest`).
 */
export function imageMatcher(pattern: string): ImageMatcher {
  const bad = () =>
    new ApflowError('APF_INVALID_PARAMS', {
      message: `docker.images: '${pattern}' is not an image pattern; use an exact reference ('alpine:3.20'), 'name:*' (every tag of name), 'registry/path/*' or '*'`,
    });
  if (pattern === '*') return () => true;
  if (pattern.endsWith(':*')) {
    const split = pattern.includes('@') ? undefined : splitName(pattern.slice(0, -2), true);
    if (split === undefined) throw bad();
    return (image) => image.registry === split.registry && image.repository === split.path;
  }
  if (pattern.endsWith('/*')) {
    const prefix = pattern.slice(0, -2);
    const registryOnly = !prefix.includes('/') && isRegistry(prefix);
    const split = registryOnly ? splitName(`${prefix}/x`, false) : splitName(prefix, false);
    if (split === undefined) throw bad();
    const below = registryOnly ? '' : `${split.path}/`;
    return (image) => image.registry === split.registry && image.repository.startsWith(below);
  }
  if (pattern.includes('*')) throw bad();
  let exact: ImageReference;
  try {
    exact = parseImage(pattern);
  } catch {
    throw bad();
  }
  // `full` is built from the normalised registry and repository, so equal strings are the same image.
  return (image) => image.full === exact.full;
}

/** Reads every `docker.images` pattern (throwing on the first malformed one). */
export function imageMatchers(patterns: readonly string[]): ImageMatcher[] {
  return patterns.map(imageMatcher);
}

/** Refuses an image `docker.images` does not allow, saying which setting to change. */
export function checkImage(image: string, patterns: readonly string[]): ImageReference {
  const reference = parseImage(image);
  if (imageMatchers(patterns).some((allows) => allows(reference))) return reference;
  const listed = patterns.length === 0 ? 'the list is empty' : `allowed: ${patterns.join(', ')}`;
  throw new ApflowError('APF_FORBIDDEN', {
    message: `docker_executor: the image '${reference.full}' is not in docker.images (${listed}); an administrator must add it (or a pattern such as '${reference.name}:*') to docker.images (it is read as the repository ${reference.repository} on ${reference.registry})`,
  });
}
