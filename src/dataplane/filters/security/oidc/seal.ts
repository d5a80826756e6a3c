//! Sealed cookies: a JSON payload encrypted and authenticated as a compact JWE (`dir`, A256GCM)
//! with a key derived from the policy's cookie secret. A cookie that was altered, forged, sealed
//! for another purpose, or is past its `exp` does not open.

import { hkdfSync, webcrypto } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { loadJose } from '../jose.js';

export interface Sealer {
  /** Seals `payload` for `purpose` (the JWE `typ`), valid until `exp` (epoch seconds). */
  seal(payload: JWTPayload, purpose: string, exp: number): Promise<string>;
  /** The payload, or undefined when the value is not one this sealer made for `purpose` or has expired. */
  open(value: string, purpose: string): Promise<JWTPayload | undefined>;
}

/** At least 256 bits of secret, so the derived key is as strong as A256GCM. */
export const MIN_SECRET_BYTES = 32;

/** HKDF-SHA256 (RFC 5869) turns a secret of any length into the 256-bit AES key; `info` separates uses of one secret. */
export function deriveKey(secret: Buffer, info: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, Buffer.alloc(0), info, 32));
}

/** Compact JWE has five base64url parts; anything else is refused before any crypto runs. */
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function sealer(secret: Buffer, info: string): Sealer {
  const raw = deriveKey(secret, info);
  let key: Promise<webcrypto.CryptoKey> | undefined;
  const cryptoKey = () => (key ??= webcrypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']));
  return {
    async seal(payload, purpose, exp) {
      const { EncryptJWT } = await loadJose();
      return new EncryptJWT(payload).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: purpose }).setExpirationTime(exp).encrypt(await cryptoKey());
    },
    async open(value, purpose) {
      if (value.length > 8192 || !COMPACT_JWE.test(value)) return undefined;
      const { jwtDecrypt } = await loadJose();
      try {
        const { payload } = await jwtDecrypt(value, await cryptoKey(), { typ: purpose, keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'], requiredClaims: ['exp'] });
        return payload;
      } catch {
        return undefined;
      }
    },
  };
}
