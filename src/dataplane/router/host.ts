//! Host normalisation and hostname-pattern helpers shared by compile time and match time.

/** The longest a DNS name can be in text form (RFC 1035's 255 octets on the wire). */
export const MAX_DNS_NAME_LENGTH = 253;

const COLON = 0x3a;
const DOT = 0x2e;
const OPEN_BRACKET = 0x5b;
const UPPER_A = 0x41;
const UPPER_Z = 0x5a;

/**
 * Host/:authority to the form hostnames are compared in: port removed, ASCII-lowercased,
 * one trailing dot removed. Written as a single scan so that the common case (already
 * lowercase, no port) returns the input string without allocating.
 */
export function normaliseHost(raw: string): string {
  let end = raw.length;
  // An IPv6 literal keeps its colons; only what follows the closing bracket (the port) goes.
  const ipv6 = raw.charCodeAt(0) === OPEN_BRACKET;
  if (ipv6) {
    const close = raw.indexOf(']');
    if (close !== -1) end = close + 1;
  }
  let upper = false;
  for (let i = 0; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c === COLON && !ipv6) {
      end = i;
      break;
    }
    if (c >= UPPER_A && c <= UPPER_Z) upper = true;
  }
  if (end > 0 && raw.charCodeAt(end - 1) === DOT) end--;
  const host = end === raw.length ? raw : raw.slice(0, end);
  return upper ? host.toLowerCase() : host;
}

export type HostnamePattern =
  | { readonly kind: 'exact'; readonly host: string }
  /** `suffix` keeps its leading dot: "*.example.com" is stored as ".example.com". */
  | { readonly kind: 'wildcard'; readonly suffix: string }
  | { readonly kind: 'any' };

/** Classifies a configured hostname, normalised the same way request hosts are. */
export function parseHostnamePattern(hostname: string): HostnamePattern {
  if (hostname === '*') return { kind: 'any' };
  const lower = hostname.toLowerCase();
  const host = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  if (host.startsWith('*.')) return { kind: 'wildcard', suffix: host.slice(1) };
  return { kind: 'exact', host };
}

// Wildcard suffixes start at a dot that is not the host's first character, so "*.example.com"
// (suffix ".example.com") never matches "example.com" itself. Only suffixes whose length is
// in `lengths` (the lengths of configured wildcards) are sliced and looked up, so a hostile
// host with thousands of labels costs a scan, not thousands of strings.

/** Every suffix of `host` that is a configured wildcard suffix, longest (most specific) first. */
export function wildcardSuffixesOf(host: string, lengths: ReadonlySet<number>, configured: ReadonlyMap<string, unknown>): string[] {
  const out: string[] = [];
  for (let dot = host.indexOf('.', 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
    if (!lengths.has(host.length - dot)) continue;
    const suffix = host.slice(dot);
    if (configured.has(suffix)) out.push(suffix);
  }
  return out;
}

/** The value for the longest configured wildcard suffix of `host`, if any. */
export function lookupLongestSuffix<V>(host: string, lengths: ReadonlySet<number>, configured: ReadonlyMap<string, V>): V | undefined {
  for (let dot = host.indexOf('.', 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
    if (!lengths.has(host.length - dot)) continue;
    const value = configured.get(host.slice(dot));
    if (value !== undefined) return value;
  }
  return undefined;
}
