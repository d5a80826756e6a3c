import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BAD_ESCAPE, CONTROL, decode, MULTI_ENCODED, NEWLINE, NUL, OVERLONG, PERCENT_U } from './decode.js';

const text = (raw: string, urlEncoded = false, plus = false) => decode(raw, urlEncoded, plus).text;
const flags = (raw: string, urlEncoded = true) => decode(raw, urlEncoded).flags;

test('URL escapes are decoded round after round, and more than one round is double encoding', () => {
  assert.equal(text('%3Cscript%3E'), '<script>');
  assert.equal(text('%253Cscript%253E'), '<script>');
  assert.equal(text('%25253C'), '<');
  assert.equal(flags('%3C'), 0);
  assert.equal(flags('%253C') & MULTI_ENCODED, MULTI_ENCODED);
  assert.equal(text('caf%C3%A9'), 'café');
});

test("'+' is a space only in form encoding, and only in the transport's round", () => {
  assert.equal(text('a+b', true, true), 'a b');
  assert.equal(text('a+b', true, false), 'a+b');
  assert.equal(text('a%2Bb', true, true), 'a+b');
});

test("IIS %uXXXX escapes and overlong UTF-8 decode to what they disguise, and are flagged", () => {
  assert.equal(text('%u003Cscript%u003E'), '<script>');
  assert.equal(flags('%u0041') & PERCENT_U, PERCENT_U);
  assert.equal(text('..%c0%af..%c0%af'), '../../');
  assert.equal(text('%e0%80%ae'), '.');
  assert.equal(flags('%c0%ae') & OVERLONG, OVERLONG);
  assert.equal(flags('%c3%a9') & OVERLONG, 0);
});

test('a malformed escape is flagged only in URL-encoded input, and only as sent', () => {
  for (const bad of ['100%', '%zz', '%g1', 'a%2']) assert.equal(flags(bad) & BAD_ESCAPE, BAD_ESCAPE, bad);
  assert.equal(flags('100%25') & BAD_ESCAPE, 0, 'a % decoded from %25 is text');
  assert.equal(flags('50% off', false), 0, 'a % in JSON text is text');
  assert.equal(text('50% off'), '50% off');
});

test('HTML entities: named, decimal and hex, with or without the semicolon where browsers allow it', () => {
  assert.equal(text('&lt;img&gt;'), '<img>');
  assert.equal(text('&lt;img&gt'), '<img>');
  assert.equal(text('&#60;&#x3C;&#X3c'), '<<<');
  assert.equal(text('&#106;avascript&colon;'), 'javascript:');
  assert.equal(text('AT&T &mdash; R&D'), 'at&t &mdash; r&d', 'unknown names stay as written');
  assert.equal(text('&amp;lt;'), '<', 'an entity encoding an entity is decoded too');
});

test('JavaScript escapes written out as text', () => {
  assert.equal(text('\\u003cscript\\u003e'), '<script>');
  assert.equal(text('\\x3cimg\\x3e'), '<img>');
  assert.equal(text('\\u{3c}b'), '<b');
  assert.equal(text('C:\\Users\\me'), 'c:\\users\\me', 'backslashes that are no escape stay');
});

test('NUL is removed and flagged; control characters and line breaks are flagged', () => {
  const d = decode('ab%00cd', true);
  assert.equal(d.text, 'abcd');
  assert.equal(d.flags & NUL, NUL);
  assert.equal(flags('a%01b') & CONTROL, CONTROL);
  assert.equal(flags('a%0d%0ab') & (NEWLINE | CONTROL), NEWLINE);
  assert.equal(flags('a\tb', false), 0);
});

test('compatibility forms and best-fit lookalikes become the ASCII they imitate; text is lowercase', () => {
  assert.equal(text('＜SCRIPT＞'), '<script>');
  assert.equal(text('%uff0e%uff0e/'), '../');
  assert.equal(text('..\u2216..\u2215'), '..\\../');
  assert.equal(text('Ünïcode'), 'ünïcode');
});

test('decoding is bounded: deeply nested escapes stop after a few rounds', () => {
  let s = '<';
  for (let i = 0; i < 10; i++) s = encodeURIComponent(s);
  assert.notEqual(text(s), '<');
});
