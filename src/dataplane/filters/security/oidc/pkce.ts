//! Random values of the login flow: the PKCE verifier and its S256 challenge (RFC 7636), `state`
//! and `nonce`.

import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes, base64url: 43 characters, the verifier length RFC 7636 recommends. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function codeChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}
