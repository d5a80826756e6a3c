//! HTTP calls to identity providers (discovery, introspection, token endpoint): one
//! keep-alive agent per process, a deadline on every call, and answers read up to a bound.

import type { Dispatcher } from 'undici';
import { sideCalls } from '../side-calls.js';

/** Discovery documents, key sets and token answers are small; anything larger is not one. */
const MAX_ANSWER_BYTES = 256 * 1024;

/** At most this many connections to one provider, so a flood of unknown tokens queues at the gateway instead of at the provider. */
const CONNECTIONS_PER_ORIGIN = 32;

let agent: Dispatcher | undefined;

/** A request through the keep-alive agent every call to an identity provider (and a JWKS fetch) goes through. */
export async function idpRequest(opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  const { request, Agent } = await sideCalls();
  agent ??= new Agent({ connections: CONNECTIONS_PER_ORIGIN, keepAliveTimeout: 30_000 });
  return request(agent, opts);
}

/** The provider could not be reached, did not answer in time, or sent more than an answer can be. Its message is for logs. */
export class IdPUnavailable extends Error {}

export interface IdPCall {
  readonly url: string;
  /** A form body (POST); GET when absent. */
  readonly form?: Readonly<Record<string, string>>;
  /** A ready Authorization header value (see basicCredentials). */
  readonly authorization?: string;
  readonly timeoutMs: number;
}

export interface IdPAnswer {
  readonly status: number;
  /** The parsed JSON body, or undefined when the body was not JSON. */
  readonly json: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** RFC 6749 section 2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
export function basicCredentials(id: string, secret: string): string {
  const enc = (s: string) => new URLSearchParams([['', s]]).toString().slice(1);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

async function readBounded(body: Dispatcher.ResponseData['body'], url: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      throw new IdPUnavailable(`${url} answered more than ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function callIdP(call: IdPCall): Promise<IdPAnswer> {
  const url = new URL(call.url);
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'windrose' };
  let body: string | undefined;
  if (call.form !== undefined) {
    body = new URLSearchParams(call.form as Record<string, string>).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (call.authorization !== undefined) headers.authorization = call.authorization;
  const where = `${url.origin}${url.pathname}`;
  let text: string;
  let res: Dispatcher.ResponseData;
  try {
    res = await idpRequest({
      origin: url.origin, path: `${url.pathname}${url.search}`, method: body === undefined ? 'GET' : 'POST', headers, body,
      signal: AbortSignal.timeout(call.timeoutMs), headersTimeout: call.timeoutMs, bodyTimeout: call.timeoutMs,
    });
    text = await readBounded(res.body, where);
  } catch (err) {
    if (err instanceof IdPUnavailable) throw err;
    const e = err as Error;
    throw new IdPUnavailable(e.name === 'TimeoutError' || e.name === 'AbortError' ? `${where} did not answer within ${call.timeoutMs}ms` : `${where}: ${e.message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, json, headers: res.headers };
}
