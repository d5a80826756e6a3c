import assert from 'node:assert/strict';
import { test } from 'node:test';
import { murmur3 } from './hash.js';

test('matches the published MurmurHash3 x86 32-bit vectors', () => {
  const vectors: [string, number, number][] = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['ab', 0x9747b28c, 0x74875592],
    ['abc', 0x9747b28c, 0xc84a62dd],
    ['abcd', 0x9747b28c, 0xf0478627],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0, 0xb3dd93fa],
    ['Hello, world!', 1234, 0xfaf6cdb3],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ];
  for (const [text, seed, expected] of vectors) assert.equal(murmur3(text, seed), expected, JSON.stringify(text));
});

test('hashes the UTF-8 bytes of non-ASCII text', () => {
  // Published vector: eight U+03C0, two bytes each in UTF-8.
  assert.equal(murmur3('ππππππππ', 0x9747b28c), 0xd58063c1);
  // Checked against an independent byte-wise implementation over the same UTF-8 bytes.
  assert.equal(murmur3('h€llo 😀 x'), 0xb004e9fa);
  assert.equal(murmur3('😀', 7), 0x1270fce0);
});

test('hashes a lone surrogate as U+FFFD, as TextEncoder encodes it', () => {
  assert.equal(murmur3('a\uD800b'), murmur3('a\uFFFDb'));
  assert.equal(murmur3('\uDC00'), murmur3('\uFFFD'));
});
