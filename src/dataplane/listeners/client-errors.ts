//! Answers requests Node's HTTP/1.1 parser rejects (bad framing, invalid characters, oversized heads)
//! with a JSON error on the raw socket, then closes it: such a request is never forwarded.

import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { ERRORS, errorBody, type ErrorCode } from '../../errors.js';

function codeFor(err: Error & { code?: string }): ErrorCode | undefined {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW': return 'headers_too_large';
    case 'ERR_HTTP_REQUEST_TIMEOUT': return 'request_header_timeout';
    case 'ECONNRESET': case 'EPIPE': return undefined;
    default: return 'bad_request';
  }
}

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  headers_too_large: 'the request headers are too large',
  request_header_timeout: 'the request head did not arrive in time',
  bad_request: 'the request is malformed',
};

export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  const code = codeFor(err);
  if (code === undefined || !socket.writable) {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const body = errorBody(code, MESSAGES[code] ?? ERRORS[code].meaning, requestId);
  const status = ERRORS[code].status;
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function statusText(status: number): string {
  switch (status) {
    case 400: return 'Bad Request';
    case 408: return 'Request Timeout';
    case 431: return 'Request Header Fields Too Large';
    default: return 'Error';
  }
}
