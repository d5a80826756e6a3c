import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rfc4514, subjectAltNames } from './client-certificate.js';

test("Node's subjectAltName text splits into typed names, quoted ones decoded", () => {
  assert.deepEqual(subjectAltNames('DNS:a.example, URI:spiffe://x/a, IP Address:10.0.0.1'), [['DNS', 'a.example'], ['URI', 'spiffe://x/a'], ['IP Address', '10.0.0.1']]);
  // A comma inside a name is escaped by Node, so it cannot pose as a second name.
  assert.deepEqual(subjectAltNames('URI:"spiffe://a/b;c\\u002c DNS:evil.example", DNS:x.example'), [['URI', 'spiffe://a/b;c, DNS:evil.example'], ['DNS', 'x.example']]);
  assert.deepEqual(subjectAltNames(''), []);
});

test('the subject reads most specific first, RFC 4514 escapes kept', () => {
  assert.equal(rfc4514('C=DE\nO=Acme\\, Inc.\nCN=alice'), 'CN=alice,O=Acme\\, Inc.,C=DE');
  assert.equal(rfc4514(''), '');
});
