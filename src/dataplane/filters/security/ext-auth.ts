//! SecurityPolicy `extAuth`: asks an HTTP authorization service about each request, as Envoy's
//! ext_authz does. The service gets the method, the path with its query and the chosen headers,
//! never the body; 2xx lets the request through, 3xx and 4xx are passed back to the client, and
//! no answer in time (or a 5xx) lets it through or refuses it as `failOpen` says.
//! Connection pools live in a registry keyed by the service's origin, so reloads keep them warm.

import type { Dispatcher } from 'undici';
// Imported alone, as the upstream pools do: undici's index also loads fetch, WebSocket and caches
// (and adds request() to every dispatcher, which is why request comes from sideCalls here).
import Pool from 'undici/lib/dispatcher/pool.js';
import { publishSecurityEvent } from './events.js';
import { sideCalls } from './side-calls.js';
import { durationMs } from '../../../config/translate/durations.js';
import type { ExtAuthSpec } from '../../../config/schema/security/ext-auth.js';
import type { Filter, LocalResponse, ProxyRequest } from '../filter.js';

/** Envoy ext_authz's default timeout. */
const DEFAULT_TIMEOUT = '200ms';

/** Headers of a refusal that describe the authorization service's own connection or body, which windrose replaces. */
const NOT_PASSED_BACK = new Set([
  'connection', 'content-encoding', 'content-length', 'content-type', 'date', 'keep-alive', 'proxy-connection',
  'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'x-request-id',
]);

type AnswerHeaders = Dispatcher.ResponseData['headers'];

const pools = new Map<string, Pool>();

/** One pool per origin for the life of the process: bounded by the distinct services ever configured. */
function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (pool === undefined) {
    pool = new Pool(origin);
    pools.set(origin, pool);
  }
  return pool;
}

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The answer's headers a refused client gets: what the service said (WWW-Authenticate, Location, Set-Cookie…), without framing. */
function passedBack(headers: AnswerHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, v] of Object.entries(headers)) {
    if (NOT_PASSED_BACK.has(name)) continue;
    for (const value of values(v)) out.push([name, value]);
  }
  return out;
}

/** The client's refusal for a 3xx or 4xx answer: a redirect as it came, anything else as windrose's JSON error with the service's status. */
function refusal(status: number, headers: AnswerHeaders): LocalResponse {
  const extra = passedBack(headers);
  if (status < 400) return { status, headers: extra };
  if (status === 401) return { status, errorCode: 'unauthenticated', message: 'the authorization service did not accept the credentials', headers: extra };
  return { status, errorCode: 'access_denied', message: 'the authorization service denied the request', headers: extra };
}

export function extAuthFilter(spec: ExtAuthSpec, ctx: { readonly policy: string }): Filter {
  const pool = poolFor(new URL(spec.http.url).origin);
  const prefix = (spec.http.path ?? '').replace(/\/+$/, '');
  const toService = [...new Set(['authorization', ...(spec.headersToExtAuth ?? []).map((h) => h.toLowerCase())])];
  const toBackend = (spec.http.headersToBackend ?? []).map((h) => h.toLowerCase());
  const timeoutMs = durationMs(spec.timeout ?? DEFAULT_TIMEOUT);
  const failed: LocalResponse | undefined = spec.failOpen === true ? undefined
    : { status: 403, errorCode: 'ext_authz_failed', message: 'the authorization service could not decide on this request' };

  function checkHeaders(req: ProxyRequest): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of toService) {
      if (name === 'cookie') {
        // Cookie fields are joined with "; ", not the comma other repeated fields take (RFC 6265 section 5.4).
        const cookies: string[] = [];
        const raw = req.headers.raw;
        for (let i = 0; i < raw.length; i += 2) if (raw[i] === 'cookie') cookies.push(raw[i + 1]);
        if (cookies.length > 0) out.cookie = cookies.join('; ');
        continue;
      }
      const v = req.headers.get(name);
      if (v !== undefined) out[name] = v;
    }
    // Set last, so a client cannot pass itself off as another address or host through a listed header.
    out['x-forwarded-host'] = req.authority;
    out['x-forwarded-proto'] = req.scheme;
    out['x-forwarded-for'] = req.clientAddress;
    out['x-request-id'] = req.requestId;
    return out;
  }

  const report = (req: ProxyRequest, message: string) => publishSecurityEvent({ policy: ctx.policy, mechanism: 'extAuth', requestId: req.requestId, message });

  async function check(req: ProxyRequest): Promise<LocalResponse | undefined> {
    let answer: Dispatcher.ResponseData;
    try {
      const { request } = await sideCalls();
      answer = await request(pool, {
        method: req.method,
        path: `${prefix}${req.path}${req.query === '' ? '' : `?${req.query}`}`,
        headers: checkHeaders(req),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      // With failOpen the request goes on, so the log is the only place an unreachable service shows.
      report(req, `the authorization service did not answer: ${(err as Error).message}`);
      return failed;
    }
    // The decision is in the head; the body is drained without holding the request up.
    answer.body.dump().catch(() => undefined);
    const status = answer.statusCode;
    if (status >= 200 && status < 300) {
      for (const name of toBackend) {
        const v = values(answer.headers[name]);
        if (v.length > 0) req.headers.set(name, v.join(','));
      }
      return undefined;
    }
    // Envoy treats a 5xx from an HTTP authorization service like no answer at all.
    if (status >= 500 || status < 200) {
      report(req, `the authorization service answered ${status}`);
      return failed;
    }
    return refusal(status, answer.headers);
  }

  return {
    name: 'ExtAuth',
    onRequest(req) {
      // Headers for the backend only ever come from the authorization service, never from the client.
      for (const name of toBackend) req.headers.remove(name);
      return check(req);
    },
  };
}
