//! The client certificate a TLS listener verified: read once per connection, when the handshake
//! completes, and found again by every request on that connection.

import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ClientValidation } from '../../config/model.js';

export interface ClientCertificate {
  /** The id of the ClientValidation (CA bundle and CRLs) it passed. */
  readonly validatedBy: string;
  /** The subject distinguished name in RFC 4514 form, most specific first ("CN=partner,O=Acme\, Inc."). */
  readonly subject: string;
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  /** SHA-256 of the certificate's DER, lowercase hex. */
  readonly sha256: string;
}

// Kept on the TLS socket itself: an HTTP/2 request reaches its session's socket only through a
// proxy, which forwards property reads to it.
const CLIENT_CERTIFICATE = Symbol('windrose.clientCertificate');

interface Carrier {
  [CLIENT_CERTIFICATE]?: ClientCertificate;
}

/**
 * Splits Node's subjectAltName text ("DNS:a, URI:spiffe://x"); a value holding a comma or quote is
 * written as a JSON string, so a name cannot pose as two.
 */
export function subjectAltNames(text: string): [type: string, value: string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon);
    let end: number;
    let value: string;
    if (text[colon + 1] === '"') {
      end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      end += 1;
      value = JSON.parse(text.slice(colon + 1, end)) as string;
    } else {
      end = text.indexOf(', ', colon);
      if (end < 0) end = text.length;
      value = text.slice(colon + 1, end);
    }
    out.push([type, value]);
    i = end + 2;
  }
  return out;
}

/** Node prints a subject one attribute a line in certificate order, values escaped as RFC 4514 asks; RFC 4514 lists them the other way round. */
export function rfc4514(subject: string): string {
  return subject === '' ? '' : subject.split('\n').reverse().join(',');
}

export function describeCertificate(x509: X509Certificate, validatedBy: string): ClientCertificate {
  const sans = subjectAltNames(x509.subjectAltName ?? '');
  return {
    validatedBy,
    subject: rfc4514(x509.subject),
    dnsNames: sans.filter(([t]) => t === 'DNS').map(([, v]) => v),
    uris: sans.filter(([t]) => t === 'URI').map(([, v]) => v),
    sha256: x509.fingerprint256.replaceAll(':', '').toLowerCase(),
  };
}

/** Notes the certificate `socket`'s handshake verified against the validation `validatedBy`. */
export function recordClientCertificate(socket: TLSSocket, validatedBy: string): void {
  const raw = socket.getPeerCertificate().raw as Buffer | undefined;
  if (raw === undefined) return;
  (socket as Carrier)[CLIENT_CERTIFICATE] = describeCertificate(new X509Certificate(raw), validatedBy);
}

/**
 * Decides, once its handshake is done, whether a connection on a port that asks for client
 * certificates may go on, and notes the certificate it verified. `validation` is that of the
 * listener the server name chose; a listener without one ignores any certificate. Where every
 * listener of the port requires a certificate the handshake already refused the others.
 */
export function admitClient(socket: TLSSocket, validation: ClientValidation | undefined): boolean {
  if (validation === undefined) return true;
  if (socket.authorized) {
    recordClientCertificate(socket, validation.id);
    return true;
  }
  const presented = socket.getPeerCertificate().raw !== undefined;
  return !presented && validation.optional;
}

/** The verified client certificate of the connection `socket` (or its HTTP/2 proxy) belongs to; undefined when none. */
export function clientCertificateOf(socket: Socket | undefined | null): ClientCertificate | undefined {
  return (socket as Carrier | undefined | null)?.[CLIENT_CERTIFICATE];
}
