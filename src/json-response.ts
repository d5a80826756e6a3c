//! JSON answers of windrose's own HTTP APIs (admin, control plane), outside the data plane's
//! error catalogue: the same `{"error": {code, message, requestId}}` shape clients already parse.

import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';

export function sendJson(res: ServerResponse | Http2ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An error of an API that has no request ids: `requestId` is empty. */
export function sendJsonError(res: ServerResponse | Http2ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message, requestId: '' } });
}
