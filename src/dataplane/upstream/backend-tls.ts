//! TLS origination to a backend (BackendTLSPolicy): SNI is the policy's hostname whatever Host the
//! request carries; the chain must end in the policy's CAs, or the well-known ones; the certificate
//! must name the hostname, or one of the policy's subjectAltNames when it lists some.

import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { UpstreamTLS } from '../../config/model.js';
import { hostMatchesCertificateName } from '../../config/translate/hostnames.js';
import { subjectAltNames } from '../listeners/client-certificate.js';

function namesOneOf(wanted: NonNullable<UpstreamTLS['subjectAltNames']>) {
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    const sans = subjectAltNames(cert.subjectaltname ?? '');
    const ok = wanted.some((w) => sans.some(([type, value]) => (w.type === 'URI'
      ? type === 'URI' && value === w.value
      : type === 'DNS' && (value.toLowerCase() === w.value || hostMatchesCertificateName(value.toLowerCase(), w.value)))));
    if (ok) return undefined;
    return Object.assign(new Error("the backend's certificate names none of the subjectAltNames its BackendTLSPolicy lists"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  };
}

/** Options for tls.connect to a backend under `settings`. */
export function backendTLSOptions(settings: UpstreamTLS): ConnectionOptions {
  return {
    servername: settings.hostname,
    ...(settings.caPem !== undefined ? { ca: settings.caPem } : {}),
    checkServerIdentity: settings.subjectAltNames ? namesOneOf(settings.subjectAltNames) : checkServerIdentity,
    ALPNProtocols: ['http/1.1'],
  };
}

/**
 * undici takes a request's SNI from its Host header, and starts a new connection whenever that
 * changes; every request to the backend carries the policy's hostname instead.
 */
export function withServerName(dispatcher: Dispatcher, hostname: string): Dispatcher {
  return dispatcher.compose((dispatch) => (opts, handler) => dispatch({ ...opts, servername: hostname } as Dispatcher.DispatchOptions, handler));
}
