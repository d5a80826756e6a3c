//! The OpenID provider as the login flow sees it: its endpoints (configured, else discovered), the
//! authorization code exchanged at its token endpoint, and the ID token verified against its keys.

import type { JWTPayload, JWTVerifyOptions } from 'jose';
import { loadJose } from '../jose.js';
import { ASYMMETRIC_ALGORITHMS } from '../jwt-algorithms.js';
import type { OIDCProvider } from '../../../../config/schema/security/oidc.js';
import { callIdP, IdPUnavailable } from '../idp/http.js';
import { providerMetadata } from '../idp/metadata.js';
import { KeysUnavailable, remoteKeySet, type VerifyKey } from '../jwks.js';

/** The provider refused the login or sent an ID token that does not verify: the browser must start again. */
export class LoginRefused extends Error {}

export interface Endpoints {
  readonly authorization: string;
  readonly token: string;
  readonly jwks: string;
  readonly endSession: string | undefined;
}

const TIMEOUT_MS = 5000;
/** Only signatures with the provider's public keys: never `none`, never a MAC keyed with the client secret. */
const ALGORITHMS: ReadonlySet<string> = new Set(ASYMMETRIC_ALGORITHMS);
const CLOCK_TOLERANCE_S = 30;
/** The provider's keys are shared with the JWT filter's key sets (refetched on an unknown `kid`, kept when a fetch fails). */
const KEYS_CACHE_MS = 10 * 60_000;

/** The endpoints configured, the rest from discovery; discovery is skipped when nothing is missing. */
export function endpointsOf(p: OIDCProvider): () => Promise<Endpoints> {
  if (p.authorizationEndpoint !== undefined && p.tokenEndpoint !== undefined && p.jwksURI !== undefined) {
    const fixed: Endpoints = { authorization: p.authorizationEndpoint, token: p.tokenEndpoint, jwks: p.jwksURI, endSession: p.endSessionEndpoint };
    return () => Promise.resolve(fixed);
  }
  return async () => {
    const m = await providerMetadata(p.issuer);
    const authorization = p.authorizationEndpoint ?? m.authorization_endpoint;
    const token = p.tokenEndpoint ?? m.token_endpoint;
    const jwks = p.jwksURI ?? m.jwks_uri;
    if (typeof authorization !== 'string' || typeof token !== 'string' || typeof jwks !== 'string') {
      throw new IdPUnavailable(`the metadata of ${p.issuer} lacks the authorization, token or jwks_uri endpoint`);
    }
    const endSession = p.endSessionEndpoint ?? (typeof m.end_session_endpoint === 'string' ? m.end_session_endpoint : undefined);
    return { authorization, token, jwks, endSession };
  };
}

export interface TokenSet {
  readonly idToken: string;
  readonly accessToken: string | undefined;
  /** Seconds the access token lives, when the provider said. */
  readonly expiresIn: number | undefined;
}

export interface CodeExchange {
  readonly tokenEndpoint: string;
  readonly code: string;
  readonly redirectURI: string;
  readonly verifier: string;
  readonly clientID: string;
  /** client_secret_basic: the Authorization header; client_secret_post: undefined, and the secret goes in the form. */
  readonly authorization: string | undefined;
  readonly clientSecret: string;
}

export async function exchangeCode(x: CodeExchange): Promise<TokenSet> {
  const form: Record<string, string> = { grant_type: 'authorization_code', code: x.code, redirect_uri: x.redirectURI, code_verifier: x.verifier };
  if (x.authorization === undefined) Object.assign(form, { client_id: x.clientID, client_secret: x.clientSecret });
  const res = await callIdP({ url: x.tokenEndpoint, form, authorization: x.authorization, timeoutMs: TIMEOUT_MS });
  const body = res.json as Record<string, unknown> | undefined;
  // RFC 6749 section 5.2: a refused code is a 400 (401 for client authentication); anything else is the provider failing.
  if (res.status === 400 || res.status === 401) throw new LoginRefused(`the token endpoint refused the code (${typeof body?.error === 'string' ? body.error : res.status})`);
  if (res.status !== 200 || body === undefined || body === null || typeof body !== 'object') throw new IdPUnavailable(`${x.tokenEndpoint} answered ${res.status}`);
  if (typeof body.id_token !== 'string') throw new LoginRefused('the token endpoint sent no ID token (is "openid" among the client\'s scopes?)');
  return {
    idToken: body.id_token,
    accessToken: typeof body.access_token === 'string' ? body.access_token : undefined,
    expiresIn: typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : undefined,
  };
}

/** OpenID Connect Core 3.1.3.7: signature, issuer, audience, expiry, the nonce of this login, and `azp` when there are several audiences. */
export async function verifyIdToken(idToken: string, issuer: string, jwksURL: string, clientID: string, nonce: string): Promise<JWTPayload> {
  const refused = (why: string) => new LoginRefused(`the ID token did not verify (${why})`);
  const { decodeProtectedHeader, errors, jwtVerify } = await loadJose();
  let header;
  try {
    header = decodeProtectedHeader(idToken);
  } catch {
    throw refused('malformed');
  }
  if (typeof header.alg !== 'string' || !ALGORITHMS.has(header.alg)) throw refused(`algorithm ${String(header.alg)}`);
  let keys: readonly VerifyKey[];
  try {
    keys = await remoteKeySet(jwksURL, KEYS_CACHE_MS).resolve(header);
  } catch (err) {
    if (err instanceof KeysUnavailable) throw new IdPUnavailable(`the keys of ${issuer} (${jwksURL}) could not be fetched`);
    throw refused('no key matches');
  }
  const options: JWTVerifyOptions = { issuer, audience: clientID, algorithms: [header.alg], clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ['sub', 'exp', 'iat'] };
  let payload: JWTPayload | undefined;
  for (const key of keys) {
    try {
      payload = (await jwtVerify(idToken, key, options)).payload;
      break;
    } catch (err) {
      if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw refused((err as { code?: string }).code ?? (err as Error).name);
    }
  }
  if (payload === undefined) throw refused('signature');
  if (payload.nonce !== nonce) throw new LoginRefused('the ID token is not for this login (nonce)');
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== clientID) throw new LoginRefused('the ID token was issued to another client (azp)');
  return payload;
}
