//! End to end: SecurityPolicy `waf` through the real CLI. Attacks in the query, a header, a cookie
//! and a JSON body are refused with 403 request_blocked, the matched rule ids in the log and never
//! in the response; Detect mode lets the attack through and logs it; an exclusion lets one argument
//! through; a route without the policy is not inspected, and a route's `mode: Off` turns off its
//! listener's WAF; oversized bodies are refused or inspected by their prefix; ordinary traffic passes.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startBackend, type Backend } from '../helpers/backends.js';
import { metric } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { backend, docs, gateway, route, securityPolicy } from '../helpers/resources.js';
import { startWindrose, type LogLine, type Windrose } from '../helpers/windrose.js';

const routeTo = (name: string) => route(name, { backends: ['a'], path: `/${name}/` });

describe('SecurityPolicy waf', () => {
  let gw: Windrose;
  let a: Backend;
  let base: string;
  let edge: string;
  let sequence = 0;

  before(async () => {
    a = await startBackend('a');
    const port = await freePort();
    const edgePort = await freePort();
    base = `http://127.0.0.1:${port}`;
    edge = `http://127.0.0.1:${edgePort}`;
    gw = await startWindrose({
      'gateway.yaml': docs(gateway({ http: port, edge: edgePort }), backend('a', [a])),
      'routes.yaml': docs(
        routeTo('guarded'), routeTo('detect'), routeTo('open'), routeTo('prefix'), routeTo('optout'),
        securityPolicy('guarded', {
          waf: { exclusions: [{ ruleIds: [2101], target: 'arg:allowed' }], body: { maxSize: '1Ki' } },
        }),
        securityPolicy('detect', { waf: { mode: 'Detect' } }),
        securityPolicy('prefix', { waf: { body: { maxSize: '1Ki', onOversize: 'InspectPrefix' } } }),
        securityPolicy('edge', { waf: { mode: 'Block' } }, { kind: 'Gateway', name: 'gw', sectionName: 'edge' }),
        securityPolicy('optout', { waf: { mode: 'Off' } }),
      ),
    });
  });

  after(async () => {
    await gw?.stop();
    await a?.close();
  });

  /** Sends a request with a fresh x-request-id; returns the answer and that id. */
  async function send(url: string, opts: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}) {
    const id = `waf-${++sequence}`;
    const res = await request(url, { method: opts.method ?? 'GET', headers: { 'x-request-id': id, ...opts.headers }, body: opts.body });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, id };
  }

  const json = (value: unknown) => ({ method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
  const wafLine = (id: string) => gw.waitForLog((l) => l.requestId === id && typeof l.msg === 'string' && l.msg.startsWith('waf '));
  const reached = (id: string) => a.received.some((r) => r.headers['x-request-id'] === id);

  /** The answer is 403 request_blocked with a generic message, and the log line names `rule` at `target`. */
  async function assertBlocked(r: Awaited<ReturnType<typeof send>>, rule: number, target: string): Promise<LogLine> {
    assert.equal(r.status, 403, r.text);
    const body = JSON.parse(r.text) as { error: { code: string; message: string; requestId: string } };
    assert.equal(body.error.code, 'request_blocked');
    assert.equal(body.error.requestId, r.id);
    assert.doesNotMatch(r.text, /\b[1-6][1-4]\d\d\b/, 'no rule id in the response');
    const line = await wafLine(r.id);
    assert.equal(line.msg, 'waf blocked a request');
    assert.equal(line.level, 40);
    assert.ok((line.rules as number[]).includes(rule), `rules ${JSON.stringify(line.rules)} should include ${rule}`);
    assert.ok((line.targets as string[]).includes(target), `targets ${JSON.stringify(line.targets)} should include ${target}`);
    assert.ok((line.score as number) >= 5);
    assert.equal(reached(r.id), false, 'the backend must not see a blocked request');
    return line;
  }

  test('an attack in the query is blocked; the log has the rules, the response does not', async () => {
    const r = await send(`${base}/guarded/items?q=${encodeURIComponent("1' union select password from users--")}`);
    const line = await assertBlocked(r, 2101, 'arg:q');
    assert.equal(line.policy, 'default/guarded');
    assert.equal(line.route, 'default/guarded');
    assert.equal(line.phase, 'head');
    for (const m of line.matches as { value: string }[]) assert.ok(m.value.length <= 41, `matched text is cut short: ${m.value}`);
  });

  test('attacks in a header and a cookie are blocked', async () => {
    await assertBlocked(await send(`${base}/guarded/items`, { headers: { 'user-agent': 'sqlmap/1.7.2#stable (https://sqlmap.org)' } }), 1109, 'header:user-agent');
    await assertBlocked(await send(`${base}/guarded/items`, { headers: { 'x-tenant': "1' or '1'='1" } }), 2102, 'header:x-tenant');
    await assertBlocked(await send(`${base}/guarded/items`, { headers: { cookie: 'theme=dark; session=%3Cscript%3Ealert(1)%3C%2Fscript%3E' } }), 3101, 'cookie:session');
  });

  test('an attack in a JSON body is blocked after the body is read, and so is one in a form body', async () => {
    const r = await send(`${base}/guarded/items`, json({ name: 'widget', notes: [{ text: '; cat /etc/passwd' }] }));
    const line = await assertBlocked(r, 6102, 'arg:notes.text');
    assert.equal(line.phase, 'body');
    const form = await send(`${base}/guarded/items`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=widget&comment=%3Csvg%2Fonload%3Dalert(1)%3E' });
    await assertBlocked(form, 3102, 'arg:comment');
  });

  test('ordinary traffic passes, bodies reach the backend unchanged', async () => {
    const ordinary = [
      { url: `${base}/guarded/search?q=${encodeURIComponent("Conan O'Brien")}&page=2`, opts: {} },
      { url: `${base}/guarded/comments`, opts: json({ text: 'Select your seat; we will drop you a line. Union Station at 5pm <3', author: "Siobhán O'Brien" }) },
      { url: `${base}/guarded/me`, opts: { headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', cookie: 'session=abc123; theme=dark', referer: 'https://app.example.com/search?q=red+shoes' } } },
      { url: `${base}/guarded/login`, opts: { method: 'POST' as const, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=jane&password=P%40ssw0rd%21%3B' } },
    ];
    for (const { url, opts } of ordinary) {
      const r = await send(url, opts);
      assert.equal(r.status, 200, `${url}: ${r.text}`);
      const echoed = JSON.parse(r.text) as { body: string };
      assert.equal(echoed.body, 'body' in opts ? opts.body : '');
    }
  });

  test('Detect mode lets the attack through and logs it', async () => {
    const r = await send(`${base}/detect/items?q=${encodeURIComponent('<script>alert(1)</script>')}`);
    assert.equal(r.status, 200);
    assert.equal(reached(r.id), true);
    const line = await wafLine(r.id);
    assert.equal(line.msg, 'waf detected an attack');
    assert.equal(line.action, 'detected');
    assert.ok((line.rules as number[]).includes(3101));
  });

  test('an exclusion lets a rule pass for one argument only', async () => {
    const payload = encodeURIComponent('1 union select 2');
    const allowed = await send(`${base}/guarded/items?allowed=${payload}`);
    assert.equal(allowed.status, 200, allowed.text);
    await assertBlocked(await send(`${base}/guarded/items?q=${payload}`), 2101, 'arg:q');
  });

  test('a route without the policy is not inspected; a route\'s mode Off turns off its listener\'s WAF', async () => {
    const attack = `?q=${encodeURIComponent('<script>alert(1)</script>')}`;
    assert.equal((await send(`${base}/open/items${attack}`)).status, 200);
    await assertBlocked(await send(`${edge}/open/items${attack}`), 3101, 'arg:q');
    assert.equal((await send(`${edge}/optout/items${attack}`)).status, 200);
  });

  test('a body larger than maxSize is refused with 413 (Reject) or inspected by its prefix (InspectPrefix)', async () => {
    const big = json({ padding: 'x'.repeat(2048) });
    const refused = await send(`${base}/guarded/items`, big);
    assert.equal(refused.status, 413);
    assert.equal((JSON.parse(refused.text) as { error: { code: string } }).error.code, 'payload_too_large');
    assert.equal(refused.headers.connection, 'close');

    const passed = await send(`${base}/prefix/items`, big);
    assert.equal(passed.status, 200);
    assert.equal((JSON.parse(passed.text) as { body: string }).body, big.body, 'the backend gets the whole body');

    const early = await send(`${base}/prefix/items`, json({ comment: '<script>alert(1)</script>', padding: 'x'.repeat(2048) }));
    await assertBlocked(early, 3101, 'arg:(body)');
  });

  test('over h2c, a JSON body is inspected the same way and a clean one reaches the backend whole', async () => {
    const session = http2.connect(base);
    try {
      const post = async (id: string, value: unknown) => {
        const stream = session.request({ ':path': '/guarded/items', ':method': 'POST', 'content-type': 'application/json', 'x-request-id': id });
        stream.end(JSON.stringify(value));
        stream.setEncoding('utf8');
        let text = '';
        stream.on('data', (c: string) => (text += c));
        const [head] = await once(stream, 'response') as [http2.IncomingHttpHeaders];
        await once(stream, 'end');
        return { status: head[':status'], text };
      };
      const blocked = await post('waf-h2-attack', { q: '<script>alert(1)</script>' });
      assert.equal(blocked.status, 403);
      assert.ok(((await wafLine('waf-h2-attack')).rules as number[]).includes(3101));
      const clean = { note: 'x'.repeat(900) };
      const passed = await post('waf-h2-clean', clean);
      assert.equal(passed.status, 200);
      assert.equal((JSON.parse(passed.text) as { body: string }).body, JSON.stringify(clean));
    } finally {
      session.close();
    }
  });

  test('bodies of other media types stream uninspected', async () => {
    const r = await send(`${base}/guarded/items`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '<script>alert(1)</script>' });
    assert.equal(r.status, 200);
  });

  test('blocked and detected requests are counted per policy', async () => {
    assert.ok(await metric(gw, 'windrose_waf_requests_total', { policy: 'default/guarded', action: 'blocked' }) >= 6);
    assert.ok(await metric(gw, 'windrose_waf_requests_total', { policy: 'default/detect', action: 'detected' }) >= 1);
  });
});
