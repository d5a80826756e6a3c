//! Mutual TLS origination to a mesh endpoint: each new connection presents the process's current
//! SVID, verifies the peer's chain against the current trust bundle, and accepts the peer only if its
//! certificate names exactly the SPIFFE ID the endpoint was registered with.
//!
//! Later connections to the same endpoint resume the TLS session the last verified one was given
//! (a TLS 1.3 ticket), which spares both sides their signatures and chain checks. A session is
//! only ever resumed with the process that issued its ticket, so the identity checked when it was
//! made still holds; it is kept only while the SVID and trust bundle it was made under are the
//! current ones, so a renewal or a rotated bundle makes the next connection verify in full.

import tls, { type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import type { MeshCredentials } from '../../mesh/credentials.js';
import type { Connector } from './dispatcher.js';

/** The error a peer with another identity fails the handshake with; a connect failure, so retried elsewhere. */
export class PeerIdentityError extends Error {
  readonly code = 'WINDROSE_PEER_IDENTITY';
}

export function spiffeIdsOf(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('URI:spiffe://')).map((s) => s.slice(4));
}

export function meshConnector(mesh: MeshCredentials, identity: string, host: string, port: number, timeoutMs: number): Connector {
  let resumable: { context: SecureContext; session: Buffer } | undefined;
  return (callback) => {
    const context = mesh.secureContext;
    if (context === undefined) {
      callback(Object.assign(new Error('this proxy has no mesh certificate yet'), { code: 'ECONNREFUSED' }), null);
      return;
    }
    let settled = false;
    let verified = false;
    const settle = (err: Error | null, socket: TLSSocket | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== null) callback(err, null);
      else callback(null, socket);
    };
    const socket = tls.connect({
      host,
      port,
      secureContext: context,
      session: resumable?.context === context ? resumable.session : undefined,
      ALPNProtocols: ['http/1.1'],
      checkServerIdentity: (_host, cert) => {
        const ids = spiffeIdsOf(cert);
        return ids.length === 1 && ids[0] === identity ? undefined
          : new PeerIdentityError(`the peer presented ${ids.join(', ') || 'no SPIFFE ID'}, expected ${identity}`);
      },
    });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      settle(Object.assign(new Error('mutual TLS connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), null);
    }, timeoutMs);
    socket.once('secureConnect', () => {
      verified = true;
      settle(null, socket);
    });
    // TLS 1.3 tickets arrive after the handshake; one from a connection that failed its checks is never kept.
    socket.on('session', (session: Buffer) => {
      if (verified) resumable = { context, session };
    });
    socket.once('error', (err) => settle(err, null));
  };
}
