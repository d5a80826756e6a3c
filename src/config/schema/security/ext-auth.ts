//! SecurityPolicy `extAuth`: Envoy's ext_authz over HTTP, in Envoy Gateway's shape. Each request's
//! method, path and chosen headers (no body) go to an authorization service; a 2xx answer lets the
//! request through, any other answer is passed back to the client.

import type { z } from 'zod';
import { duration, FRAMING_HEADERS, headerName } from '../formats.js';
import { durationMs } from '../../translate/durations.js';
import { bool, list, show, strict, string } from '../primitives.js';

export interface ExtAuthSpec {
  readonly http: {
    /** The service's origin: http(s)://host[:port], no path. */
    readonly url: string;
    /** Put before the request's own path: "/authz" sends GET /orders/1 as GET /authz/orders/1. */
    readonly path?: string;
    /** Headers of an allowing answer copied to the request sent upstream; a value the client sent in them is dropped. */
    readonly headersToBackend?: readonly string[];
  };
  /** Request headers sent to the service besides `Authorization`, which always is. */
  readonly headersToExtAuth?: readonly string[];
  /** How long the service may take to answer (default 200ms, Envoy's ext_authz default). */
  readonly timeout?: string;
  /** Let requests through when the service cannot be reached, times out or fails (5xx); default false. */
  readonly failOpen?: boolean;
}

/** Headers that describe one hop's connection or framing: never copied between requests. */
const forwardable = headerName.superRefine((v, ctx) => {
  if (FRAMING_HEADERS.has(v.toLowerCase())) ctx.addIssue({ code: 'custom', message: `${show(v)} describes one connection and is never copied between requests` });
});

const timeout = duration.superRefine((v, ctx) => {
  if (durationMs(v) === 0) ctx.addIssue({ code: 'custom', message: 'must be more than 0s' });
});

function urlProblem(v: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return `invalid URL ${show(v)}: expected http://host[:port] or https://host[:port]`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `invalid URL ${show(v)}: expected an http:// or https:// URL`;
  if (url.username !== '' || url.password !== '') return `invalid URL ${show(v)}: credentials in the URL are not allowed`;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return `invalid URL ${show(v)}: expected no path or query; put the path prefix in "path"`;
  return undefined;
}

const PATH_RE = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

export const extAuthSpec: z.ZodType<ExtAuthSpec> = strict({
  http: strict({
    url: string({ min: 1, max: 2048, format: urlProblem }),
    path: string({ min: 1, max: 1024, format: (v) => (PATH_RE.test(v) ? undefined : `invalid path ${show(v)}: expected an absolute path such as "/authz", without query`) }).optional(),
    headersToBackend: list(forwardable, { min: 1, max: 32 }).optional(),
  }),
  headersToExtAuth: list(forwardable, { min: 1, max: 64 }).optional(),
  timeout: timeout.optional(),
  failOpen: bool.optional(),
});
