//! Secure contexts per port, built once per snapshot, chosen by SNI: first the listener the name
//! belongs to (its exact hostname, else its most specific wildcard, else a listener without one) and
//! that listener's certificate for the name; else any certificate that covers the name; else the
//! listener's, or the port's, first certificate. Each context holds its listener's client
//! validation (CA bundle, CRLs) and the port's handshake (versions, ciphers, curves).

import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { Certificate, ClientValidation, PortConfig, PortTLS } from '../../config/model.js';
import { hostMatchesCertificateName } from '../../config/translate/hostnames.js';

export const TLS_MIN_VERSION = 'TLSv1.2';

/** What a context of `cert` is made of on a port with `port` settings. */
export function contextOptions(cert: Certificate, port: PortTLS | undefined): SecureContextOptions {
  const v = cert.clientValidation;
  return {
    cert: cert.certPem,
    key: cert.keyPem,
    minVersion: port?.minVersion ?? TLS_MIN_VERSION,
    ...(port !== undefined ? { maxVersion: port.maxVersion } : {}),
    ...(port?.ciphers !== undefined ? { ciphers: port.ciphers } : {}),
    ...(port?.ecdhCurve !== undefined ? { ecdhCurve: port.ecdhCurve } : {}),
    ...(v !== undefined ? { ca: v.caPem, ...(v.crls !== undefined ? { crl: [...v.crls] } : {}) } : {}),
  };
}

const contextKey = (cert: Certificate, port: PortTLS | undefined): string => {
  const v = cert.clientValidation;
  const validation = v === undefined ? '' : `${v.caPem}${(v.crls ?? []).join('')}`;
  return `${cert.certPem}${cert.keyPem}|${validation}|${port === undefined ? '' : `${port.minVersion}|${port.maxVersion}|${port.ciphers ?? ''}|${port.ecdhCurve ?? ''}`}`;
};

const contextCache = new Map<string, SecureContext>();

function contextFor(cert: Certificate, port: PortTLS | undefined): SecureContext {
  const k = contextKey(cert, port);
  let ctx = contextCache.get(k);
  if (!ctx) {
    ctx = createSecureContext(contextOptions(cert, port));
    contextCache.set(k, ctx);
  }
  return ctx;
}

interface Entry {
  readonly names: readonly string[];
  readonly listenerHostnames: readonly string[];
  readonly ctx: SecureContext;
  readonly validation: ClientValidation | undefined;
}

function byName(entries: readonly Entry[], host: string): Entry | undefined {
  return entries.find((e) => e.names.includes(host))
    ?? entries.find((e) => e.names.some((n) => n.startsWith('*.') && hostMatchesCertificateName(n, host)));
}

/** The listener hostname `host` belongs to: exact, else the longest wildcard covering it, else "" (any). */
function listenerHostname(hostnames: ReadonlySet<string>, host: string): string | undefined {
  if (hostnames.has(host)) return host;
  let best: string | undefined;
  for (const h of hostnames) {
    if (h.startsWith('*.') && host.length > h.length - 1 && host.endsWith(h.slice(1)) && (best === undefined || h.length > best.length)) best = h;
  }
  return best ?? (hostnames.has('') ? '' : undefined);
}

export class SniContexts {
  private readonly entries: readonly Entry[];
  private readonly hostnames: ReadonlySet<string>;
  readonly defaultCertificate: Certificate | undefined;

  constructor(certificates: readonly Certificate[], port?: PortTLS) {
    this.entries = certificates.map((c) => ({ names: c.dnsNames, listenerHostnames: c.listenerHostnames, ctx: contextFor(c, port), validation: c.clientValidation }));
    this.hostnames = new Set(certificates.flatMap((c) => c.listenerHostnames));
    this.defaultCertificate = certificates[0];
  }

  private entry(servername: string): Entry | undefined {
    const host = servername.toLowerCase();
    const lh = listenerHostname(this.hostnames, host);
    const own = lh === undefined ? [] : this.entries.filter((e) => e.listenerHostnames.includes(lh));
    return byName(own, host) ?? byName(this.entries, host) ?? own[0] ?? this.entries[0];
  }

  select(servername: string): SecureContext | undefined {
    return this.entry(servername)?.ctx;
  }

  /** The client validation a handshake for `servername` used; without SNI, the port's default context's. */
  validationFor(servername: string | false | null | undefined): ClientValidation | undefined {
    return (servername ? this.entry(servername) : this.entries[0])?.validation;
  }
}

/** Drops cached contexts no snapshot uses any more. */
export function pruneContexts(ports: readonly PortConfig[]): void {
  const keep = new Set(ports.flatMap((p) => p.certificates.map((c) => contextKey(c, p.tls))));
  for (const k of contextCache.keys()) if (!keep.has(k)) contextCache.delete(k);
}
