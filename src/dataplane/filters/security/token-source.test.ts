import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeaderList } from '../../headers.js';
import type { ProxyRequest } from '../filter.js';
import { claimHeaderWriter, tokenReader, wellFormedToken } from './token-source.js';

const req = (headers: string[], query = '') => ({ headers: new HeaderList(headers), query }) as unknown as ProxyRequest;

test('by default the token is the Authorization Bearer credential, whatever the scheme case', () => {
  const read = tokenReader();
  assert.equal(read(req(['authorization', 'Bearer abc.def'])), 'abc.def');
  assert.equal(read(req(['authorization', 'bearer  abc '])), 'abc');
  assert.equal(read(req(['authorization', 'Basic dXNlcjpwdw=='])), undefined);
  assert.equal(read(req(['authorization', 'Bearer '])), undefined);
  assert.equal(read(req([])), undefined);
});

test('extractFrom tries headers, then cookies, then query parameters', () => {
  const read = tokenReader({ headers: [{ name: 'X-Token' }], cookies: ['at'], params: ['access_token'] });
  assert.equal(read(req(['x-token', 't1', 'cookie', 'at=t2'], 'access_token=t3')), 't1');
  assert.equal(read(req(['cookie', 'other=1; at=t2'], 'access_token=t3')), 't2');
  assert.equal(read(req([], 'a=1&access_token=t%2B3')), 't+3');
  assert.equal(read(req([], 'access_token=%zz')), undefined, 'a broken escape is no token');
});

test('well-formed tokens are RFC 6750 b64token of bounded length', () => {
  assert.ok(wellFormedToken('abc-._~+/xyz=='));
  assert.ok(!wellFormedToken('two words'));
  assert.ok(!wellFormedToken('a,b'));
  assert.ok(!wellFormedToken('x'.repeat(9000)));
});

test('claims reach headers: nested, lists joined, absent removed, non-ASCII escaped, a client value replaced', () => {
  const write = claimHeaderWriter([
    { header: 'X-User', claim: 'sub' }, { header: 'x-roles', claim: 'realm_access.roles' }, { header: 'x-groups', claim: 'groups' },
    { header: 'x-name', claim: 'name' }, { header: 'x-tenant', claim: 'tenant' }, { header: 'x-odd', claim: 'toString' },
  ])!;
  const r = req(['x-user', 'mallory', 'x-tenant', 'forged']);
  write(r, { sub: 'alice', realm_access: { roles: ['admin', 'ops'] }, groups: ['a', 'b'], name: 'Zoë\r\nX: y' });
  assert.equal(r.headers.get('x-user'), 'alice');
  assert.equal(r.headers.get('x-roles'), 'admin,ops');
  assert.equal(r.headers.get('x-groups'), 'a,b');
  assert.equal(r.headers.get('x-name'), 'Zo%C3%AB%0D%0AX: y');
  assert.equal(r.headers.has('x-tenant'), false);
  assert.equal(r.headers.has('x-odd'), false, 'only the claims object itself, not its prototype');
  assert.equal(claimHeaderWriter([]), undefined);
});
