//! Path replacement shared by RequestRedirect and URLRewrite, per the Gateway API HTTPPathModifier rules.

import type { HTTPPathModifier } from '../../../config/resources.js';

export type PathReplacer = (path: string, matchedPrefix: string | undefined) => string;

export function compilePathModifier(modifier: HTTPPathModifier): PathReplacer {
  if (modifier.type === 'ReplaceFullPath') {
    const full = modifier.replaceFullPath ?? '/';
    return () => full;
  }
  const replacement = modifier.replacePrefixMatch ?? '/';
  return (path, matchedPrefix) => replacePrefix(path, matchedPrefix ?? '/', replacement);
}

/** Replaces the matched prefix element-wise: "/foo" -> "/" turns "/foo/bar" into "/bar", never "//bar". */
export function replacePrefix(path: string, prefix: string, replacement: string): string {
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const rest = path.slice(bare.length);
  if (rest === '' || rest === '/') {
    return replacement === '' ? '/' : rest === '/' && !replacement.endsWith('/') ? `${replacement}/` : replacement;
  }
  if (replacement.endsWith('/')) return replacement + rest.slice(1);
  return replacement + rest;
}
