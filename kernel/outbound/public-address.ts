import { BlockList, isIP } from 'node:net';

// IPv4 ranges that are not public (IANA special-purpose registry): this network, private,
// carrier-grade NAT, loopback, link-local (cloud metadata at 169.254.169.254), IETF protocol
// assignments, documentation, the old 6to4 relay, benchmarking, multicast, reserved, broadcast.
const nonPublicV4 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  nonPublicV4.addSubnet(network, prefix, 'ipv4');

// Inside global unicast (2000::/3), the blocks that are not public: IETF protocol assignments
// (Teredo 2001::/32 among them: its embedded addresses are obfuscated), documentation.
const nonPublicV6 = new BlockList();
for (const [network, prefix] of [
  ['2001::', 23],
  ['2001:db8::', 32],
  ['3fff::', 20],
] as const)
  nonPublicV6.addSubnet(network, prefix, 'ipv6');

/** The 16 bytes of an IPv6 address (a zone id is ignored); null when `address` is not IPv6. */
export function ipv6Bytes(address: string): Uint8Array | null {
  const plain = address.replace(/%.*$/, '');
  if (isIP(plain) !== 6) return null;
  let head = plain;
  let tail: number[] = [];
  if (plain.includes('.')) {
    // A trailing dotted quad stands for the last two groups.
    const cut = plain.lastIndexOf(':');
    tail = plain
      .slice(cut + 1)
      .split('.')
      .map(Number);
    head = `${plain.slice(0, cut + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left ? left.split(':') : [];
  const rightGroups = right ? right.split(':') : [];
  const groups =
    right === undefined
      ? leftGroups
      : [...leftGroups, ...Array<string>(8 - leftGroups.length - rightGroups.length).fill('0'), ...rightGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const word = parseInt(group, 16);
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

const v4At = (bytes: Uint8Array, at: number) => `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
const zeros = (bytes: Uint8Array, from: number, to: number) => bytes.slice(from, to).every((byte) => byte === 0);

/**
 * True when `address` (an IP, v4 or v6) is a public unicast address. Not public: loopback,
 * private, link-local, unique-local, carrier-grade NAT, multicast, reserved, documentation and
 * the other special ranges; an IPv6 form that carries an IPv4 address (IPv4-mapped
 * `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is as public as that IPv4 address;
 * IPv4-compatible `::a.b.c.d` and everything outside global unicast (2000::/3) are not public.
 * Anything that is not an IP address is not public either.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address.replace(/%.*$/, ''));
  if (family === 4) return !nonPublicV4.check(address, 'ipv4');
  const bytes = ipv6Bytes(address);
  if (!bytes) return false;
  const isV4 = (at: number) => !nonPublicV4.check(v4At(bytes, at), 'ipv4');
  if (zeros(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return isV4(12);
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(bytes, 4, 12))
    return isV4(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return isV4(2);
  const words = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if ((words.getUint8(0) & 0xe0) !== 0x20) return false;
  const groups = Array.from({ length: 8 }, (_, i) => words.getUint16(2 * i).toString(16));
  return !nonPublicV6.check(groups.join(':'), 'ipv6');
}
