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
/** The SAN of each client certificate the server saw, resumed sessions included. */
const callers: (string | undefined)[] = [];

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
  server = tls.createServer({ cert: reviews.svid.certPem, key: reviews.svid.keyPem, ca: [...reviews.trustBundle], requestCert: true, rejectUnauthorized: true }, (s) => {
    callers.push(s.getPeerCertificate().subjectaltname);
    // A TLS 1.3 server sends its session tickets with the first data it writes.
    s.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function connect(identity: string, creds = clientIdentity, connector = meshConnector(creds, identity, '127.0.0.1', port, 5_000)): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    connector((err, socket) => {
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

/** Connects with `connector` and waits until the server has closed, so that its session ticket has arrived. */
async function connectAndClose(identity: string, creds: MeshCredentials, connector: ReturnType<typeof meshConnector>): Promise<boolean> {
  const socket = await connect(identity, creds, connector);
  const reused = socket.isSessionReused();
  socket.resume();
  await new Promise((resolve) => socket.once('close', resolve));
  return reused;
}

test('later connections to an endpoint resume its TLS session, and the server still sees the caller\'s identity', async () => {
  const creds = await credentials('web');
  const reviews = 'spiffe://cluster.local/ns/default/sa/reviews';
  const connector = meshConnector(creds, reviews, '127.0.0.1', port, 5_000);
  callers.length = 0;
  assert.equal(await connectAndClose(reviews, creds, connector), false, 'the first connection verifies in full');
  assert.equal(await connectAndClose(reviews, creds, connector), true, 'the next one resumes');
  assert.deepEqual(callers, ['URI:spiffe://cluster.local/ns/default/sa/web', 'URI:spiffe://cluster.local/ns/default/sa/web']);
  // A renewed SVID is a new context: the next connection verifies the peer again.
  creds.update((await credentials('web')).credentials!);
  assert.equal(await connectAndClose(reviews, creds, connector), false, 'a new SVID verifies in full');
  assert.equal(await connectAndClose(reviews, creds, connector), true);
});

test('a connection refused for its peer\'s identity leaves no session to resume', async () => {
  const creds = await credentials('web');
  const ratings = 'spiffe://cluster.local/ns/default/sa/ratings';
  const connector = meshConnector(creds, ratings, '127.0.0.1', port, 5_000);
  for (let i = 0; i < 2; i++) await assert.rejects(connect(ratings, creds, connector), { code: 'WINDROSE_PEER_IDENTITY' });
});
