//! Who is calling, from the client certificate the TLS layer verified against the trust bundle: an
//! X.509-SVID of this trust domain, whose single URI SAN names the namespace and service account.
//! Nothing a client sends in a body or header can change it.

import type { TLSSocket } from 'node:tls';
import type { WorkloadIdentity } from './ca/authority.js';

export interface PeerIdentity extends WorkloadIdentity {
  readonly spiffeId: string;
}

const NAME = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';

/** The caller's identity, or undefined when it presented no certificate, or one that did not verify or is not an SVID of `trustDomain`. */
export function peerIdentity(socket: TLSSocket, trustDomain: string): PeerIdentity | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined || cert.ca) return undefined;
  const uris = (cert.subjectAltName ?? '').split(', ').filter((san) => san.startsWith('URI:'));
  if (uris.length !== 1) return undefined;
  const domain = trustDomain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^URI:(spiffe://${domain}/ns/(${NAME})/sa/(${NAME}))$`).exec(uris[0]);
  return m ? { spiffeId: m[1], namespace: m[2], serviceAccount: m[3] } : undefined;
}
