import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { JoinTokenError, JoinTokens } from './join-token.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-join-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('a minted token proves its identity until it expires, and the secret is kept with mode 0600', () => {
  const dir = path.join(root, 'a');
  const tokens = JoinTokens.open(dir);
  assert.equal(fs.statSync(path.join(dir, 'join-token.key')).mode & 0o777, 0o600);
  const token = tokens.mint({ namespace: 'shop', serviceAccount: 'web' }, 60_000, 1_000);
  assert.deepEqual(tokens.verify(token, 2_000), { namespace: 'shop', serviceAccount: 'web' });
  // The same secret after a restart.
  assert.deepEqual(JoinTokens.open(dir).verify(token, 2_000), { namespace: 'shop', serviceAccount: 'web' });
  assert.throws(() => tokens.verify(token, 61_000), /expired/);
});

test('an altered, foreign or malformed token is refused', () => {
  const tokens = JoinTokens.open(path.join(root, 'b'));
  const token = tokens.mint({ namespace: 'shop', serviceAccount: 'web' }, 60_000);
  const [prefix, , mac] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ns: 'kube-system', sa: 'admin', exp: Date.now() + 60_000 })).toString('base64url');
  assert.throws(() => tokens.verify(`${prefix}.${forged}.${mac}`), JoinTokenError);
  assert.throws(() => JoinTokens.open(path.join(root, 'c')).verify(token), /signature/);
  for (const bad of ['', 'wrj1', 'wrj1.a', 'jwt.a.b', `${token}.x`]) assert.throws(() => tokens.verify(bad), JoinTokenError, bad);
});

test('identities must be Kubernetes names', () => {
  const tokens = JoinTokens.open(path.join(root, 'd'));
  assert.throws(() => tokens.mint({ namespace: 'Shop', serviceAccount: 'web' }, 1000), /namespace "Shop"/);
  assert.throws(() => tokens.mint({ namespace: 'shop', serviceAccount: 'web/../x' }, 1000), /service account/);
});
