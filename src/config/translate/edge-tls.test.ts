import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_CIPHERS } from 'node:tls';
import { stringify } from 'yaml';
import { createCA, tlsSecret, type CertificateAuthority, type KeyPair } from '../../../test/helpers/certs.js';
import { parseConfigText } from '../load.js';
import type { ClientValidation } from '../model.js';
import { cipherString, portTLS } from './edge-tls.js';
import { translate } from './index.js';

const v = (optional: boolean): ClientValidation => ({ id: 'x', caPem: '', optional });

describe('the handshake of a port, from its listeners', () => {
  test('no listener with TLS settings leaves the defaults', () => {
    assert.equal(portTLS([undefined, undefined]), undefined);
  });

  test('the strictest versions win', () => {
    assert.deepEqual(portTLS([{ minVersion: 'TLSv1.3' }, { maxVersion: 'TLSv1.2' }]), { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', requestCert: false, requireCert: false });
    assert.deepEqual(portTLS([{ maxVersion: 'TLSv1.2' }, undefined]), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', requestCert: false, requireCert: false });
  });

  test('ciphers and curves every listener that names some names; the first list when they share none', () => {
    const both = portTLS([{ ciphers: ['AES128-SHA', 'AES256-SHA'], ecdhCurves: ['X25519', 'P-256'] }, { ciphers: ['AES256-SHA'], ecdhCurves: ['P-256'] }, {}]);
    assert.equal(both?.ciphers, cipherString(['AES256-SHA']));
    assert.equal(both?.ecdhCurve, 'P-256');
    assert.equal(portTLS([{ ciphers: ['AES128-SHA'] }, { ciphers: ['AES256-SHA'] }])?.ciphers, cipherString(['AES128-SHA']));
  });

  test('a certificate is requested when one listener validates, required when all require', () => {
    assert.deepEqual([portTLS([{ clientValidation: v(false) }, undefined]), portTLS([{ clientValidation: v(true) }]), portTLS([{ clientValidation: v(false) }, { clientValidation: v(false) }])]
      .map((p) => [p?.requestCert, p?.requireCert]), [[true, false], [true, false], [true, true]]);
  });

  test('a TLS version none of whose ciphers are named keeps its defaults', () => {
    const suites = DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_'));
    const tls12 = DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_'));
    assert.equal(cipherString(['ECDHE-ECDSA-AES256-GCM-SHA384']), [...suites, 'ECDHE-ECDSA-AES256-GCM-SHA384'].join(':'));
    assert.equal(cipherString(['TLS_AES_128_GCM_SHA256']), ['TLS_AES_128_GCM_SHA256', ...tls12].join(':'));
  });
});

describe('SecurityPolicy tls in translation', () => {
  let ca: CertificateAuthority;
  let server: KeyPair;

  before(async () => {
    ca = await createCA();
    server = await ca.issue(['a.example', 'b.example', 'c.example']);
  });
  after(() => ca.dispose());

  function translated(policies: Record<string, unknown>[], caText: string) {
    const https = (name: string, port: number) => ({ name, port, protocol: 'HTTPS', hostname: `${name}.example`, tls: { certificateRefs: [{ name: 'cert' }] } });
    const text = [
      stringify({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'windrose' }, spec: { controllerName: 'windrose.dev/gateway-controller' } }),
      stringify({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'windrose', listeners: [https('a', 8443), https('b', 8443), https('c', 9443)] } }),
      tlsSecret('cert', server),
      stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ca', namespace: 'default' }, stringData: { 'ca.crt': caText } }),
      ...policies.map((spec, i) => stringify({ apiVersion: 'windrose.dev/v1alpha1', kind: 'SecurityPolicy', metadata: { name: `p${i}`, namespace: 'default' }, spec })),
    ].join('---\n');
    const loaded = parseConfigText(text, 'tls.yaml');
    assert.deepEqual(loaded.errors, []);
    return translate(loaded.resources);
  }
  const on = (sectionName?: string) => ({ targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw', ...(sectionName ? { sectionName } : {}) }] });

  test("a listener's validation travels with its certificates; the Gateway's versions reach every port", () => {
    const t = translated([
      { ...on('a'), tls: { clientValidation: { caCertificateRefs: [{ name: 'ca' }] } } },
      { ...on(), tls: { minVersion: 'TLSv1.3' } },
    ], ca.certPem);
    const [shared, single] = t.ports;
    assert.deepEqual(shared.certificates.map((c) => [c.listenerHostnames[0], c.clientValidation?.caPem === `${ca.certPem.trim()}\n`]), [['a.example', true], ['b.example', false]]);
    assert.deepEqual(shared.tls, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', requestCert: true, requireCert: false });
    assert.deepEqual(single.tls, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', requestCert: false, requireCert: false });
  });

  test('a CA bundle without a certificate makes the policy not Accepted, and its listener asks for none', () => {
    const t = translated([{ ...on('a'), tls: { clientValidation: { caCertificateRefs: [{ name: 'ca' }] } } }], 'not a certificate');
    const status = t.statuses.find((s) => s.kind === 'SecurityPolicy');
    assert.deepEqual(status?.ancestors?.map((a) => [a.conditions[0].status, a.conditions[0].reason]), [['False', 'InvalidCACertificateRef']]);
    assert.equal(t.ports[0].tls, undefined);
    assert.equal(t.ports[0].certificates[0].clientValidation, undefined);
  });
});
