import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../load.js';
import { translate } from './index.js';

const BASE = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: windrose }
spec: { controllerName: windrose.dev/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: windrose
  listeners: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: windrose.dev/v1alpha1
kind: Backend
metadata: { name: a, namespace: default }
spec: { endpoints: [{ ip: 127.0.0.1, port: 9000 }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: orders, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - name: write
    backendRefs: [{ group: windrose.dev, kind: Backend, name: a }]
---
apiVersion: v1
kind: Service
metadata: { name: orders, namespace: default }
spec: { ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Secret
metadata: { name: bad-keys, namespace: default }
stringData: { jwks: '{"keys":[null]}' }
`;

const policy = (name: string, target: string, body: string) => `---
apiVersion: windrose.dev/v1alpha1
kind: SecurityPolicy
metadata: { name: ${name}, namespace: default }
spec:
  targetRefs: [${target}]
${body}`;

function accepted(yaml: string): Record<string, string> {
  const loaded = parseConfigText(yaml, 'test.yaml');
  assert.deepEqual(loaded.errors, []);
  const t = translate(loaded.resources);
  const out: Record<string, string> = {};
  for (const s of t.statuses) {
    if (s.kind !== 'SecurityPolicy') continue;
    const c = s.ancestors?.[0]?.conditions[0];
    out[s.name] = `${c?.status}/${c?.reason}`;
  }
  return out;
}

test('targets a SecurityPolicy cannot guard are refused in its status, never accepted and silently not applied', () => {
  const cors = '  cors: { allowOrigins: ["*"] }\n';
  assert.deepEqual(accepted(BASE
    + policy('rule', '{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: orders, sectionName: write }', cors)
    + policy('service', '{ group: "", kind: Service, name: orders }', cors)
    + policy('route', '{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: orders }', cors)), {
    rule: 'False/TargetNotFound', service: 'False/TargetNotFound', route: 'True/Accepted',
  });
});

test('a JWKS in a Secret that is not a key set fails its policy closed; the translation itself goes on', () => {
  const jwt = '  jwt: { providers: [{ name: p, localJWKS: { type: SecretRef, secretRef: { name: bad-keys } } }] }\n';
  assert.deepEqual(accepted(BASE + policy('jwt', '{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: orders }', jwt)), { jwt: 'False/InvalidJWKS' });
});
