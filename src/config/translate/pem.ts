//! PEM certificate bundles read from Secrets and ConfigMaps, checked when config loads so that a
//! bad bundle is its resource's problem rather than a failed handshake.

import { X509Certificate } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle; undefined when it holds none or one does not parse. */
export function pemCertificates(text: string): string[] | undefined {
  const found = text.match(PEM_CERTIFICATE);
  if (found === null) return undefined;
  for (const pem of found) {
    try {
      new X509Certificate(pem);
    } catch {
      return undefined;
    }
  }
  return found;
}
