//! SecurityPolicy `tls`, per request: the client certificate the listener's handshake verified
//! becomes the request's identity and, when the policy names a header, travels to the backend in
//! it. A copy of that header from the client is always removed first, so it cannot be forged.
//! The handshake itself (CA, CRL, required or optional, versions, ciphers) is the listener's.

import type { ClientValidation } from '../../../config/model.js';
import type { ClientCertificate } from '../../listeners/client-certificate.js';
import type { Filter, LocalResponse } from '../filter.js';

// A request whose host requires a certificate arrived on a connection whose handshake was made
// for another host (another SNI name, or a reused HTTP/2 connection): RFC 9110 15.5.20 tells the
// client to retry on a connection of its own, whose handshake will ask for the certificate.
const MISDIRECTED: LocalResponse = {
  status: 421, errorCode: 'misdirected_request',
  message: 'this host requires a client certificate and this connection was opened for another host; open a new connection to this host',
};
const PLAINTEXT: LocalResponse = {
  status: 403, errorCode: 'client_certificate_required',
  message: 'this listener serves only clients with a verified TLS client certificate',
};

const VALUE_NEEDS_QUOTES = /[",;=\s\\]/;

/** Percent-encodes what a header value cannot carry (controls, non-ASCII) and '%' itself, so the encoding stays reversible. */
function headerSafe(v: string): string {
  return v.replace(/[^\x20-\x24\x26-\x7e]/gu, (ch) => [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

function pair(key: string, value: string, quote = false): string {
  const v = headerSafe(value);
  return quote || VALUE_NEEDS_QUOTES.test(v) ? `${key}="${v.replace(/["\\]/g, '\\$&')}"` : `${key}=${v}`;
}

/**
 * Envoy's x-forwarded-client-cert element shape: `Hash=<sha256 hex>;Subject="<RFC 4514 DN>"`,
 * then `URI=` and `DNS=` once per SAN of that type.
 */
export function forwardedCertificate(cert: ClientCertificate): string {
  return [
    pair('Hash', cert.sha256),
    pair('Subject', cert.subject, true),
    ...cert.uris.map((u) => pair('URI', u)),
    ...cert.dnsNames.map((d) => pair('DNS', d)),
  ].join(';');
}

/** The filter of a `tls` block; `validation` undefined (versions and ciphers only) gives one that does nothing per request. */
export function clientCertificateFilter(validation: ClientValidation | undefined, header: string | undefined): Filter {
  if (validation === undefined) return { name: 'ClientCertificate' };
  const name = header?.toLowerCase();
  // One certificate serves every request of its connection: its header value is made once.
  const values = new WeakMap<ClientCertificate, string>();
  return {
    name: 'ClientCertificate',
    onRequest(req) {
      if (name !== undefined) req.headers.remove(name);
      const cert = req.clientCertificate;
      if (cert !== undefined && cert.validatedBy === validation.id) {
        req.identity ??= { method: 'clientCertificate', subject: cert.subject || cert.uris[0] || cert.dnsNames[0] || `sha256:${cert.sha256}` };
        if (name !== undefined) {
          let value = values.get(cert);
          if (value === undefined) values.set(cert, (value = forwardedCertificate(cert)));
          req.headers.set(name, value);
        }
        return undefined;
      }
      if (validation.optional) return undefined;
      return req.scheme === 'https' ? MISDIRECTED : PLAINTEXT;
    },
  };
}
