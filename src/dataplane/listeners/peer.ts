//! The caller's mesh identity: the SPIFFE ID in the URI SAN of the client certificate that the TLS
//! handshake verified, read once per connection.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

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
