//! Request cookies (RFC 6265 section 5.4) read and pruned, and Set-Cookie values written, for the
//! filters that keep credentials in cookies.

import type { HeaderList } from '../../headers.js';

/**
 * The value of cookie `name`, or undefined. HTTP/2 clients may split cookies over several `cookie`
 * fields, so each field is read rather than the comma-joined value.
 */
export function cookieValue(headers: HeaderList, name: string): string | undefined {
  const raw = headers.raw;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] !== 'cookie') continue;
    for (const pair of raw[i + 1].split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
      const value = pair.slice(eq + 1).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
  }
  return undefined;
}

/** Drops the cookies `drop` names from the request, so credentials meant for windrose stay at the edge. */
export function removeCookies(headers: HeaderList, drop: (name: string) => boolean): void {
  const raw = headers.raw;
  if (!headers.has('cookie')) return;
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] !== 'cookie') continue;
    for (const pair of raw[i + 1].split(';')) {
      const eq = pair.indexOf('=');
      const name = (eq < 0 ? pair : pair.slice(0, eq)).trim();
      if (name !== '' && !drop(name)) kept.push(pair.trim());
    }
  }
  headers.remove('cookie');
  if (kept.length > 0) headers.add('cookie', kept.join('; '));
}

export interface CookieAttributes {
  readonly path: string;
  readonly domain?: string;
  readonly secure: boolean;
  /** Seconds; 0 deletes the cookie. */
  readonly maxAge: number;
}

/** A Set-Cookie value that scripts cannot read and that cross-site subrequests do not carry. */
export function setCookie(name: string, value: string, a: CookieAttributes): string {
  let out = `${name}=${value}; Path=${a.path}; Max-Age=${a.maxAge}; HttpOnly; SameSite=Lax`;
  if (a.domain !== undefined) out += `; Domain=${a.domain}`;
  if (a.secure) out += '; Secure';
  return out;
}
