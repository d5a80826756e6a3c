import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../load.js';
import { backendTLSPolicySpec } from './backendtlspolicy.js';

function problems(spec: unknown): string[] {
  const r = backendTLSPolicySpec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const service = { group: '', kind: 'Service', name: 'orders' };

test('Gateway API v1 and v1alpha3 documents load', () => {
  for (const version of ['v1', 'v1alpha3']) {
    const { errors, resources } = parseConfigText(`apiVersion: gateway.networking.k8s.io/${version}
kind: BackendTLSPolicy
metadata: { name: orders, namespace: shop }
spec:
  targetRefs: [{ group: "", kind: Service, name: orders, sectionName: https }]
  validation:
    caCertificateRefs: [{ group: "", kind: ConfigMap, name: orders-ca }]
    hostname: orders.shop.svc
    subjectAltNames: [{ type: URI, uri: "spiffe://cluster.local/ns/shop/sa/orders" }]
  options: { example.com/knob: "1" }
`, 'btls.yaml');
    assert.deepEqual(errors, []);
    assert.equal(resources[0].kind, 'BackendTLSPolicy');
  }
});

test('exactly one of caCertificateRefs and wellKnownCACertificates', () => {
  assert.deepEqual(problems({ targetRefs: [service], validation: { hostname: 'a.b' } }),
    ['validation.caCertificateRefs: set caCertificateRefs, or wellKnownCACertificates: System to trust the system CAs']);
  assert.deepEqual(problems({ targetRefs: [service], validation: { hostname: 'a.b', wellKnownCACertificates: 'System', caCertificateRefs: [{ kind: 'ConfigMap', name: 'x' }] } }),
    ['validation.wellKnownCACertificates: must not be set together with caCertificateRefs']);
  assert.deepEqual(problems({ targetRefs: [service], validation: { hostname: 'a.b', wellKnownCACertificates: 'System' } }), []);
});

test('hostname is precise; each SAN sets exactly the field its type names; targets are distinct', () => {
  assert.match(problems({ targetRefs: [service], validation: { hostname: '*.b', wellKnownCACertificates: 'System' } })[0], /^validation\.hostname: /);
  assert.deepEqual(problems({ targetRefs: [service], validation: { hostname: 'a.b', wellKnownCACertificates: 'System', subjectAltNames: [{ type: 'URI', hostname: 'a.b' }] } }),
    ['validation.subjectAltNames.0.uri: required when type is URI', 'validation.subjectAltNames.0.hostname: must not be set when type is URI']);
  assert.deepEqual(problems({ targetRefs: [service, service], validation: { hostname: 'a.b', wellKnownCACertificates: 'System' } }),
    ['targetRefs.1: duplicate target Service "orders" (also targetRefs[0])']);
});
