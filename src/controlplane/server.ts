//! The control plane's mTLS port (15012): one TLS server speaking HTTP/2 and HTTP/1.1 serves the
//! certificate API and the proxies' config streams. Clients may present an SVID; the TLS layer
//! verifies it against the trust bundle and the request handlers take the caller's identity from
//! it. The server's own certificate is an SVID too, renewed at half its life and whenever the CA
//! changes, so a long-running control plane never serves an expired or untrusted certificate.

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import http2, { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as x509 from '@peculiar/x509';
import type { Logger } from 'pino';
import { sendJsonError } from '../json-response.js';
import type { CertificateAuthority } from './ca/authority.js';
import { serveSvid, serveTrustBundle, type CertificateApiOptions, type Request, type Response } from './certificate-api.js';
import { serveStream, type StreamContext } from './distribution/stream.js';
import { peerIdentity } from './peer-identity.js';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
/** The control plane's own identity in the mesh. */
const CONTROL_IDENTITY = { namespace: 'windrose-system', serviceAccount: 'windrose-control' };
const TLS_MIN_VERSION = 'TLSv1.2';
/** setTimeout's limit; a longer-lived certificate is looked at again after this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ApiServerOptions {
  readonly host: string;
  readonly port: number;
  readonly trustDomain: string;
  readonly svidLifetimeMs: number;
  readonly certificates: CertificateApiOptions;
  readonly stream: StreamContext;
  readonly log: Logger;
}

interface ServingCredentials {
  readonly key: string;
  readonly cert: string;
  readonly ca: string[];
  readonly notAfter: number;
}

/** A fresh key that never leaves memory, and an SVID for it naming the listen address, so clients verify it with the trust bundle alone. */
async function servingCredentials(ca: CertificateAuthority, host: string, lifetimeMs: number): Promise<ServingCredentials> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=windrose-control', keys, signingAlgorithm: EC });
  const ips = host === '0.0.0.0' || host === '::' ? ['127.0.0.1'] : [host];
  const cert = await ca.signServer(csr.toString('pem'), CONTROL_IDENTITY, lifetimeMs, ips);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return {
    key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    cert,
    ca: [...ca.roots()],
    notAfter: new x509.X509Certificate(cert).notAfter.getTime(),
  };
}

export class ApiServer {
  private renewal: NodeJS.Timeout | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: http2.Http2SecureServer,
    private readonly opts: ApiServerOptions,
  ) {
    server.on('secureConnection', (socket: TLSSocket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(opts: ApiServerOptions): Promise<ApiServer> {
    const creds = await servingCredentials(opts.certificates.authority(), opts.host, opts.svidLifetimeMs);
    const server = http2.createSecureServer({
      allowHTTP1: true,
      // Any client may connect (a workload bootstrapping with a join token has no certificate yet);
      // a certificate it does present is verified here, and `authorized` says whether it passed.
      requestCert: true,
      rejectUnauthorized: false,
      key: creds.key,
      cert: creds.cert,
      ca: creds.ca,
      minVersion: TLS_MIN_VERSION,
    });
    const api = new ApiServer(server, opts);
    server.on('request', (req: Request, res: Response) => api.route(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    api.scheduleRenewal(creds.notAfter);
    return api;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Takes a new certificate from the current CA, and trusts its current roots, for the connections that follow. */
  async refresh(): Promise<void> {
    const creds = await servingCredentials(this.opts.certificates.authority(), this.opts.host, this.opts.svidLifetimeMs);
    this.server.setSecureContext({ key: creds.key, cert: creds.cert, ca: creds.ca, minVersion: TLS_MIN_VERSION });
    this.opts.log.info({ notAfter: new Date(creds.notAfter).toISOString() }, 'serving certificate renewed');
    this.scheduleRenewal(creds.notAfter);
  }

  private scheduleRenewal(notAfter: number): void {
    if (this.renewal) clearTimeout(this.renewal);
    const halfLife = Math.max(1_000, Math.min((notAfter - Date.now()) / 2, MAX_TIMER_MS));
    this.renewal = setTimeout(() => {
      this.refresh().catch((err: Error) => {
        this.opts.log.error({ err: err.message }, 'renewing the serving certificate failed; retrying');
        this.scheduleRenewal(Date.now() + 10_000);
      });
    }, halfLife);
    this.renewal.unref();
  }

  private route(req: Request, res: Response): void {
    const peer = peerIdentity(req.socket as TLSSocket, this.opts.trustDomain);
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/v1/trust-bundle':
        if (req.method !== 'GET') return sendJsonError(res, 405, 'method_not_allowed', 'use GET');
        return serveTrustBundle(res, this.opts.certificates.authority());
      case '/v1/svid':
        if (req.method !== 'POST') return sendJsonError(res, 405, 'method_not_allowed', 'use POST');
        return serveSvid(req, res, peer, this.opts.certificates);
      case '/v1/stream':
        if (req.method !== 'POST') return sendJsonError(res, 405, 'method_not_allowed', 'use POST');
        if (!(req instanceof Http2ServerRequest && res instanceof Http2ServerResponse)) {
          return sendJsonError(res, 505, 'http2_required', 'the config stream is served over HTTP/2 only');
        }
        if (peer === undefined) {
          return sendJsonError(res, 401, 'client_certificate_required', 'the config stream needs the proxy\'s SVID of this trust domain as client certificate');
        }
        return serveStream(req, res, peer, this.opts.stream);
      default:
        return sendJsonError(res, 404, 'not_found', 'no such endpoint; try /v1/svid, /v1/trust-bundle or /v1/stream');
    }
  }

  async close(): Promise<void> {
    if (this.renewal) clearTimeout(this.renewal);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
