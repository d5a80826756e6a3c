//! SecurityPolicy `authorization`: the first rule whose principal matches decides, else the default
//! (Deny once rules exist, as Envoy Gateway). Claims and scopes are read from the identity an
//! authentication filter before this one verified; a request without one matches no JWT principal.
//! A refusal says what would have helped, as RFC 6750 asks: 401 when an anonymous caller would have
//! been let in with a token, 403 `insufficient_scope` naming the scopes a token lacked.

import type { AuthorizationPrincipal, AuthorizationSpec } from '../../../config/schema/security/authorization.js';
import type { Filter, LocalResponse, ProxyRequest, RequestIdentity } from '../filter.js';
import { bearerChallenge } from './bearer.js';
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

/** Why a principal did not match when only its token requirement failed. */
type Shortfall = 'unauthenticated' | 'scope';

interface Principal {
  readonly matches: Matcher;
  /** Set when the principal would have matched with a token (anonymous caller) or with more scopes. */
  readonly shortfall: (req: ProxyRequest) => Shortfall | undefined;
}

const ALWAYS: Matcher = () => true;

function compilePrincipal(p: AuthorizationPrincipal): Principal {
  const set = p.clientCIDRs === undefined ? undefined : addressSet(p.clientCIDRs);
  const address: Matcher = set === undefined ? ALWAYS : (req) => set.has(req.clientAddress);
  const jwt = p.jwt;
  if (jwt === undefined) return { matches: address, shortfall: () => undefined };
  const token: Matcher = (req) => {
    const id = req.identity;
    if (id === undefined || (id.method !== 'jwt' && id.method !== 'oauth2' && id.method !== 'oidc')) return false;
    if (jwt.provider !== undefined && id.provider !== jwt.provider) return false;
    for (const c of jwt.claims ?? []) {
      const have = claimValues(id, c.name);
      if (!c.values.some((v) => have.includes(v))) return false;
    }
    return true;
  };
  const required = jwt.scopes;
  const scopes: Matcher = required === undefined ? ALWAYS : (req) => {
    const have = scopesOf(req.identity!);
    return required.every((s) => have.has(s));
  };
  return {
    matches: (req) => address(req) && token(req) && scopes(req),
    shortfall: (req) => {
      if (!address(req)) return undefined;
      if (req.identity === undefined) return 'unauthenticated';
      return token(req) && !scopes(req) ? 'scope' : undefined;
    },
  };
}

interface Rule {
  readonly allow: boolean;
  readonly principal: Principal;
  /** The challenge's scope parameter: the scopes this rule requires. */
  readonly scope: string | undefined;
}

function refusal(req: ProxyRequest, hint: { rule: Rule; shortfall: Shortfall } | undefined): LocalResponse {
  if (hint === undefined) return DENIED;
  if (hint.shortfall === 'unauthenticated') {
    return { status: 401, errorCode: 'unauthenticated', message: 'a bearer token is required', headers: [['www-authenticate', bearerChallenge(req)]] };
  }
  const description = 'the token lacks a scope this request requires';
  return {
    status: 403, errorCode: 'access_denied', message: description,
    headers: [['www-authenticate', bearerChallenge(req, { error: 'insufficient_scope', description, scope: hint.rule.scope })]],
  };
}

export function authorizationFilter(spec: AuthorizationSpec): Filter {
  const rules: Rule[] = (spec.rules ?? []).map((r) => ({
    allow: r.action === 'Allow',
    principal: compilePrincipal(r.principal),
    scope: r.principal.jwt?.scopes?.join(' '),
  }));
  const allowByDefault = (spec.defaultAction ?? (rules.length > 0 ? 'Deny' : 'Allow')) === 'Allow';
  return {
    name: 'Authorization',
    onRequest(req) {
      // The first rule that a token (or more scopes) would have matched; an Allow there makes the refusal say so.
      let hint: { rule: Rule; shortfall: Shortfall } | undefined;
      let hinted = false;
      for (const rule of rules) {
        if (rule.principal.matches(req)) return rule.allow ? undefined : refusal(req, hint);
        if (hinted) continue;
        const shortfall = rule.principal.shortfall(req);
        if (shortfall === undefined) continue;
        hinted = true;
        if (rule.allow) hint = { rule, shortfall };
      }
      return allowByDefault ? undefined : refusal(req, hint);
    },
  };
}
