import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompactEncrypt } from 'jose';
import { deriveKey, sealer } from './seal.js';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const later = () => Math.floor(Date.now() / 1000) + 600;

test('a sealed payload opens with the same secret and purpose, and reads as nothing in the clear', async () => {
  const s = sealer(secret, 'test');
  const value = await s.seal({ c: { sub: 'alice', email: 'alice@example.test' } }, 'session', later());
  const parts = value.split('.');
  assert.equal(parts.length, 5);
  assert.deepEqual(JSON.parse(Buffer.from(parts[0], 'base64url').toString()), { alg: 'dir', enc: 'A256GCM', typ: 'session' });
  assert.ok(!value.includes(Buffer.from('alice').toString('base64url')));
  const opened = await s.open(value, 'session');
  assert.deepEqual(opened?.c, { sub: 'alice', email: 'alice@example.test' });
  assert.notEqual(await s.seal({ c: 1 }, 'session', later()), await s.seal({ c: 1 }, 'session', later()), 'a fresh IV each time');
});

test('altered, foreign, repurposed and expired values do not open', async () => {
  const s = sealer(secret, 'test');
  const value = await s.seal({ c: { sub: 'alice' } }, 'session', later());
  const parts = value.split('.');
  for (const i of [0, 2, 3, 4]) {
    const p = [...parts];
    p[i] = p[i].charAt(0) === 'A' ? `B${p[i].slice(1)}` : `A${p[i].slice(1)}`;
    assert.equal(await s.open(p.join('.'), 'session'), undefined, `part ${i} altered`);
  }
  assert.equal(await s.open(value, 'login'), undefined, 'sealed for another purpose');
  assert.equal(await sealer(secret, 'other issuer').open(value, 'session'), undefined, 'another configuration derives another key');
  assert.equal(await sealer(Buffer.from('another secret of thirty-two bytes!'), 'test').open(value, 'session'), undefined);
  const expired = await s.seal({ c: {} }, 'session', Math.floor(Date.now() / 1000) - 1);
  assert.equal(await s.open(expired, 'session'), undefined);
  assert.equal(await s.open('garbage', 'session'), undefined);
  assert.equal(await s.open('a.b.c.d.e', 'session'), undefined, 'a JWE with an encrypted key is not ours');
});

test('a value without exp does not open, even with the right key', async () => {
  const key = deriveKey(secret, 'test');
  const noExp = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ c: { sub: 'x' } })))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'session' }).encrypt(key);
  assert.equal(await sealer(secret, 'test').open(noExp, 'session'), undefined);
});

test('the key is HKDF-SHA256 of the secret: 256 bits, stable, separated by info', () => {
  const k = deriveKey(secret, 'a');
  assert.equal(k.length, 32);
  assert.deepEqual(deriveKey(secret, 'a'), k);
  assert.notDeepEqual(deriveKey(secret, 'b'), k);
});
