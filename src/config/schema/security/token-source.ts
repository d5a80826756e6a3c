//! Where a bearer credential is read from (`extractFrom`) and which claims are copied to upstream
//! headers (`claimToHeaders`): shared by the token-based blocks (jwt, introspection, oidc), in
//! Envoy Gateway's shape.

import type { z } from 'zod';
import { FRAMING_HEADERS, headerName } from '../formats.js';
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

/** A claim may go into any header but one that frames or routes the request: a token must not rewrite a request's framing. */
const claimHeader = headerName.superRefine((v, ctx) => {
  if (FRAMING_HEADERS.has(v.toLowerCase())) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} frames or routes the request and cannot carry a claim; name a header of your own, such as "x-user"` });
});

export const claimToHeaders: z.ZodType<readonly ClaimToHeader[]> = list(strict({ header: claimHeader, claim: string({ min: 1, max: 256 }) }), { min: 1, max: 32 });
