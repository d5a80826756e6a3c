//! What the WAF inspects, and how each value is named: the path; query and form arguments (names
//! and values); cookies; the request headers a backend may read (not credentials, nor the framing
//! and content-negotiation headers whose syntax HTTP fixes and Node parses); and the string keys and
//! values of a JSON body, named by their dotted path without array indexes (`items.note`).

import type { HeaderList } from '../../../headers.js';
import { percentDecode } from './decode.js';
import type { Slot } from './subject.js';

/** Receives each value found, with the name logs and exclusions use for it. */
export interface ValueSink {
  value(slot: Slot, name: string, raw: string): void;
}

/**
 * Headers left out: credentials (authorization), the cookie header (inspected cookie by cookie),
 * and headers whose grammar a standard fixes and which Node, the hygiene checks or content
 * negotiation read before any backend: framing, host, accept-*, conditionals, W3C trace context,
 * browser-generated sec-*.
 */
const SKIPPED_HEADERS = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te',
  'upgrade', 'expect', 'accept', 'accept-encoding', 'accept-language', 'accept-charset', 'cache-control', 'pragma', 'if-match',
  'if-none-match', 'if-modified-since', 'if-unmodified-since', 'if-range', 'range', 'content-type', 'content-encoding',
  'traceparent', 'tracestate',
]);

/** Arguments of a query string or form body: `a=1&b=2`; names are decoded once for naming. */
export function urlArgs(text: string, sink: ValueSink, valueSlot: 'query' | 'form', nameSlot: 'query-name' | 'form-name'): void {
  if (text === '') return;
  let from = 0;
  // The next '=' at or after `from` (-1: none left), searched again only once passed, so a body of
  // segments without '=' costs one scan rather than one per segment.
  let eq = -2;
  while (from <= text.length) {
    let to = text.indexOf('&', from);
    if (to < 0) to = text.length;
    if (to > from) {
      if (eq !== -1 && eq < from) eq = text.indexOf('=', from);
      const hasValue = eq >= 0 && eq < to;
      const rawName = text.slice(from, hasValue ? eq : to);
      const name = percentDecode(rawName, true);
      if (rawName !== '') sink.value(nameSlot, name, rawName);
      if (hasValue && eq + 1 < to) sink.value(valueSlot, name, text.slice(eq + 1, to));
    }
    from = to + 1;
  }
}

/** Cookies from every cookie field (HTTP/2 may split them), `name=value; name2=value2`. */
export function cookies(headers: HeaderList, sink: ValueSink): void {
  const raw = headers.raw;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] !== 'cookie') continue;
    for (const pair of raw[i + 1].split(';')) {
      const eq = pair.indexOf('=');
      const name = (eq < 0 ? pair : pair.slice(0, eq)).trim();
      if (name !== '') sink.value('cookie-name', name, name);
      if (eq < 0) continue;
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (value !== '') sink.value('cookie', name, value);
    }
  }
}

export function headerValues(headers: HeaderList, sink: ValueSink): void {
  const raw = headers.raw;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (SKIPPED_HEADERS.has(name) || name.startsWith('sec-') || raw[i + 1] === '') continue;
    sink.value('header', name, raw[i + 1]);
  }
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Every string key and value of a parsed JSON document, iteratively, so no nesting depth can overflow the stack. */
export function jsonValues(root: Json, sink: ValueSink): void {
  const stack: [Json, string][] = [[root, '']];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, path] = top;
    if (typeof v === 'string') {
      if (v !== '') sink.value('json', path, v);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], path]);
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        const name = path === '' ? key : `${path}.${key}`;
        sink.value('json-key', name, key);
        stack.push([v[key], name]);
      }
    }
  }
}

/**
 * The string literals of a JSON text that does not parse (cut off at the inspection limit, or
 * malformed): what a lenient backend could still read, inspected as values named `(body)`. One
 * pass: a literal left open at a line break or the end is dropped and the scan goes on from there,
 * never back to the character after its quote (a regex would, and take seconds over 128 KiB of quotes).
 */
export function jsonLiterals(text: string, sink: ValueSink): void {
  let i = text.indexOf('"');
  while (i >= 0) {
    let j = i + 1;
    while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) return;
    if (text[j] === '\n') {
      i = text.indexOf('"', j + 1);
      continue;
    }
    const inner = text.slice(i + 1, j);
    let v: string;
    try {
      v = JSON.parse(`"${inner}"`) as string;
    } catch {
      v = inner;
    }
    if (v !== '') sink.value('json', '(body)', v);
    i = text.indexOf('"', j + 1);
  }
}

export function parseJson(text: string): { ok: true; value: Json } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as Json };
  } catch {
    return { ok: false };
  }
}
