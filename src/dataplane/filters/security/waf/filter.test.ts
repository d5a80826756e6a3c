import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { WAFSpec } from '../../../../config/schema/security/waf.js';
import { HeaderList } from '../../../headers.js';
import type { Filter, FilterOutcome, ProxyRequest } from '../../filter.js';
import { type WafEvent, logWafEvents, wafChannel } from './events.js';
import { bodyKind, DEFAULT_BODY_BYTES, wafFilter } from './filter.js';

function request(target: string, headers: [string, string][] = []): ProxyRequest {
  const q = target.indexOf('?');
  return {
    method: 'POST', path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), authority: 'api.example.com',
    headers: new HeaderList(['user-agent', 'curl/8.5.0', ...headers.flat()]), scheme: 'https', clientAddress: '203.0.113.9', peer: undefined,
    port: 443, requestId: 'req-1', matchedPrefix: undefined, mirrors: undefined, identity: undefined, route: 'shop/orders',
  };
}

const JSON_TYPE: [string, string] = ['content-type', 'application/json'];
const waf = (spec: WAFSpec = {}) => wafFilter(spec, { policy: 'shop/edge' });
const head = (f: Filter, req: ProxyRequest) => f.onRequest!(req) as FilterOutcome;
const body = (f: Filter, req: ProxyRequest, text: string, truncated = false) => f.requestBody!.inspect(req, Buffer.from(text), truncated) as FilterOutcome;

describe('wafFilter', () => {
  let events: WafEvent[];
  const listen = (m: unknown) => void events.push(m as WafEvent);
  beforeEach(() => {
    events = [];
    wafChannel.subscribe(listen);
  });
  afterEach(() => wafChannel.unsubscribe(listen));

  test('Block: an attack in the head is answered 403 request_blocked, and reported with its rules', () => {
    const req = request('/items?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    assert.deepEqual(head(waf(), req), { status: 403, errorCode: 'request_blocked', message: 'the request was refused by a security rule' });
    assert.equal(events.length, 1);
    const e = events[0];
    assert.deepEqual({ policy: e.policy, requestId: e.requestId, route: e.route, action: e.action, phase: e.phase, path: e.path, threshold: e.threshold },
      { policy: 'shop/edge', requestId: 'req-1', route: 'shop/orders', action: 'blocked', phase: 'head', path: '/items', threshold: 5 });
    assert.ok(e.rules.includes(3101));
  });

  test('Detect: the request goes on, and is reported as detected', () => {
    assert.equal(head(waf({ mode: 'Detect' }), request('/items?q=%3Cscript%3E')), undefined);
    assert.equal(events[0].action, 'detected');
  });

  test('ordinary requests pass and report nothing', () => {
    const f = waf();
    const req = request("/items?q=Conan+O'Brien", [JSON_TYPE]);
    assert.equal(head(f, req), undefined);
    assert.equal(body(f, req, JSON.stringify({ note: 'Select a seat; drop me a line' })), undefined);
    assert.equal(events.length, 0);
  });

  test('the threshold decides: two critical matches reach 10, one does not', () => {
    const f = waf({ anomalyThreshold: 10 });
    assert.equal(head(f, request('/items?q=%3Cscript%3E')), undefined);
    assert.equal(head(f, request('/items?q=%3Cscript%3E&p=..%2F..%2Fetc%2Fpasswd'))?.status, 403);
  });

  test('a body adds to its head: under the threshold alone, blocked together, reported once in the body phase', () => {
    const f = waf({ anomalyThreshold: 10 });
    const req = request('/items?q=%3Cscript%3E', [JSON_TYPE]);
    assert.equal(head(f, req), undefined);
    assert.equal(body(f, req, JSON.stringify({ path: '../../etc/passwd' }))?.status, 403);
    assert.equal(events.length, 1);
    assert.equal(events[0].phase, 'body');
    assert.ok(events[0].rules.includes(3101) && events[0].rules.includes(4101));
  });

  test('Detect: a body that matches only what its head already reported adds no second report', () => {
    const f = waf({ mode: 'Detect' });
    const req = request('/items?q=%3Cscript%3E', [JSON_TYPE]);
    head(f, req);
    assert.equal(body(f, req, JSON.stringify({ x: '<script>' })), undefined);
    assert.equal(events.length, 1);
    body(f, req, JSON.stringify({ x: '../../etc/passwd' }));
    assert.equal(events.length, 2);
  });

  test('mode Off is a filter with no hooks: the way a route turns off its Gateway\'s WAF', () => {
    assert.deepEqual(waf({ mode: 'Off' }), { name: 'WAF' });
  });

  test('bodies: JSON and form by media type, 128Ki by default, larger ones refused or inspected by their prefix', () => {
    const f = waf();
    assert.equal(f.requestBody!.maxBytes, DEFAULT_BODY_BYTES);
    assert.equal(waf({ body: { maxSize: '64Ki' } }).requestBody!.maxBytes, 65536);
    assert.equal(f.requestBody!.wants(request('/', [['content-type', 'application/json; charset=utf-8']])), true);
    assert.equal(f.requestBody!.wants(request('/', [])), false);
    const req = request('/', [JSON_TYPE]);
    assert.deepEqual(body(f, req, '{"a":"x', true), { status: 413, errorCode: 'payload_too_large', message: `the request body exceeds the ${DEFAULT_BODY_BYTES} bytes the security policy inspects` });
    const prefix = waf({ body: { onOversize: 'InspectPrefix' } });
    assert.equal(body(prefix, req, '{"a":"x', true), undefined);
    assert.equal(body(prefix, req, '{"a":"<script>", "b":"x', true)?.status, 403);
  });

  test('bodyKind reads the media type', () => {
    assert.equal(bodyKind('application/json'), 'json');
    assert.equal(bodyKind('Application/JSON; charset=UTF-8'), 'json');
    assert.equal(bodyKind('application/vnd.api+json'), 'json');
    assert.equal(bodyKind('application/merge-patch+json'), 'json');
    assert.equal(bodyKind('application/x-www-form-urlencoded'), 'form');
    assert.equal(bodyKind('multipart/form-data; boundary=x'), undefined);
    assert.equal(bodyKind('text/plain'), undefined);
    assert.equal(bodyKind(undefined), undefined);
  });
});

test('logWafEvents writes one warn line per event until stopped', () => {
  const lines: unknown[][] = [];
  const stop = logWafEvents({ warn: (...args: unknown[]) => void lines.push(args) } as never);
  const event: WafEvent = {
    policy: 'shop/edge', requestId: 'r1', route: 'shop/orders', action: 'blocked', phase: 'head', method: 'GET', host: 'api.example.com', path: '/x', score: 10, threshold: 5,
    rules: [3101, 4101], matches: [{ id: 3101, target: 'arg:q', value: '<script' }, { id: 4101, target: 'arg:q', value: '../' }],
  };
  wafChannel.publish(event);
  stop();
  wafChannel.publish(event);
  assert.equal(lines.length, 1);
  const [fields, msg] = lines[0] as [Record<string, unknown>, string];
  assert.equal(msg, 'waf blocked a request');
  assert.deepEqual(fields.rules, [3101, 4101]);
  assert.deepEqual(fields.targets, ['arg:q']);
  assert.equal(fields.requestId, 'r1');
  assert.equal(fields.route, 'shop/orders');
});

describe('wafFilter bodies it cannot read as sent', () => {
  test('a compressed body is not read; a JSON body with a byte order mark is parsed as JSON', () => {
    const f = waf();
    assert.equal(f.requestBody!.wants(request('/', [JSON_TYPE, ['content-encoding', 'gzip']])), false);
    assert.equal(f.requestBody!.wants(request('/', [JSON_TYPE, ['content-encoding', 'identity']])), true);
    assert.equal(body(f, request('/', [JSON_TYPE]), '\ufeff{"name":"O\'Brien"}'), undefined);
  });

  test('Detect never refuses: a body over the bound is inspected up to it', () => {
    assert.equal(body(waf({ mode: 'Detect' }), request('/', [JSON_TYPE]), '{"a":"x', true), undefined);
  });
});
