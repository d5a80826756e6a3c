//! End to end: hot reload under load loses nothing; an invalid change is rejected and the last good config keeps serving.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pool, request } from 'undici';
import { gatewayWithBackend } from '../helpers/backends.js';
import { waitForVersion } from '../helpers/windrose.js';

function route(tag: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: main, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier: { set: [{ name: x-config, value: "${tag}" }] }
    backendRefs: [{ group: windrose.dev, kind: Backend, name: a }]
`;
}

describe('hot reload', () => {
  const t = gatewayWithBackend({ 'routes.yaml': route('v1') });

  test('20 reloads under continuous load fail no request and drop no connection', async () => {
    const pool = new Pool(`http://127.0.0.1:${t.port}`, { connections: 8 });
    let ok = 0;
    const failures: string[] = [];
    const seen = new Set<string>();
    let running = true;
    const connects: unknown[] = [];
    pool.on('connect', (origin) => connects.push(origin));
    const worker = async () => {
      while (running) {
        try {
          const res = await pool.request({ path: '/load', method: 'GET' });
          await res.body.dump();
          if (res.statusCode === 200) {
            ok++;
            seen.add(String(res.headers['x-config']));
          } else failures.push(`status ${res.statusCode}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    let version = 1;
    for (let i = 2; i <= 21; i++) {
      t.gw.write('routes.yaml', route(`v${i}`));
      version++;
      await waitForVersion(t.gw, version);
      const res = await request(`http://127.0.0.1:${t.port}/check`);
      await res.body.dump();
      assert.equal(res.headers['x-config'], `v${i}`, `reload ${i} is served`);
    }
    running = false;
    await Promise.all(workers);
    await pool.close();
    assert.deepEqual(failures, []);
    assert.ok(ok > 100, `only ${ok} requests completed`);
    assert.ok(seen.size > 1, 'requests saw several config versions');
    assert.equal(connects.length, 8, 'no connection was dropped and reopened');
  });

  test('an invalid change is rejected with its location and the last good config keeps serving', async () => {
    const before = await request(`${t.gw.admin}/config`).then((r) => r.body.json()) as { version: number };
    t.gw.write('routes.yaml', route('broken').replace('backendRefs:', 'backendRefz:'));
    const rejected = await t.gw.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('config change rejected'));
    const errors = rejected.errors as string[];
    assert.equal(errors.length, 1);
    assert.match(errors[0], /routes\.yaml:\d+:\d+ HTTPRoute default\/main spec\.rules\[0\]/);
    assert.match(errors[0], /backendRefz/);
    const res = await request(`http://127.0.0.1:${t.port}/still`);
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    const now = await request(`${t.gw.admin}/config`).then((r) => r.body.json()) as { version: number };
    assert.equal(now.version, before.version);
    const metrics = await request(`${t.gw.admin}/metrics`).then((r) => r.body.text());
    assert.match(metrics, /windrose_config_reloads_total\{result="rejected"\} 1/);
  });
});
