import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../load.js';
import { formatConfigError } from '../../resources.js';
import { apiKeyAuthSpec } from './api-key-auth.js';

function problems(spec: unknown): string[] {
  const r = apiKeyAuthSpec.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('an empty block and a full one are accepted', () => {
  assert.deepEqual(problems({}), []);
  assert.deepEqual(problems({
    extractFrom: [{ header: 'X-API-Key' }, { param: 'api_key' }], forwardCredentials: true, consumerHeader: 'x-windrose-consumer',
  }), []);
});

test('each source is a header or a param, not both nor neither, and named once', () => {
  assert.deepEqual(problems({ extractFrom: [{ header: 'x-api-key', param: 'key' }] }), ['extractFrom.0: expected exactly one of "header" or "param"']);
  assert.deepEqual(problems({ extractFrom: [{}] }), ['extractFrom.0: expected exactly one of "header" or "param"']);
  assert.deepEqual(problems({ extractFrom: [{ header: 'X-Key' }, { header: 'x-key' }] }), ['extractFrom.1: duplicate header "x-key" (also at index 0)']);
  assert.deepEqual(problems({ extractFrom: [] }), ['extractFrom: must not be empty']);
  assert.match(problems({ extractFrom: [{ param: 'api key' }] })[0], /^extractFrom\.0\.param: invalid query parameter name "api key"/);
  assert.match(problems({ extractFrom: [{ cookie: 'k' }] })[0], /^extractFrom\.0\.cookie: /);
});

test('the consumer header is neither where the key is read nor a header that frames the request', () => {
  assert.deepEqual(problems({ consumerHeader: 'X-Api-Key' }), ['consumerHeader: "X-Api-Key" is where the key is read from; name another header']);
  assert.deepEqual(problems({ consumerHeader: 'Host' }), ['consumerHeader: "Host" frames or routes the request; name a header of your own, such as "x-windrose-consumer"']);
  assert.deepEqual(problems({ forwardCredentials: 'no' }), ['forwardCredentials: expected true or false, got "no"']);
});

test('in a SecurityPolicy, problems are reported at their line and column', () => {
  const text = `apiVersion: windrose.dev/v1alpha1
kind: SecurityPolicy
metadata: { name: keys, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: orders }]
  apiKeyAuth:
    extractFrom:
    - { header: x-api-key, param: api_key }
    consumerHeader: x-api-key
`;
  assert.deepEqual(parseConfigText(text, 'test.yaml').errors.map(formatConfigError), [
    'test.yaml:8:7 SecurityPolicy default/keys spec.apiKeyAuth.extractFrom[0]: expected exactly one of "header" or "param"',
    'test.yaml:9:21 SecurityPolicy default/keys spec.apiKeyAuth.consumerHeader: "x-api-key" is where the key is read from; name another header',
  ]);
});
