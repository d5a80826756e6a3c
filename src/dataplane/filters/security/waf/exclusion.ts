//! Exclusion targets: which values a rule (or every rule) leaves alone on a policy's routes, written
//! as the names the WAF log gives them: `path`, `arg:q`, `cookie:session`, `header:referer`,
//! `method`, `body`, or a bare `arg`, `cookie`, `header` for all of that kind. An argument's or a
//! cookie's exclusion covers its name as well as its value.

import type { TargetKind } from './subject.js';

export interface Selector {
  readonly kind: TargetKind;
  /** Unset: every target of the kind. */
  readonly name?: string;
}

const NAMED = new Set(['arg', 'cookie', 'header']);
const BARE = new Set(['path', 'arg', 'cookie', 'header', 'method', 'body']);

/** The selector `text` writes, or undefined when it is not one. */
export function parseSelector(text: string): Selector | undefined {
  const colon = text.indexOf(':');
  if (colon < 0) return BARE.has(text) ? { kind: text as TargetKind } : undefined;
  const kind = text.slice(0, colon);
  const name = text.slice(colon + 1);
  if (!NAMED.has(kind) || name === '') return undefined;
  // Header names are case-insensitive and the WAF sees them lowercase.
  return { kind: kind as TargetKind, name: kind === 'header' ? name.toLowerCase() : name };
}

/** Whether `sel` covers the value of kind `kind` named `name`. */
export function covers(sel: Selector, kind: TargetKind, name: string): boolean {
  const sameKind = sel.kind === kind || (sel.kind === 'arg' && kind === 'argname') || (sel.kind === 'cookie' && kind === 'cookiename');
  return sameKind && (sel.name === undefined || sel.name === name);
}

export function coveredByAny(sels: readonly Selector[], kind: TargetKind, name: string): boolean {
  for (let i = 0; i < sels.length; i++) if (covers(sels[i], kind, name)) return true;
  return false;
}
