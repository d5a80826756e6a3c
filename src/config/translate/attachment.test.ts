import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SecurityPolicy } from '../resources.js';
import { attachPolicies, PolicyProblem, targetKey, type TargetExists } from './attachment.js';

const at = { file: 'policies.yaml', line: 1, column: 1 };

const policy = (name: string, created: string, routes: string[]): SecurityPolicy => ({
  source: at,
  locate: () => at,
  kind: 'SecurityPolicy',
  apiVersion: 'windrose.dev/v1alpha1',
  metadata: { name, namespace: 'shop', creationTimestamp: created },
  spec: { targetRefs: routes.map((r) => ({ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: r })) },
});

const routesExist = (...names: string[]): TargetExists => (ref) => names.includes(ref.name);
const conditionsOf = (statuses: ReturnType<typeof attachPolicies>['statuses'], name: string) =>
  statuses.find((s) => s.name === name)?.ancestors?.map((a) => `${a.parentRef.name}:${a.conditions[0].status}/${a.conditions[0].reason}`);

test('of two policies on one target the older keeps it, whatever order they come in', () => {
  const older = policy('b-older', '2026-01-01T00:00:00Z', ['cart']);
  const newer = policy('a-newer', '2026-02-01T00:00:00Z', ['cart', 'orders']);
  const { byTarget, statuses } = attachPolicies([newer, older], routesExist('cart', 'orders'), (p) => p.metadata.name);
  assert.equal(byTarget.get(targetKey('HTTPRoute', 'shop', 'cart')), 'b-older');
  assert.equal(byTarget.get(targetKey('HTTPRoute', 'shop', 'orders')), 'a-newer');
  assert.deepEqual(conditionsOf(statuses, 'a-newer'), ['cart:False/Conflicted', 'orders:True/Accepted']);
});

test('a missing target is reported; a target another translation serves is left to it', () => {
  const p = policy('p', '2026-01-01T00:00:00Z', ['gone', 'mesh-only', 'cart']);
  const exists: TargetExists = (ref) => (ref.name === 'mesh-only' ? undefined : ref.name === 'cart');
  const { statuses } = attachPolicies([p], exists, () => 1);
  assert.deepEqual(conditionsOf(statuses, 'p'), ['gone:False/TargetNotFound', 'cart:True/Accepted']);
});

test('a policy that cannot be compiled gives its targets the fail-closed settings and says why', () => {
  const p = policy('p', '2026-01-01T00:00:00Z', ['cart', 'orders']);
  let compiled = 0;
  const { byTarget, statuses } = attachPolicies([p], routesExist('cart', 'orders'), () => {
    compiled++;
    throw new PolicyProblem('InvalidSecretRef', 'Secret shop/keys not found');
  }, (problem) => `refuse: ${problem.message}`);
  assert.equal(compiled, 1, 'compiled once for all its targets');
  assert.equal(byTarget.get(targetKey('HTTPRoute', 'shop', 'cart')), 'refuse: Secret shop/keys not found');
  assert.equal(byTarget.get(targetKey('HTTPRoute', 'shop', 'orders')), 'refuse: Secret shop/keys not found');
  assert.deepEqual(conditionsOf(statuses, 'p'), ['cart:False/InvalidSecretRef', 'orders:False/InvalidSecretRef']);
});

test('an error that is not a PolicyProblem is a bug and is not swallowed', () => {
  assert.throws(() => attachPolicies([policy('p', '', ['cart'])], routesExist('cart'), () => { throw new TypeError('boom'); }, () => 0), TypeError);
});
