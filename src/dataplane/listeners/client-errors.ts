//! Answers requests Node's HTTP/1.1 parser rejects (bad framing, invalid characters, oversized heads)
//! with a JSON error on the raw socket, after the answers to any pipelined requests before it, then
//! closes it: such a request is never forwarded.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
  connect_not_supported: 'CONNECT is not served here; send the request itself',
};

/** What Node's HTTP/1 server keeps on each socket: the response being written and the parser with its latest request. */
type ServerSocket = Duplex & {
  _httpMessage?: (ServerResponse & { req?: IncomingMessage }) | null;
  parser?: { incoming?: IncomingMessage | null } | null;
};

/** llhttp repeats its error for every later packet on a broken connection; one answer is enough. */
const answered = new WeakSet<Duplex>();

/**
 * Returns the 'connect' listener of a port: Node would close a CONNECT request's connection without a
 * word; it gets the JSON error instead (an HTTP_PROXY client asking for an https:// URL, say).
 */
export function connectHandler(counted: (status: number) => void) {
  return (_req: IncomingMessage, socket: Duplex) => counted(refuse(socket, 'connect_not_supported'));
}

/** Returns the 'clientError' listener of a port; `counted` hears the status of each refusal, for metrics. */
export function clientErrorHandler(counted: (status: number) => void) {
  return (err: Error & { code?: string }, socket: Duplex) => answerClientError(err, socket, counted);
}

function answerClientError(err: Error & { code?: string }, socket: Duplex, counted: (status: number) => void): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  const code = codeFor(err);
  if (code === undefined || !socket.writable) {
    socket.destroy();
    return;
  }
  const s = socket as ServerSocket;
  // The request whose body broke the parser, if the error came after its head; it can never complete.
  const latest = s.parser?.incoming;
  const broken = latest && !latest.complete ? latest : undefined;
  // Pipelined requests before the bad one were forwarded and deserve their answers, in order; the refusal goes last.
  const next = (): void => {
    if (socket.destroyed) return;
    const inFlight = s._httpMessage;
    if (!inFlight) return counted(refuse(socket, code));
    if (inFlight.req === broken) {
      // Its response may already be streaming (the backend answered early): a 400 would then land inside
      // that response's body, so the only honest signal left is to cut the connection.
      if (inFlight.headersSent) socket.destroy();
      else counted(refuse(socket, code));
      return;
    }
    // Node hands the socket to the next queued response before a finished one emits 'close'.
    inFlight.once('close', next);
  };
  next();
}

function refuse(socket: Duplex, code: ErrorCode): number {
  const requestId = randomUUID();
  const body = errorBody(code, MESSAGES[code] ?? ERRORS[code].meaning, requestId);
  const status = ERRORS[code].status;
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
  return status;
}

function statusText(status: number): string {
  switch (status) {
    case 400: return 'Bad Request';
    case 408: return 'Request Timeout';
    case 431: return 'Request Header Fields Too Large';
    case 501: return 'Not Implemented';
    default: return 'Error';
  }
}
