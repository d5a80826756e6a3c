//! Authorization server metadata (OpenID Connect Discovery 1.0, RFC 8414), fetched on first use and
//! kept per issuer for the life of the process, so config reloads do not fetch it again.

import { callIdP, IdPUnavailable } from './http.js';

export interface ProviderMetadata {
  readonly issuer: string;
  readonly authorization_endpoint?: string;
  readonly token_endpoint?: string;
  readonly jwks_uri?: string;
  readonly end_session_endpoint?: string;
  readonly introspection_endpoint?: string;
  readonly id_token_signing_alg_values_supported?: readonly string[];
}

const TIMEOUT_MS = 5000;
/** A document is fetched again after this long; until a new one arrives, the old one serves. */
const REFRESH_MS = 60 * 60_000;
/** After a failed fetch, requests fail fast for this long instead of each asking the provider again. */
const RETRY_MS = 5000;

interface Entry {
  doc?: ProviderMetadata;
  fetchedAt: number;
  failure?: { error: IdPUnavailable; at: number };
  pending?: Promise<ProviderMetadata>;
}

const registry = new Map<string, Entry>();

/** OpenID discovery appends to the issuer; RFC 8414 inserts the well-known segment before the issuer's path. */
export function discoveryURLs(issuer: string): string[] {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/$/, '');
  return [`${u.origin}${path}/.well-known/openid-configuration`, `${u.origin}/.well-known/oauth-authorization-server${path}`];
}

async function fetchMetadata(issuer: string): Promise<ProviderMetadata> {
  let status = 0;
  for (const url of discoveryURLs(issuer)) {
    const answer = await callIdP({ url, timeoutMs: TIMEOUT_MS });
    status = answer.status;
    if (status !== 200) continue;
    const doc = answer.json as ProviderMetadata | undefined;
    if (doc === undefined || typeof doc !== 'object' || doc === null) throw new IdPUnavailable(`${url} is not a JSON metadata document`);
    // Both specs require the document to name exactly the issuer it was fetched for (mix-up defence).
    if (doc.issuer !== issuer) throw new IdPUnavailable(`${url} names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`);
    return doc;
  }
  throw new IdPUnavailable(`no metadata for issuer ${issuer} (discovery answered ${status})`);
}

/** The issuer's metadata; rejects with IdPUnavailable when it cannot be had and none was fetched before. */
export function providerMetadata(issuer: string, now = Date.now()): Promise<ProviderMetadata> {
  let entry = registry.get(issuer);
  if (entry === undefined) registry.set(issuer, entry = { fetchedAt: 0 });
  const e = entry;
  if (e.doc !== undefined && now - e.fetchedAt < REFRESH_MS) return Promise.resolve(e.doc);
  if (e.pending !== undefined) return e.doc !== undefined ? Promise.resolve(e.doc) : e.pending;
  if (e.failure !== undefined && now - e.failure.at < RETRY_MS) return e.doc !== undefined ? Promise.resolve(e.doc) : Promise.reject(e.failure.error);
  const pending = fetchMetadata(issuer).then((doc) => {
    e.doc = doc;
    e.fetchedAt = Date.now();
    e.failure = undefined;
    return doc;
  }, (err: unknown) => {
    const error = err instanceof IdPUnavailable ? err : new IdPUnavailable(`metadata of ${issuer}: ${(err as Error).message}`);
    e.failure = { error, at: Date.now() };
    if (e.doc !== undefined) return e.doc;
    throw error;
  }).finally(() => {
    e.pending = undefined;
  });
  e.pending = pending;
  return e.doc !== undefined ? Promise.resolve(e.doc) : pending;
}
