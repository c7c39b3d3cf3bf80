import type { LookupFunction } from 'node:net';
import type { buildConnector } from 'undici';
import { undici } from './undici.ts';

/** An address a host resolved to, checked by the outbound policy. */
export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves and checks `host` for a connection to `port`; rejects with the refusal. */
export type Admit = (host: string, port: number, target: string) => Promise<CheckedAddress[]>;

/** A lookup that answers only `addresses`: the ones checked, whatever DNS says by now. */
function answerWith(addresses: readonly CheckedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted =
      options.family === 4 || options.family === 6
        ? addresses.filter((entry) => entry.family === options.family)
        : addresses;
    const answers = wanted.length ? wanted : addresses;
    if (options.all)
      return callback(
        null,
        answers.map((entry) => ({ ...entry })),
      );
    // `admit` never answers no address: a host that resolves to none is refused.
    const [first] = answers as [CheckedAddress];
    callback(null, first.address, first.family);
  };
}

/**
 * An undici connector that checks every connection it opens: the host is resolved and judged by
 * `admit` first, and the socket then connects to exactly the addresses judged (through a lookup
 * that answers only those), so a name whose DNS answer changes in between (rebinding) cannot
 * slip through. Redirects open their connections here too, so each hop is checked.
 */
export function checkedConnector(admit: Admit): buildConnector.connector {
  return (options, callback) => {
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    const target = `${options.protocol}//${options.host ?? options.hostname}`;
    admit(options.hostname, port, target).then(
      (addresses) => undici().buildConnector({ lookup: answerWith(addresses) })(options, callback),
      (error: Error) => callback(error, null),
    );
  };
}
