//! Query-string reading for HTTPQueryParamMatch.

/**
 * Percent-decodes (RFC 3986) a query component. '+' is left as '+': Gateway API matches URI
 * query parameters, not HTML form data, so only %XX escapes carry meaning. Malformed escapes
 * (e.g. "%zz", or bytes that are not UTF-8) are compared as written rather than failing the
 * request. Strings without '%' are returned as they are, without allocating.
 */
export function decodeQueryComponent(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The first value of each parameter named in `wanted`, keyed by decoded name. Parameters no
 * route asks about are skipped without decoding their values. A parameter without '=' has
 * the value "". Only '&' separates parameters (as in the WHATWG URL standard).
 */
export function readQueryParams(query: string, wanted: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  // The next '=' is remembered across parameters so that "a&b&c&…" without any '=' is still
  // read in one pass rather than rescanning the rest of the string for every parameter.
  let eq = -1;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (end > start) {
      if (eq !== query.length && eq < start) {
        eq = query.indexOf('=', start);
        if (eq === -1) eq = query.length;
      }
      const nameEnd = eq < end ? eq : end;
      const name = decodeQueryComponent(query.slice(start, nameEnd));
      if (wanted.has(name) && !found.has(name)) {
        found.set(name, nameEnd === end ? '' : decodeQueryComponent(query.slice(nameEnd + 1, end)));
        if (found.size === wanted.size) break;
      }
    }
    start = end + 1;
  }
  return found;
}
