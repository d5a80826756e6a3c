//! Request path normalization, applied before routing and to what is forwarded, so windrose and
//! the backend always agree on which resource was asked for: `/public/..%2fadmin` is `/admin` to
//! both, and is matched (and guarded) as `/admin`.
//!
//! - Percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2): `%2e` is `.`.
//! - Encoded slashes (`%2F`, and `%5C`, a separator to Windows backends) are decoded to `/`, as
//!   Envoy's UNESCAPE_AND_FORWARD: a backend that decodes them itself would otherwise see a path
//!   windrose never matched.
//! - Runs of slashes are merged (Envoy's merge_slashes) and dot segments removed (RFC 3986 §5.2.4).
//! - Refused outright: malformed escapes, an encoded NUL, and `.`/`..` segments carrying
//!   parameters (`/..;/`), which some servers resolve as dot segments.
//! Other escapes are kept, with their hex digits uppercased (RFC 3986 §6.2.2.1).

/** The normalized path, or a reason to refuse the request with 400. */
export type NormalizedPath = { readonly path: string } | { readonly problem: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Whether anything below could change the path: an escape, an empty segment, or a dot segment. */
function needsWork(path: string): boolean {
  return path.includes('%') || path.includes('//') || path.includes('/.');
}

function decodeEscapes(path: string): string | undefined {
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', from)) {
    const h = hex(path.charCodeAt(i + 1));
    const l = hex(path.charCodeAt(i + 2));
    if (h < 0 || l < 0) return undefined;
    const code = h * 16 + l;
    if (code === 0) return undefined;
    const ch = String.fromCharCode(code);
    out += path.slice(from, i);
    if (code === 0x2f || code === 0x5c) out += '/';
    else if (UNRESERVED.test(ch)) out += ch;
    else out += `%${path.slice(i + 1, i + 3).toUpperCase()}`;
    from = i + 3;
  }
  return out + path.slice(from);
}

export function normalizePath(path: string): NormalizedPath {
  if (!needsWork(path)) return { path };
  const decoded = decodeEscapes(path);
  if (decoded === undefined) return { problem: 'the request path has a malformed or NUL percent-escape' };
  const out: string[] = [];
  const segments = decoded.split('/');
  // segments[0] is the empty string before the leading slash.
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if (s === '' && !last) continue;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      // A path ending in a dot segment names the directory: "/a/b/.." is "/a/".
      if (last) out.push('');
      continue;
    }
    if (s.startsWith('.;') || s.startsWith('..;')) return { problem: 'the request path has a dot segment with parameters' };
    out.push(s);
  }
  return { path: `/${out.join('/')}` };
}
