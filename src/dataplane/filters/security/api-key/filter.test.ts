import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { APIKeyAuthSpec } from '../../../../config/schema/security/api-key-auth.js';
import { HeaderList } from '../../../headers.js';
import type { Filter, FilterOutcome, ProxyRequest } from '../../filter.js';
import { apiKeyAuthFilter } from './filter.js';
import { issueApiKey, type IssuedKey } from './format.js';
import { Keyring } from './keyring.js';
import { FakeSource, recordingLogger, type LogEntry } from './keyring.fixture.js';

const CTX = { policy: 'default/keys' };

function request(headers: Record<string, string | string[]> = {}, query = ''): ProxyRequest {
  const raw = Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v.flatMap((x) => [k, x]) : [k, v]));
  return {
    method: 'GET', path: '/orders', query, authority: 'api.example', headers: new HeaderList(raw), scheme: 'http', clientAddress: '127.0.0.1',
    peer: undefined, port: 8080, requestId: 'req-1', matchedPrefix: undefined, mirrors: undefined, identity: undefined,
  };
}

/** Once the keyring is loaded the filter decides without a promise. */
function run(filter: Filter, req: ProxyRequest): FilterOutcome {
  const outcome = filter.onRequest!(req);
  assert.ok(!(outcome instanceof Promise), 'a loaded keyring answers synchronously');
  return outcome;
}

const CHALLENGE = 'ApiKey realm="api.example", header="x-api-key"';
const INVALID = { status: 401, errorCode: 'unauthenticated', message: 'the API key is not valid', headers: [['www-authenticate', CHALLENGE]] };

describe('apiKeyAuth', () => {
  const source = new FakeSource();
  const { log, entries } = recordingLogger();
  const keyring = new Keyring(async () => source, log, 'test', 60_000);
  const keys: Record<'good' | 'revoked' | 'expired' | 'other', IssuedKey> = {
    good: issueApiKey(), revoked: issueApiKey(), expired: issueApiKey(), other: issueApiKey(),
  };
  const filter = (spec: APIKeyAuthSpec = {}) => apiKeyAuthFilter(spec, CTX, { keyring: () => keyring });
  const refusals = (): LogEntry[] => entries.filter((e) => e.msg === 'API key refused');

  before(async () => {
    source.add(keys.good.prefix, { hash: keys.good.hash, consumer: 'acme', expiresAt: Date.now() + 3_600_000 });
    source.add(keys.revoked.prefix, { hash: keys.revoked.hash, consumer: 'acme', revokedAt: 1 });
    source.add(keys.expired.prefix, { hash: keys.expired.hash, consumer: 'globex', expiresAt: Date.now() - 1 });
    assert.equal(await keyring.load(), true);
  });
  after(() => keyring.stop());

  test('a valid key in x-api-key makes the caller its consumer, and the key does not go upstream', () => {
    const req = request({ 'x-api-key': keys.good.key, accept: 'application/json' });
    assert.equal(run(filter(), req), undefined);
    assert.deepEqual(req.identity, { method: 'apiKey', subject: 'acme', consumer: 'acme' });
    assert.deepEqual(req.headers.raw, ['accept', 'application/json']);
    const accepted = entries.find((e) => e.msg === 'API key accepted' && e.fields.requestId === 'req-1');
    assert.deepEqual(accepted?.fields, { policy: 'default/keys', requestId: 'req-1', keyId: 1, consumer: 'acme' });
  });

  test('forwardCredentials keeps the key; consumerHeader names the consumer and replaces what the client sent', () => {
    const req = request({ 'x-api-key': keys.good.key, 'x-windrose-consumer': ['admin', 'root'] });
    assert.equal(run(filter({ forwardCredentials: true, consumerHeader: 'X-Windrose-Consumer' }), req), undefined);
    assert.equal(req.headers.get('x-api-key'), keys.good.key);
    assert.equal(req.headers.get('x-windrose-consumer'), 'acme');
  });

  test('from a query parameter: found even percent-encoded, removed alone, the rest of the query kept as sent', () => {
    const spec: APIKeyAuthSpec = { extractFrom: [{ header: 'x-api-key' }, { param: 'api_key' }] };
    const req = request({}, `a=1&api_key=${keys.good.key}&b=%2Fx&api_key=second&c`);
    assert.equal(run(filter(spec), req), undefined);
    assert.equal(req.query, 'a=1&b=%2Fx&c');
    const encoded = request({}, `api%5Fkey=${keys.good.key.replace('_', '%5F')}`);
    assert.equal(run(filter(spec), encoded), undefined);
    assert.equal(encoded.query, '');
  });

  test('sources are tried in order: the first that has a key is used', () => {
    const spec: APIKeyAuthSpec = { extractFrom: [{ param: 'key' }, { header: 'authorization-key' }] };
    const req = request({ 'authorization-key': keys.revoked.key }, `key=${keys.good.key}`);
    assert.equal(run(filter(spec), req), undefined);
    assert.equal(req.headers.has('authorization-key'), false, 'every place a key may be is cleared');
    assert.deepEqual(run(filter(spec), request({ 'authorization-key': keys.good.key }, 'key=')), undefined);
  });

  test('no key: 401 with a challenge that says where to put one', () => {
    const missing = { status: 401, errorCode: 'unauthenticated', message: 'this route requires an API key', headers: [['www-authenticate', CHALLENGE]] };
    assert.deepEqual(run(filter(), request()), missing);
    assert.deepEqual(run(filter(), request({ 'x-api-key': '' })), missing);
    assert.deepEqual(run(filter(), request({ authorization: `Bearer ${keys.good.key}` })), missing);
    const both = filter({ extractFrom: [{ param: 'k' }, { header: 'x-key' }, { param: 'other' }] });
    assert.deepEqual((run(both, request()) as { headers: unknown }).headers, [['www-authenticate', 'ApiKey realm="api.example", header="x-key", param="k"']]);
    const odd = request();
    odd.authority = 'api.example:8443", evil="1';
    assert.deepEqual((run(filter(), odd) as { headers: unknown }).headers, [['www-authenticate', 'ApiKey realm="api.example:8443evil1", header="x-api-key"']]);
  });

  test('unknown, wrong secret, revoked, expired and malformed keys get one same answer; the log says which', () => {
    const wrongSecret = `${keys.good.prefix}_${keys.other.key.slice(13)}`;
    const cases: [string, string, string | undefined][] = [
      [keys.other.key, 'unknown prefix', 'debug'],
      [wrongSecret, 'secret does not match', 'info'],
      [keys.revoked.key, 'revoked', 'info'],
      [keys.expired.key, 'expired', 'info'],
      ['not-a-key', 'malformed', 'debug'],
      [`${keys.good.key},${keys.good.key}`, 'malformed', 'debug'],
    ];
    for (const [key, reason, level] of cases) {
      entries.length = 0;
      const req = request({ 'x-api-key': key });
      assert.deepEqual(run(filter(), req), INVALID, reason);
      assert.equal(req.identity, undefined);
      assert.equal(req.headers.get('x-api-key'), key, 'a refused request is not rewritten');
      const [line] = refusals();
      assert.equal(line.fields.reason, reason);
      assert.equal(line.level, level);
      assert.equal(line.fields.policy, 'default/keys');
      assert.ok(!JSON.stringify(line).includes(key), 'the log never holds the key');
    }
    const duplicated = request({ 'x-api-key': [keys.good.key, keys.good.key] });
    assert.deepEqual(run(filter(), duplicated), INVALID, 'two copies of the header are not one key');
  });

  test('a key that expires while the gateway runs stops working at its expiry, with no sync needed', async () => {
    const soon = issueApiKey();
    const expiresAt = Date.now() + 60_000;
    source.add(soon.prefix, { hash: soon.hash, expiresAt });
    const other = new Keyring(async () => source, log, 'test', 60_000);
    await other.load();
    other.stop();
    let clock = expiresAt - 1;
    const f = apiKeyAuthFilter({}, CTX, { keyring: () => other, now: () => clock });
    assert.equal(run(f, request({ 'x-api-key': soon.key })), undefined);
    clock += 1;
    assert.deepEqual(run(f, request({ 'x-api-key': soon.key })), INVALID);
  });

  test('the first request waits for the first load; if the store cannot be read, 503 until it can', async () => {
    const down = new FakeSource();
    down.failing = true;
    const cold = new Keyring(async () => down, recordingLogger().log, 'test', 60_000);
    const f = apiKeyAuthFilter({}, CTX, { keyring: () => cold });
    const pending = f.onRequest!(request({ 'x-api-key': keys.good.key }));
    assert.ok(pending instanceof Promise);
    assert.deepEqual(await pending, {
      status: 503, errorCode: 'auth_unavailable', message: 'the API key could not be checked; try again later', headers: [['retry-after', '1']],
    });
    assert.equal((run(f, request()) as { status: number }).status, 401, 'a request without a key needs no store');
    cold.stop();
  });
});
