//! The request target of a head, read the same way for ordinary requests and upgrades: the host
//! it is for, its normalized path (normalize-path.ts) and its raw query, or why it is refused.

import { normalizePath } from './normalize-path.js';

export type RequestTarget = { readonly host: string; readonly path: string; readonly query: string } | { readonly problem: string };

/**
 * `forwardProxy`: the port is a mesh sidecar's outbound one, where an HTTP_PROXY client names the
 * destination in an absolute-form target ("http://reviews:9080/x"), which wins over Host
 * (RFC 9112 3.2.2). Elsewhere only an origin-form target ("/x?y") is served.
 */
export function readRequestTarget(url: string, host: string, forwardProxy: boolean): RequestTarget {
  let target = url;
  if (forwardProxy && url.startsWith('http://')) {
    // The authority ends at the path or, when there is none, at the query.
    let end = 7;
    while (end < url.length && url[end] !== '/' && url[end] !== '?') end++;
    if (end > 7) host = url.slice(7, end);
    target = url[end] === '?' ? `/${url.slice(end)}` : url.slice(end) || '/';
  }
  if (target.charCodeAt(0) !== 47 /* '/' */) return { problem: 'the request target must be an absolute path' };
  const q = target.indexOf('?');
  const normalized = normalizePath(q < 0 ? target : target.slice(0, q));
  if ('problem' in normalized) return normalized;
  return { host, path: normalized.path, query: q < 0 ? '' : target.slice(q + 1) };
}
