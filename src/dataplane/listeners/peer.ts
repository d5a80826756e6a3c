//! The caller's mesh identity: the SPIFFE ID in the URI SAN of the client certificate that the TLS
//! handshake verified, read once per connection.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { PortConfig } from '../../config/model.js';

const identities = new WeakMap<Socket, string | undefined>();

/** Undefined for plaintext, an unverified certificate, or one without exactly one spiffe:// URI SAN. */
export function peerIdentity(socket: Socket | undefined | null): string | undefined {
  if (socket === undefined || socket === null) return undefined;
  if (identities.has(socket)) return identities.get(socket);
  const tls = socket as TLSSocket;
  let id: string | undefined;
  if (tls.encrypted === true && tls.authorized) {
    const san = tls.getPeerCertificate().subjectaltname ?? '';
    const uris = san.split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
    if (uris.length === 1 && uris[0].startsWith('spiffe://')) id = uris[0];
  }
  identities.set(socket, id);
  return id;
}

/** Why a STRICT port refuses a caller without a verified identity. */
export const MTLS_REQUIRED = 'this port serves mutual TLS with a mesh identity only';

/**
 * The caller's identity as a port sees it: undefined off mesh inbound ports and for PERMISSIVE
 * plaintext callers; null when a STRICT port must refuse the request (no verified identity), for
 * ordinary requests and upgrades alike.
 */
export function callerIdentity(port: PortConfig, socket: Socket | undefined | null): string | undefined | null {
  if (port.protocol !== 'MTLS') return undefined;
  const id = peerIdentity(socket);
  return id === undefined && port.mtlsMode === 'STRICT' ? null : id;
}
