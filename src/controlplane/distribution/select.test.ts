import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitDocuments } from '../config/documents.js';
import { DocumentSelection } from './select.js';

const FILE = `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
---
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: reviews-static, namespace: shop, labels: { kubernetes.io/service-name: reviews } }
addressType: IPv4
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: from-web, namespace: shop }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: mesh-route, namespace: shop }
spec: { parentRefs: [{ group: "", kind: Service, name: reviews }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: edge-route, namespace: shop }
spec: { parentRefs: [{ name: edge }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: no-group-route, namespace: shop }
spec: { parentRefs: [{ kind: Service, name: reviews }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: odd-route, namespace: shop }
spec: { parentRefs: [{ group: example.com, kind: Service, name: reviews }] }
---
apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: on-mesh-route, namespace: shop }
spec: { targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: mesh-route }] }
---
apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: on-service, namespace: shop }
spec: { targetRefs: [{ group: "", kind: Service, name: reviews }] }
---
apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: on-edge-route, namespace: shop }
spec: { targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: edge-route }] }
---
apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: on-mesh-route-elsewhere, namespace: other }
spec: { targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: mesh-route }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge, namespace: shop }
---
apiVersion: v1
kind: Secret
metadata: { name: edge-cert, namespace: shop }
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: mesh-wide, namespace: windrose-system }
spec: {}
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: shop-wide, namespace: shop }
spec: {}
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: billing-wide, namespace: billing }
spec: {}
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: reviews-only, namespace: shop }
spec: { selector: { matchLabels: { app: reviews, version: v1 } } }
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: reviews-anywhere, namespace: windrose-system }
spec: { selector: { matchLabels: { app: reviews } } }
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: reviews-in-billing, namespace: billing }
spec: { selector: { matchLabels: { app: reviews } } }
`;

const names = (docs: readonly { text: string }[]) => docs.map((d) => /name: ([-\w]+)/.exec(d.text)![1]);
const selection = new DocumentSelection(splitDocuments(FILE, 'mesh.yaml'));
const reviews = { namespace: 'shop', labels: { app: 'reviews', version: 'v1' } };

test('every proxy gets Services, Namespaces, EndpointSlices, ReferenceGrants, mesh routes and the traffic policies on them', () => {
  const { documents } = selection.select({ namespace: 'other', labels: {} });
  assert.deepEqual(names(documents), [
    'reviews', 'shop', 'reviews-static', 'from-web', 'mesh-route', 'on-mesh-route', 'on-service', 'mesh-wide',
  ]);
});

test('AuthorizationPolicies go to the workloads they apply to, as Istio scopes them', () => {
  assert.deepEqual(names(selection.select(reviews).documents).slice(7), ['mesh-wide', 'shop-wide', 'reviews-only', 'reviews-anywhere']);
  // Same namespace, a label missing: only the policies without a selector.
  assert.deepEqual(names(selection.select({ namespace: 'shop', labels: { app: 'reviews' } }).documents).slice(7), ['mesh-wide', 'shop-wide', 'reviews-anywhere']);
  assert.deepEqual(names(selection.select({ namespace: 'billing', labels: { app: 'reviews' } }).documents).slice(7), ['mesh-wide', 'billing-wide', 'reviews-anywhere', 'reviews-in-billing']);
});

test('proxies that need the same documents share a selection key; others do not', () => {
  const a = selection.select(reviews).key;
  assert.equal(selection.select({ namespace: 'shop', labels: { version: 'v1', app: 'reviews', extra: 'x' } }).key, a);
  assert.notEqual(selection.select({ namespace: 'shop', labels: {} }).key, a);
  assert.equal(selection.select({ namespace: 'other', labels: {} }).key, selection.select({ namespace: 'elsewhere', labels: { app: 'x' } }).key);
});

test('a List is sent whole when one item is needed, and never when it holds a Secret', () => {
  const lists = new DocumentSelection(splitDocuments(`apiVersion: v1
kind: List
items:
- { apiVersion: v1, kind: ConfigMap, metadata: { name: unrelated } }
- { apiVersion: v1, kind: Service, metadata: { name: reviews } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRouteList
items:
- { metadata: { name: only-edge }, spec: { parentRefs: [{ name: edge }] } }
---
apiVersion: v1
kind: List
items:
- { apiVersion: v1, kind: Service, metadata: { name: ratings } }
- { apiVersion: v1, kind: Secret, metadata: { name: key } }
`, 'lists.yaml'));
  const { documents } = lists.select(reviews);
  assert.deepEqual(documents.map((d) => d.line), [1]);
  assert.match(documents[0].text, /name: unrelated/);
  assert.deepEqual(lists.withheld.map((d) => d.line), [12]);
});

test('a document the schema would reject is still selected by what can be read of it', () => {
  const lenient = new DocumentSelection(splitDocuments(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: broken, namespace: shop }
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews, port: "not a port" }]
  rules: [{ unknownField: true }]
`, 'broken.yaml'));
  assert.deepEqual(names(lenient.select(reviews).documents), ['broken']);
});
