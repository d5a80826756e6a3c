//! End to end: the admin server, multi-worker serving, and the validate command.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { baseConfig, gatewayWithBackend, simpleRoute } from '../helpers/backends.js';
import { freePort } from '../helpers/ports.js';
import { CLI, tempConfigDir, waitForVersion } from '../helpers/windrose.js';

const SECRET = `apiVersion: v1
kind: Secret
metadata: { name: not-shown, namespace: default }
type: Opaque
stringData: { password: hunter2 }
`;

async function json<T>(url: string): Promise<{ status: number; body: T }> {
  const r = await request(url);
  return { status: r.statusCode, body: await r.body.json() as T };
}

describe('admin server', () => {
  const t = gatewayWithBackend({ 'routes.yaml': simpleRoute('main', 'a'), 'secret.yaml': SECRET });

  test('/live and /ready answer 200 once serving', async () => {
    assert.equal((await json(`${t.gw.admin}/live`)).status, 200);
    const ready = await json<{ ready: boolean; version: number }>(`${t.gw.admin}/ready`);
    assert.equal(ready.status, 200);
    // With one worker, the gateway process itself serves.
    assert.deepEqual(ready.body, { ready: true, version: 1, workers: [{ id: 0, pid: t.gw.proc.pid, state: 'serving', version: 1 }] });
  });

  test('/config shows the active snapshot with secret values redacted', async () => {
    const { body } = await json<{ version: number; ports: { port: number; protocol: string }[]; resources: { kind: string; spec: Record<string, unknown> }[] }>(`${t.gw.admin}/config`);
    assert.equal(body.version, 1);
    assert.deepEqual(body.ports.map((p) => [p.port, p.protocol]), [[t.port, 'HTTP']]);
    const secret = body.resources.find((r) => r.kind === 'Secret');
    assert.deepEqual(secret?.spec.stringData, { password: '[redacted]' });
    assert.doesNotMatch(JSON.stringify(body), /hunter2/);
  });

  test('/status shows the conditions Kubernetes would hold', async () => {
    const { body } = await json<{ resources: { kind: string; name: string; conditions?: { type: string; status: string; reason: string }[]; parents?: { conditions: { type: string; status: string; reason: string }[] }[]; listeners?: { attachedRoutes: number }[] }[] }>(`${t.gw.admin}/status`);
    const gateway = body.resources.find((r) => r.kind === 'Gateway');
    assert.deepEqual(gateway?.conditions?.map((c) => [c.type, c.status, c.reason]), [['Accepted', 'True', 'Accepted'], ['Programmed', 'True', 'Programmed']]);
    assert.equal(gateway?.listeners?.[0].attachedRoutes, 1);
    const route = body.resources.find((r) => r.kind === 'HTTPRoute');
    assert.deepEqual(route?.parents?.[0].conditions.map((c) => [c.type, c.status]), [['Accepted', 'True'], ['ResolvedRefs', 'True']]);
  });

  test('/metrics counts requests by listener, route, backend and status class, with latency', async () => {
    for (let i = 0; i < 3; i++) await (await request(`http://127.0.0.1:${t.port}/m`)).body.dump();
    const text = await (await request(`${t.gw.admin}/metrics`)).body.text();
    assert.match(text, /windrose_http_requests_total\{listener="default\/gw\/http",route="default\/main",backend="Backend default\/a",code_class="2xx"\} 3/);
    assert.match(text, /windrose_http_request_duration_seconds_count\{listener="default\/gw\/http",route="default\/main"\} 3/);
    assert.match(text, /windrose_config_reloads_total\{result="accepted"\} 1/);
  });

  test('unknown admin paths answer 404 with JSON', async () => {
    const r = await json<{ error: { code: string } }>(`${t.gw.admin}/nope`);
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'not_found');
  });
});

describe('several workers', () => {
  const t = gatewayWithBackend({ 'routes.yaml': simpleRoute('main', 'a') }, { workers: 2 });

  test('two workers serve the same port, a change reaches both, and metrics add up across them', async () => {
    const requests = 40;
    const fresh = () => new Agent({ pipelining: 0 });
    for (let i = 0; i < requests; i++) {
      const agent = fresh();
      await (await request(`http://127.0.0.1:${t.port}/w`, { dispatcher: agent })).body.dump();
      await agent.close();
    }
    const text = await (await request(`${t.gw.admin}/metrics`)).body.text();
    assert.match(text, new RegExp(`windrose_http_requests_total\\{[^}]*code_class="2xx"\\} ${requests}`));

    t.gw.write('routes.yaml', simpleRoute('main', 'a', `    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier: { set: [{ name: x-config, value: two }] }
`));
    await waitForVersion(t.gw, 2);
    for (let i = 0; i < 20; i++) {
      const agent = fresh();
      const res = await request(`http://127.0.0.1:${t.port}/w`, { dispatcher: agent });
      await res.body.dump();
      await agent.close();
      assert.equal(res.headers['x-config'], 'two');
    }
    assert.equal((await json<{ ready: boolean }>(`${t.gw.admin}/ready`)).body.ready, true);
  });

  test('SIGTERM drains and exits 0', async () => {
    assert.equal(await t.gw.stop(), 0);
  });
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('windrose validate', () => {
  test('a valid directory exits 0 with a summary', async () => {
    const r = await run(['validate', 'examples/demo']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok: 9 resource\(s\) in 4 file\(s\)/);
  });

  test('errors name file, line, column, resource and field, and exit 1', async () => {
    const dir = tempConfigDir({ 'routes.yaml': `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shop, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - backendRefs:
    - name: shop
`.replace('- name: shop', '- name: shop\n      port: eighty') });
    const r = await run(['validate', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /routes\.yaml:9:13 HTTPRoute default\/shop spec\.rules\[0\]\.backendRefs\[0\]\.port: /);
  });

  test('a wrong command line exits 2', async () => {
    assert.equal((await run(['gateway', '--no-such-flag'])).code, 2);
    assert.equal((await run(['validate'])).code, 2);
  });

  test('a listener port that cannot be bound fails startup with exit 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const dir = tempConfigDir({ 'gateway.yaml': baseConfig(taken, {}) });
      const r = await run(['gateway', '--config', dir, '--admin', `127.0.0.1:${await freePort()}`, '--workers', '1', '--bind', '127.0.0.1', '--log-format', 'json']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`listener port ${taken}: .*EADDRINUSE`));
    } finally {
      blocker.close();
    }
  });

  test('an invalid config at startup exits 1 and prints the errors', async () => {
    const dir = tempConfigDir({ 'bad.yaml': 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: g }\nspec: { gatewayClassName: windrose, listeners: [{ name: http, port: 0, protocol: HTTP }] }\n' });
    const r = await run(['gateway', '--config', dir, '--admin', `127.0.0.1:${await freePort()}`, '--workers', '1', '--log-format', 'json']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.yaml:4:\d+ Gateway default\/g spec\.listeners\[0\]\.port: /);
  });
});
