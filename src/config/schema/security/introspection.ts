//! SecurityPolicy `introspection`: opaque OAuth2 bearer tokens checked by asking the authorization
//! server (RFC 7662 token introspection), with the answers cached.

import type { z } from 'zod';
import type { SecretObjectReference } from '../../resources.js';
import { list, strict, string } from '../primitives.js';
import { secretObjectRef } from '../refs.js';
import { durationWithin, httpURL } from './idp.js';
import { claimToHeaders, tokenSource, type ClaimToHeader, type TokenSource } from './token-source.js';

export interface IntrospectionSpec {
  /** The introspection endpoint; when unset, the `introspection_endpoint` of the issuer's metadata (RFC 8414, OpenID discovery). */
  readonly endpoint?: string;
  /** The authorization server. Names the provider of the identity; its metadata gives the endpoint when `endpoint` is unset. */
  readonly issuer?: string;
  /** windrose's client id at the authorization server, sent with HTTP Basic (client_secret_basic). */
  readonly clientID: string;
  /** A Secret whose key `client-secret` holds the client's secret. */
  readonly clientSecret: SecretObjectReference;
  /** How long an answer is reused: an active one never past the token's `exp`, an inactive one at most 10s. Default 30s; "0s" asks every time. */
  readonly cacheDuration?: string;
  /** How long to wait for the authorization server. Default 2s. */
  readonly timeout?: string;
  /** When set, the answer's `aud` must hold one of them. */
  readonly audiences?: readonly string[];
  readonly claimToHeaders?: readonly ClaimToHeader[];
  /** Where the token travels; `Authorization: Bearer` by default. */
  readonly extractFrom?: TokenSource;
}

export const introspectionSpec: z.ZodType<IntrospectionSpec> = strict({
  endpoint: httpURL.optional(),
  issuer: httpURL.optional(),
  clientID: string({ min: 1, max: 256 }),
  clientSecret: secretObjectRef,
  cacheDuration: durationWithin('0s', '1h').optional(),
  timeout: durationWithin('10ms', '1m').optional(),
  audiences: list(string({ min: 1, max: 1024 }), { min: 1, max: 32 }).optional(),
  claimToHeaders: claimToHeaders.optional(),
  extractFrom: tokenSource.optional(),
}).superRefine((s, ctx) => {
  if (s.endpoint === undefined && s.issuer === undefined) {
    ctx.addIssue({ code: 'custom', message: 'set endpoint (the introspection URL) or issuer (to discover it)', path: ['endpoint'] });
  }
});
