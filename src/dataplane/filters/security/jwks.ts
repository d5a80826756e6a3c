//! The keys a JWT provider verifies signatures with. A local JWKS is built at compile time; a remote
//! one is fetched on first use, used for `cacheDuration` then refreshed in the background, fetched
//! again when a token names an unknown `kid` (at most once per cooldown), and kept whenever a fetch
//! fails, so a JWKS server that is down never breaks tokens signed with keys already known.
//! Remote sets live in a registry keyed by their settings, so a config reload keeps their keys.

import type { CryptoKey, JSONWebKeySet, JWK, JWSHeaderParameters } from 'jose';
import { jwksFetchSeries } from '../../../telemetry/metrics.js';
import { idpRequest } from './idp/http.js';
import { loadedJose, loadJose } from './jose.js';

/** A key a signature may be checked with: a public key, or an HMAC secret. */
export type VerifyKey = CryptoKey | Uint8Array;

/** The keys that may have signed a token with this header; several when the token names no `kid` and more than one key fits. */
export type KeyResolver = (header: JWSHeaderParameters) => Promise<readonly VerifyKey[]>;

/** A remote JWKS that has never been fetched successfully and could not be fetched now. */
export class KeysUnavailable extends Error {}

/** How long a token naming an unknown `kid` waits before it may cause another fetch: bounds the load forged `kid`s put on the JWKS server. */
export const KID_REFETCH_COOLDOWN_MS = 30_000;
/** After a failed fetch, how long before the next attempt, whatever asks for it. */
export const FETCH_RETRY_MS = 5_000;
/** The first requests of a provider wait for its first fetch; this bounds how long. */
const FETCH_TIMEOUT_MS = 5_000;
/** Real key sets are a few KiB; anything far larger is not one. */
const MAX_JWKS_BYTES = 1 << 20;

const fetchSucceeded = jwksFetchSeries('success');
const fetchFailed = jwksFetchSeries('failure');

type AsymmetricSet = (header: JWSHeaderParameters) => Promise<CryptoKey>;

async function keysOf(set: AsymmetricSet, header: JWSHeaderParameters): Promise<VerifyKey[]> {
  const { errors } = await loadJose();
  try {
    return [await set(header)];
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    const out: VerifyKey[] = [];
    for await (const key of err) out.push(key);
    return out;
  }
}

interface Secret {
  readonly kid: string | undefined;
  readonly alg: string | undefined;
  readonly key: Uint8Array;
}

/**
 * Keys from a JWKS document. HMAC secrets (kty "oct") are used only for HS* tokens and only when
 * `secrets` allows them; every other algorithm is matched against the asymmetric keys alone, so a
 * public key can never serve as an HMAC secret.
 */
export function localKeys(jwks: JSONWebKeySet, secrets: boolean): KeyResolver {
  const asymmetric = jwks.keys.filter((k) => k.kty !== 'oct');
  let set: Promise<AsymmetricSet> | undefined;
  const asymmetricSet = () => (set ??= loadJose().then((jose) => jose.createLocalJWKSet({ keys: asymmetric })));
  const hmac: Secret[] = !secrets ? [] : jwks.keys
    .filter((k): k is JWK & { k: string } => k.kty === 'oct' && typeof k.k === 'string')
    .map((k) => ({ kid: k.kid, alg: k.alg, key: Buffer.from(k.k, 'base64url') }));
  return async (header) => {
    const { errors } = await loadJose();
    if (typeof header.alg === 'string' && header.alg.startsWith('HS')) {
      const found = hmac.filter((s) => (header.kid === undefined || s.kid === header.kid) && (s.alg === undefined || s.alg === header.alg));
      if (found.length === 0) throw new errors.JWKSNoMatchingKey();
      return found.map((s) => s.key);
    }
    if (asymmetric.length === 0) throw new errors.JWKSNoMatchingKey();
    return keysOf(await asymmetricSet(), header);
  };
}

function asJWKS(doc: unknown): JSONWebKeySet {
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('not a JWKS document');
  return { keys: keys.filter((k): k is JWK => k !== null && typeof k === 'object' && !Array.isArray(k)) };
}

/** GET `uri` within the fetch timeout and size limit; the parsed JSON body of a 200 answer. */
async function fetchJSON(uri: string): Promise<unknown> {
  const url = new URL(uri);
  const res = await idpRequest({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: { accept: 'application/jwk-set+json, application/json' },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`JWKS answer ${res.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JWKS_BYTES) {
      res.body.destroy();
      throw new Error('JWKS answer too large');
    }
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

export interface RemoteKeySetOptions {
  readonly uri: string;
  /** Milliseconds keys are used before a background refresh. */
  readonly cacheMs: number;
  /** Replaces the HTTP fetch (tests). */
  readonly load?: (uri: string) => Promise<unknown>;
  /** Replaces Date.now (tests). */
  readonly now?: () => number;
}

export class RemoteKeySet {
  private keys: KeyResolver | undefined;
  private fetchedAt = -Infinity;
  private attemptedAt = -Infinity;
  private kidRefetchAt = -Infinity;
  private pending: Promise<void> | undefined;
  private readonly uri: string;
  private readonly cacheMs: number;
  private readonly load: (uri: string) => Promise<unknown>;
  private readonly now: () => number;

  constructor(opts: RemoteKeySetOptions) {
    this.uri = opts.uri;
    this.cacheMs = opts.cacheMs;
    this.load = opts.load ?? fetchJSON;
    this.now = opts.now ?? Date.now;
  }

  readonly resolve: KeyResolver = async (header) => {
    const now = this.now();
    let fetchedNow = false;
    if (this.keys === undefined) {
      if (this.pending === undefined && now - this.attemptedAt < FETCH_RETRY_MS) throw new KeysUnavailable();
      await this.refresh();
      fetchedNow = true;
    } else if (now - this.fetchedAt >= this.cacheMs && (this.attemptedAt <= this.fetchedAt || now - this.attemptedAt >= FETCH_RETRY_MS)) {
      // Stale keys keep serving while the refresh runs: a token never waits for a routine refresh.
      void this.refresh();
    }
    const keys = this.keys;
    if (keys === undefined) throw new KeysUnavailable();
    try {
      return await keys(header);
    } catch (err) {
      if (!(err instanceof loadedJose().errors.JWKSNoMatchingKey) || fetchedNow) throw err;
      // Rotation: the issuer may have published a key after our last fetch. A fetch already under way counts as that refetch.
      if (this.pending === undefined) {
        if (now - this.kidRefetchAt < KID_REFETCH_COOLDOWN_MS) throw err;
        this.kidRefetchAt = now;
      }
      await this.refresh();
      return (this.keys ?? keys)(header);
    }
  };

  private refresh(): Promise<void> {
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<void> {
    this.attemptedAt = this.now();
    try {
      this.keys = localKeys(asJWKS(await this.load(this.uri)), false);
      this.fetchedAt = this.now();
      fetchSucceeded.inc();
    } catch {
      // The last good keys stay in use; the next attempt waits FETCH_RETRY_MS.
      fetchFailed.inc();
    }
  }
}

/** One set per URI and cache duration for the life of the process: bounded by the distinct providers ever configured. */
const registry = new Map<string, RemoteKeySet>();

export function remoteKeySet(uri: string, cacheMs: number): RemoteKeySet {
  const key = `${cacheMs} ${uri}`;
  let set = registry.get(key);
  if (set === undefined) {
    set = new RemoteKeySet({ uri, cacheMs });
    registry.set(key, set);
  }
  return set;
}
