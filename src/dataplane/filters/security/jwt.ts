//! SecurityPolicy `jwt`: verifies a bearer JWT against the policy's providers (signature with an
//! allowlisted algorithm, issuer, audience, time claims with clock skew), then records who the
//! caller is and copies claims to upstream headers. Refusals follow RFC 6750.

import type { JSONWebKeySet, JWTPayload, JWTVerifyOptions } from 'jose';
import { durationMs } from '../../../config/translate/durations.js';
import type { JWTProvider, JWTSpec } from '../../../config/schema/security/jwt.js';
import { ASYMMETRIC_ALGORITHMS } from './jwt-algorithms.js';
import type { TokenSource } from '../../../config/schema/security/token-source.js';
import { PolicyProblem } from '../../../config/translate/attachment.js';
import type { SecurityContext } from '../../../config/translate/security.js';
import type { Filter, LocalResponse, ProxyRequest } from '../filter.js';
import { bearerChallenge } from './bearer.js';
import { removeCookies } from './cookies.js';
import { loadedJose, loadJose } from './jose.js';
import { hasSecretKey, jwksProblem } from './jwks-document.js';
import { KeysUnavailable, localKeys, remoteKeySet, type KeyResolver, type VerifyKey } from './jwks.js';
import { claimHeaderWriter, tokenReader, wellFormedToken, type ClaimHeaderWriter, type TokenReader } from './token-source.js';

/** Envoy's jwt_authn default: enough for clocks kept by NTP, short enough that an expired token is not honoured for long. */
const DEFAULT_CLOCK_SKEW = '60s';
/** Envoy's default remote JWKS cache duration. */
const DEFAULT_CACHE_DURATION = '10m';
const BEARER: TokenSource = { headers: [{ name: 'Authorization', valuePrefix: 'Bearer ' }] };

/** Why a token was refused; each has the RFC 6750 error_description a client sees. */
export type Refusal = 'malformed' | 'algorithm' | 'unknownKey' | 'signature' | 'expired' | 'notYetValid' | 'issuer' | 'audience' | 'claims';

/** Generic enough to tell an attacker nothing about keys or configuration, precise enough for a developer to fix the token. */
export const DESCRIPTIONS: Readonly<Record<Refusal, string>> = {
  malformed: 'the token is malformed',
  algorithm: 'the token signing algorithm is not accepted',
  unknownKey: 'the token signing key is not known',
  signature: 'the token signature is invalid',
  expired: 'the token has expired',
  notYetValid: 'the token is not yet valid',
  issuer: 'the token issuer is not accepted',
  audience: 'the token audience is not accepted',
  claims: 'the token claims are invalid',
};

/** Runs only after a verification was attempted, so jose is loaded. */
function refusalOf(err: unknown): Refusal {
  const { errors } = loadedJose();
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'notYetValid';
    if (err.claim === 'iss') return 'issuer';
    if (err.claim === 'aud') return 'audience';
    return 'claims';
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'algorithm';
  if (err instanceof errors.JWKSNoMatchingKey) return 'unknownKey';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  return 'malformed';
}

class IssuerMismatch extends Error {}

/** Envoy's jwt_cache_config idea: a token verified once is taken on sight until it expires. */
const CACHED_TOKENS = 1000;
/** A token without `exp` never expires; it is verified again at least this often anyway. */
const CACHE_NO_EXP_MS = 5 * 60_000;

/**
 * Tokens this provider verified, with their claims. A signature costs ~200 µs of CPU and a
 * promise; a cached token is accepted synchronously. Bounded, oldest entry out first; it lives in
 * the compiled filter, so a config change (new keys, other issuer) starts with an empty one.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, { readonly claims: JWTPayload; readonly until: number }>();

  get(token: string): JWTPayload | undefined {
    const e = this.entries.get(token);
    if (e === undefined) return undefined;
    if (Date.now() < e.until) return e.claims;
    this.entries.delete(token);
    return undefined;
  }

  add(token: string, claims: JWTPayload): void {
    const now = Date.now();
    const until = typeof claims.exp === 'number' ? Math.min(claims.exp * 1000, now + CACHE_NO_EXP_MS) : now + CACHE_NO_EXP_MS;
    if (this.entries.size >= CACHED_TOKENS) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, { claims, until });
  }
}

interface Provider {
  readonly name: string;
  readonly issuer: string | undefined;
  readonly read: TokenReader;
  readonly verify: (token: string) => Promise<JWTPayload>;
  readonly writeClaims: ClaimHeaderWriter | undefined;
  /** Removes the token from the request (forward: false). */
  readonly strip: ((req: ProxyRequest) => void) | undefined;
  readonly verified: VerifiedTokens;
}

/** A local JWKS; one from a Secret has not met the schema, so it is checked here as the schema checks an inline one. */
function localJWKS(text: string, where: string): JSONWebKeySet {
  const problem = jwksProblem(text);
  if (problem !== undefined) throw new PolicyProblem('InvalidJWKS', `${where} does not hold a JWKS document (${problem})`);
  return JSON.parse(text) as JSONWebKeySet;
}

function keyResolver(p: JWTProvider, ctx: SecurityContext): KeyResolver {
  if (p.remoteJWKS !== undefined) return remoteKeySet(p.remoteJWKS.uri, durationMs(p.remoteJWKS.cacheDuration ?? DEFAULT_CACHE_DURATION)).resolve;
  const local = p.localJWKS!;
  if (local.type === 'Inline') return localKeys(localJWKS(local.value, `provider ${p.name}: localJWKS`), true);
  const key = local.key ?? 'jwks';
  const text = ctx.secret(local.secretRef, key).toString('utf8');
  const jwks = localJWKS(text, `provider ${p.name}: Secret ${local.secretRef.name} key "${key}"`);
  if ((p.algorithms ?? []).some((a) => a.startsWith('HS')) && !hasSecretKey(text)) {
    throw new PolicyProblem('InvalidJWKS', `provider ${p.name}: HMAC algorithms need an HMAC key (kty "oct") in Secret ${local.secretRef.name}`);
  }
  return localKeys(jwks, true);
}

function verifier(p: JWTProvider, keys: KeyResolver): (token: string) => Promise<JWTPayload> {
  const algorithms = [...(p.algorithms ?? ASYMMETRIC_ALGORITHMS)];
  const allowed = new Set<string>(algorithms);
  const options: JWTVerifyOptions = {
    algorithms,
    issuer: p.issuer,
    audience: p.audiences === undefined ? undefined : [...p.audiences],
    clockTolerance: durationMs(p.clockSkew ?? DEFAULT_CLOCK_SKEW) / 1000,
  };
  return async (token) => {
    const { decodeProtectedHeader, errors, jwtVerify } = await loadJose();
    const header = decodeProtectedHeader(token);
    // Checked before any key lookup, so a token with a refused algorithm can never cause a JWKS fetch.
    if (typeof header.alg !== 'string' || !allowed.has(header.alg)) throw new errors.JOSEAlgNotAllowed('algorithm not allowed');
    const candidates: readonly VerifyKey[] = await keys(header);
    let failure: unknown = new errors.JWSSignatureVerificationFailed();
    for (const key of candidates) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (err) {
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw err;
        failure = err;
      }
    }
    throw failure;
  };
}

function queryWithout(query: string, names: ReadonlySet<string>): string {
  return query.split('&').filter((pair) => {
    const eq = pair.indexOf('=');
    return !names.has(eq < 0 ? pair : pair.slice(0, eq));
  }).join('&');
}

/** Removes every place of `source` that carries a token, so the backend never sees it. */
function stripper(source: TokenSource): (req: ProxyRequest) => void {
  const headers = (source.headers ?? []).map((h) => ({ name: h.name.toLowerCase(), prefix: h.valuePrefix?.toLowerCase() }));
  const cookies = new Set(source.cookies ?? []);
  const params = new Set(source.params ?? []);
  return (req) => {
    for (const h of headers) {
      const prefix = h.prefix;
      if (prefix === undefined) {
        req.headers.remove(h.name);
        continue;
      }
      const raw = req.headers.raw;
      for (let i = raw.length - 2; i >= 0; i -= 2) {
        if (raw[i] === h.name && raw[i + 1].slice(0, prefix.length).toLowerCase() === prefix) raw.splice(i, 2);
      }
    }
    if (cookies.size > 0) removeCookies(req.headers, (name) => cookies.has(name));
    if (params.size > 0 && req.query !== '') req.query = queryWithout(req.query, params);
  };
}

function compileProvider(p: JWTProvider, ctx: SecurityContext): Provider {
  const source = p.extractFrom ?? BEARER;
  return {
    name: p.name,
    issuer: p.issuer,
    read: tokenReader(source),
    verify: verifier(p, keyResolver(p, ctx)),
    writeClaims: claimHeaderWriter(p.claimToHeaders),
    strip: p.forward === false ? stripper(source) : undefined,
    verified: new VerifiedTokens(),
  };
}

/** The `iss` the token claims, before anything is verified; a token that cannot be decoded is malformed. */
function unverifiedIssuer(token: string): unknown {
  try {
    return loadedJose().decodeJwt(token).iss;
  } catch {
    throw new (loadedJose().errors.JWTInvalid)('malformed');
  }
}

const KEYS_UNAVAILABLE: LocalResponse = { status: 503, errorCode: 'auth_unavailable', message: 'the keys to verify the token could not be fetched; try again later' };

function missing(req: ProxyRequest): LocalResponse {
  return { status: 401, errorCode: 'unauthenticated', message: 'a bearer token is required', headers: [['www-authenticate', bearerChallenge(req)]] };
}

function refused(req: ProxyRequest, err: unknown): LocalResponse {
  if (err instanceof KeysUnavailable) return KEYS_UNAVAILABLE;
  const description = DESCRIPTIONS[err instanceof IssuerMismatch ? 'issuer' : refusalOf(err)];
  return {
    status: 401, errorCode: 'unauthenticated', message: description,
    headers: [['www-authenticate', bearerChallenge(req, { error: 'invalid_token', description })]],
  };
}

export function jwtFilter(spec: JWTSpec, ctx: SecurityContext): Filter {
  const providers = spec.providers.map((p) => compileProvider(p, ctx));
  const optional = spec.optional === true;
  const claimHeaders = [...new Set(spec.providers.flatMap((p) => (p.claimToHeaders ?? []).map((c) => c.header.toLowerCase())))];

  function accept(req: ProxyRequest, provider: Provider, claims: JWTPayload): undefined {
    req.identity = { method: 'jwt', subject: typeof claims.sub === 'string' ? claims.sub : '', provider: provider.name, claims };
    provider.writeClaims?.(req, claims);
    provider.strip?.(req);
    return undefined;
  }

  async function authenticate(req: ProxyRequest, found: readonly { provider: Provider; token: string }[]): Promise<LocalResponse | undefined> {
    const { errors } = await loadJose();
    let failure: unknown;
    for (const { provider, token } of found) {
      try {
        if (!wellFormedToken(token)) throw new errors.JWTInvalid('malformed');
        // A token from another issuer is not this provider's to check: no key of this provider is fetched for it.
        if (provider.issuer !== undefined && unverifiedIssuer(token) !== provider.issuer) throw new IssuerMismatch();
        const claims = await provider.verify(token);
        provider.verified.add(token, claims);
        return accept(req, provider, claims);
      } catch (err) {
        // What the provider of the token's own issuer found says more than another issuer's mismatch.
        if (!(err instanceof IssuerMismatch)) failure ??= err;
      }
    }
    return refused(req, failure ?? new IssuerMismatch());
  }

  return {
    name: 'JWT',
    onRequest(req) {
      // Claim headers only ever come from a verified token, never from the client.
      for (const h of claimHeaders) req.headers.remove(h);
      const found: { provider: Provider; token: string }[] = [];
      for (const provider of providers) {
        const token = provider.read(req);
        if (token !== undefined) found.push({ provider, token });
      }
      if (found.length === 0) return optional ? undefined : missing(req);
      for (const { provider, token } of found) {
        const claims = provider.verified.get(token);
        if (claims !== undefined) return accept(req, provider, claims);
      }
      return authenticate(req, found);
    },
  };
}
