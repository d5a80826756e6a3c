import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../load.js';
import { tlsSpec } from './tls.js';

function problems(spec: unknown): string[] {
  const r = tlsSpec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('a full tls block is accepted', () => {
  assert.deepEqual(problems({
    minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3',
    ciphers: ['ECDHE-ECDSA-AES256-GCM-SHA384', 'tls_chacha20_poly1305_sha256'], ecdhCurves: ['X25519', 'P-256'],
    clientValidation: { caCertificateRefs: [{ name: 'ca' }, { kind: 'ConfigMap', name: 'more-ca' }], optional: true, crl: { refs: [{ name: 'ca' }] } },
    forwardClientCertificate: { header: 'X-Client-Cert' },
  }), []);
});

test('versions are TLS 1.2 or 1.3, in order', () => {
  assert.match(problems({ minVersion: 'TLSv1.1' })[0], /^minVersion: expected one of "TLSv1.2", "TLSv1.3", got "TLSv1.1"/);
  assert.deepEqual(problems({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }), ['maxVersion: maxVersion TLSv1.2 is below minVersion TLSv1.3']);
});

test('ciphers are single known names, curves from the list, neither repeated', () => {
  assert.match(problems({ ciphers: ['HIGH:!aNULL'] })[0], /^ciphers\.0: unknown cipher "HIGH:!aNULL": .*not an OpenSSL cipher string/);
  assert.deepEqual(problems({ ciphers: ['AES128-SHA', 'aes128-sha'] }), ['ciphers.1: duplicate cipher "aes128-sha" (also ciphers[0])']);
  assert.match(problems({ ecdhCurves: ['prime256v1'] })[0], /^ecdhCurves\.0: expected one of "X25519", "X448", "P-256", "P-384", "P-521"/);
});

test('a forwarded certificate needs validation and a header that does not frame the request', () => {
  assert.deepEqual(problems({ forwardClientCertificate: { header: 'x-client-cert' } }),
    ['forwardClientCertificate: needs clientValidation: only a certificate the listener verified is forwarded']);
  assert.match(problems({ clientValidation: { caCertificateRefs: [{ name: 'ca' }] }, forwardClientCertificate: { header: 'Host' } })[0],
    /^forwardClientCertificate\.header: header "Host" frames or routes the request/);
  assert.match(problems({ clientValidation: { caCertificateRefs: [{ name: 'ca', kind: 'Bundle' }] } })[0], /^clientValidation\.caCertificateRefs\.0\.kind: expected one of "Secret", "ConfigMap"/);
  assert.deepEqual(problems({ clientValidation: { caCertificateRefs: [] } }), ['clientValidation.caCertificateRefs: must not be empty']);
});

test('a policy with tls on an HTTPRoute is refused where the target is written', () => {
  const { errors } = parseConfigText(`apiVersion: windrose.dev/v1alpha1
kind: SecurityPolicy
metadata: { name: p, namespace: default }
spec:
  targetRefs:
  - { group: gateway.networking.k8s.io, kind: Gateway, name: gw }
  - { group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop }
  tls: { minVersion: TLSv1.3 }
`, 'p.yaml');
  assert.deepEqual(errors.map((e) => `${e.line}:${e.column} ${e.field}: ${e.message}`), [
    '7:5 spec.targetRefs[1]: a policy with tls may target only a Gateway or one of its listeners (sectionName), not HTTPRoute "shop": TLS is negotiated before a route is chosen',
  ]);
});
