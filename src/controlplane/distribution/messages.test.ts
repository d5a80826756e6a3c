import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyMessage } from './messages.js';

const hello = { id: 'reviews-1@10.0.0.5', services: ['reviews', 'reviews'], labels: { version: 'v1', app: 'reviews' }, address: '10.0.0.5', port: 15006 };

test('hello is checked and normalised: services deduplicated and sorted, labels sorted', () => {
  const m = parseProxyMessage(JSON.stringify({ type: 'hello', proxy: hello, version: 'abc123' }));
  assert.deepEqual(m, { type: 'hello', version: 'abc123', proxy: { ...hello, services: ['reviews'], labels: { app: 'reviews', version: 'v1' } } });
  assert.deepEqual(Object.keys((m as { proxy: { labels: object } }).proxy.labels), ['app', 'version']);
});

test('what a proxy may not say is refused with the reason', () => {
  const bad = (proxy: object) => parseProxyMessage(JSON.stringify({ type: 'hello', proxy: { ...hello, ...proxy } }));
  assert.match(String(bad({ services: ['Reviews'] })), /proxy\.services: "Reviews" is not a Service name/);
  assert.match(String(bad({ port: 70000 })), /proxy\.port/);
  assert.match(String(bad({ address: 'not an address!' })), /proxy\.address/);
  assert.match(String(bad({ labels: { app: 3 } })), /proxy\.labels/);
  assert.match(String(parseProxyMessage('{"type":"ack","version":"../x"}')), /ack: version/);
  assert.match(String(parseProxyMessage('[1]')), /not a JSON object/);
  assert.match(String(parseProxyMessage('{nope')), /not a JSON object/);
});

test('acks, nacks and heartbeats; types from a newer proxy are ignored', () => {
  assert.deepEqual(parseProxyMessage('{"type":"ack","version":"0a1b"}'), { type: 'ack', version: '0a1b' });
  assert.deepEqual(parseProxyMessage('{"type":"nack","version":"0a1b","error":"x"}'), { type: 'nack', version: '0a1b', error: 'x' });
  assert.deepEqual(parseProxyMessage('{"type":"heartbeat"}'), { type: 'heartbeat' });
  assert.equal(parseProxyMessage('{"type":"stats","cpu":1}'), null);
});
