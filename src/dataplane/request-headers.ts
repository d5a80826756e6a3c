//! Turns a downstream request's raw headers into the upstream header list: names lowercased,
//! hop-by-hop headers dropped (RFC 9110 §7.6.1, including those the Connection header names),
//! HTTP/2 pseudo-headers dropped, and the values windrose needs picked out on the way.

import type { ProxyRequest } from './filters/filter.js';
import { HeaderList } from './headers.js';

// "expect" is answered here (the server sends 100 Continue itself), so the backend never waits on it.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'http2-settings', 'expect']);

export interface DownstreamHeaders {
  readonly headers: HeaderList;
  readonly host: string;
  readonly requestId: string | undefined;
  readonly forwardedFor: string | undefined;
  /** The client asked for trailers (gRPC sends "te: trailers"); forwarded upstream as such. */
  readonly teTrailers: boolean;
  /** How many Host header fields the head carried (pseudo-header :authority not counted). */
  readonly hostFields: number;
  /** Content-Length as sent (Node's parser has already refused conflicting values). */
  readonly contentLength: string | undefined;
  /** The head had a Transfer-Encoding (HTTP/1.1 chunked body). */
  readonly transferEncoding: boolean;
  /** How many header fields the head carried, pseudo-headers not counted. */
  readonly count: number;
}

export function readRequestHeaders(rawHeaders: readonly string[]): DownstreamHeaders {
  const out: string[] = [];
  let host = '';
  let requestId: string | undefined;
  let forwardedFor: string | undefined;
  let connection: string | undefined;
  let teTrailers = false;
  let hostFields = 0;
  let contentLength: string | undefined;
  let transferEncoding = false;
  let count = rawHeaders.length / 2;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i];
    if (raw.charCodeAt(0) === 58 /* ':' */) {
      if (raw === ':authority') host = rawHeaders[i + 1];
      count--;
      continue;
    }
    const name = raw.toLowerCase();
    const value = rawHeaders[i + 1];
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
      else if (name === 'te' && /(^|,)\s*trailers\s*(;|,|$)/i.test(value)) teTrailers = true;
      else if (name === 'transfer-encoding') transferEncoding = true;
      continue;
    }
    switch (name) {
      case 'host': hostFields++; if (host === '') host = value; break;
      case 'x-request-id': requestId = value; break;
      case 'content-length': contentLength = value; break;
      case 'x-forwarded-for': forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`; continue;
    }
    out.push(name, value);
  }
  const headers = new HeaderList(out);
  if (connection !== undefined) {
    for (const token of connection.split(',')) {
      const t = token.trim().toLowerCase();
      if (t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade') headers.remove(t);
    }
  }
  return { headers, host, requestId, forwardedFor, teTrailers, hostFields, contentLength, transferEncoding, count };
}

/**
 * The headers windrose adds on the way upstream, for proxied requests and upgrades alike:
 * the forwarding chain, the request id, and the host (the client's, or the one URLRewrite set).
 */
export function setForwardingHeaders(preq: ProxyRequest, down: DownstreamHeaders): void {
  const headers = preq.headers;
  const client = preq.clientAddress;
  headers.set('x-forwarded-for', down.forwardedFor ? `${down.forwardedFor}, ${client}` : client);
  headers.set('x-forwarded-proto', preq.scheme);
  headers.set('x-forwarded-host', down.host);
  headers.set('x-request-id', preq.requestId);
  headers.set('host', preq.authority);
  // As Envoy's default (SANITIZE, SANITIZE_SET on mesh inbound): a caller cannot claim an identity; a verified one is passed on.
  if (preq.peer !== undefined) headers.set('x-forwarded-client-cert', `URI=${preq.peer}`);
  else headers.remove('x-forwarded-client-cert');
}

/**
 * Why an HTTP/1.x request that Node's parser accepted must still be refused with 400, or undefined.
 * llhttp takes "HTTP/2.0" and HTTP/0.9 request lines on a cleartext port; windrose speaks only 1.0 and 1.1 there.
 * RFC 9112 §3.2: a request with several Host fields, or an HTTP/1.1 request with none, is answered 400,
 * so that windrose and the backend can never disagree on which host was meant.
 */
export function http1HeadProblem(major: number, minor: number, down: DownstreamHeaders): string | undefined {
  if (major !== 1 || minor > 1) return `HTTP/${major}.${minor} is not supported on this connection`;
  if (down.hostFields > 1) return 'the request has more than one Host header';
  if (down.hostFields === 0 && minor === 1) return 'an HTTP/1.1 request must have a Host header';
  return undefined;
}

const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/** A response head as undici's raw name/value lines, into a flat lowercase list without hop-by-hop fields. */
export function readRawResponseHeaders(raw: readonly (Buffer | string)[]): HeaderList {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1').toLowerCase();
    if (RESPONSE_HOP_BY_HOP.has(name)) continue;
    out.push(name, raw[i + 1].toString('latin1'));
  }
  return new HeaderList(out);
}
