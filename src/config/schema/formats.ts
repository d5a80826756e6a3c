//! String formats shared by the Kubernetes and Gateway API schemas, with the upstream patterns.

import { isIP } from 'node:net';
import { pattern, show, string } from './primitives.js';

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN = `${LABEL}(\\.${LABEL})*`;
const DNS_LABEL_RE = new RegExp(`^${LABEL}$`);
const SUBDOMAIN_RE = new RegExp(`^${SUBDOMAIN}$`);
const WILDCARD_HOSTNAME_RE = new RegExp(`^(\\*\\.)?${SUBDOMAIN}$`);

const RFC1123 = "lowercase letters, digits, '-' and '.', each label starting and ending with a letter or digit (RFC 1123)";
const RFC1123_LABEL = "at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (RFC 1123 label)";

function hostnameProblem(v: string, wildcard: boolean): string | undefined {
  const problem = (hint: string) => `invalid hostname ${show(v)}: ${hint}`;
  if (isIP(v) !== 0) return problem('IP addresses are not allowed');
  if ((wildcard ? WILDCARD_HOSTNAME_RE : SUBDOMAIN_RE).test(v)) return undefined;
  if (v.includes('*')) return problem(wildcard ? 'a wildcard must be the whole first label, as in "*.example.com"' : 'wildcards are not allowed');
  if (v !== v.toLowerCase()) return problem('must be lowercase');
  return problem(`expected ${RFC1123}`);
}

/** Listener and route hostnames: RFC 1123, optionally with a leading "*." label; never an IP. */
export const hostname = string({ min: 1, max: 253, format: (v) => hostnameProblem(v, true) });

/** Redirect and rewrite hostnames: like `hostname` but without wildcards. */
export const preciseHostname = string({ min: 1, max: 253, format: (v) => hostnameProblem(v, false) });

export const dnsLabel = (what: string) =>
  string({ min: 1, format: (v) => (v.length <= 63 && DNS_LABEL_RE.test(v) ? undefined : `invalid ${what} ${show(v)}: expected ${RFC1123_LABEL}`) });

export const dnsSubdomain = (what: string) => pattern(SUBDOMAIN_RE, what, `expected ${RFC1123}`, { min: 1, max: 253 });

/** Gateway API Group: "" (the core group) or a DNS subdomain. */
export const group = string({ max: 253, format: (v) => (v === '' || SUBDOMAIN_RE.test(v) ? undefined : `invalid group ${show(v)}: expected "" or ${RFC1123}`) });

export const kind = pattern(/^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, 'kind', "expected letters, digits and '-', starting with a letter", { min: 1, max: 63 });

export const objectName = string({ min: 1, max: 253 });

export const namespace = dnsLabel('namespace');

export const sectionName = dnsSubdomain('section name');

const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

/**
 * Headers that frame or route a request, or describe one connection (RFC 9110 §7.6.1, and Host):
 * windrose writes them itself, so no policy may name one as a header to set or copy.
 */
export const FRAMING_HEADERS: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection']);

/** HTTP header (and query parameter) names: an RFC 7230 token. */
export const headerName = pattern(HEADER_NAME_RE, 'header name', "expected an RFC 7230 token (letters, digits and !#$%&'*+-.^_`|~)", { min: 1, max: 256 });

const DURATION_RE = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;

/** Gateway API duration (GEP-2257). */
export const duration = pattern(DURATION_RE, 'duration', 'expected up to four number-unit pairs with units h, m, s or ms, such as "10s", "1m30s" or "500ms"');


/** Problem with a regular expression the data plane will compile, in JavaScript syntax. */
export function regexProblem(v: string): string | undefined {
  try {
    new RegExp(v);
    return undefined;
  } catch (err) {
    // V8 says "Invalid regular expression: /(/: Unterminated group"; keep only the reason.
    const reason = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `invalid regular expression ${show(v)}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`;
  }
}

const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Kubernetes label/annotation key: an optional DNS subdomain prefix and "/", then a name of up to 63 characters. */
export function qualifiedNameProblem(key: string, what: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !SUBDOMAIN_RE.test(prefix))) {
    return `invalid ${what} ${show(key)}: the prefix before "/" must be a DNS subdomain (${RFC1123})`;
  }
  if (name.length > 63 || !QUALIFIED_NAME_RE.test(name)) {
    return `invalid ${what} ${show(key)}: the name must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const labelValue = string({
  max: 63,
  format: (v) =>
    LABEL_VALUE_RE.test(v) ? undefined : `invalid label value ${show(v)}: expected letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
});

export const ipAddress = string({ min: 1, format: (v) => (isIP(v) !== 0 ? undefined : `invalid IP address ${show(v)}`) });
