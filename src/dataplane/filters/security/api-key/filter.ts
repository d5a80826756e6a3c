//! SecurityPolicy `apiKeyAuth`: finds the key in the places the policy names, looks its prefix up in
//! this process's keyring and compares SHA-256 digests in constant time. The caller becomes the key's
//! consumer; the key itself is removed from the upstream request unless the policy forwards it.

import { timingSafeEqual } from 'node:crypto';
import type { APIKeyAuthSpec } from '../../../../config/schema/security/api-key-auth.js';
import type { SecurityContext } from '../../../../config/translate/security.js';
import type { Filter, FilterOutcome, LocalResponse, ProxyRequest } from '../../filter.js';
import { apiKeyPrefix, DEFAULT_API_KEY_HEADER, digestApiKey } from './format.js';
import { sharedKeyring, type KeyEntry, type Keyring } from './keyring.js';

type Source = { readonly header: string } | { readonly param: string };

function decoded(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The first value of query parameter `name` in a raw query; undefined when absent. */
function queryParam(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (decoded(eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? '' : decoded(part.slice(eq + 1));
  }
  return undefined;
}

function withoutParams(query: string, names: readonly string[]): string {
  return query.split('&').filter((part) => {
    const eq = part.indexOf('=');
    return !names.includes(decoded(eq < 0 ? part : part.slice(0, eq)));
  }).join('&');
}

/**
 * RFC 9110 asks a 401 to carry a challenge, and no scheme is registered for API keys. `ApiKey` is the
 * name in common use (OpenAPI calls the mechanism apiKey); its parameters tell a client where to put the
 * key. Each parameter may appear once in a challenge, so it names the first header and the first
 * parameter. The realm is the host the client asked for, as in the Bearer challenges of `jwt`, with
 * only host characters kept so it cannot break the quoting.
 */
function challenger(sources: readonly Source[]): (req: ProxyRequest) => string {
  const header = sources.find((s): s is { header: string } => 'header' in s);
  const param = sources.find((s): s is { param: string } => 'param' in s);
  const where = [header && `, header="${header.header}"`, param && `, param="${param.param}"`].filter(Boolean).join('');
  return (req) => `ApiKey realm="${req.authority.replace(/[^A-Za-z0-9.:[\]-]/g, '')}"${where}`;
}

type Refusal = 'malformed' | 'unknown prefix' | 'secret does not match' | 'revoked' | 'expired';

/** What the filter works with; tests give their own. */
export interface ApiKeyDeps {
  readonly keyring?: () => Keyring;
  readonly now?: () => number;
}

export function apiKeyAuthFilter(spec: APIKeyAuthSpec, ctx: Pick<SecurityContext, 'policy'>, deps: ApiKeyDeps = {}): Filter {
  const { keyring = sharedKeyring, now = Date.now } = deps;
  const sources: Source[] = (spec.extractFrom ?? [{ header: DEFAULT_API_KEY_HEADER }])
    .map((s) => (s.header !== undefined ? { header: s.header.toLowerCase() } : { param: s.param! }));
  const headers = sources.flatMap((s) => ('header' in s ? [s.header] : []));
  const params = sources.flatMap((s) => ('param' in s ? [s.param] : []));
  const strip = spec.forwardCredentials !== true;
  const consumerHeader = spec.consumerHeader?.toLowerCase();
  const challenge = challenger(sources);
  const missing = (req: ProxyRequest): LocalResponse => (
    { status: 401, errorCode: 'unauthenticated', message: 'this route requires an API key', headers: [['www-authenticate', challenge(req)]] });
  // One answer for every key that does not work, so a caller cannot tell which keys exist; the log says why.
  const invalid = (req: ProxyRequest): LocalResponse => (
    { status: 401, errorCode: 'unauthenticated', message: 'the API key is not valid', headers: [['www-authenticate', challenge(req)]] });
  const unavailable: LocalResponse = {
    status: 503, errorCode: 'auth_unavailable', message: 'the API key could not be checked; try again later', headers: [['retry-after', '1']],
  };

  const presented = (req: ProxyRequest): string | undefined => {
    for (const s of sources) {
      const value = 'header' in s ? req.headers.get(s.header) : queryParam(req.query, s.param);
      if (value !== undefined && value !== '') return value;
    }
    return undefined;
  };

  const refuse = (ring: Keyring, req: ProxyRequest, reason: Refusal, prefix: string | undefined, entry?: KeyEntry): LocalResponse => {
    const fields = { policy: ctx.policy, requestId: req.requestId, reason, prefix, keyId: entry?.id, consumer: entry?.consumer };
    // A key that exists is worth an operator's attention; garbage and guesses are only noise.
    if (entry !== undefined) ring.log.info(fields, 'API key refused');
    else ring.log.debug(fields, 'API key refused');
    return invalid(req);
  };

  const accept = (ring: Keyring, req: ProxyRequest, entry: KeyEntry): undefined => {
    if (ring.log.isLevelEnabled('debug')) ring.log.debug({ policy: ctx.policy, requestId: req.requestId, keyId: entry.id, consumer: entry.consumer }, 'API key accepted');
    req.identity = { method: 'apiKey', subject: entry.consumer, consumer: entry.consumer };
    if (strip) {
      for (const h of headers) req.headers.remove(h);
      if (params.length > 0 && req.query !== '') req.query = withoutParams(req.query, params);
    }
    if (consumerHeader !== undefined) req.headers.set(consumerHeader, entry.consumer);
    return undefined;
  };

  const decide = (ring: Keyring, req: ProxyRequest, key: string): FilterOutcome => {
    const prefix = apiKeyPrefix(key);
    if (prefix === undefined) return refuse(ring, req, 'malformed', undefined);
    const entry = ring.get(prefix);
    if (entry === undefined) return refuse(ring, req, 'unknown prefix', prefix);
    if (!timingSafeEqual(digestApiKey(key), entry.digest)) return refuse(ring, req, 'secret does not match', prefix, entry);
    if (entry.revoked) return refuse(ring, req, 'revoked', prefix, entry);
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) return refuse(ring, req, 'expired', prefix, entry);
    return accept(ring, req, entry);
  };

  return {
    name: 'APIKeyAuth',
    onRequest(req) {
      const key = presented(req);
      if (key === undefined) return missing(req);
      const ring = keyring();
      if (ring.ready) return decide(ring, req, key);
      // Only the first requests of a process wait, for the first load; after a failed one they get 503 until a sync succeeds.
      return ring.load().then((loaded) => (loaded ? decide(ring, req, key) : unavailable));
    },
  };
}
