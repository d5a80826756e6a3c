//! End to end: BackendTrafficPolicy faultInjection aborts and delays real requests.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { gatewayWithBackend, simpleRoute } from '../helpers/backends.js';
import { waitForVersion } from '../helpers/windrose.js';

function policy(fault: string): string {
  return `apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: faults, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: main }]
  faultInjection:
${fault}`;
}

describe('fault injection', () => {
  const t = gatewayWithBackend({ 'routes.yaml': simpleRoute('main', 'a'), 'policy.yaml': policy('    abort: { httpStatus: 418 }\n') });

  test('abort at 100% answers the policy status with a JSON error and the backend sees nothing', async () => {
    const seen = t.a.received.length;
    const res = await request(`${t.base}/x`);
    const body = await res.body.json() as { error: { code: string } };
    assert.equal(res.statusCode, 418);
    assert.equal(body.error.code, 'fault_injected');
    assert.equal(t.a.received.length, seen);
  });

  test('abort at 50% hits about half of 400 requests', async () => {
    t.gw.write('policy.yaml', policy('    abort: { httpStatus: 503, percentage: 50 }\n'));
    await waitForVersion(t.gw, 2);
    let aborted = 0;
    for (let i = 0; i < 400; i++) {
      const res = await request(`${t.base}/x`);
      await res.body.dump();
      if (res.statusCode === 503) aborted++;
      else assert.equal(res.statusCode, 200);
    }
    assert.ok(aborted > 140 && aborted < 260, `${aborted} of 400 aborted at 50%`);
  });

  test('delay holds every request for the fixed delay, then forwards it', async () => {
    t.gw.write('policy.yaml', policy('    delay: { fixedDelay: 300ms }\n'));
    await waitForVersion(t.gw, 3);
    const started = performance.now();
    const res = await request(`${t.base}/slow`);
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.ok(performance.now() - started >= 290, 'the request was held for the delay');
  });
});
