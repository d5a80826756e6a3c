import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitDocuments } from './documents.js';

test('each document keeps its exact text and first line; comments between documents stay out', () => {
  const text = `\uFEFF# services of the shop
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop, labels: { app: reviews } }
---
# the mesh route
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: split
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews }]
...
---
---
- not: a mapping
`;
  const docs = splitDocuments(text, 'dir/mesh.yaml');
  assert.deepEqual(docs.map((d) => [d.document.file, d.document.line]), [['dir/mesh.yaml', 2], ['dir/mesh.yaml', 7], ['dir/mesh.yaml', 14], ['dir/mesh.yaml', 16]]);
  assert.equal(docs[0].document.text, 'apiVersion: v1\nkind: Service\nmetadata: { name: reviews, namespace: shop, labels: { app: reviews } }\n');
  assert.equal(docs[1].document.text, 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: split\nspec:\n  parentRefs: [{ group: "", kind: Service, name: reviews }]\n');
  assert.deepEqual(docs[0].objects[0].labels, { app: 'reviews' });
  assert.equal(docs[1].objects[0].namespace, 'default');
  assert.deepEqual(docs[1].objects[0].parentRefs, [{ group: '', kind: 'Service', name: 'reviews', namespace: undefined }]);
  assert.deepEqual([docs[2].objects, docs[3].objects], [[], []], 'documents that are no object are kept, needed by no one');
});

test('fields of the wrong type are left out rather than failing the document', () => {
  const [doc] = splitDocuments(`apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: p, namespace: shop, labels: [oops] }
spec: { selector: { matchLabels: { app: reviews, replicas: 3 } }, targetRefs: oops }
`, 'p.yaml');
  const [o] = doc.objects;
  assert.deepEqual([o.kind, o.namespace, o.labels, o.selector, o.targetRefs], ['AuthorizationPolicy', 'shop', {}, { app: 'reviews' }, []]);
});
