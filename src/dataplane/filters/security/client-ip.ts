//! CIDR sets matched against the client's address, compiled once into node's BlockList.

import { BlockList, isIP } from 'node:net';

export interface AddressSet {
  has(address: string): boolean;
}

/** Node reports IPv4 clients of a dual-stack socket as IPv4-mapped IPv6 (::ffff:a.b.c.d); they match IPv4 ranges. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function addressSet(cidrs: readonly string[]): AddressSet {
  const list = new BlockList();
  for (const c of cidrs) {
    const slash = c.indexOf('/');
    const address = slash < 0 ? c : c.slice(0, slash);
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const prefix = slash < 0 ? (type === 'ipv6' ? 128 : 32) : Number(c.slice(slash + 1));
    list.addSubnet(address, prefix, type);
  }
  return {
    has(address: string): boolean {
      const a = unmapped(address);
      const family = isIP(a);
      return family !== 0 && list.check(a, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}
