//! The process's mesh credentials: its SVID (certificate and key) and the trust bundle. They change
//! on renewal and root rotation without a config change, so they live here rather than in the
//! Snapshot; listeners and connection pools read the current ones for each new connection, and a
//! connection already open keeps the ones it was made with.

import { createSecureContext, type SecureContext } from 'node:tls';

export interface Svid {
  /** The leaf certificate, then any intermediates, PEM. */
  readonly certPem: string;
  readonly keyPem: string;
  readonly spiffeId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface Credentials {
  readonly svid: Svid;
  /** PEM roots a peer's certificate must chain to. */
  readonly trustBundle: readonly string[];
}

const TLS_MIN_VERSION = 'TLSv1.2';

export class MeshCredentials {
  private current: Credentials | undefined;
  private context: SecureContext | undefined;
  private readonly listeners: ((c: Credentials) => void)[] = [];

  get credentials(): Credentials | undefined {
    return this.current;
  }

  /** One context serves both directions: it holds the SVID as certificate and the bundle as CAs. */
  get secureContext(): SecureContext | undefined {
    return this.context;
  }

  update(next: Credentials): void {
    this.context = createSecureContext({
      cert: next.svid.certPem, key: next.svid.keyPem, ca: [...next.trustBundle], minVersion: TLS_MIN_VERSION,
    });
    this.current = next;
    for (const l of this.listeners) l(next);
  }

  onChange(listener: (c: Credentials) => void): void {
    this.listeners.push(listener);
  }
}
