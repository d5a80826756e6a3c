//! RequestRedirect: answers with a Location built from the request and the filter, per Gateway API rules
//! for deriving the port (well-known port of the scheme, else the listener's) and omitting default ports.

import type { HTTPRequestRedirectFilter } from '../../../config/resources.js';
import type { Filter } from '../filter.js';
import { compilePathModifier } from './path.js';

const WELL_KNOWN: Readonly<Record<string, number>> = { http: 80, https: 443 };

function hostWithoutPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.indexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

export function requestRedirect(spec: HTTPRequestRedirectFilter, listenerPort: number): Filter {
  const status = spec.statusCode ?? 302;
  const replacePath = spec.path ? compilePathModifier(spec.path) : undefined;
  return {
    name: 'RequestRedirect',
    onRequest(req) {
      const scheme = spec.scheme ?? req.scheme;
      const port = spec.port ?? (spec.scheme !== undefined ? (WELL_KNOWN[spec.scheme] ?? listenerPort) : listenerPort);
      const host = spec.hostname ?? hostWithoutPort(req.authority);
      const showPort = WELL_KNOWN[scheme] !== port;
      const path = replacePath ? replacePath(req.path, req.matchedPrefix) : req.path;
      const location = `${scheme}://${host}${showPort ? `:${port}` : ''}${path}${req.query ? `?${req.query}` : ''}`;
      return { status, headers: [['location', location]] };
    },
  };
}
