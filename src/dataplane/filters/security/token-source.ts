//! Reading a bearer credential from where a policy says it travels (`extractFrom`), and copying a
//! verified caller's claims to upstream headers (`claimToHeaders`): shared by the token filters.

import type { ClaimToHeader, TokenSource } from '../../../config/schema/security/token-source.js';
import type { ProxyRequest } from '../filter.js';
import { cookieValue } from './cookies.js';

export type TokenReader = (req: ProxyRequest) => string | undefined;

const BEARER: TokenSource = { headers: [{ name: 'Authorization', valuePrefix: 'Bearer ' }] };

function queryValue(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq) !== name) continue;
    try {
      return decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The first place of `source` (headers, then cookies, then query parameters) that holds a value; RFC 6750's Authorization: Bearer when unset. */
export function tokenReader(source: TokenSource = BEARER): TokenReader {
  const headers = (source.headers ?? []).map((h) => ({ name: h.name.toLowerCase(), prefix: h.valuePrefix?.toLowerCase() }));
  const cookies = source.cookies ?? [];
  const params = source.params ?? [];
  return (req) => {
    for (const h of headers) {
      const v = req.headers.get(h.name);
      if (v === undefined) continue;
      if (h.prefix === undefined) return v.trim();
      // The auth-scheme is case-insensitive (RFC 9110 section 11.1).
      if (v.length > h.prefix.length && v.slice(0, h.prefix.length).toLowerCase() === h.prefix) return v.slice(h.prefix.length).trim();
    }
    for (const c of cookies) {
      const v = cookieValue(req.headers, c);
      if (v !== undefined && v !== '') return v;
    }
    for (const p of params) {
      const v = queryValue(req.query, p);
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };
}

/** RFC 6750's b64token: what a well-formed bearer token looks like, checked before anyone is asked about it. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export function wellFormedToken(token: string, maxLength = 8192): boolean {
  return token.length <= maxLength && B64TOKEN.test(token);
}

function claimAt(claims: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let v: unknown = claims;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function headerValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) return v.join(',');
  return JSON.stringify(v);
}

export type ClaimHeaderWriter = (req: ProxyRequest, claims: Readonly<Record<string, unknown>>) => void;

/** Percent-encodes (as UTF-8) what is not printable ASCII, so no claim can split a header or be refused by the upstream client. */
function headerSafe(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v
    : v.replace(/[^\x20-\x7e]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

/**
 * Sets each header to its claim (lists joined with commas, objects as JSON) and removes it when the
 * claim is absent, so a client can never supply the value itself.
 */
export function claimHeaderWriter(list: readonly ClaimToHeader[] = []): ClaimHeaderWriter | undefined {
  if (list.length === 0) return undefined;
  const entries = list.map((c) => ({ header: c.header.toLowerCase(), claim: c.claim, path: c.claim.split('.') }));
  return (req, claims) => {
    for (const e of entries) {
      const v = headerValue(Object.hasOwn(claims, e.claim) ? claims[e.claim] : claimAt(claims, e.path));
      if (v === undefined) req.headers.remove(e.header);
      else req.headers.set(e.header, headerSafe(v));
    }
  };
}
