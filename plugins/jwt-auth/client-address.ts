import { isIPv6 } from 'node:net';

/** The eight 16-bit groups of an IPv6 address, as hex strings (an embedded IPv4 tail counts as two). */
function groups(ip: string): string[] {
  const [head = '', tail] = ip.split('::');
  const split = (part: string) =>
    part
      .split(':')
      .filter(Boolean)
      .flatMap((group) => (group.includes('.') ? ['v4', 'v4'] : [group]));
  const before = split(head);
  if (tail === undefined) return before;
  const after = split(tail);
  return [...before, ...Array<string>(8 - before.length - after.length).fill('0'), ...after];
}

/**
 * The key a client address is counted under for login limits: an IPv4 address as it is (also
 * when IPv4-mapped), an IPv6 address by its /64 network, since one subscriber usually holds a
 * whole /64 and could otherwise take a fresh address for every attempt.
 */
export function addressKey(ip: string): string {
  const bare = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
  if (mapped !== undefined) return mapped;
  if (!isIPv6(bare)) return bare;
  return `${groups(bare)
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
