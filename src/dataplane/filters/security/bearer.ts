//! RFC 6750 `WWW-Authenticate: Bearer` challenges, shared by the JWT filter (401) and authorization
//! (403 insufficient_scope), so a client reads every bearer refusal of windrose the same way.

import type { ProxyRequest } from '../filter.js';

export interface BearerError {
  /** RFC 6750 section 3.1: invalid_request, invalid_token or insufficient_scope. */
  readonly error: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  readonly description: string;
  /** Space-separated scopes that would have been enough (insufficient_scope). */
  readonly scope?: string;
}

/**
 * The realm is the host the client asked for: it names the protected API without revealing
 * anything the client did not send. Only host characters are kept, so it cannot break the quoting.
 */
function realm(req: ProxyRequest): string {
  return req.authority.replace(/[^A-Za-z0-9.:[\]-]/g, '');
}

/** The challenge for a request; without `error` when it carried no token at all (RFC 6750 section 3.1). */
export function bearerChallenge(req: ProxyRequest, err?: BearerError): string {
  let out = `Bearer realm="${realm(req)}"`;
  if (err === undefined) return out;
  out += `, error="${err.error}", error_description="${err.description}"`;
  if (err.scope !== undefined) out += `, scope="${err.scope}"`;
  return out;
}
