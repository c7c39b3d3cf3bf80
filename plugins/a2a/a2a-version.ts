import type { A2aVersion } from './call-context.ts';

/**
 * The protocol version a request asks for (`A2A-Version`): absent or empty means 0.3 (the
 * spec's rule); patch versions are ignored. Null when apflow does not speak it.
 */
export function requestedVersion(header: string | string[] | undefined): A2aVersion | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  if (value === '' || /^0\.3(\.\d+)?$/.test(value)) return '0.3';
  if (/^1(\.0(\.\d+)?)?$/.test(value)) return '1.0';
  return null;
}
