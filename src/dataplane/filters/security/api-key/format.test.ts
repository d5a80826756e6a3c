import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { apiKeyPrefix, digestApiKey, isApiKeyPrefix, issueApiKey, PREFIX_LENGTH } from './format.js';

test('a key is wrk_, 8 public and 32 secret letters or digits; the store gets its prefix and SHA-256', () => {
  const { key, prefix, hash } = issueApiKey();
  assert.match(key, /^wrk_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}$/);
  assert.equal(prefix, key.slice(0, PREFIX_LENGTH));
  assert.ok(isApiKeyPrefix(prefix));
  assert.equal(hash, createHash('sha256').update(key).digest('hex'));
  assert.deepEqual(digestApiKey(key), Buffer.from(hash, 'hex'));
  assert.equal(apiKeyPrefix(key), prefix);
});

test('keys do not repeat and use the whole alphabet', () => {
  const keys = Array.from({ length: 2000 }, () => issueApiKey().key);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(new Set(keys.map((k) => k.slice(4, 12))).size, keys.length, 'prefixes are unique too');
  const seen = new Set(keys.join('').replace(/wrk_|_/g, ''));
  assert.equal(seen.size, 62);
});

test('anything but a well-formed key has no prefix', () => {
  const { key } = issueApiKey();
  for (const bad of ['', 'wrk_', key.slice(0, -1), `${key}x`, key.replace('wrk_', 'wrx_'), key.replace(/_(?=[^_]*$)/, '-'), `${key.slice(0, -1)}!`, ` ${key.slice(1)}`]) {
    assert.equal(apiKeyPrefix(bad), undefined, bad);
  }
  assert.equal(isApiKeyPrefix(key), false);
  assert.equal(isApiKeyPrefix('wrk_abc'), false);
});
