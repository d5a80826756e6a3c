//! What a JWKS document (RFC 7517) must hold to be a provider's keys, checked by the schema for an
//! inline JWKS and by the compiler for one read from a Secret. Kept apart from the schema so the
//! data plane can check without loading the config validator.

const KEY_TYPES = ['RSA', 'EC', 'OKP', 'oct'];
/** RFC 7518 section 3.2: an HMAC key must be at least as long as the hash output; 32 bytes for the weakest, HS256. */
const MIN_HMAC_KEY_BYTES = 32;

/** What is wrong with a JWKS document (RFC 7517), or undefined; private parts of asymmetric keys are refused. */
export function jwksProblem(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'invalid JWKS: not valid JSON';
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) return 'invalid JWKS: expected a JSON object with a non-empty "keys" list';
  for (const [i, k] of keys.entries()) {
    const key = k as Record<string, unknown> | null;
    if (key === null || typeof key !== 'object' || Array.isArray(key)) return `invalid JWKS: keys[${i}] is not an object`;
    if (typeof key.kty !== 'string' || !KEY_TYPES.includes(key.kty)) return `invalid JWKS: keys[${i}] has kty ${typeof key.kty === 'string' ? JSON.stringify(key.kty) : String(key.kty)}; expected one of ${KEY_TYPES.join(', ')}`;
    if (key.kty === 'oct') {
      if (typeof key.k !== 'string' || Buffer.from(key.k, 'base64url').length < MIN_HMAC_KEY_BYTES) {
        return `invalid JWKS: keys[${i}] is an HMAC key shorter than ${MIN_HMAC_KEY_BYTES} bytes`;
      }
    } else if (key.d !== undefined) {
      return `invalid JWKS: keys[${i}] holds a private key; a JWKS for verification holds public keys only`;
    }
  }
  return undefined;
}

/** Whether the JWKS text holds at least one HMAC (kty "oct") key; false for text jwksProblem refuses. */
export function hasSecretKey(text: string): boolean {
  try {
    return (JSON.parse(text) as { keys: { kty?: unknown }[] }).keys.some((k) => k.kty === 'oct');
  } catch {
    return false;
  }
}
