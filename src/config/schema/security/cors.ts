//! SecurityPolicy `cors`: Envoy Gateway's CORS fields. Origins are exact ("https://shop.example"),
//! "*" for any, or a wildcard host ("https://*.example.com").

import type { z } from 'zod';
import { duration } from '../formats.js';
import { bool, list, pattern, show, strict, string } from '../primitives.js';

export interface CORSSpec {
  readonly allowOrigins?: readonly string[];
  readonly allowMethods?: readonly string[];
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  /** How long a browser may cache a preflight answer (Access-Control-Max-Age). */
  readonly maxAge?: string;
  readonly allowCredentials?: boolean;
}

/** An origin the CORS filter can match: "*", an exact origin, or a scheme with a wildcard subdomain. */
export const origin = string({
  min: 1, max: 253,
  format: (v) => (v === '*' || /^https?:\/\/(\*\.)?[a-zA-Z0-9.-]+(:\d{1,5})?$/.test(v) ? undefined
    : `invalid origin ${show(v)}: expected "*", or scheme://host[:port] such as "https://shop.example" or "https://*.example.com"`),
});
const token = pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'token', "expected an RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~) or \"*\"", { min: 1, max: 256 });

export const corsSpec: z.ZodType<CORSSpec> = strict({
  allowOrigins: list(origin, { min: 1, max: 64 }).optional(),
  allowMethods: list(token, { min: 1, max: 32 }).optional(),
  allowHeaders: list(token, { min: 1, max: 64 }).optional(),
  exposeHeaders: list(token, { min: 1, max: 64 }).optional(),
  maxAge: duration.optional(),
  allowCredentials: bool.optional(),
});
