//! Local responses: JSON errors from the catalogue and filter-produced answers such as redirects.

import { ERRORS, errorBody, type ErrorCode } from '../errors.js';
import type { LocalResponse } from './filters/filter.js';
import type { DownstreamResponse } from './proxy.js';

export function sendError(
  res: DownstreamResponse, code: ErrorCode, message: string, requestId: string,
  extra?: readonly (readonly [string, string])[], status: number = ERRORS[code].status,
): number {
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const body = errorBody(code, message, requestId);
  const headers: string[] = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'x-request-id', requestId];
  for (const [k, v] of extra ?? []) headers.push(k, v);
  res.writeHead(status, headers);
  res.end(body);
  return status;
}

export function sendLocal(res: DownstreamResponse, local: LocalResponse, requestId: string): number {
  if (local.errorCode !== undefined) return sendError(res, local.errorCode, local.message ?? ERRORS[local.errorCode].meaning, requestId, local.headers, local.status);
  const headers: string[] = ['x-request-id', requestId, 'content-length', '0'];
  for (const [k, v] of local.headers ?? []) headers.push(k, v);
  res.writeHead(local.status, headers);
  res.end();
  return local.status;
}
