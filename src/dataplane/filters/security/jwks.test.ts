import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { errors, exportJWK, generateKeyPair, type JWK } from 'jose';
import { FETCH_RETRY_MS, KID_REFETCH_COOLDOWN_MS, KeysUnavailable, localKeys, RemoteKeySet } from './jwks.js';

let k1: JWK;
let k2: JWK;

before(async () => {
  k1 = { ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)), kid: 'k1', alg: 'ES256' };
  k2 = { ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)), kid: 'k2', alg: 'ES256' };
});

/** A remote set over a fake JWKS server and a clock the test moves. */
function remote(cacheMs = 60_000) {
  const state = { keys: [] as JWK[], down: false, fetches: 0, time: 1_000_000 };
  const set = new RemoteKeySet({
    uri: 'https://idp.test/jwks',
    cacheMs,
    now: () => state.time,
    load: async () => {
      state.fetches++;
      if (state.down) throw new Error('connection refused');
      return { keys: state.keys };
    },
  });
  return { set, state };
}

const header = (kid: string) => ({ alg: 'ES256', kid });
/** Lets background refreshes settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('keys are fetched on first use, once for concurrent requests, then served from the cache', async () => {
  const { set, state } = remote();
  state.keys = [k1];
  assert.equal(state.fetches, 0, 'nothing is fetched before a token needs it');
  const keys = await Promise.all([set.resolve(header('k1')), set.resolve(header('k1')), set.resolve(header('k1'))]);
  assert.equal(keys.length, 3);
  assert.equal(state.fetches, 1);
  await set.resolve(header('k1'));
  assert.equal(state.fetches, 1);
});

test('an unknown kid refetches once; the next unknown kid within the cooldown does not', async () => {
  const { set, state } = remote();
  state.keys = [k1];
  await set.resolve(header('k1'));
  state.keys = [k1, k2];
  state.time += 1;
  assert.equal((await set.resolve(header('k2'))).length, 1);
  assert.equal(state.fetches, 2);
  for (const kid of ['x1', 'x2', 'x3']) await assert.rejects(set.resolve(header(kid)), errors.JWKSNoMatchingKey);
  assert.equal(state.fetches, 2, 'forged kids cause no fetch within the cooldown');
  state.time += KID_REFETCH_COOLDOWN_MS;
  await assert.rejects(set.resolve(header('x4')), errors.JWKSNoMatchingKey);
  assert.equal(state.fetches, 3, 'after the cooldown an unknown kid may refetch again');
});

test('a failed fetch keeps the last good keys, refreshed or refetched', async () => {
  const { set, state } = remote(1000);
  state.keys = [k1];
  await set.resolve(header('k1'));
  state.down = true;
  state.time += 5000;
  assert.equal((await set.resolve(header('k1'))).length, 1, 'stale keys serve while the refresh fails');
  await settle();
  assert.equal(state.fetches, 2);
  assert.equal((await set.resolve(header('k1'))).length, 1);
  await assert.rejects(set.resolve(header('k2')), errors.JWKSNoMatchingKey);
  assert.equal((await set.resolve(header('k1'))).length, 1, 'a failed refetch for an unknown kid keeps the keys too');
});

test('failed refreshes are retried no more often than FETCH_RETRY_MS', async () => {
  const { set, state } = remote(1);
  state.keys = [k1];
  await set.resolve(header('k1'));
  state.down = true;
  state.time += 10;
  await set.resolve(header('k1'));
  await settle();
  const after = state.fetches;
  for (let i = 0; i < 5; i++) {
    state.time += 10;
    await set.resolve(header('k1'));
    await settle();
  }
  assert.equal(state.fetches, after);
  state.time += FETCH_RETRY_MS;
  state.down = false;
  state.keys = [k2];
  await set.resolve(header('k1'));
  await settle();
  assert.equal(state.fetches, after + 1);
  assert.equal((await set.resolve(header('k2'))).length, 1, 'the refreshed set replaced the old one');
});

test('without any keys yet, an unreachable server is KeysUnavailable, retried after FETCH_RETRY_MS', async () => {
  const { set, state } = remote();
  state.down = true;
  await assert.rejects(set.resolve(header('k1')), KeysUnavailable);
  await assert.rejects(set.resolve(header('k1')), KeysUnavailable);
  assert.equal(state.fetches, 1);
  state.down = false;
  state.keys = [k1];
  state.time += FETCH_RETRY_MS;
  assert.equal((await set.resolve(header('k1'))).length, 1);
});

test('a document that is not a JWKS counts as a failed fetch', async () => {
  const set = new RemoteKeySet({ uri: 'https://idp.test/jwks', cacheMs: 1000, load: async () => ({ nothing: true }) });
  await assert.rejects(set.resolve(header('k1')), KeysUnavailable);
});

test('HMAC secrets serve HS* tokens only, and only from a local set that allows them', async () => {
  const secret = { kty: 'oct', k: Buffer.alloc(32, 7).toString('base64url'), kid: 's1' };
  const keys = localKeys({ keys: [k1, secret] }, true);
  assert.equal((await keys({ alg: 'HS256', kid: 's1' })).length, 1);
  await assert.rejects(keys({ alg: 'HS256', kid: 'k1' }), errors.JWKSNoMatchingKey, 'a public key is never an HMAC secret');
  await assert.rejects(keys({ alg: 'ES256', kid: 's1' }), errors.JWKSNoMatchingKey);
  const remoteLike = localKeys({ keys: [k1, secret] }, false);
  await assert.rejects(remoteLike({ alg: 'HS256', kid: 's1' }), errors.JWKSNoMatchingKey);
});

test('a token without kid is checked against every key that fits its algorithm', async () => {
  const keys = localKeys({ keys: [k1, k2] }, false);
  assert.equal((await keys({ alg: 'ES256' })).length, 2);
});
