//! SecurityPolicy `jwt`: Envoy Gateway's JWT providers (issuer, audiences, remote or local JWKS,
//! where the token travels, claims copied to headers), with an algorithm allowlist and clock skew.
//! Every check that does not need the network is made here, so `windrose validate` reports it.

import type { z } from 'zod';
import type { SecretObjectReference } from '../../resources.js';
import { bool, leaf, list, oneOf, show, strict, string, uniqueBy } from '../primitives.js';
import { secretObjectRef } from '../refs.js';
import { durationWithin } from './idp.js';
import { claimToHeaders, tokenSource, type ClaimToHeader, type TokenSource } from './token-source.js';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, type JWTAlgorithm } from '../../../dataplane/filters/security/jwt-algorithms.js';
import { hasSecretKey, jwksProblem } from '../../../dataplane/filters/security/jwks-document.js';


export type LocalJWKS =
  | { readonly type: 'Inline'; readonly value: string }
  /** A Secret in the policy's namespace; `key` (default "jwks") holds the JWKS JSON. */
  | { readonly type: 'SecretRef'; readonly secretRef: SecretObjectReference; readonly key?: string };

export interface JWTProvider {
  /** Named in `authorization` rules (`principal.jwt.provider`) and in the identity upstream filters see. */
  readonly name: string;
  /** The `iss` a token must carry; any issuer when unset. */
  readonly issuer?: string;
  /** The token's `aud` must hold one of these; not checked when unset. */
  readonly audiences?: readonly string[];
  readonly remoteJWKS?: {
    readonly uri: string;
    /** How long fetched keys are used before they are fetched again (default 10m, as Envoy). */
    readonly cacheDuration?: string;
  };
  readonly localJWKS?: LocalJWKS;
  /** Signature algorithms accepted; the asymmetric ones by default. `none` is never accepted. */
  readonly algorithms?: readonly JWTAlgorithm[];
  /** Tolerance for `exp`, `nbf` and `iat` against this host's clock (default 60s, as Envoy). */
  readonly clockSkew?: string;
  /** Where the token travels; `Authorization: Bearer` when unset. */
  readonly extractFrom?: TokenSource;
  readonly claimToHeaders?: readonly ClaimToHeader[];
  /** Whether the token itself is sent upstream (default true, as Envoy). */
  readonly forward?: boolean;
}

export interface JWTSpec {
  /** A token is accepted when one provider verifies it. */
  readonly providers: readonly JWTProvider[];
  /** A request without any token passes anonymous; a request with a token that fails is still refused. */
  readonly optional?: boolean;
}

const ALGORITHMS: readonly string[] = [...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS];

const algorithm = leaf<JWTAlgorithm>((v) => {
  if (typeof v === 'string' && ALGORITHMS.includes(v)) return undefined;
  if (typeof v === 'string' && v.toLowerCase() === 'none') return '"none" is never accepted: an unsigned token proves nothing about who sent it';
  return `expected one of ${ALGORITHMS.map((a) => JSON.stringify(a)).join(', ')}, got ${show(v)}`;
});

function uriProblem(v: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return `invalid URI ${show(v)}: expected an absolute https:// or http:// URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `invalid URI ${show(v)}: expected an https:// or http:// URL`;
  if (url.username !== '' || url.password !== '') return `invalid URI ${show(v)}: credentials in the URL are not allowed`;
  return undefined;
}

const localJWKS = strict({
  type: oneOf(['Inline', 'SecretRef']),
  value: string({ min: 1, max: 65_536, format: jwksProblem }).optional(),
  secretRef: secretObjectRef.optional(),
  key: string({ min: 1, max: 253 }).optional(),
}).superRefine((l, ctx) => {
  if (l.type === 'Inline' && l.value === undefined) ctx.addIssue({ code: 'custom', message: 'required when type is Inline', path: ['value'] });
  if (l.type === 'Inline' && l.secretRef !== undefined) ctx.addIssue({ code: 'custom', message: 'only with type SecretRef', path: ['secretRef'] });
  if (l.type === 'SecretRef' && l.secretRef === undefined) ctx.addIssue({ code: 'custom', message: 'required when type is SecretRef', path: ['secretRef'] });
  if (l.type === 'SecretRef' && l.value !== undefined) ctx.addIssue({ code: 'custom', message: 'only with type Inline', path: ['value'] });
});

const provider = strict({
  name: string({ min: 1, max: 253 }),
  issuer: string({ min: 1, max: 2048 }).optional(),
  audiences: list(string({ min: 1, max: 2048 }), { min: 1, max: 32 }).optional(),
  // Above a day a key the issuer rotated out lingers; a short one costs at most one fetch in flight per process.
  remoteJWKS: strict({ uri: string({ min: 1, max: 2048, format: uriProblem }), cacheDuration: durationWithin('0s', '24h').optional() }).optional(),
  localJWKS: localJWKS.optional(),
  algorithms: list(algorithm, { min: 1, max: ALGORITHMS.length }).optional(),
  // Past five minutes a skew stops being clock drift and starts honouring expired tokens.
  clockSkew: durationWithin('0s', '5m').optional(),
  extractFrom: tokenSource.optional(),
  claimToHeaders: claimToHeaders.optional(),
  forward: bool.optional(),
}).superRefine((p, ctx) => {
  if ((p.remoteJWKS === undefined) === (p.localJWKS === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'exactly one of remoteJWKS or localJWKS is required', path: [] });
  }
  const hmac = (p.algorithms ?? []).some((a) => (HMAC_ALGORITHMS as readonly string[]).includes(a));
  if (!hmac) return;
  // A shared secret published at a URL would be no secret; HMAC keys only come from the provider's own config.
  if (p.remoteJWKS !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'HMAC algorithms (HS256, HS384, HS512) need a shared secret key in localJWKS; a remote JWKS never carries one', path: ['algorithms'] });
  } else if (p.localJWKS?.type === 'Inline' && p.localJWKS.value !== undefined && jwksProblem(p.localJWKS.value) === undefined && !hasSecretKey(p.localJWKS.value)) {
    ctx.addIssue({ code: 'custom', message: 'HMAC algorithms need an HMAC key (kty "oct") in localJWKS', path: ['algorithms'] });
  }
});

export const jwtSpec: z.ZodType<JWTSpec> = strict({
  providers: list(provider, { min: 1, max: 16 })
    .superRefine((ps, ctx) => uniqueBy(ps, (p) => p.name, ctx, (p, first) => `duplicate provider name ${show(p.name)} (also at providers[${first}])`, 'name')),
  optional: bool.optional(),
}) as z.ZodType<JWTSpec>;
