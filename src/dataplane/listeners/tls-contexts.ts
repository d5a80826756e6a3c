//! Secure contexts per port, built once per snapshot, chosen by SNI: exact certificate names first,
//! then wildcard names, then the first certificate as default.

import { createSecureContext, type SecureContext } from 'node:tls';
import type { Certificate } from '../../config/model.js';
import { hostMatchesCertificateName } from '../../config/translate/hostnames.js';

export const TLS_MIN_VERSION = 'TLSv1.2';

const contextCache = new Map<string, SecureContext>();

function contextFor(cert: Certificate): SecureContext {
  const k = cert.certPem + cert.keyPem;
  let ctx = contextCache.get(k);
  if (!ctx) {
    ctx = createSecureContext({ cert: cert.certPem, key: cert.keyPem, minVersion: TLS_MIN_VERSION });
    contextCache.set(k, ctx);
  }
  return ctx;
}

export class SniContexts {
  private readonly entries: readonly { names: readonly string[]; ctx: SecureContext }[];
  readonly defaultCertificate: Certificate | undefined;

  constructor(certificates: readonly Certificate[]) {
    this.entries = certificates.map((c) => ({ names: c.dnsNames, ctx: contextFor(c) }));
    this.defaultCertificate = certificates[0];
  }

  select(servername: string): SecureContext | undefined {
    const host = servername.toLowerCase();
    for (const e of this.entries) if (e.names.includes(host)) return e.ctx;
    for (const e of this.entries) if (e.names.some((n) => n.startsWith('*.') && hostMatchesCertificateName(n, host))) return e.ctx;
    return this.entries[0]?.ctx;
  }
}

/** Drops cached contexts no snapshot uses any more. */
export function pruneContexts(inUse: readonly Certificate[]): void {
  const keep = new Set(inUse.map((c) => c.certPem + c.keyPem));
  for (const k of contextCache.keys()) if (!keep.has(k)) contextCache.delete(k);
}
