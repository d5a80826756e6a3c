import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { CertificateAuthority } from '../../controlplane/ca/authority.js';
import { MeshCredentials } from '../../mesh/credentials.js';
import { createKeyAndCsr } from '../../mesh/csr.js';
import { svidOf } from '../../mesh/identity.js';
import { meshConnector } from './mesh-connector.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-connector-'));
let ca: CertificateAuthority;
let server: tls.Server;
let port: number;
const clientIdentity = new MeshCredentials();

async function credentials(serviceAccount: string): Promise<MeshCredentials> {
  const { keyPem, csrPem } = createKeyAndCsr();
  const cert = await ca.signWorkload(csrPem, { namespace: 'default', serviceAccount }, 60_000);
  const creds = new MeshCredentials();
  creds.update({ svid: svidOf(cert, keyPem), trustBundle: [ca.trustBundle()] });
  return creds;
}

before(async () => {
  ca = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  const reviews = (await credentials('reviews')).credentials!;
  clientIdentity.update((await credentials('web')).credentials!);
  server = tls.createServer({ cert: reviews.svid.certPem, key: reviews.svid.keyPem, ca: [...reviews.trustBundle], requestCert: true, rejectUnauthorized: true }, (s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function connect(identity: string, creds = clientIdentity): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    meshConnector(creds, identity, 5_000)({ hostname: '127.0.0.1', host: '127.0.0.1', protocol: 'https:', port: String(port) }, (err, socket) => {
      if (err) reject(err);
      else resolve(socket as TLSSocket);
    });
  });
}

test('connects when the peer presents the SPIFFE ID the endpoint was registered with', async () => {
  const socket = await connect('spiffe://cluster.local/ns/default/sa/reviews');
  assert.equal(socket.authorized, true);
  socket.destroy();
});

test('refuses a peer with any other identity, as a connect failure', async () => {
  await assert.rejects(connect('spiffe://cluster.local/ns/default/sa/ratings'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'WINDROSE_PEER_IDENTITY');
    assert.match(err.message, /presented spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews, expected .*sa\/ratings/);
    return true;
  });
});

test('without a certificate of its own the proxy does not try', async () => {
  await assert.rejects(connect('spiffe://cluster.local/ns/default/sa/reviews', new MeshCredentials()), { code: 'ECONNREFUSED' });
});
