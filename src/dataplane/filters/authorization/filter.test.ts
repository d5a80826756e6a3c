import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthorizationOperation, AuthorizationPolicySpec, AuthorizationSource } from '../../../config/resources.js';
import { dataPlaneRegistry } from '../../../telemetry/metrics.js';
import type { Filter, FilterOutcome, ProxyRequest } from '../filter.js';
import { auditChannel, logAudits, type AuditEvent } from './audit.js';
import { peerNamespace } from './compile.js';
import { authorizationFilter } from './filter.js';

const PORT = 9080;
const WEB = 'spiffe://cluster.local/ns/default/sa/web';
const ADMIN = 'spiffe://cluster.local/ns/ops/sa/admin';

interface Call {
  readonly peer?: string;
  readonly method?: string;
  readonly path?: string;
}

const request = (c: Call): ProxyRequest =>
  ({ peer: c.peer, method: c.method ?? 'GET', path: c.path ?? '/', requestId: 'req-1' }) as ProxyRequest;

/** The filter decides synchronously: it never costs the chain a promise. */
function run(filter: Filter, call: Call): FilterOutcome {
  const outcome = filter.onRequest!(request(call));
  assert.ok(!(outcome instanceof Promise));
  return outcome;
}

function decide(policies: readonly AuthorizationPolicySpec[], call: Call): 'allow' | 'deny' {
  const filter = authorizationFilter(policies.map((spec, i) => ({ name: `default/p${i}`, spec })), PORT);
  const outcome = run(filter, call);
  if (outcome === undefined) return 'allow';
  assert.deepEqual(outcome, { status: 403, errorCode: 'access_denied', message: 'RBAC: access denied' });
  return 'deny';
}

const allow = (rules?: AuthorizationPolicySpec['rules']): AuthorizationPolicySpec => ({ action: 'ALLOW', ...(rules ? { rules } : {}) });
const deny = (rules?: AuthorizationPolicySpec['rules']): AuthorizationPolicySpec => ({ action: 'DENY', ...(rules ? { rules } : {}) });
const from = (source: AuthorizationSource) => [{ from: [{ source }] }];
const to = (operation: AuthorizationOperation) => [{ to: [{ operation }] }];

const CASES: readonly [string, readonly AuthorizationPolicySpec[], Call, 'allow' | 'deny'][] = [
  ['no policy matches and none allows: allowed by default', [deny(from({ principals: [ADMIN] }))], { peer: WEB }, 'allow'],
  ['ALLOW without rules allows nothing', [allow()], { peer: WEB }, 'deny'],
  ['an action left out is ALLOW', [{}], { peer: WEB }, 'deny'],
  ['ALLOW with an empty rule allows everything, plaintext too', [allow([{}])], {}, 'allow'],
  ['DENY without rules denies nothing', [deny()], { peer: WEB }, 'allow'],
  ['DENY with an empty rule denies everything', [deny([{}])], { peer: WEB }, 'deny'],
  ['a principal as Istio writes it', [allow(from({ principals: ['cluster.local/ns/default/sa/web'] }))], { peer: WEB }, 'allow'],
  ['a principal as a full SPIFFE ID', [allow(from({ principals: [WEB] }))], { peer: WEB }, 'allow'],
  ['another principal', [allow(from({ principals: ['cluster.local/ns/default/sa/db'] }))], { peer: WEB }, 'deny'],
  ['a principal prefix', [allow(from({ principals: ['cluster.local/ns/default/*'] }))], { peer: WEB }, 'allow'],
  ['a principal prefix of a full ID', [allow(from({ principals: ['spiffe://cluster.local/ns/ops/*'] }))], { peer: WEB }, 'deny'],
  ['a principal suffix', [allow(from({ principals: ['*/sa/web'] }))], { peer: WEB }, 'allow'],
  ['"*" is any authenticated caller', [allow(from({ principals: ['*'] }))], { peer: ADMIN }, 'allow'],
  ['"*" does not match a plaintext caller', [allow(from({ principals: ['*'] }))], {}, 'deny'],
  ['notPrincipals "*" denies plaintext callers', [deny(from({ notPrincipals: ['*'] }))], {}, 'deny'],
  ['... and lets mTLS callers through', [deny(from({ notPrincipals: ['*'] }))], { peer: WEB }, 'allow'],
  ['a namespace', [allow(from({ namespaces: ['ops'] }))], { peer: ADMIN }, 'allow'],
  ['a namespace prefix', [allow(from({ namespaces: ['de*'] }))], { peer: WEB }, 'allow'],
  ['a plaintext caller is in no namespace', [allow(from({ namespaces: ['*'] }))], {}, 'deny'],
  ['notNamespaces', [deny(from({ notNamespaces: ['default'] }))], { peer: ADMIN }, 'deny'],
  ['a plaintext caller is outside every namespace', [deny(from({ notNamespaces: ['default'] }))], {}, 'deny'],
  ['the fields of a source all apply', [allow(from({ principals: ['*'], namespaces: ['default'] }))], { peer: ADMIN }, 'deny'],
  ['methods', [allow(to({ methods: ['GET', 'HEAD'] }))], { method: 'HEAD' }, 'allow'],
  ['notMethods', [allow(to({ notMethods: ['DELETE'] }))], { method: 'DELETE' }, 'deny'],
  ['an exact path', [allow(to({ paths: ['/health'] }))], { path: '/health/x' }, 'deny'],
  ['a path prefix', [allow(to({ paths: ['/api/*'] }))], { path: '/api/v1/items' }, 'allow'],
  ['a path suffix', [allow(to({ paths: ['*.json'] }))], { path: '/data/items.json' }, 'allow'],
  ['notPaths', [allow(to({ notPaths: ['/admin*'] }))], { path: '/admin/users' }, 'deny'],
  ['the workload port', [allow(to({ ports: [PORT] }))], {}, 'allow'],
  ['another port: the operation never matches here', [allow(to({ ports: [8080] }))], {}, 'deny'],
  ['notPorts naming the workload port', [deny(to({ notPorts: [PORT] }))], {}, 'allow'],
  ['the fields of an operation all apply', [allow(to({ methods: ['GET'], paths: ['/a'] }))], { method: 'POST', path: '/a' }, 'deny'],
  ['entries of `from` are ORed', [allow([{ from: [{ source: { principals: [ADMIN] } }, { source: { namespaces: ['default'] } }] }])], { peer: WEB }, 'allow'],
  ['entries of `to` are ORed', [allow([{ to: [{ operation: { paths: ['/a'] } }, { operation: { methods: ['POST'] } }] }])], { method: 'POST', path: '/b' }, 'allow'],
  ['a rule needs both `from` and `to`', [allow([{ from: [{ source: { principals: [WEB] } }], to: [{ operation: { methods: ['GET'] } }] }])], { peer: WEB, method: 'PUT' }, 'deny'],
  ['rules are ORed', [allow([{ to: [{ operation: { methods: ['PUT'] } }] }, { from: [{ source: { principals: [WEB] } }] }])], { peer: WEB }, 'allow'],
  ['a matching DENY wins over a matching ALLOW', [allow([{}]), deny(to({ paths: ['/secret'] }))], { peer: WEB, path: '/secret' }, 'deny'],
  ['one of several ALLOW policies is enough', [allow(from({ principals: [ADMIN] })), allow(from({ principals: [WEB] }))], { peer: WEB }, 'allow'],
  ['AUDIT decides nothing', [{ action: 'AUDIT', rules: [{}] }], { peer: WEB }, 'allow'],
  ['AUDIT does not count as an ALLOW policy', [{ action: 'AUDIT', rules: [{}] }, deny(from({ principals: [ADMIN] }))], {}, 'allow'],
];

for (const [name, policies, call, expected] of CASES) {
  test(`authorization: ${name}`, () => assert.equal(decide(policies, call), expected));
}

/** The value of a counter series, 0 when it was never bound. */
function counter(metric: string, labels: Readonly<Record<string, string>>): number {
  const data = dataPlaneRegistry.collect().find((m) => m.name === metric);
  const sample = data?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels));
  return sample?.value ?? 0;
}

test('decisions are counted under the deciding policy, or "" for the default', () => {
  const filter = authorizationFilter([
    { name: 'metrics/deny-ops', spec: deny(from({ namespaces: ['ops'] })) },
    { name: 'metrics/allow-web', spec: allow(from({ principals: [WEB] })) },
  ], PORT);
  const decisions = 'windrose_authorization_decisions_total';
  const before = [
    counter(decisions, { decision: 'deny', policy: 'metrics/deny-ops' }),
    counter(decisions, { decision: 'allow', policy: 'metrics/allow-web' }),
    counter(decisions, { decision: 'deny', policy: '' }),
  ];
  run(filter, { peer: ADMIN });
  run(filter, { peer: WEB });
  run(filter, { peer: WEB });
  run(filter, {});
  assert.deepEqual(
    [
      counter(decisions, { decision: 'deny', policy: 'metrics/deny-ops' }),
      counter(decisions, { decision: 'allow', policy: 'metrics/allow-web' }),
      counter(decisions, { decision: 'deny', policy: '' }),
    ],
    [before[0] + 1, before[1] + 2, before[2] + 1],
  );
});

test('AUDIT matches are counted and published, whatever the decision', () => {
  const filter = authorizationFilter([
    { name: 'metrics/audit-writes', spec: { action: 'AUDIT', rules: to({ notMethods: ['GET'] }) } },
    { name: 'metrics/deny-plaintext', spec: deny(from({ notPrincipals: ['*'] })) },
  ], PORT);
  const audits = 'windrose_authorization_audits_total';
  const before = counter(audits, { policy: 'metrics/audit-writes' });
  const events: AuditEvent[] = [];
  const listen = (e: unknown) => events.push(e as AuditEvent);
  auditChannel.subscribe(listen);
  try {
    assert.equal(run(filter, { peer: WEB, method: 'GET' }), undefined);
    assert.equal(run(filter, { peer: WEB, method: 'POST', path: '/items' }), undefined);
    assert.equal(run(filter, { method: 'DELETE', path: '/items/1' })?.status, 403);
  } finally {
    auditChannel.unsubscribe(listen);
  }
  assert.equal(counter(audits, { policy: 'metrics/audit-writes' }), before + 2);
  assert.deepEqual(events, [
    { policy: 'metrics/audit-writes', requestId: 'req-1', peer: WEB, method: 'POST', path: '/items' },
    { policy: 'metrics/audit-writes', requestId: 'req-1', peer: undefined, method: 'DELETE', path: '/items/1' },
  ]);
});

test('logAudits writes one line per match until stopped', () => {
  const filter = authorizationFilter([{ name: 'default/audit-all', spec: { action: 'AUDIT', rules: [{}] } }], PORT);
  const lines: unknown[][] = [];
  const stop = logAudits({ info: (...args: unknown[]) => void lines.push(args) } as never);
  run(filter, { peer: WEB, path: '/a' });
  stop();
  run(filter, { peer: WEB, path: '/b' });
  assert.deepEqual(lines, [[{ policy: 'default/audit-all', requestId: 'req-1', peer: WEB, method: 'GET', path: '/a' }, 'authorization audit']]);
});

test('the peer namespace is the segment after /ns/', () => {
  assert.equal(peerNamespace(WEB), 'default');
  assert.equal(peerNamespace('spiffe://td/ns/ops'), 'ops');
  assert.equal(peerNamespace('spiffe://td/workload'), undefined);
  assert.equal(peerNamespace(undefined), undefined);
});
