import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backend, docs, gateway, route } from '../../../test/helpers/resources.js';
import { parseConfigText } from '../load.js';
import { translate } from './index.js';

// Route "orders" with a rule named "write" to Backend "a", a Service "orders" and a Secret whose JWKS is not a key set.
const BASE = docs(gateway({ http: 8080 }), backend('a', [{ port: 9000 }]), route('orders', { backends: ['a'], rule: '    name: write\n' }), `apiVersion: v1
kind: Service
metadata: { name: orders, namespace: default }
spec: { ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Secret
metadata: { name: bad-keys, namespace: default }
stringData: { jwks: '{"keys":[null]}' }
`);

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
