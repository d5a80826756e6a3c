import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createCA, type CertificateAuthority, type KeyPair } from '../../../test/helpers/certs.js';
import type { Certificate, ClientValidation } from '../../config/model.js';
import { SniContexts } from './tls-contexts.js';

let ca: CertificateAuthority;
let wildcard: KeyPair;
let exact: KeyPair;
before(async () => {
  ca = await createCA();
  [wildcard, exact] = await Promise.all([ca.issue(['*.example.com']), ca.issue(['api.example.com'])]);
});
after(() => ca.dispose());

const validation = (id: string): ClientValidation => ({ id, caPem: ca.certPem, optional: false });
const cert = (pair: KeyPair, dnsNames: string[], listener: string, v?: ClientValidation): Certificate =>
  ({ name: listener, certPem: pair.certPem, keyPem: pair.keyPem, dnsNames, listenerHostnames: [listener], ...(v ? { clientValidation: v } : {}) });

test("one certificate on several listeners: the server name picks the listener, and with it the listener's validation", () => {
  const sni = new SniContexts([
    cert(wildcard, ['*.example.com'], 'shop.example.com'),
    cert(wildcard, ['*.example.com'], 'partners.example.com', validation('partners')),
    cert(wildcard, ['*.example.com'], '*.internal.example.com', validation('internal')),
    cert(wildcard, ['*.example.com'], ''),
  ]);
  assert.equal(sni.validationFor('partners.example.com')?.id, 'partners');
  assert.equal(sni.validationFor('PARTNERS.example.com')?.id, 'partners', 'server names are case-insensitive');
  assert.equal(sni.validationFor('shop.example.com'), undefined);
  assert.equal(sni.validationFor('a.b.internal.example.com')?.id, 'internal', 'a listener wildcard covers any depth');
  assert.equal(sni.validationFor('other.example.com'), undefined, 'the listener without hostname takes the rest');
  assert.equal(sni.validationFor(false), undefined, 'no SNI: the port default, its first certificate');
});

test("a name no listener claims gets a certificate that covers it, else the port's first", () => {
  const sni = new SniContexts([cert(wildcard, ['*.example.com'], 'shop.example.com'), cert(exact, ['api.example.com'], 'api.example.com', validation('api'))]);
  assert.equal(sni.select('API.example.com'), sni.select('api.example.com'));
  assert.notEqual(sni.select('api.example.com'), sni.select('shop.example.com'));
  assert.equal(sni.select('unknown.test'), sni.select('shop.example.com'));
  assert.equal(sni.validationFor('api.example.com')?.id, 'api');
});
