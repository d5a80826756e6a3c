//! CIDR ranges ("10.0.0.0/8", "2001:db8::/32", or a bare address for one host), as Envoy Gateway's clientCIDRs take them.

import { isIP } from 'node:net';
import { show, string } from '../primitives.js';

export function cidrProblem(v: string): string | undefined {
  const slash = v.indexOf('/');
  const address = slash < 0 ? v : v.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `invalid CIDR ${show(v)}: expected an IPv4 or IPv6 address, optionally with /prefix-length, such as "10.0.0.0/8"`;
  if (slash < 0) return undefined;
  const bits = v.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `invalid CIDR ${show(v)}: the prefix length must be 0 to ${max}`;
  return undefined;
}

export const cidr = string({ min: 1, max: 64, format: cidrProblem });
