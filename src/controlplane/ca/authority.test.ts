import 'reflect-metadata';
import assert from 'node:assert/strict';
import { X509Certificate, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { CaError, CertificateAuthority } from './authority.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-ca-'));
  dirs.push(d);
  return path.join(d, 'ca');
}

/** A workload's side: its own key pair and a CSR for it, asking for a name the CA must ignore. */
async function workloadCsr(alg: EcKeyGenParams | RsaHashedKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' }): Promise<string> {
  const signing = alg.name === 'ECDSA' ? { ...alg, hash: 'SHA-256' } : alg;
  const keys = (await webcrypto.subtle.generateKey(signing, false, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=admin',
    keys,
    signingAlgorithm: signing,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://example.org/ns/kube-system/sa/admin' }])],
  });
  return csr.toString('pem');
}

test('a root is generated on first start, its key stored with mode 0600, and reused on the next', async () => {
  const dir = tempDir();
  const ca = await CertificateAuthority.open(dir, { trustDomain: 'cluster.local' });
  assert.equal(fs.statSync(path.join(dir, 'root.key.pem')).mode & 0o777, 0o600);
  const root = new X509Certificate(ca.trustBundle());
  assert.equal(root.ca, true);
  assert.equal(root.subjectAltName, 'URI:spiffe://cluster.local');
  const again = await CertificateAuthority.open(dir, { trustDomain: 'cluster.local' });
  assert.equal(again.trustBundle(), ca.trustBundle());
  // The reloaded key still signs for the same root.
  const svid = new X509Certificate(await again.signWorkload(await workloadCsr(), { namespace: 'shop', serviceAccount: 'web' }));
  assert.ok(svid.verify(root.publicKey));
});

test('an SVID names the identity the CA was given, as SPIFFE requires, for the lifetime asked', async () => {
  const ca = await CertificateAuthority.open(tempDir(), { trustDomain: 'cluster.local' });
  const root = new X509Certificate(ca.trustBundle());
  const pem = await ca.signWorkload(await workloadCsr(), { namespace: 'shop', serviceAccount: 'web' }, 5 * 60_000);
  const svid = new X509Certificate(pem);
  assert.ok(svid.verify(root.publicKey));
  assert.ok(svid.checkIssued(root));
  assert.equal(svid.ca, false);
  // Exactly one URI SAN, the one the CA decided, not the one the CSR asked for.
  assert.equal(svid.subjectAltName, 'URI:spiffe://cluster.local/ns/shop/sa/web');
  const lifetime = new Date(svid.validTo).getTime() - Date.now();
  assert.ok(lifetime > 4 * 60_000 && lifetime <= 5 * 60_000, `lifetime ${lifetime} ms`);
  const parsed = new x509.X509Certificate(pem);
  const usages = parsed.getExtension(x509.KeyUsagesExtension);
  assert.ok(usages?.critical);
  assert.ok(usages !== null && (usages.usages & x509.KeyUsageFlags.digitalSignature) !== 0);
  assert.equal(usages!.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign), 0);
  const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension);
  assert.deepEqual([...(eku?.usages ?? [])], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
});

test('CSRs with another key type, or that are not CSRs at all, are refused', async () => {
  const ca = await CertificateAuthority.open(tempDir(), { trustDomain: 'cluster.local' });
  const id = { namespace: 'shop', serviceAccount: 'web' };
  const rsa = await workloadCsr({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' });
  await assert.rejects(ca.signWorkload(rsa, id), (err: Error) => err instanceof CaError && /ECDSA P-256/.test(err.message));
  await assert.rejects(ca.signWorkload('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', id), CaError);
});
