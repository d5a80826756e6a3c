//! SecurityPolicy `introspection`: an opaque bearer token passes when the authorization server says
//! it is active (RFC 7662). Answers are cached by a hash of the token, never past the token's `exp`,
//! and inactive ones briefly too, so a flood of made-up tokens does not become a flood of calls.

import { createHash } from 'node:crypto';
import { durationMs } from '../../../config/translate/durations.js';
import type { IntrospectionSpec } from '../../../config/schema/security/introspection.js';
import type { SecurityContext } from '../../../config/translate/security.js';
import type { Filter, LocalResponse, ProxyRequest, RequestIdentity } from '../filter.js';
import { bearerChallenge } from './bearer.js';
import { publishSecurityEvent } from './events.js';
import { AnswerCache, type Cached } from './idp/answer-cache.js';
import { basicCredentials, callIdP, IdPUnavailable } from './idp/http.js';
import { providerMetadata } from './idp/metadata.js';
import { claimHeaderWriter, tokenReader, wellFormedToken } from './token-source.js';

/** Tokens remembered per policy settings; the oldest go first beyond this. */
const CACHE_ENTRIES = 10_000;
/** An inactive answer is reused at most this long, so a token that becomes valid (a clock skew at the provider) is not refused for long. */
const INACTIVE_MAX_MS = 10_000;
/** Caches outlive config reloads while their settings stay the same; settings that vanish are dropped beyond this many. */
const MAX_CACHES = 64;

/** What an introspection decided; `refused` only says the token did not pass (inactive, or not for this audience). */
type Answer = { readonly identity: RequestIdentity } | { readonly refused: true };

const caches = new Map<string, AnswerCache<Answer>>();

function cacheFor(settings: string): AnswerCache<Answer> {
  let cache = caches.get(settings);
  if (cache === undefined) {
    if (caches.size >= MAX_CACHES) caches.delete(caches.keys().next().value!);
    caches.set(settings, cache = new AnswerCache<Answer>(CACHE_ENTRIES));
  }
  return cache;
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('base64url');

function audienceOf(claims: Record<string, unknown>): string[] {
  const aud = claims.aud;
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

function subjectOf(claims: Record<string, unknown>): string {
  for (const k of ['sub', 'username', 'client_id']) if (typeof claims[k] === 'string' && claims[k] !== '') return claims[k] as string;
  return '';
}

/** Until when (epoch ms) an answer may be reused: an active one `cacheMs` but never past the token's `exp`, an inactive one briefly. */
export function reuseUntil(answer: Readonly<Record<string, unknown>>, now: number, cacheMs: number): number {
  if (answer.active !== true) return now + Math.min(cacheMs, INACTIVE_MAX_MS);
  return typeof answer.exp === 'number' ? Math.min(now + cacheMs, answer.exp * 1000) : now + cacheMs;
}

export function introspectionFilter(spec: IntrospectionSpec, ctx: SecurityContext): Filter {
  const secret = ctx.secret(spec.clientSecret, 'client-secret').toString('utf8').trim();
  const authorization = basicCredentials(spec.clientID, secret);
  const cacheMs = durationMs(spec.cacheDuration ?? '30s');
  const timeoutMs = durationMs(spec.timeout ?? '2s');
  const provider = spec.issuer ?? spec.endpoint!;
  const audiences = spec.audiences === undefined ? undefined : new Set(spec.audiences);
  const readToken = tokenReader(spec.extractFrom);
  const writeClaims = claimHeaderWriter(spec.claimToHeaders);
  const missing = (req: ProxyRequest): LocalResponse => ({ status: 401, errorCode: 'unauthenticated', message: 'a bearer token is required', headers: [['www-authenticate', bearerChallenge(req)]] });
  const invalid = (req: ProxyRequest): LocalResponse => ({
    status: 401, errorCode: 'unauthenticated', message: 'the bearer token is not valid',
    headers: [['www-authenticate', bearerChallenge(req, { error: 'invalid_token', description: 'the token is not active' })]],
  });
  const unavailable: LocalResponse = { status: 503, errorCode: 'auth_unavailable', message: 'the token could not be checked; try again later' };
  const inactive: Answer = { refused: true };
  const cache = cacheFor(JSON.stringify([spec.endpoint, spec.issuer, spec.clientID, sha256(secret), cacheMs, spec.audiences]));

  const endpoint = spec.endpoint !== undefined ? () => Promise.resolve(spec.endpoint!) : async () => {
    const url = (await providerMetadata(spec.issuer!)).introspection_endpoint;
    if (typeof url !== 'string') throw new IdPUnavailable(`the metadata of ${spec.issuer} names no introspection_endpoint`);
    return url;
  };

  async function introspect(token: string): Promise<Cached<Answer>> {
    const url = await endpoint();
    const res = await callIdP({ url, form: { token, token_type_hint: 'access_token' }, authorization, timeoutMs });
    const claims = res.json as Record<string, unknown> | undefined;
    if (res.status !== 200 || claims === undefined || claims === null || typeof claims !== 'object' || typeof claims.active !== 'boolean') {
      throw new IdPUnavailable(`${url} answered ${res.status}${res.status === 200 ? ' without an RFC 7662 answer' : ''}`);
    }
    const expiresAt = reuseUntil(claims, Date.now(), cacheMs);
    if (!claims.active) return { value: inactive, expiresAt };
    if (audiences !== undefined && !audienceOf(claims).some((a) => audiences.has(a))) return { value: inactive, expiresAt };
    return { value: { identity: { method: 'oauth2', subject: subjectOf(claims), provider, claims } }, expiresAt };
  }

  const decide = (req: ProxyRequest, answer: Answer): LocalResponse | undefined => {
    if ('refused' in answer) return invalid(req);
    req.identity = answer.identity;
    writeClaims?.(req, answer.identity.claims!);
    return undefined;
  };

  return {
    name: 'Introspection',
    onRequest(req) {
      const token = readToken(req);
      if (token === undefined) return missing(req);
      if (!wellFormedToken(token)) return invalid(req);
      const answer = cache.get(sha256(token), () => introspect(token));
      if (!(answer instanceof Promise)) return decide(req, answer);
      return answer.then((a) => decide(req, a), (err: unknown) => {
        publishSecurityEvent({ policy: ctx.policy, mechanism: 'introspection', requestId: req.requestId, message: `token introspection failed: ${(err as Error).message}` });
        return unavailable;
      });
    },
  };
}
