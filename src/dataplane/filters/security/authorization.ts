//! SecurityPolicy `authorization`: the first rule whose principal matches decides, else the default
//! (Deny once rules exist, as Envoy Gateway). Claims and scopes are read from the identity an
//! authentication filter before this one verified; a request without one matches no JWT principal.

import type { AuthorizationPrincipal, AuthorizationSpec } from '../../../config/schema/security/authorization.js';
import type { Filter, LocalResponse, ProxyRequest, RequestIdentity } from '../filter.js';
import { addressSet } from './client-ip.js';

const DENIED: LocalResponse = { status: 403, errorCode: 'access_denied', message: 'the security policy does not allow this request' };

type Matcher = (req: ProxyRequest) => boolean;

/** Claim values as strings, whether the token carries one value or a list. */
function claimValues(identity: RequestIdentity, name: string): string[] {
  const v = identity.claims?.[name];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).filter((x) => typeof x !== 'object').map(String);
}

/** RFC 8693 `scope` is space-separated; some issuers (Azure AD, Okta) send `scp` as a list instead. */
export function scopesOf(identity: RequestIdentity): Set<string> {
  const out = new Set<string>();
  const scope = identity.claims?.scope;
  if (typeof scope === 'string') for (const s of scope.split(' ')) if (s !== '') out.add(s);
  for (const s of claimValues(identity, 'scp')) out.add(s);
  return out;
}

function principalMatcher(p: AuthorizationPrincipal): Matcher {
  const checks: Matcher[] = [];
  if (p.clientCIDRs) {
    const set = addressSet(p.clientCIDRs);
    checks.push((req) => set.has(req.clientAddress));
  }
  const jwt = p.jwt;
  if (jwt) {
    checks.push((req) => {
      const id = req.identity;
      if (id === undefined || (id.method !== 'jwt' && id.method !== 'oauth2' && id.method !== 'oidc')) return false;
      if (jwt.provider !== undefined && id.provider !== jwt.provider) return false;
      for (const c of jwt.claims ?? []) {
        const have = claimValues(id, c.name);
        if (!c.values.some((v) => have.includes(v))) return false;
      }
      if (jwt.scopes) {
        const scopes = scopesOf(id);
        if (!jwt.scopes.every((s) => scopes.has(s))) return false;
      }
      return true;
    });
  }
  return (req) => checks.every((c) => c(req));
}

export function authorizationFilter(spec: AuthorizationSpec): Filter {
  const rules = (spec.rules ?? []).map((r) => ({ allow: r.action === 'Allow', matches: principalMatcher(r.principal) }));
  const allowByDefault = (spec.defaultAction ?? (rules.length > 0 ? 'Deny' : 'Allow')) === 'Allow';
  return {
    name: 'Authorization',
    onRequest(req) {
      for (const r of rules) if (r.matches(req)) return r.allow ? undefined : DENIED;
      return allowByDefault ? undefined : DENIED;
    },
  };
}
