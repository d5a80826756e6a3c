import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientValidation } from '../../../config/model.js';
import { HeaderList } from '../../headers.js';
import type { ClientCertificate } from '../../listeners/client-certificate.js';
import type { LocalResponse, ProxyRequest } from '../filter.js';
import { clientCertificateFilter, forwardedCertificate } from './tls.js';

const validation = (optional = false): ClientValidation => ({ id: 'partners', caPem: '', optional });
const alice: ClientCertificate = {
  validatedBy: 'partners', subject: 'CN=alice,O=Acme\\, Inc.', dnsNames: ['alice.example', 'a2.example'], uris: ['spiffe://partners/alice'], sha256: 'ab'.repeat(32),
};

function request(cert: ClientCertificate | undefined, headers: string[] = [], scheme: 'http' | 'https' = 'https'): ProxyRequest {
  return {
    method: 'GET', path: '/', query: '', authority: 'partner.example', headers: new HeaderList(headers), scheme, clientAddress: '10.0.0.1',
    peer: undefined, port: 443, requestId: 'r1', matchedPrefix: undefined, mirrors: undefined, identity: undefined, clientCertificate: cert,
  };
}

test('the header holds the hash, the quoted subject, then each URI and DNS SAN', () => {
  assert.equal(forwardedCertificate(alice), `Hash=${'ab'.repeat(32)};Subject="CN=alice,O=Acme\\\\, Inc.";URI=spiffe://partners/alice;DNS=alice.example;DNS=a2.example`);
});

test('values that would break the header are quoted or percent-encoded, never passed raw', () => {
  const odd: ClientCertificate = { ...alice, subject: 'CN=Zoë "Z"', uris: ['spiffe://x/a;b=c'], dnsNames: [] };
  assert.equal(forwardedCertificate(odd), `Hash=${'ab'.repeat(32)};Subject="CN=Zo%C3%AB \\"Z\\"";URI="spiffe://x/a;b=c"`);
  assert.equal(forwardedCertificate({ ...alice, subject: 'CN=a\nb 100%', uris: [], dnsNames: [] }), `Hash=${'ab'.repeat(32)};Subject="CN=a%0Ab 100%25"`);
});

test('a verified certificate sets the header, replacing any copy the client sent, and the identity', () => {
  const f = clientCertificateFilter(validation(), 'X-Client-Cert');
  const req = request(alice, ['x-client-cert', 'Subject="CN=admin"', 'accept', '*/*', 'x-client-cert', 'again']);
  assert.equal(f.onRequest!(req), undefined);
  assert.equal(req.headers.raw.filter((h, i) => i % 2 === 0 && h === 'x-client-cert').length, 1);
  assert.equal(req.headers.get('x-client-cert'), forwardedCertificate(alice));
  assert.deepEqual(req.identity, { method: 'clientCertificate', subject: 'CN=alice,O=Acme\\, Inc.' });
});

test('optional: no certificate passes without identity and without the forged header', () => {
  const req = request(undefined, ['x-client-cert', 'forged']);
  assert.equal(clientCertificateFilter(validation(true), 'x-client-cert').onRequest!(req), undefined);
  assert.equal(req.headers.get('x-client-cert'), undefined);
  assert.equal(req.identity, undefined);
});

test('required: a connection verified for another listener gets 421; a request without TLS gets 403', () => {
  const f = clientCertificateFilter(validation(), undefined);
  assert.equal((f.onRequest!(request({ ...alice, validatedBy: 'other' })) as LocalResponse).errorCode, 'misdirected_request');
  assert.equal((f.onRequest!(request(undefined)) as LocalResponse).status, 421);
  assert.equal((f.onRequest!(request(undefined, [], 'http')) as LocalResponse).errorCode, 'client_certificate_required');
});

test('an identity an earlier mechanism set is kept; a certificate without a subject is named by its SANs', () => {
  const f = clientCertificateFilter(validation(), undefined);
  const req = request({ ...alice, subject: '' });
  f.onRequest!(req);
  assert.equal(req.identity?.subject, 'spiffe://partners/alice');
  const kept = request(alice);
  kept.identity = { method: 'jwt', subject: 'bob' };
  f.onRequest!(kept);
  assert.equal(kept.identity.subject, 'bob');
});

test('a tls block without client validation runs nothing per request', () => {
  assert.equal(clientCertificateFilter(undefined, undefined).onRequest, undefined);
});
