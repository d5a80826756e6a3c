//! `POST /v1/svid`: a workload gets an SVID for the key of its CSR, plus the trust bundle. It proves
//! who it is with a join token the first time, and afterwards with the SVID it holds (renewal), so
//! an expired join token does not matter to a running proxy. `GET /v1/trust-bundle` gives the roots.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Logger } from 'pino';
import { sendJson, sendJsonError } from '../json-response.js';
import { CaError, type CertificateAuthority, type WorkloadIdentity } from './ca/authority.js';
import { JoinTokenError, type JoinTokens } from './ca/join-token.js';
import type { ControlMetrics } from './metrics.js';
import type { PeerIdentity } from './peer-identity.js';

const MAX_BODY = 64 * 1024;

export type Request = IncomingMessage | Http2ServerRequest;
export type Response = ServerResponse | Http2ServerResponse;

export interface CertificateApiOptions {
  readonly authority: () => CertificateAuthority;
  readonly tokens: JoinTokens;
  readonly svidLifetimeMs: number;
  readonly metrics: ControlMetrics;
  readonly log: Logger;
}

export function serveTrustBundle(res: Response, ca: CertificateAuthority): void {
  res.writeHead(200, { 'content-type': 'application/x-pem-file' });
  res.end(ca.trustBundle());
}

/** A join token, when the request carries one; otherwise the client certificate's identity (renewal). */
function authenticate(req: Request, peer: PeerIdentity | undefined, tokens: JoinTokens): { id: WorkloadIdentity; reason: 'join' | 'renew' } | string {
  const auth = req.headers.authorization;
  if (auth === undefined && peer !== undefined) return { id: peer, reason: 'renew' };
  try {
    return { id: tokens.verify(auth?.startsWith('Bearer ') ? auth.slice(7) : ''), reason: 'join' };
  } catch (err) {
    return err instanceof JoinTokenError ? err.message : 'the join token is not valid';
  }
}

export function serveSvid(req: Request, res: Response, peer: PeerIdentity | undefined, opts: CertificateApiOptions): void {
  const who = authenticate(req, peer, opts.tokens);
  if (typeof who === 'string') {
    res.setHeader('www-authenticate', 'Bearer');
    return sendJsonError(res, 401, 'invalid_join_token', `${who}; present a join token, or the current SVID as client certificate to renew`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_BODY) return sendJsonError(res, 413, 'payload_too_large', `the request body exceeds ${MAX_BODY} bytes`);
    let body: { csr?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { csr?: unknown };
    } catch {
      return sendJsonError(res, 400, 'bad_request', 'the body must be JSON {"csr": "<PEM>"}');
    }
    if (typeof body?.csr !== 'string') return sendJsonError(res, 400, 'bad_request', 'the body must be JSON {"csr": "<PEM>"}');
    const ca = opts.authority();
    ca.signWorkload(body.csr, who.id, opts.svidLifetimeMs).then(
      (certificate) => {
        (who.reason === 'join' ? opts.metrics.svidJoin : opts.metrics.svidRenew).inc();
        opts.log.info({ namespace: who.id.namespace, serviceAccount: who.id.serviceAccount, reason: who.reason }, 'svid issued');
        sendJson(res, 200, { certificate, trustBundle: ca.trustBundle() });
      },
      (err: Error) => sendJsonError(res, 400, 'bad_csr', err instanceof CaError ? err.message : 'the CSR could not be signed'),
    );
  });
}
