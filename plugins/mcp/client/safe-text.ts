import { scrubSecrets } from './server-spec.ts';

/** Longest error text kept from a server (it chooses what it sends). */
const MAX_DETAIL = 1000;

/** `text` bounded and without secrets. */
export function safeText(text: string, secrets: readonly string[]): string {
  const scrubbed = scrubSecrets(text, secrets).trim();
  return scrubbed.length > MAX_DETAIL ? `${scrubbed.slice(0, MAX_DETAIL)}…` : scrubbed;
}
