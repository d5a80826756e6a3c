import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { createKeyAndCsr } from './csr.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

test('the request is valid PKCS#10, self-signed by a fresh P-256 key that stays with the caller', async () => {
  const { keyPem, csrPem } = createKeyAndCsr('reviews');
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  assert.equal(csr.subject, 'CN=reviews');
  assert.equal(await csr.verify(), true);
  const key = createPrivateKey(keyPem);
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  assert.deepEqual(Buffer.from(csr.publicKey.rawData), fromKey);
});

test('every request has a new key', () => {
  assert.notEqual(createKeyAndCsr().keyPem, createKeyAndCsr().keyPem);
});
