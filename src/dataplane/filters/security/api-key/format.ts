//! What an API key looks like: `wrk_` + 8 random characters (the public prefix, how the key is
//! found) + `_` + 32 random characters (the secret, about 190 bits). Letters and digits only, so a
//! key survives URLs, headers and a double-click, and the underscores split it unambiguously.
//!
//! The store keeps SHA-256 of the whole key. A slow password hash (scrypt, argon2) protects guessable
//! secrets; a 190-bit random secret cannot be guessed from its hash, so a slow hash would only cost
//! every request its work factor. A pepper (HMAC with a server secret) would add nothing for the same
//! reason, and would be one more secret every gateway node must hold.

import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TAG = 'wrk_';
const PREFIX_CHARS = 8;
const SECRET_CHARS = 32;
/** `wrk_` and the 8 public characters: what `keys list` shows and the gateway looks keys up by. */
export const PREFIX_LENGTH = TAG.length + PREFIX_CHARS;

/** Where a key travels when a policy names no place: Kong's and most API managers' header. */
export const DEFAULT_API_KEY_HEADER = 'x-api-key';
const KEY_LENGTH = PREFIX_LENGTH + 1 + SECRET_CHARS;
const KEY_RE = /^wrk_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}$/;
const PREFIX_RE = /^wrk_[0-9A-Za-z]{8}$/;

/** `n` characters of ALPHABET, each uniform: bytes of 248 and above are drawn again (248 = 4 × 62). */
function randomChars(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n)) {
      if (b < 248 && out.length < n) out += ALPHABET[b % 62];
    }
  }
  return out;
}

export interface IssuedKey {
  /** The whole key, shown once to whoever created it. */
  readonly key: string;
  readonly prefix: string;
  /** SHA-256 of the whole key, hex, as the store keeps it. */
  readonly hash: string;
}

export function issueApiKey(): IssuedKey {
  const key = `${TAG}${randomChars(PREFIX_CHARS)}_${randomChars(SECRET_CHARS)}`;
  return { key, prefix: key.slice(0, PREFIX_LENGTH), hash: createHash('sha256').update(key).digest('hex') };
}

/** The prefix of a well-formed key, or undefined for anything else. */
export function apiKeyPrefix(text: string): string | undefined {
  return text.length === KEY_LENGTH && KEY_RE.test(text) ? text.slice(0, PREFIX_LENGTH) : undefined;
}

export function isApiKeyPrefix(text: string): boolean {
  return PREFIX_RE.test(text);
}

/** SHA-256 of a presented key, to compare with the stored one. */
export function digestApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
