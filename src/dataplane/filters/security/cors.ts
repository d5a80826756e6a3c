//! SecurityPolicy `cors`: answers preflight requests itself and adds the CORS response headers to
//! the backend's answers for allowed origins (Fetch standard, "CORS protocol"). A request without
//! Origin is not a cross-origin browser request and passes untouched.

import { durationMs } from '../../../config/translate/durations.js';
import type { CORSSpec } from '../../../config/schema/security/cors.js';
import type { Filter, LocalResponse } from '../filter.js';

type OriginTest = (origin: string) => boolean;

function originTest(allow: readonly string[]): OriginTest {
  if (allow.includes('*')) return () => true;
  const exact = new Set(allow.filter((o) => !o.includes('*')).map((o) => o.toLowerCase()));
  const wildcards = allow.filter((o) => o.includes('*')).map((o) => {
    const [scheme, rest] = o.toLowerCase().split('://*.');
    return { prefix: `${scheme}://`, suffix: `.${rest}` };
  });
  return (origin) => {
    const o = origin.toLowerCase();
    if (exact.has(o)) return true;
    return wildcards.some((w) => o.startsWith(w.prefix) && o.endsWith(w.suffix) && o.length > w.prefix.length + w.suffix.length);
  };
}

export function corsFilter(spec: CORSSpec): Filter {
  const allowed = originTest(spec.allowOrigins ?? []);
  const anyOrigin = (spec.allowOrigins ?? []).includes('*') && spec.allowCredentials !== true;
  const methods = (spec.allowMethods ?? []).join(', ');
  const allowHeaders = (spec.allowHeaders ?? []).join(', ');
  const expose = (spec.exposeHeaders ?? []).join(', ');
  const maxAge = spec.maxAge !== undefined ? String(Math.floor(durationMs(spec.maxAge) / 1000)) : undefined;
  // A credentialed request may not be answered with "*" (Fetch standard), so the origin is echoed and caches must vary on it.
  const allowOrigin = (origin: string): [string, string][] => (anyOrigin ? [['access-control-allow-origin', '*']]
    : [['access-control-allow-origin', origin], ['vary', 'Origin']]);
  const credentials: [string, string][] = spec.allowCredentials === true ? [['access-control-allow-credentials', 'true']] : [];
  const notAllowed: LocalResponse = { status: 200, headers: [['vary', 'Origin']] };

  return {
    name: 'CORS',
    onLocalAnswers: true,
    onRequest(req) {
      if (req.method !== 'OPTIONS') return undefined;
      const origin = req.headers.get('origin');
      const requested = req.headers.get('access-control-request-method');
      if (origin === undefined || requested === undefined) return undefined;
      // A preflight for an origin that is not allowed is answered without permission; the browser then refuses the call.
      if (!allowed(origin)) return notAllowed;
      const headers: [string, string][] = [...allowOrigin(origin), ...credentials];
      // "*" is taken literally by browsers on a credentialed request (Fetch standard), so the method asked for is named instead.
      if (methods === '*' && spec.allowCredentials === true) headers.push(['access-control-allow-methods', requested]);
      else if (methods !== '') headers.push(['access-control-allow-methods', methods]);
      const requestedHeaders = req.headers.get('access-control-request-headers');
      if (allowHeaders === '*' && requestedHeaders !== undefined && spec.allowCredentials === true) headers.push(['access-control-allow-headers', requestedHeaders]);
      else if (allowHeaders !== '') headers.push(['access-control-allow-headers', allowHeaders]);
      if (maxAge !== undefined) headers.push(['access-control-max-age', maxAge]);
      return { status: 200, headers };
    },
    onResponse(res, req) {
      const origin = req.headers.get('origin');
      if (origin === undefined || !allowed(origin)) return;
      for (const [k, v] of allowOrigin(origin)) {
        if (k === 'vary') res.headers.add(k, v);
        else res.headers.set(k, v);
      }
      for (const [k, v] of credentials) res.headers.set(k, v);
      if (expose !== '') res.headers.set('access-control-expose-headers', expose);
    },
  };
}
