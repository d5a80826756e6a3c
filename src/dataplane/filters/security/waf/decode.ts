//! Decoding before matching: what an attacker encoded, a backend may decode, so the rules see the
//! value after every decoding a backend is likely to apply — URL escapes (repeated, with IIS's %uXXXX
//! and overlong UTF-8), HTML entities, JavaScript escapes, NUL removal, Unicode compatibility forms
//! and lowercase — and the decoder reports the anomalies it met on the way as flags.

/** The value held a NUL byte (removed from the text). */
export const NUL = 1;
/** A '%' not followed by two hex digits in URL-encoded input. */
export const BAD_ESCAPE = 2;
/** IIS's non-standard %uXXXX escape. */
export const PERCENT_U = 4;
/** An overlong UTF-8 sequence (%c0%af for '/'), decoded to the character it disguises. */
export const OVERLONG = 8;
/** URL escapes that decoded to more URL escapes: double (or deeper) encoding. */
export const MULTI_ENCODED = 16;
/** A control character other than tab, CR and LF. */
export const CONTROL = 32;
/** A CR or LF. */
export const NEWLINE = 64;

export interface Decoded {
  /** Fully decoded, NUL-free, NFKC-normalized, lowercase. */
  readonly text: string;
  readonly flags: number;
}

/** Rounds of decoding; each round undoes one layer of URL, entity or escape encoding. */
const MAX_ROUNDS = 4;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

function hexAt(s: string, i: number, n: number): number {
  if (i + n > s.length) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const h = hexValue(s.charCodeAt(i + k));
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/** The smallest code point each sequence length may carry; anything below is overlong. */
const SHORTEST = [0, 0x80, 0x800, 0x10000];

/**
 * Bytes to text, leniently: invalid bytes become U+FFFD, and overlong forms decode to the code
 * point they spell, as the old IIS and Tomcat decoders that made them an attack did.
 */
function utf8(bytes: number[], out: { flags: number } | undefined): string {
  let s = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const need = b < 0x80 ? 0 : b >= 0xc0 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf8 ? 3 : -1;
    if (need < 0) {
      s += '\ufffd';
      i++;
      continue;
    }
    let cp = need === 0 ? b : b & (0x3f >> need);
    let ok = i + need < bytes.length;
    for (let k = 1; ok && k <= need; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (!ok) {
      s += '\ufffd';
      i++;
      continue;
    }
    if (need > 0 && cp < SHORTEST[need] && out !== undefined) out.flags |= OVERLONG;
    s += cp > 0x10ffff ? '\ufffd' : String.fromCodePoint(cp);
    i += need + 1;
  }
  return s;
}

/** One round of URL decoding; `plus` turns '+' into a space (form encoding, first round only); anomalies go to `out`. */
export function percentDecode(s: string, plus: boolean, out?: { flags: number }): string {
  if (!s.includes('%') && !(plus && s.includes('+'))) return s;
  let text = '';
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    text += utf8(bytes, out);
    bytes = [];
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */) {
      const byte = hexAt(s, i + 1, 2);
      if (byte >= 0) {
        bytes.push(byte);
        i += 2;
        continue;
      }
      if ((s.charCodeAt(i + 1) | 0x20) === 117 /* u */) {
        const unit = hexAt(s, i + 2, 4);
        if (unit >= 0) {
          if (out !== undefined) out.flags |= PERCENT_U;
          flush();
          text += String.fromCharCode(unit);
          i += 5;
          continue;
        }
      }
      if (out !== undefined) out.flags |= BAD_ESCAPE;
    }
    flush();
    text += plus && c === 43 /* + */ ? ' ' : s[i];
  }
  flush();
  return text;
}

/** The named entities that matter for matching: markup, quotes and the punctuation of code. */
const ENTITIES: Readonly<Record<string, string>> = {
  lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ', tab: '\t', newline: '\n', sol: '/', bsol: '\\',
  lpar: '(', rpar: ')', lsqb: '[', rsqb: ']', lbrack: '[', rbrack: ']', lcub: '{', rcub: '}', lbrace: '{', rbrace: '}',
  colon: ':', semi: ';', comma: ',', period: '.', excl: '!', quest: '?', num: '#', dollar: '$', percnt: '%',
  plus: '+', equals: '=', lowbar: '_', grave: '`', verbar: '|', vert: '|', hat: '^', commat: '@', ast: '*', midast: '*',
};
/** Browsers accept these without the closing ';'. */
const BARE = new Set(['lt', 'gt', 'amp', 'quot']);
const ENTITY_RE = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]{2,8}))(;?)/g;

function entityDecode(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY_RE, (whole, dec: string | undefined, hex: string | undefined, name: string | undefined, semi: string) => {
    if (name !== undefined) {
      const lower = name.toLowerCase();
      const v = ENTITIES[lower];
      return v !== undefined && (semi === ';' || BARE.has(lower)) ? v : whole;
    }
    const cp = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : cp === 0 ? '\0' : whole;
  });
}

const ESCAPE_RE = /\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))/g;

/** JavaScript and JSON escapes written out as text: \uXXXX, \u{X…}, \xXX. */
function escapeDecode(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(ESCAPE_RE, (whole, braced: string | undefined, u: string | undefined, x: string | undefined) => {
    const cp = parseInt(braced ?? u ?? x!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
  });
}

/** Lookalikes NFKC leaves alone but old Windows "best fit" decoders turned into path separators. */
const BEST_FIT: Readonly<Record<string, string>> = { '\u2215': '/', '\u2044': '/', '\u2216': '\\', '\u29f5': '\\', '\uff3c': '\\' };
const BEST_FIT_RE = /[\u2215\u2044\u2216\u29f5\uff3c]/g;
// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Decodes `raw` for matching. `urlEncoded`: the value came from a URL, a cookie or a form body, so
 * its first round of URL decoding is the transport's (with '+' as space when `plus`), and escapes
 * that still decode after it are double encoding.
 */
export function decode(raw: string, urlEncoded: boolean, plus = false): Decoded {
  const out = { flags: 0 };
  let s = raw;
  let percentRounds = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const before = out.flags;
    let next = percentDecode(s, plus && round === 0, out);
    // Only the transport's own round can hold a malformed escape; later a '%' is text, as in "100%" sent as "100%25".
    if (!urlEncoded || round > 0) out.flags = (out.flags & ~BAD_ESCAPE) | (before & BAD_ESCAPE);
    if (next !== s) percentRounds++;
    next = escapeDecode(entityDecode(next));
    if (next === s) break;
    s = next;
  }
  if (urlEncoded && percentRounds > 1) out.flags |= MULTI_ENCODED;
  let flags = out.flags;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 32 && c !== 127) continue;
    if (c === 0) flags |= NUL;
    else if (c === 10 || c === 13) flags |= NEWLINE;
    else if (c !== 9) flags |= CONTROL;
  }
  if ((flags & NUL) !== 0) s = s.replaceAll('\0', '');
  if (NON_ASCII.test(s)) s = s.normalize('NFKC').replace(BEST_FIT_RE, (c) => BEST_FIT[c]);
  return { text: s.toLowerCase(), flags };
}
