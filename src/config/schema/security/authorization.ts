//! SecurityPolicy `authorization`: Envoy Gateway's shape. Rules are tried in order and the first
//! whose principal matches decides; `defaultAction` decides when none matches (Deny by default once
//! rules exist). A principal matches client addresses (CIDR) and, after JWT authentication, claims
//! and scopes; every field set must match.

import type { z } from 'zod';
import { list, oneOf, pattern, strict, string } from '../primitives.js';
import { cidr } from './cidr.js';

export interface JWTClaimRequirement {
  readonly name: string;
  /** One of these values must be present (the claim may be a string, a number, a boolean, or a list of them). */
  readonly values: readonly string[];
}

export interface AuthorizationPrincipal {
  readonly clientCIDRs?: readonly string[];
  readonly jwt?: {
    /** The JWT provider that must have authenticated the request; any when unset. */
    readonly provider?: string;
    readonly claims?: readonly JWTClaimRequirement[];
    /** Every scope listed must be in the token's `scope` (space-separated) or `scp` (list) claim. */
    readonly scopes?: readonly string[];
  };
}

export interface AuthorizationRule {
  readonly name?: string;
  readonly action: 'Allow' | 'Deny';
  readonly principal: AuthorizationPrincipal;
}

export interface AuthorizationSpec {
  readonly defaultAction?: 'Allow' | 'Deny';
  readonly rules?: readonly AuthorizationRule[];
}

const claimName = string({ min: 1, max: 256 });
/** RFC 6749 section 3.3 scope-token: printable ASCII without spaces, quotes or backslashes, so it also fits a WWW-Authenticate scope parameter. */
const scopeToken = pattern(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'scope', 'expected printable ASCII without spaces, double quotes or backslashes (RFC 6749 scope-token)', { min: 1, max: 256 });

export const authorizationSpec: z.ZodType<AuthorizationSpec> = strict({
  defaultAction: oneOf(['Allow', 'Deny']).optional(),
  rules: list(strict({
    name: string({ min: 1, max: 253 }).optional(),
    action: oneOf(['Allow', 'Deny']),
    principal: strict({
      clientCIDRs: list(cidr, { min: 1, max: 256 }).optional(),
      jwt: strict({
        provider: string({ min: 1, max: 253 }).optional(),
        claims: list(strict({ name: claimName, values: list(string({ max: 1024 }), { min: 1, max: 64 }) }), { min: 1, max: 16 }).optional(),
        scopes: list(scopeToken, { min: 1, max: 64 }).optional(),
      }).optional(),
    }),
  }), { max: 256 }).optional(),
});
