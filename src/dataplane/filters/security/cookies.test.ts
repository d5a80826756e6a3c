import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeaderList } from '../../headers.js';
import { cookieValue, removeCookies, setCookie } from './cookies.js';

test('a cookie is found in any cookie field, quoted or not, and names match exactly', () => {
  // HTTP/2 clients may send one cookie field per cookie (RFC 9113 section 8.2.3).
  const h = new HeaderList(['cookie', 'a=1; session=abc.def', 'cookie', 'q="quoted"', 'x-other', 'session=no']);
  assert.equal(cookieValue(h, 'session'), 'abc.def');
  assert.equal(cookieValue(h, 'q'), 'quoted');
  assert.equal(cookieValue(h, 'sess'), undefined);
  assert.equal(cookieValue(h, 'x-other'), undefined);
  assert.equal(cookieValue(new HeaderList([]), 'a'), undefined);
});

test('removeCookies keeps the others in one field, and drops the field when none is left', () => {
  const h = new HeaderList(['cookie', 'a=1; windrose-session=x', 'accept', '*/*', 'cookie', 'windrose-login-abc=y; b=2']);
  removeCookies(h, (n) => n === 'windrose-session' || n.startsWith('windrose-login-'));
  assert.deepEqual(h.raw, ['accept', '*/*', 'cookie', 'a=1; b=2']);
  const only = new HeaderList(['cookie', 'windrose-session=x']);
  removeCookies(only, (n) => n === 'windrose-session');
  assert.deepEqual(only.raw, []);
});

test('Set-Cookie values are HttpOnly and SameSite=Lax, with Domain and Secure when asked', () => {
  assert.equal(setCookie('s', 'v', { path: '/', secure: false, maxAge: 60 }), 's=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax');
  assert.equal(setCookie('s', '', { path: '/', domain: 'shop.example', secure: true, maxAge: 0 }), 's=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Domain=shop.example; Secure');
});
