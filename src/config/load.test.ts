import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fork } from 'node:child_process';
import { revive, toPlain, type PlainLoaded } from './load-plain.js';
import { formatPath, loadConfig, parseConfigText, parseDocuments } from './load.js';
import { formatConfigError, type Resource, type ResourceKind } from './resources.js';

const testdata = join(dirname(fileURLToPath(import.meta.url)), 'testdata');

/** YAML written indented in this file; the common indentation is removed so line 1 is the first line. */
function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const lines = String.raw({ raw: strings }, ...values).replace(/^\n/, '').replace(/\n\s*$/, '\n').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

const errorsOf = (text: string) => parseConfigText(text, 'test.yaml').errors.map(formatConfigError);
const warningsOf = (text: string) => parseConfigText(text, 'test.yaml').warnings.map(formatConfigError);

function find<K extends ResourceKind>(resources: readonly Resource[], kind: K, name: string): Extract<Resource, { kind: K }> {
  const found = resources.find((r) => r.kind === kind && r.metadata.name === name);
  assert.ok(found, `${kind} ${name} not loaded`);
  return found as Extract<Resource, { kind: K }>;
}

test('valid fixtures for every kind load from a directory, recursively and in path order', async () => {
  const dir = join(testdata, 'valid');
  const result = await loadConfig(dir);
  assert.deepEqual(result.errors.map(formatConfigError), []);
  assert.deepEqual(result.warnings.map(formatConfigError), []);
  assert.deepEqual(result.files, ['core.yaml', 'gateway-api.yaml', 'nested/routes.json', 'nested/windrose.yml'].map((f) => join(dir, f)));
  assert.deepEqual(
    result.resources.map((r) => `${r.kind} ${r.metadata.namespace ?? ''}/${r.metadata.name}`),
    [
      'Namespace /shop',
      'Service shop/shop-v1',
      'EndpointSlice shop/shop-v1-abc12',
      'Secret infra/wildcard-cert',
      'GatewayClass /windrose',
      'Gateway infra/edge',
      'HTTPRoute shop/shop',
      'ReferenceGrant catalog/shop-to-catalog',
      'HTTPRoute shop/docs',
      'Backend shop/static',
      'BackendTrafficPolicy shop/shop-timeouts',
      'AuthorizationPolicy shop/shop-readers',
    ],
  );
  const slice = find(result.resources, 'EndpointSlice', 'shop-v1-abc12');
  assert.equal(slice.spec.addressType, 'IPv4');
  assert.deepEqual(slice.spec.endpoints.map((e) => e.addresses), [['10.1.0.5'], ['10.1.0.6']]);
  const secret = find(result.resources, 'Secret', 'wildcard-cert');
  assert.deepEqual(Object.keys(secret.spec), ['type', 'data', 'stringData']);
  const route = find(result.resources, 'HTTPRoute', 'shop');
  assert.equal(route.spec.rules?.[0].backendRefs?.[1].filters?.[0].type, 'ResponseHeaderModifier');
  const extension = route.spec.rules?.[0].filters?.find((f) => f.type === 'ExtensionRef');
  assert.deepEqual(extension?.extensionRef, { group: 'windrose.dev', kind: 'RateLimit', name: 'gentle' });
  // A typed list's items inherit apiVersion and kind from the list; JSON is located like YAML.
  const docs = find(result.resources, 'HTTPRoute', 'docs');
  assert.equal(docs.apiVersion, 'gateway.networking.k8s.io/v1');
  assert.deepEqual(docs.locate(['spec', 'rules', 0, 'backendRefs', 0, 'port']), { file: join(dir, 'nested/routes.json'), line: 9, column: 63 });
});

test('kubectl get -o yaml output loads as is: status, server metadata and foreign kinds', async () => {
  const file = join(testdata, 'kubectl', 'list.yaml');
  const result = await loadConfig(file);
  assert.deepEqual(result.errors.map(formatConfigError), []);
  assert.deepEqual(result.warnings.map(formatConfigError), [`${file}:102:3: kind Deployment (apps/v1) is not used by windrose; skipped`]);
  assert.deepEqual(result.resources.map((r) => r.kind), ['HTTPRoute', 'Service', 'EndpointSlice']);
  const route = find(result.resources, 'HTTPRoute', 'shop');
  assert.deepEqual(route.metadata, {
    name: 'shop',
    namespace: 'default',
    annotations: route.metadata.annotations,
    generation: 3,
    creationTimestamp: '2024-05-01T12:00:00Z',
    uid: '6c1d1b9e-9d8c-4c8f-a1d2-0a7e2b1c3d4e',
    resourceVersion: '48213',
  });
  assert.ok(!('status' in route));
  assert.deepEqual(route.source, { file, line: 3, column: 3 });
  // `endpoints: null` is how kubectl prints a slice without endpoints.
  assert.deepEqual(find(result.resources, 'EndpointSlice', 'shop-x7k2p').spec.endpoints, []);
});

test('locate resolves field paths, falling back to the nearest existing ancestor', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata:
      name: shop
    spec:
      rules:
      - backendRefs:
        - name: shop
          port: 8080
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: shop-1}
    addressType: IPv4
    endpoints:
    - addresses: [10.0.0.1]
  `;
  const { resources, errors } = parseConfigText(text, 'routes.yaml');
  assert.deepEqual(errors, []);
  const [route, slice] = resources;
  assert.deepEqual(route.source, { file: 'routes.yaml', line: 1, column: 1 });
  assert.deepEqual(route.locate(['spec', 'rules', 0, 'backendRefs', 0, 'port']), { file: 'routes.yaml', line: 9, column: 13 });
  assert.deepEqual(route.locate(['spec', 'rules']), { file: 'routes.yaml', line: 6, column: 3 });
  assert.deepEqual(route.locate(['spec', 'rules', 0, 'backendRefs', 0, 'weight']), { file: 'routes.yaml', line: 8, column: 7 });
  assert.deepEqual(route.locate(['spec', 'rules', 5]), { file: 'routes.yaml', line: 7, column: 3 });
  assert.deepEqual(slice.source, { file: 'routes.yaml', line: 11, column: 1 });
  // EndpointSlice keeps its "spec" at the top level of the document.
  assert.deepEqual(slice.locate(['spec', 'endpoints', 0, 'addresses', 0]), { file: 'routes.yaml', line: 16, column: 15 });
});

test('unknown fields are errors anywhere, with a suggestion', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata:
      name: shop
      labls: {app: shop}
    spec:
      hostname: shop.example.com
      rules:
      - backendRefs:
        - name: shop
          port: 80
          wieght: 1
    specs: {}
    status: {parents: []}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:5:3 HTTPRoute default/shop metadata.labls: unknown field "labls" (did you mean "labels"?)',
    'test.yaml:7:3 HTTPRoute default/shop spec.hostname: unknown field "hostname" (did you mean "hostnames"?)',
    'test.yaml:12:7 HTTPRoute default/shop spec.rules[0].backendRefs[0].wieght: unknown field "wieght" (did you mean "weight"?)',
    'test.yaml:13:1 HTTPRoute default/shop specs: unknown field "specs" (did you mean "spec"?)',
  ]);
});

test('values of the wrong type or out of range are named in the message', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop, namespace: web}
    spec:
      parentRefs: [{name: edge, port: 70000}]
      rules:
      - backendRefs:
        - name: shop
          port: eighty
          weight: 2000000
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:5:35 HTTPRoute web/shop spec.parentRefs[0].port: expected an integer from 1 to 65535, got 70000',
    'test.yaml:9:13 HTTPRoute web/shop spec.rules[0].backendRefs[0].port: expected an integer from 1 to 65535, got "eighty"',
    'test.yaml:10:15 HTTPRoute web/shop spec.rules[0].backendRefs[0].weight: expected an integer from 0 to 1000000, got 2000000',
  ]);
});

test('a missing required field is reported at its parent mapping', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata:
      name: edge
    spec:
      listeners:
      - name: http
        protocol: HTTP
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:6:3 Gateway default/edge spec.gatewayClassName: required',
    'test.yaml:7:5 Gateway default/edge spec.listeners[0].port: required',
  ]);
});

test('hostnames follow RFC 1123, with a wildcard only as the whole first label and never an IP', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      hostnames:
      - 10.0.0.1
      - Shop.example.com
      - "shop.*.com"
      - shop_1.example.com
      - "*.example.com"
      rules:
      - filters:
        - type: RequestRedirect
          requestRedirect: {hostname: "*.example.com"}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:6:5 HTTPRoute default/shop spec.hostnames[0]: invalid hostname "10.0.0.1": IP addresses are not allowed',
    'test.yaml:7:5 HTTPRoute default/shop spec.hostnames[1]: invalid hostname "Shop.example.com": must be lowercase',
    'test.yaml:8:5 HTTPRoute default/shop spec.hostnames[2]: invalid hostname "shop.*.com": a wildcard must be the whole first label, as in "*.example.com"',
    "test.yaml:9:5 HTTPRoute default/shop spec.hostnames[3]: invalid hostname \"shop_1.example.com\": expected lowercase letters, digits, '-' and '.', each label starting and ending with a letter or digit (RFC 1123)",
    'test.yaml:14:35 HTTPRoute default/shop spec.rules[0].filters[0].requestRedirect.hostname: invalid hostname "*.example.com": wildcards are not allowed',
  ]);
});

test('paths, header names and regular expressions are checked', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      rules:
      - matches:
        - path: {type: PathPrefix, value: api}
        - path: {value: /a//b}
        - path: {type: RegularExpression, value: "/items/(["}
          headers:
          - {name: "X Forwarded", value: a}
          - {name: X-Id, type: RegularExpression, value: "*x"}
          queryParams:
          - {name: page, value: "1"}
          - {name: page, value: "2"}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:7:39 HTTPRoute default/shop spec.rules[0].matches[0].path.value: invalid path "api": must start with "/"',
    'test.yaml:8:21 HTTPRoute default/shop spec.rules[0].matches[1].path.value: invalid path "/a//b": must not contain "//"',
    'test.yaml:9:46 HTTPRoute default/shop spec.rules[0].matches[2].path.value: invalid regular expression "/items/([": unterminated character class',
    "test.yaml:11:16 HTTPRoute default/shop spec.rules[0].matches[2].headers[0].name: invalid header name \"X Forwarded\": expected an RFC 7230 token (letters, digits and !#$%&'*+-.^_`|~)",
    'test.yaml:12:54 HTTPRoute default/shop spec.rules[0].matches[2].headers[1].value: invalid regular expression "*x": nothing to repeat',
    'test.yaml:15:16 HTTPRoute default/shop spec.rules[0].matches[2].queryParams[1].name: query parameter "page" is already matched by queryParams[0]',
  ]);
});

test('lists longer than upstream allows are rejected', () => {
  const hostnames = Array.from({ length: 17 }, (_, i) => `h${i}.example.com`).join(', ');
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      hostnames: [${hostnames}]
  `;
  assert.deepEqual(errorsOf(text), ['test.yaml:5:3 HTTPRoute default/shop spec.hostnames: expected at most 16 items, got 17']);
});

test('every upstream list limit is enforced', () => {
  const many = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));
  const backend = { name: 'shop', port: 80 };
  const route = (spec: object) => ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'shop' }, spec });
  const cases: [object, string][] = [
    [route({ rules: many(17, () => ({ backendRefs: [backend] })) }), 'spec.rules: expected at most 16 items, got 17'],
    [route({ rules: [{ matches: many(65, () => ({})) }] }), 'spec.rules[0].matches: expected at most 64 items, got 65'],
    [route({ rules: many(3, () => ({ matches: many(64, () => ({})) })) }), 'spec.rules: expected at most 128 matches across all rules, got 192'],
    [route({ parentRefs: many(33, (i) => ({ name: `gw${i}` })) }), 'spec.parentRefs: expected at most 32 items, got 33'],
    [route({ rules: [{ filters: many(17, () => ({ type: 'RequestMirror', requestMirror: { backendRef: backend } })) }] }), 'spec.rules[0].filters: expected at most 16 items, got 17'],
    [route({ rules: [{ backendRefs: many(17, () => backend) }] }), 'spec.rules[0].backendRefs: expected at most 16 items, got 17'],
    [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: 'edge' },
        spec: { gatewayClassName: 'windrose', listeners: many(65, (i) => ({ name: `l${i}`, port: 1000 + i, protocol: 'HTTP' })) },
      },
      'spec.listeners: expected at most 64 items, got 65',
    ],
  ];
  for (const [doc, expected] of cases) {
    const { errors } = parseConfigText(JSON.stringify(doc), 'test.json');
    assert.deepEqual(errors.map((e) => `${e.field}: ${e.message}`), [expected]);
  }
});

test('a filter type comes with exactly its own field', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      rules:
      - filters:
        - type: RequestRedirect
        - type: RequestHeaderModifier
          requestHeaderModifier: {remove: [x-a]}
          urlRewrite: {hostname: a.example.com}
        - type: Redirect
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:7:7 HTTPRoute default/shop spec.rules[0].filters[0].requestRedirect: required for filter type RequestRedirect',
    'test.yaml:10:7 HTTPRoute default/shop spec.rules[0].filters[1].urlRewrite: not allowed with filter type RequestHeaderModifier (which uses "requestHeaderModifier")',
    'test.yaml:11:13 HTTPRoute default/shop spec.rules[0].filters[2].type: expected one of "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "RequestMirror", "ExtensionRef", "CORS", got "Redirect"',
  ]);
});

test('filter combinations follow the upstream rules', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      rules:
      - filters:
        - {type: RequestRedirect, requestRedirect: {scheme: https}}
        - {type: URLRewrite, urlRewrite: {hostname: a.example.com}}
        - {type: URLRewrite, urlRewrite: {hostname: b.example.com}}
        backendRefs: [{name: shop, port: 80}]
      - filters:
        - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-A, value: "1"}], remove: [x-a]}}
        backendRefs: [{name: shop}]
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:7:14 HTTPRoute default/shop spec.rules[0].filters[0].type: a RequestRedirect filter cannot be used together with backendRefs',
    'test.yaml:8:14 HTTPRoute default/shop spec.rules[0].filters[1].type: URLRewrite filter cannot be combined with the RequestRedirect filter at filters[0]',
    'test.yaml:9:14 HTTPRoute default/shop spec.rules[0].filters[2].type: URLRewrite filter cannot be repeated (already at filters[1])',
    'test.yaml:9:14 HTTPRoute default/shop spec.rules[0].filters[2].type: URLRewrite filter cannot be combined with the RequestRedirect filter at filters[0]',
    'test.yaml:12:102 HTTPRoute default/shop spec.rules[1].filters[0].requestHeaderModifier.remove[0]: header "x-a" is already modified by set[0]; only one action per header is allowed',
    'test.yaml:13:19 HTTPRoute default/shop spec.rules[1].backendRefs[0].port: required when referencing a Service',
  ]);
});

test('header values are printable ASCII, checked in linear time', () => {
  // A long value with a bad last character is where a backtracking pattern would hang.
  const add = [{ name: 'X-A', value: `${'a'.repeat(5000)}\u0001` }, { name: 'X-B', value: 'a  b' }];
  const route = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'shop' },
    spec: { rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add } }] }] },
  };
  const { errors } = parseConfigText(JSON.stringify(route), 'test.json');
  assert.deepEqual(
    errors.map((e) => e.field),
    ['spec.rules[0].filters[0].requestHeaderModifier.add[0].value', 'spec.rules[0].filters[0].requestHeaderModifier.add[1].value'],
  );
  assert.match(errors[1].message, /^invalid header value "a {2}b": expected printable ASCII characters, with single spaces or tabs between words$/);
});

test('ReplacePrefixMatch requires a single PathPrefix match', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      rules:
      - matches: [{path: {type: Exact, value: /a}}]
        filters:
        - type: URLRewrite
          urlRewrite:
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}
      - matches: [{path: {value: /a}}, {path: {value: /c}}]
        filters:
        - type: RequestRedirect
          requestRedirect:
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}
      - filters:
        - type: RequestRedirect
          requestRedirect:
            path: {type: ReplacePrefixMatch, replaceFullPath: /b}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:10:22 HTTPRoute default/shop spec.rules[0].filters[0].urlRewrite.path.type: ReplacePrefixMatch requires a PathPrefix match, but matches[0] is of type Exact',
    'test.yaml:15:22 HTTPRoute default/shop spec.rules[1].filters[0].requestRedirect.path.type: ReplacePrefixMatch requires the rule to have exactly one match, got 2',
    'test.yaml:19:15 HTTPRoute default/shop spec.rules[2].filters[0].requestRedirect.path.replacePrefixMatch: required when type is ReplacePrefixMatch',
    'test.yaml:19:42 HTTPRoute default/shop spec.rules[2].filters[0].requestRedirect.path.replaceFullPath: only allowed when type is ReplaceFullPath, but type is ReplacePrefixMatch',
  ]);
});

test('redirect status codes and schemes are limited to the upstream set', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      rules:
      - filters:
        - type: RequestRedirect
          requestRedirect: {statusCode: 304, scheme: HTTPS}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:8:37 HTTPRoute default/shop spec.rules[0].filters[0].requestRedirect.statusCode: expected one of 301, 302, 303, 307, 308, got 304',
    'test.yaml:8:50 HTTPRoute default/shop spec.rules[0].filters[0].requestRedirect.scheme: expected one of "http", "https", got "HTTPS" (did you mean "https"?)',
  ]);
});

test('durations use the Gateway API format and backendRequest fits in request', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      rules:
      - timeouts: {request: 10, backendRequest: 1.5s}
      - timeouts: {request: 1s, backendRequest: 2s}
      - timeouts: {request: 0s, backendRequest: 1h}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:6:25 HTTPRoute default/shop spec.rules[0].timeouts.request: expected a string, got 10',
    'test.yaml:6:45 HTTPRoute default/shop spec.rules[0].timeouts.backendRequest: invalid duration "1.5s": expected up to four number-unit pairs with units h, m, s or ms, such as "10s", "1m30s" or "500ms"',
    'test.yaml:7:45 HTTPRoute default/shop spec.rules[1].timeouts.backendRequest: must not be longer than the request timeout (1s), got 2s',
  ]);
});

test('listeners: TLS by protocol, certificates for HTTPS, unique names and port/protocol/hostname', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: edge}
    spec:
      gatewayClassName: windrose
      listeners:
      - {name: http, port: 80, protocol: HTTP, tls: {mode: Terminate}}
      - {name: https, port: 443, protocol: HTTPS}
      - {name: web, port: 8443, protocol: HTTPS, tls: {mode: Terminate}}
      - {name: pass, port: 9443, protocol: HTTPS, tls: {mode: Passthrough}}
      - {name: http, port: 8080, protocol: HTTP}
      - {name: tcp, port: 80, protocol: HTTP}
      - {name: raw, port: 9000, protocol: TCP, hostname: db.example.com}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:7:44 Gateway default/edge spec.listeners[0].tls: not allowed for protocol HTTP',
    'test.yaml:8:5 Gateway default/edge spec.listeners[1].tls: required for protocol HTTPS',
    'test.yaml:9:51 Gateway default/edge spec.listeners[2].tls.certificateRefs: at least one certificate reference is required when tls mode is Terminate',
    'test.yaml:10:59 Gateway default/edge spec.listeners[3].tls.mode: must be Terminate for protocol HTTPS (use protocol TLS for passthrough)',
    'test.yaml:11:12 Gateway default/edge spec.listeners[4].name: duplicate listener name "http" (also used by listeners[0])',
    'test.yaml:12:5 Gateway default/edge spec.listeners[5]: conflicts with listeners[0]: both use port 80, protocol HTTP and no hostname',
    'test.yaml:13:44 Gateway default/edge spec.listeners[6].hostname: not allowed for protocol TCP',
  ]);
});

test('apiVersion and kind: wrong versions and near-miss kinds are errors, foreign kinds are skipped', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: HTTPRoute
    metadata: {name: shop}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoutes
    metadata: {name: shop}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: shop}
    ---
    apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: TCPRoute
    metadata: {name: db}
    ---
    apiVersion: v1
    kind: Gateway
    metadata: {name: edge}
    ---
    apiVersion: networking.istio.io/v1
    kind: Gateway
    metadata: {name: edge}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:1:13 HTTPRoute default/shop apiVersion: unsupported apiVersion "gateway.networking.k8s.io/v1alpha2" for kind HTTPRoute; expected "gateway.networking.k8s.io/v1" or "gateway.networking.k8s.io/v1beta1"',
    'test.yaml:6:7 HTTPRoutes default/shop kind: unknown kind "HTTPRoutes" in gateway.networking.k8s.io/v1 (did you mean "HTTPRoute"?)',
    'test.yaml:17:13 Gateway default/edge apiVersion: unsupported apiVersion "v1" for kind Gateway; expected "gateway.networking.k8s.io/v1" or "gateway.networking.k8s.io/v1beta1"',
  ]);
  assert.deepEqual(warningsOf(text), [
    'test.yaml:9:1: kind Deployment (apps/v1) is not used by windrose; skipped',
    'test.yaml:13:1: kind TCPRoute (gateway.networking.k8s.io/v1alpha2) is not used by windrose; skipped',
    'test.yaml:21:1: kind Gateway (networking.istio.io/v1) is not used by windrose; skipped',
  ]);
});

test('documents without apiVersion, kind or name, or that are not mappings, are errors', () => {
  const text = yaml`
    kind: Service
    metadata: {name: shop}
    ---
    apiVersion: v1
    metadata: {name: shop}
    ---
    apiVersion: v1
    kind: Service
    metadata: {namespace: web}
    spec: {}
    ---
    - not an object
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:1:1 Service default/shop apiVersion: required',
    'test.yaml:4:1 kind: required',
    'test.yaml:9:11 Service metadata.name: required',
    'test.yaml:12:1: expected a Kubernetes object (a mapping with apiVersion, kind and metadata), got a list',
  ]);
});

test('YAML syntax errors are located and do not hide the other documents', () => {
  const text = yaml`
    apiVersion: v1
    kind: Namespace
    metadata: {name: shop
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: web}
  `;
  const result = parseConfigText(text, 'test.yaml');
  assert.deepEqual(result.errors.map(formatConfigError), [
    'test.yaml:4:1: invalid YAML: flow map in block collection must be sufficiently indented and end with a }',
  ]);
  assert.deepEqual(result.resources.map((r) => r.metadata.name), ['web']);
});

test('duplicates are errors at the second definition, across files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'windrose-load-'));
  try {
    const service = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: shop\nspec:\n  ports: [{port: 80}]\n';
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'a.yaml'), service);
    await writeFile(join(dir, 'b', 'b.yaml'), `# same again\n${service}`);
    const result = await loadConfig(dir);
    assert.deepEqual(result.errors.map(formatConfigError), [
      `${join(dir, 'b', 'b.yaml')}:5:9 Service default/shop metadata.name: duplicate resource, first defined at ${join(dir, 'a.yaml')}:1:1`,
    ]);
    assert.equal(result.resources.length, 1);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('core kinds: Secret, Service and EndpointSlice rules', () => {
  const text = yaml`
    apiVersion: v1
    kind: Secret
    metadata: {name: cert}
    type: kubernetes.io/tls
    data:
      tls.crt: "not base64!"
    ---
    apiVersion: v1
    kind: Secret
    metadata: {name: cert2}
    type: kubernetes.io/tls
    stringData: {tls.crt: x}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: shop}
    spec:
      ports:
      - {port: 80, targetPort: "8080"}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: shop2}
    spec:
      ports:
      - {port: 80}
      - {port: 80, name: http}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: shop-1}
    addressType: IPv4
    endpoints:
    - addresses: [10.0.0.300]
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:6:12 Secret default/cert data["tls.crt"]: invalid base64 value',
    'test.yaml:8:1 Secret default/cert2 data: missing key "tls.key", required for type kubernetes.io/tls',
    'test.yaml:19:28 Service default/shop spec.ports[0].targetPort: invalid port name "8080": must contain at least one letter (write a port number without quotes)',
    'test.yaml:26:5 Service default/shop2 spec.ports[0].name: required when the Service has more than one port',
    'test.yaml:27:12 Service default/shop2 spec.ports[1].port: duplicate port 80/TCP (also used by ports[0])',
    'test.yaml:34:15 EndpointSlice default/shop-1 endpoints[0].addresses[0]: invalid IPv4 address "10.0.0.300"',
  ]);
});

test('windrose kinds: Backend endpoints and BackendTrafficPolicy', () => {
  const text = yaml`
    apiVersion: windrose.dev/v1alpha1
    kind: Backend
    metadata: {name: static}
    spec:
      endpoints:
      - {ip: 10.0.0.1, hostname: a.example.com, port: 80}
      - {port: 80}
    ---
    apiVersion: windrose.dev/v1alpha1
    kind: BackendTrafficPolicy
    metadata: {name: slow}
    spec:
      targetRefs: []
      timeout: {http: {requestTimeout: 1 minute}}
    ---
    apiVersion: windrose.dev/v1alpha1
    kind: BackendPolicy
    metadata: {name: slow}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:6:20 Backend default/static spec.endpoints[0].hostname: cannot be combined with ip; set only one of them',
    'test.yaml:7:5 Backend default/static spec.endpoints[1]: one of ip or hostname is required',
    'test.yaml:13:3 BackendTrafficPolicy default/slow spec.targetRefs: must not be empty',
    'test.yaml:14:36 BackendTrafficPolicy default/slow spec.timeout.http.requestTimeout: invalid duration "1 minute": expected up to four number-unit pairs with units h, m, s or ms, such as "10s", "1m30s" or "500ms"',
    'test.yaml:17:7 BackendPolicy default/slow kind: unknown kind "BackendPolicy" in windrose.dev/v1alpha1; expected "Backend" or "BackendTrafficPolicy" or "AuthorizationPolicy" or "SecurityPolicy"',
  ]);
});

/** A BackendTrafficPolicy on Gateway gw with `body` (indented under spec) as the rest of its spec; line 6 is body's first. */
const trafficPolicy = (name: string, body: string) => `apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: ${name}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
${body.replace(/^\n/, '').replace(/^/gm, '  ').trimEnd()}
`;

test('BackendTrafficPolicy resilience blocks load with their values', () => {
  const text = trafficPolicy('full', `
loadBalancer:
  type: ConsistentHash
  consistentHash: {type: Header, header: {name: x-user}}
  panicThreshold: 25.5
healthCheck:
  active: {type: HTTP, http: {path: /healthz, method: HEAD, expectedStatuses: [200, 204]}, interval: 5s, timeout: 500ms, healthyThreshold: 2, unhealthyThreshold: 4}
  passive: {interval: 10s, consecutive5XxErrors: 0, consecutiveGatewayErrors: 3, baseEjectionTime: 1m, maxEjectionTime: 1m, maxEjectionPercent: 100, successRate: {minimumHosts: 3}}
circuitBreaker: {maxConnections: 10, maxPendingRequests: 20, maxParallelRequests: 30, maxParallelRetries: 0}
retry:
  numRetries: 0
  retryOn: {triggers: [retriable-status-codes], httpStatusCodes: [429, 503], nonIdempotent: true}
  perRetry: {timeout: 0s, backOff: {baseInterval: 10ms, maxInterval: 10ms}}
  maxBodySize: 1048576
  budget: {percent: 0, minRetriesPerSecond: 0, interval: 1m, disabled: true}
timeout: {http: {streamIdleTimeout: 0s}}
`) + yaml`
    ---
    apiVersion: windrose.dev/v1alpha1
    kind: Backend
    metadata: {name: weighted}
    spec:
      endpoints: [{ip: 10.0.0.1, port: 80, weight: 1000000}, {ip: 10.0.0.2, port: 80}]
  `;
  const result = parseConfigText(text, 'test.yaml');
  assert.deepEqual(result.errors.map(formatConfigError), []);
  const { spec } = find(result.resources, 'BackendTrafficPolicy', 'full');
  assert.deepEqual(spec.loadBalancer?.consistentHash, { type: 'Header', header: { name: 'x-user' } });
  assert.equal(spec.retry?.maxBodySize, 1048576);
  assert.deepEqual(spec.healthCheck?.passive?.successRate, { minimumHosts: 3 });
  assert.deepEqual(find(result.resources, 'Backend', 'weighted').spec.endpoints.map((e) => e.weight), [1000000, undefined]);
});

test('BackendTrafficPolicy loadBalancer: known types, and consistentHash exactly with ConsistentHash', () => {
  const text = [
    trafficPolicy('fastest', 'loadBalancer: {type: Fastest, panicThreshold: 150}'),
    trafficPolicy('no-hash', 'loadBalancer: {type: ConsistentHash}'),
    trafficPolicy('stray-hash', 'loadBalancer:\n  consistentHash: {type: SourceIP}'),
    trafficPolicy('wrong-source', 'loadBalancer:\n  type: ConsistentHash\n  consistentHash: {type: Header, cookie: {name: session}}'),
  ].join('---\n');
  assert.deepEqual(errorsOf(text), [
    'test.yaml:6:24 BackendTrafficPolicy default/fastest spec.loadBalancer.type: expected one of "RoundRobin", "LeastRequest", "Random", "ConsistentHash", got "Fastest"',
    'test.yaml:6:49 BackendTrafficPolicy default/fastest spec.loadBalancer.panicThreshold: expected a number from 0 to 100, got 150',
    'test.yaml:13:17 BackendTrafficPolicy default/no-hash spec.loadBalancer.consistentHash: required when type is ConsistentHash',
    'test.yaml:21:5 BackendTrafficPolicy default/stray-hash spec.loadBalancer.consistentHash: only allowed when type is ConsistentHash, but type is RoundRobin (the default)',
    'test.yaml:30:21 BackendTrafficPolicy default/wrong-source spec.loadBalancer.consistentHash.header: required when type is Header',
    'test.yaml:30:36 BackendTrafficPolicy default/wrong-source spec.loadBalancer.consistentHash.cookie: only allowed when type is Cookie, but type is Header',
  ]);
});

test('BackendTrafficPolicy healthCheck: HTTP checks, statuses 100-599, positive intervals, ejection times in order', () => {
  const text = [
    trafficPolicy('active', `
healthCheck:
  active:
    type: http
    http: {path: healthz, method: GOT, expectedStatuses: [99]}
    interval: 0s
    unhealthyThreshold: 0
`),
    trafficPolicy('statuses', 'healthCheck: {active: {type: HTTP, http: {path: /, expectedStatuses: [200, 204, 200]}}}'),
    trafficPolicy('ejection', 'healthCheck:\n  passive: {maxEjectionTime: 10s}'),
    trafficPolicy('ejection-percent', 'healthCheck:\n  passive: {maxEjectionPercent: 101}'),
    trafficPolicy('ejection-order', 'healthCheck:\n  passive: {baseEjectionTime: 1m, maxEjectionTime: 30s}'),
  ].join('---\n');
  assert.deepEqual(errorsOf(text), [
    'test.yaml:8:13 BackendTrafficPolicy default/active spec.healthCheck.active.type: expected one of "HTTP", got "http" (did you mean "HTTP"?)',
    'test.yaml:9:20 BackendTrafficPolicy default/active spec.healthCheck.active.http.path: invalid path "healthz": must start with "/"',
    'test.yaml:9:37 BackendTrafficPolicy default/active spec.healthCheck.active.http.method: expected one of "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", got "GOT" (did you mean "GET"?)',
    'test.yaml:9:61 BackendTrafficPolicy default/active spec.healthCheck.active.http.expectedStatuses[0]: expected an integer from 100 to 599, got 99',
    'test.yaml:10:17 BackendTrafficPolicy default/active spec.healthCheck.active.interval: must be longer than 0, got "0s"',
    'test.yaml:11:27 BackendTrafficPolicy default/active spec.healthCheck.active.unhealthyThreshold: expected an integer from 1 to 2147483647, got 0',
    'test.yaml:18:83 BackendTrafficPolicy default/statuses spec.healthCheck.active.http.expectedStatuses[2]: duplicate status code 200 (also at index 0)',
    'test.yaml:26:32 BackendTrafficPolicy default/ejection spec.healthCheck.passive.maxEjectionTime: must not be shorter than baseEjectionTime (30s, the default), got 10s',
    'test.yaml:34:35 BackendTrafficPolicy default/ejection-percent spec.healthCheck.passive.maxEjectionPercent: expected an integer from 0 to 100, got 101',
    'test.yaml:42:54 BackendTrafficPolicy default/ejection-order spec.healthCheck.passive.maxEjectionTime: must not be shorter than baseEjectionTime (1m), got 30s',
  ]);
});

test('BackendTrafficPolicy retry, circuitBreaker and streamIdleTimeout: ranges, triggers, codes, backoff order, sizes', () => {
  const text = [
    trafficPolicy('ranges', `
circuitBreaker: {maxConnections: 0, maxParallelRetries: -1}
timeout: {http: {streamIdleTimeout: 5 minutes}}
retry:
  numRetries: -1
  retryOn: {triggers: [reset, 5xx], httpStatusCodes: [200]}
  maxBodySize: 64KB
  budget: {percent: 120, interval: 0s, disabled: yes please}
`),
    trafficPolicy('codes', `
retry:
  retryOn: {triggers: [reset, reset], httpStatusCodes: [503, 503]}
  perRetry: {backOff: {maxInterval: 10ms}}
`),
    trafficPolicy('order', 'retry:\n  perRetry: {backOff: {baseInterval: 100ms, maxInterval: 50ms}}'),
  ].join('---\n');
  assert.deepEqual(errorsOf(text), [
    'test.yaml:6:36 BackendTrafficPolicy default/ranges spec.circuitBreaker.maxConnections: expected an integer from 1 to 2147483647, got 0',
    'test.yaml:6:59 BackendTrafficPolicy default/ranges spec.circuitBreaker.maxParallelRetries: expected an integer from 0 to 2147483647, got -1',
    'test.yaml:7:39 BackendTrafficPolicy default/ranges spec.timeout.http.streamIdleTimeout: invalid duration "5 minutes": expected up to four number-unit pairs with units h, m, s or ms, such as "10s", "1m30s" or "500ms"',
    'test.yaml:9:17 BackendTrafficPolicy default/ranges spec.retry.numRetries: expected an integer from 0 to 2147483647, got -1',
    'test.yaml:10:33 BackendTrafficPolicy default/ranges spec.retry.retryOn.triggers[1]: expected one of "connect-failure", "reset", "retriable-status-codes", got "5xx"',
    'test.yaml:10:57 BackendTrafficPolicy default/ranges spec.retry.retryOn.httpStatusCodes[0]: expected an integer from 400 to 599, got 200',
    'test.yaml:11:18 BackendTrafficPolicy default/ranges spec.retry.maxBodySize: expected a number of bytes or a quantity such as "64Ki" or "1Mi" (suffixes k, M, G, Ki, Mi, Gi), got "64KB"',
    'test.yaml:12:23 BackendTrafficPolicy default/ranges spec.retry.budget.percent: expected a number from 0 to 100, got 120',
    'test.yaml:12:38 BackendTrafficPolicy default/ranges spec.retry.budget.interval: must be longer than 0, got "0s"',
    'test.yaml:12:52 BackendTrafficPolicy default/ranges spec.retry.budget.disabled: expected true or false, got "yes please"',
    'test.yaml:20:33 BackendTrafficPolicy default/codes spec.retry.retryOn.triggers[1]: duplicate trigger "reset" (also at index 0)',
    'test.yaml:20:41 BackendTrafficPolicy default/codes spec.retry.retryOn.httpStatusCodes: have no effect unless triggers include "retriable-status-codes"; add it there',
    'test.yaml:20:64 BackendTrafficPolicy default/codes spec.retry.retryOn.httpStatusCodes[1]: duplicate status code 503 (also at index 0)',
    'test.yaml:21:39 BackendTrafficPolicy default/codes spec.retry.perRetry.backOff.maxInterval: must not be shorter than baseInterval (25ms, the default), got 10ms',
    'test.yaml:29:60 BackendTrafficPolicy default/order spec.retry.perRetry.backOff.maxInterval: must not be shorter than baseInterval (100ms), got 50ms',
  ]);
});

test('List items are checked and located one by one', () => {
  const text = yaml`
    apiVersion: v1
    kind: List
    itemz: []
    items:
    - apiVersion: v1
      kind: Namespace
      metadata: {name: ok}
    - apiVersion: v1
      kind: Namespace
      metadata: {name: web}
      spec: {finalizer: [kubernetes]}
  `;
  const result = parseConfigText(text, 'test.yaml');
  assert.deepEqual(result.errors.map(formatConfigError), [
    'test.yaml:3:1 itemz: unknown field "itemz" (did you mean "items"?)',
    'test.yaml:11:10 Namespace web spec.finalizer: unknown field "finalizer" (did you mean "finalizers"?)',
  ]);
  assert.deepEqual(result.resources.map((r) => r.metadata.name), ['ok']);
});

test('parentRefs to the same parent must be distinct', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      parentRefs:
      - {name: edge, sectionName: http}
      - {name: edge}
      - {name: edge, sectionName: http, namespace: default}
      - {name: edge, sectionName: http}
  `;
  assert.deepEqual(errorsOf(text), [
    'test.yaml:7:5 HTTPRoute default/shop spec.parentRefs[1]: references to the same parent must all set the same fields among sectionName and port (see parentRefs[0])',
    'test.yaml:9:5 HTTPRoute default/shop spec.parentRefs[3]: duplicate reference to the same parent as parentRefs[0]; set a different sectionName or port',
  ]);
});

test('cluster-scoped kinds ignore metadata.namespace with a warning', () => {
  const text = yaml`
    apiVersion: gateway.networking.k8s.io/v1
    kind: GatewayClass
    metadata: {name: windrose, namespace: infra}
    spec: {controllerName: windrose.dev/gateway-controller}
  `;
  const result = parseConfigText(text, 'test.yaml');
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.warnings.map(formatConfigError), ['test.yaml:3:39 GatewayClass windrose metadata.namespace: ignored: GatewayClass is cluster-scoped']);
  assert.equal(result.resources[0].metadata.namespace, undefined);
});

test('unreadable paths are reported as errors', async () => {
  const missing = join(tmpdir(), 'windrose-does-not-exist.yaml');
  const result = await loadConfig(missing);
  assert.deepEqual(result.errors.map(formatConfigError), [`${missing}:1:1: cannot read: no such file or directory`]);
});

test('field paths quote keys that are not identifiers', () => {
  assert.equal(formatPath(['spec', 'rules', 0, 'backendRefs', 1, 'port']), 'spec.rules[0].backendRefs[1].port');
  assert.equal(formatPath(['metadata', 'labels', 'app.kubernetes.io/name']), 'metadata.labels["app.kubernetes.io/name"]');
});

test('AuthorizationPolicy loads in Istio\'s shape, ports as numbers', () => {
  const text = yaml`
    apiVersion: windrose.dev/v1alpha1
    kind: AuthorizationPolicy
    metadata: {name: readers, namespace: shop}
    spec:
      rules:
      - to: [{operation: {ports: ["8080", 9090]}}]
    ---
    apiVersion: windrose.dev/v1alpha1
    kind: AuthorizationPolicy
    metadata: {name: allow-nothing}
    spec:
  `;
  const result = parseConfigText(text, 'test.yaml');
  assert.deepEqual(result.errors.map(formatConfigError), []);
  assert.deepEqual(find(result.resources, 'AuthorizationPolicy', 'readers').spec, { rules: [{ to: [{ operation: { ports: [8080, 9090] } }] }] });
  // As in Kubernetes, an empty spec is an ALLOW policy without rules.
  assert.deepEqual(find(result.resources, 'AuthorizationPolicy', 'allow-nothing').spec, {});
});

test('AuthorizationPolicy: wildcards, paths, methods, ports, empty sources, and the Istio fields windrose lacks', () => {
  const text = yaml`
    apiVersion: windrose.dev/v1alpha1
    kind: AuthorizationPolicy
    metadata: {name: p}
    spec:
      selector: {matchLabels: {app: "*"}}
      action: CUSTOM
      provider: {name: opa}
      rules:
      - from:
        - source: {principals: ["cluster.local/*/sa/web"], namespaces: []}
        - source: {}
        - source: {requestPrincipals: ["*"]}
        to:
        - operation: {paths: [api, "/a*b*"], methods: [get], ports: [0, "http"]}
        - operation: {hosts: [a.example.com]}
        when: [{key: source.ip, values: [10.0.0.1]}]
      - from: []
  `;
  assert.deepEqual(errorsOf(text), [
    "test.yaml:5:33 AuthorizationPolicy default/p spec.selector.matchLabels.app: invalid label value \"*\": expected letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    'test.yaml:6:11 AuthorizationPolicy default/p spec.action: expected one of "ALLOW", "DENY", "AUDIT", got "CUSTOM"',
    'test.yaml:7:3 AuthorizationPolicy default/p spec.provider: provider (the CUSTOM action) is not supported by windrose',
    'test.yaml:10:29 AuthorizationPolicy default/p spec.rules[0].from[0].source.principals[0]: invalid value "cluster.local/*/sa/web": "*" may only stand alone, at the start ("*suffix") or at the end ("prefix*")',
    'test.yaml:10:56 AuthorizationPolicy default/p spec.rules[0].from[0].source.namespaces: must not be empty',
    'test.yaml:11:7 AuthorizationPolicy default/p spec.rules[0].from[1].source: must set at least one of principals, notPrincipals, namespaces, notNamespaces',
    'test.yaml:12:16 AuthorizationPolicy default/p spec.rules[0].from[2].source.requestPrincipals: requestPrincipals (JWT identities) is not supported by windrose',
    'test.yaml:14:27 AuthorizationPolicy default/p spec.rules[0].to[0].operation.paths[0]: invalid path "api": must start with "/" (or "*" for a suffix match)',
    'test.yaml:14:32 AuthorizationPolicy default/p spec.rules[0].to[0].operation.paths[1]: invalid value "/a*b*": "*" may only stand alone, at the start ("*suffix") or at the end ("prefix*")',
    'test.yaml:14:52 AuthorizationPolicy default/p spec.rules[0].to[0].operation.methods[0]: expected one of "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", got "get" (did you mean "GET"?)',
    'test.yaml:14:66 AuthorizationPolicy default/p spec.rules[0].to[0].operation.ports[0]: expected a port from 1 to 65535, got 0',
    'test.yaml:14:69 AuthorizationPolicy default/p spec.rules[0].to[0].operation.ports[1]: expected a port from 1 to 65535, got "http"',
    'test.yaml:15:19 AuthorizationPolicy default/p spec.rules[0].to[1].operation.hosts: hosts is not supported by windrose',
    'test.yaml:16:5 AuthorizationPolicy default/p spec.rules[0].when: when (conditions) is not supported by windrose',
    'test.yaml:17:5 AuthorizationPolicy default/p spec.rules[1].from: must not be empty',
  ]);
});

/** Two documents cut from the control plane's files, as a mesh proxy receives them. */
const DOCUMENTS = [
  {
    file: 'mesh/routes.yaml',
    line: 12,
    text: yaml`
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: reviews}
      spec:
        rules:
        - backendRefs: [{name: reviews, port: 90800}]
    `,
  },
  { file: 'mesh/services.yaml', line: 1, text: 'apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\nspec: {ports: [{port: 9080}]}\n' },
  { file: 'mesh/routes.yaml', line: 30, text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n' },
  { file: 'registry', line: 7, text: '# registered\napiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\nspec: {}\n' },
  { file: 'registry', line: 20, text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop\n' },
];

test('documents are validated as their files would be, located at their line in the file', () => {
  const result = parseDocuments(DOCUMENTS);
  assert.deepEqual(result.errors.map(formatConfigError), [
    'mesh/routes.yaml:17:41 HTTPRoute default/reviews spec.rules[0].backendRefs[0].port: expected an integer from 1 to 65535, got 90800',
    'registry:11:9 Service default/reviews metadata.name: duplicate resource, first defined at mesh/services.yaml:1:1',
    'registry:23:1: invalid YAML: flow map in block collection must be sufficiently indented and end with a }',
  ]);
  assert.deepEqual(result.warnings.map(formatConfigError), ['mesh/routes.yaml:30:1: kind Pod (v1) is not used by windrose; skipped']);
  assert.deepEqual(result.files, ['mesh/routes.yaml', 'mesh/services.yaml', 'registry']);
  const [service] = result.resources;
  assert.deepEqual(service.source, { file: 'mesh/services.yaml', line: 1, column: 1 });
  assert.deepEqual(service.locate(['spec', 'ports', 0, 'port']), { file: 'mesh/services.yaml', line: 4, column: 23 });
});

test('the child process validates documents as parseDocuments does, positions included', async () => {
  // parseDocumentsIsolated forks load-child.js, which exists once built; here the TypeScript source runs under tsx.
  const child = fork(new URL('./load-child.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced' });
  try {
    child.send(DOCUMENTS);
    const [posted] = (await once(child, 'message')) as [PlainLoaded];
    const expected = parseDocuments(DOCUMENTS);
    assert.deepEqual(posted, toPlain(expected));
    assert.deepEqual(revive(posted).resources.map((r) => r.locate(['spec'])), expected.resources.map((r) => r.source));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0, 'the child exits once it has answered');
  } finally {
    child.kill();
  }
});
