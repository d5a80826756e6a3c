//! End to end: BackendTrafficPolicy faultInjection aborts and delays real requests.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { baseConfig, simpleRoute, startBackend, type Backend } from '../helpers/backends.js';
import { freePort } from '../helpers/ports.js';
import { startWindrose, waitForVersion, type Windrose } from '../helpers/windrose.js';

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
  let gw: Windrose;
  let a: Backend;
  let base: string;

  before(async () => {
    a = await startBackend('a');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gw = await startWindrose({
      'gateway.yaml': baseConfig(port, { a: a.port }),
      'routes.yaml': simpleRoute('main', 'a'),
      'policy.yaml': policy('    abort: { httpStatus: 418 }\n'),
    });
  });
  after(async () => {
    await gw?.stop();
    await a?.close();
  });

  test('abort at 100% answers the policy status with a JSON error and the backend sees nothing', async () => {
    const seen = a.received.length;
    const res = await request(`${base}/x`);
    const body = await res.body.json() as { error: { code: string } };
    assert.equal(res.statusCode, 418);
    assert.equal(body.error.code, 'fault_injected');
    assert.equal(a.received.length, seen);
  });

  test('abort at 50% hits about half of 400 requests', async () => {
    gw.write('policy.yaml', policy('    abort: { httpStatus: 503, percentage: 50 }\n'));
    await waitForVersion(gw, 2);
    let aborted = 0;
    for (let i = 0; i < 400; i++) {
      const res = await request(`${base}/x`);
      await res.body.dump();
      if (res.statusCode === 503) aborted++;
      else assert.equal(res.statusCode, 200);
    }
    assert.ok(aborted > 140 && aborted < 260, `${aborted} of 400 aborted at 50%`);
  });

  test('delay holds every request for the fixed delay, then forwards it', async () => {
    gw.write('policy.yaml', policy('    delay: { fixedDelay: 300ms }\n'));
    await waitForVersion(gw, 3);
    const started = performance.now();
    const res = await request(`${base}/slow`);
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.ok(performance.now() - started >= 290, 'the request was held for the delay');
  });
});
