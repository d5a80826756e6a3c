//! Where a bearer credential is read from (`extractFrom`) and which claims are copied to upstream
//! headers (`claimToHeaders`): shared by the token-based blocks (jwt, introspection, oidc), in
//! Envoy Gateway's shape.

import type { z } from 'zod';
import { headerName } from '../formats.js';
import { list, strict, string } from '../primitives.js';

export interface TokenSource {
  /** Headers carrying the token; `valuePrefix` (such as "Bearer ") is stripped, compared without regard to case. */
  readonly headers?: readonly { readonly name: string; readonly valuePrefix?: string }[];
  /** Cookies whose value is the token. */
  readonly cookies?: readonly string[];
  /** Query parameters whose value is the token. */
  readonly params?: readonly string[];
}

export interface ClaimToHeader {
  /** The upstream header that gets the claim's value; a value the client sent in it is dropped. */
  readonly header: string;
  /** The claim's name; dots reach into objects ("realm_access.roles"). */
  readonly claim: string;
}

const cookieName = string({
  min: 1, max: 256,
  format: (v) => (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v) ? undefined : `invalid cookie name ${JSON.stringify(v)}: expected an RFC 6265 token`),
});

export const tokenSource: z.ZodType<TokenSource> = strict({
  headers: list(strict({ name: headerName, valuePrefix: string({ min: 1, max: 64 }).optional() }), { min: 1, max: 8 }).optional(),
  cookies: list(cookieName, { min: 1, max: 8 }).optional(),
  params: list(string({ min: 1, max: 256 }), { min: 1, max: 8 }).optional(),
});

export const claimToHeaders: z.ZodType<readonly ClaimToHeader[]> = list(strict({ header: headerName, claim: string({ min: 1, max: 256 }) }), { min: 1, max: 32 });
