import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { CA_FILES, CaError, CertificateAuthority } from './authority.js';
import { retireRoot, rotateRoot } from './rotation.js';

const run = promisify(execFile);
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-rotation-'));
  dirs.push(d);
  return path.join(d, 'ca');
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const id = { namespace: 'shop', serviceAccount: 'web' };

async function csr(): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(EC, false, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  return (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=w', keys, signingAlgorithm: EC })).toString('pem');
}

const certs = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
const signedBy = (pem: string, root: string) => certs(pem)[0].verify(new X509Certificate(root).publicKey);

test('rotate: the new root signs SVIDs, both roots are trusted (new first), the server is served by the old one until retire', async () => {
  const dir = tempDir();
  const before = await CertificateAuthority.open(dir, { trustDomain: 'example.org' });
  const oldRoot = before.roots()[0];
  assert.deepEqual(await rotateRoot(dir), { trustDomain: 'example.org' });
  const during = await CertificateAuthority.load(dir, { trustDomain: 'example.org' });
  const [newRoot, previous] = during.roots();
  assert.equal(previous, oldRoot);
  assert.notEqual(newRoot, oldRoot);
  assert.notEqual(new X509Certificate(newRoot).subject, new X509Certificate(oldRoot).subject);
  assert.equal(new X509Certificate(newRoot).subjectAltName, 'URI:spiffe://example.org');
  for (const f of [CA_FILES.rootKey, CA_FILES.previousRootKey]) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600);
  assert.ok(signedBy(await during.signWorkload(await csr(), id), newRoot));
  assert.ok(signedBy(await during.signServer(await csr(), id, 60_000, ['127.0.0.1']), oldRoot));
  assert.equal(during.sameAs(before), false);

  await assert.rejects(rotateRoot(dir), /run "windrose control ca retire" first/);
  retireRoot(dir);
  const after = await CertificateAuthority.load(dir, { trustDomain: 'example.org' });
  assert.deepEqual(after.roots(), [newRoot]);
  assert.ok(signedBy(await after.signServer(await csr(), id, 60_000, []), newRoot));
  assert.throws(() => retireRoot(dir), /no previous root/);
});

test('an intermediate signs in the root\'s place and travels with each SVID; the root key may then stay offline', async () => {
  const dir = tempDir();
  const root = (await CertificateAuthority.open(dir, { trustDomain: 'cluster.local' })).roots()[0];
  const work = path.dirname(dir);
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path.join(dir, CA_FILES.intermediateKey)]);
  await run('openssl', ['req', '-new', '-key', path.join(dir, CA_FILES.intermediateKey), '-out', path.join(work, 'i.csr'), '-subj', '/CN=intermediate']);
  fs.writeFileSync(path.join(work, 'ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\nsubjectKeyIdentifier=hash\n');
  await run('openssl', ['x509', '-req', '-in', path.join(work, 'i.csr'), '-CA', path.join(dir, CA_FILES.root), '-CAkey', path.join(dir, CA_FILES.rootKey), '-set_serial', '9', '-days', '1', '-extfile', path.join(work, 'ext'), '-out', path.join(dir, CA_FILES.intermediate)]);
  fs.renameSync(path.join(dir, CA_FILES.rootKey), path.join(work, 'offline.key'));

  const ca = await CertificateAuthority.load(dir, { trustDomain: 'cluster.local' });
  assert.deepEqual(ca.roots(), [root]);
  const [leaf, intermediate] = certs(await ca.signWorkload(await csr(), id, 3 * 86_400_000));
  assert.ok(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey));
  assert.ok(intermediate.verify(new X509Certificate(root).publicKey));
  // No leaf outlives its intermediate.
  assert.ok(new Date(leaf.validTo) <= new Date(intermediate.validTo));
  await assert.rejects(rotateRoot(dir), /intermediate\.crt signs the SVIDs/);
});

test('CA files that do not fit together are refused with what is wrong', async () => {
  const dir = tempDir();
  await CertificateAuthority.open(dir, { trustDomain: 'cluster.local' });
  const other = tempDir();
  await CertificateAuthority.open(other, { trustDomain: 'cluster.local' });
  const ownKey = fs.readFileSync(path.join(dir, CA_FILES.rootKey));
  fs.copyFileSync(path.join(other, CA_FILES.rootKey), path.join(dir, CA_FILES.rootKey));
  await assert.rejects(CertificateAuthority.load(dir, { trustDomain: 'cluster.local' }), (err: Error) => err instanceof CaError && /root\.key\.pem is not the key of its certificate/.test(err.message));
  fs.writeFileSync(path.join(dir, CA_FILES.rootKey), ownKey);
  fs.copyFileSync(path.join(other, CA_FILES.root), path.join(dir, CA_FILES.intermediate));
  await assert.rejects(CertificateAuthority.load(dir, { trustDomain: 'cluster.local' }), /only one of them is present/);
  fs.copyFileSync(path.join(other, CA_FILES.rootKey), path.join(dir, CA_FILES.intermediateKey));
  await assert.rejects(CertificateAuthority.load(dir, { trustDomain: 'cluster.local' }), /intermediate\.crt does not chain to root\.crt\.pem/);
});
