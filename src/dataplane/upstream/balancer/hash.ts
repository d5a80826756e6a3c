//! MurmurHash3 (x86, 32-bit) for consistent hashing: fast, well mixed on short similar strings
//! (ring points differ only in a suffix), and computed over UTF-8 so any other MurmurHash3 gives the
//! same value for the same text.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function scramble(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

/** Folds one full 4-byte block into the running hash. */
function mix(h: number, block: number): number {
  h ^= scramble(block);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * The hash of `text`'s UTF-8 bytes as an unsigned 32-bit integer. The bytes are produced on the fly,
 * without encoding the string into a buffer, because this runs for every hashed request. A lone
 * surrogate counts as U+FFFD, as `TextEncoder` encodes it.
 */
export function murmur3(text: string, seed = 0): number {
  let h = seed | 0;
  /** Bytes waiting to be mixed, little-endian, and how many there are. */
  let block = 0;
  let filled = 0;
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x80) {
      block |= cp << (filled << 3);
      length++;
      if (++filled === 4) {
        h = mix(h, block);
        block = 0;
        filled = 0;
      }
      continue;
    }
    let bytes: number;
    let count: number;
    if (cp < 0x800) {
      bytes = (0xc0 | (cp >> 6)) | ((0x80 | (cp & 0x3f)) << 8);
      count = 2;
    } else {
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (cp <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          i++;
        } else {
          cp = 0xfffd;
        }
      }
      if (cp < 0x10000) {
        bytes = (0xe0 | (cp >> 12)) | ((0x80 | ((cp >> 6) & 0x3f)) << 8) | ((0x80 | (cp & 0x3f)) << 16);
        count = 3;
      } else {
        bytes = (0xf0 | (cp >> 18)) | ((0x80 | ((cp >> 12) & 0x3f)) << 8) | ((0x80 | ((cp >> 6) & 0x3f)) << 16) | ((0x80 | (cp & 0x3f)) << 24);
        count = 4;
      }
    }
    length += count;
    for (let b = 0; b < count; b++) {
      block |= ((bytes >>> (b << 3)) & 0xff) << (filled << 3);
      if (++filled === 4) {
        h = mix(h, block);
        block = 0;
        filled = 0;
      }
    }
  }
  if (filled > 0) h ^= scramble(block);
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
