//! `windrose control`'s HTTPS API for certificates: a workload proves who it is with a join token
//! and gets an SVID for the key of its CSR, plus the trust bundle.

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import type { Logger } from 'pino';
import { sendJson, sendJsonError } from '../json-response.js';
import { CaError, CertificateAuthority } from './ca/authority.js';
import { JoinTokenError, JoinTokens } from './ca/join-token.js';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
/** The control plane's own identity in the mesh. */
const CONTROL = { namespace: 'windrose-system', serviceAccount: 'windrose-control' };
const MAX_BODY = 64 * 1024;

export interface ControlOptions {
  readonly dataDir: string;
  readonly trustDomain: string;
  readonly host: string;
  readonly port: number;
  readonly svidLifetimeMs: number;
  readonly log: Logger;
}

export async function startControl(opts: ControlOptions): Promise<{ port: number; close(): Promise<void> }> {
  const dir = path.join(opts.dataDir, 'ca');
  const ca = await CertificateAuthority.open(dir, { trustDomain: opts.trustDomain });
  const tokens = JoinTokens.open(dir);
  // The server's own SVID, issued like any workload's over a key that never leaves memory.
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=windrose-control', keys, signingAlgorithm: EC });
  const ips = opts.host === '0.0.0.0' || opts.host === '::' ? ['127.0.0.1'] : [opts.host];
  const cert = await ca.signWorkload(csr.toString('pem'), CONTROL, opts.svidLifetimeMs, ips);
  const key = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey), 'PRIVATE KEY');

  const server = https.createServer({ key, cert, minVersion: 'TLSv1.2' }, (req, res) => {
    if (req.method === 'GET' && req.url === '/v1/trust-bundle') {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      res.end(ca.trustBundle());
      return;
    }
    if (req.url !== '/v1/svid') return sendJsonError(res, 404, 'not_found', 'no such endpoint');
    if (req.method !== 'POST') return sendJsonError(res, 405, 'method_not_allowed', 'use POST');
    const auth = req.headers.authorization ?? '';
    let id;
    try {
      id = tokens.verify(auth.startsWith('Bearer ') ? auth.slice(7) : '');
    } catch (err) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendJsonError(res, 401, 'invalid_join_token', err instanceof JoinTokenError ? err.message : 'the join token is not valid');
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
      ca.signWorkload(body.csr, id, opts.svidLifetimeMs).then(
        (certificate) => {
          opts.log.info({ namespace: id.namespace, serviceAccount: id.serviceAccount }, 'svid issued');
          sendJson(res, 200, { certificate, trustBundle: ca.trustBundle() });
        },
        (err: Error) => sendJsonError(res, 400, 'bad_csr', err instanceof CaError ? err.message : 'the CSR could not be signed'),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
