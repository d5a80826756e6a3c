//! One inspected value (a query argument, a cookie, a header, a JSON string…) in the forms the rules
//! match: the decoded text, its SQL and shell normalizations (built only when a rule asks), and a
//! bitmask of the punctuation it holds, so a rule that needs a quote is skipped at once without one.

import { decode } from './decode.js';

/** Where a value sits in the request; rules name the slots they inspect. */
export type Slot = 'path' | 'query' | 'query-name' | 'form' | 'form-name' | 'json' | 'json-key' | 'cookie' | 'cookie-name' | 'header';

/** How a target is named in logs and exclusions: `path`, `arg:q`, `argname:q`, `cookie:sid`, `cookiename:sid`, `header:referer`. */
export type TargetKind = 'path' | 'arg' | 'argname' | 'cookie' | 'cookiename' | 'header' | 'method' | 'body';

export const KIND_OF_SLOT: Readonly<Record<Slot, TargetKind>> = {
  path: 'path', query: 'arg', 'query-name': 'argname', form: 'arg', 'form-name': 'argname', json: 'arg', 'json-key': 'argname',
  cookie: 'cookie', 'cookie-name': 'cookiename', header: 'header',
};

const URL_ENCODED: Readonly<Record<Slot, boolean>> = {
  path: true, query: true, 'query-name': true, form: true, 'form-name': true, json: false, 'json-key': false,
  cookie: true, 'cookie-name': true, header: false,
};
const PLUS_IS_SPACE: Readonly<Record<Slot, boolean>> = {
  path: false, query: true, 'query-name': true, form: true, 'form-name': true, json: false, 'json-key': false,
  cookie: false, 'cookie-name': false, header: false,
};

/** The characters a rule can require, each with its bit; paired brackets share one. */
const MASK_CHARS = ['\'', '"', '`', ';', '()', '<>', '=', '-', '#', '/', '\\', '.', ':', '|', '&', '$', '{}', '*', ',', '@', '%', '[]', '!', '?', '+', '_', ' \t', '\r\n', '~^'];
const BIT = new Uint32Array(128);
MASK_CHARS.forEach((chars, i) => {
  for (const c of chars) BIT[c.charCodeAt(0)] = 1 << i;
});

/** The bits of `chars`, for a rule's pre-check. */
export function maskOf(chars: string): number {
  let m = 0;
  for (let i = 0; i < chars.length; i++) {
    const c = chars.charCodeAt(i);
    if (c >= 128 || BIT[c] === 0) throw new Error(`no mask bit for ${JSON.stringify(chars[i])}`);
    m |= BIT[c];
  }
  return m;
}

function maskOfText(s: string): number {
  let m = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) m |= BIT[c];
  }
  return m;
}

/**
 * SQL as a database reads it: comments are whitespace (MySQL's executable comments /*!50000 … *\/
 * keep their content), and runs of whitespace are one space.
 */
export function sqlForm(text: string): string {
  const s = text.includes('/*') || text.includes('*/') ? withoutComments(text) : text;
  return s.replace(/[\s\u00a0]+/g, ' ');
}

/** Comments as spaces, in one pass (a regex would rescan from every unclosed "/*"). */
function withoutComments(text: string): string {
  let out = '';
  let from = 0;
  for (let open = text.indexOf('/*'); open >= 0; open = text.indexOf('/*', from)) {
    const close = text.indexOf('*/', open + 2);
    if (close < 0) break;
    const body = text.slice(open + 2, close);
    out += `${text.slice(from, open)} ${body.startsWith('!') ? body.replace(/^!\d*/, '') : ''} `;
    from = close + 2;
  }
  return (out + text.slice(from)).replaceAll('*/', ' ');
}

/**
 * A command line as a shell reads it: quotes and backslashes inside words vanish (c'a't, w\ho\am\i
 * are cat and whoami), $IFS and friends are spaces, cmd.exe's ^ escape is dropped; line
 * breaks stay, since a shell reads them as separators.
 */
export function shellForm(text: string): string {
  return text.replace(/\$\{?ifs(?:%[^}\s]{0,8})?\}?/g, ' ').replace(/\$@|[\\'"^]/g, '').replace(/[ \t\u00a0]+/g, ' ');
}

export class Subject {
  private sqlText: string | undefined;
  private shellText: string | undefined;
  readonly text: string;
  readonly flags: number;
  readonly mask: number;

  constructor(readonly slot: Slot, readonly name: string, raw: string) {
    const d = decode(raw, URL_ENCODED[slot], PLUS_IS_SPACE[slot]);
    this.text = d.text;
    this.flags = d.flags;
    this.mask = maskOfText(d.text);
  }

  get sql(): string {
    return (this.sqlText ??= sqlForm(this.text));
  }

  get shell(): string {
    return (this.shellText ??= shellForm(this.text));
  }

  /** `arg:q`, `header:referer`, `path`: how logs and exclusions name this value. */
  get target(): string {
    const kind = KIND_OF_SLOT[this.slot];
    return kind === 'path' ? kind : `${kind}:${this.name}`;
  }
}
