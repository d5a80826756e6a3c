//! Raw-socket HTTP/1.1 for tests that must send bytes no well-behaved client library would:
//! malformed heads, conflicting framing, pipelined floods. Responses are parsed by hand so that
//! whatever the gateway put on the wire is what the test sees.

import net from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** Header names lowercased; repeated headers keep every value in order. */
  readonly headers: Record<string, string[]>;
  readonly body: Buffer;
  header(name: string): string | undefined;
  json<T = unknown>(): T;
}

export interface RawExchange {
  /** Every response that could be parsed completely, in wire order. */
  readonly responses: RawResponse[];
  /** Bytes after the last complete response (a truncated one, or garbage). */
  readonly rest: Buffer;
  /** The head of a response whose body never completed (cut off, or its framing broken), if `rest` starts with one. */
  readonly truncated?: { readonly status: number; readonly headers: Record<string, string[]> };
  readonly raw: Buffer;
  /**
   * How the exchange ended: the peer closed, the socket errored (e.g. ECONNRESET), our timeout fired,
   * or the expected number of responses arrived (then we closed).
   */
  readonly ended: 'close' | 'error' | 'timeout' | 'complete';
  readonly error?: string;
}

function parseHead(text: string): { status: number; reason: string; headers: Record<string, string[]> } | undefined {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!m) return undefined;
  const headers: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).toLowerCase();
    (headers[name] ??= []).push(line.slice(colon + 1).trim());
  }
  return { status: Number(m[1]), reason: m[2], headers };
}

function makeResponse(head: { status: number; reason: string; headers: Record<string, string[]> }, body: Buffer): RawResponse {
  return {
    ...head,
    body,
    header: (name) => head.headers[name.toLowerCase()]?.join(', '),
    json: <T>() => JSON.parse(body.toString('utf8')) as T,
  };
}

/** Decodes a chunked body starting at `from`; undefined until the terminating chunk (and trailers) are all there. */
function readChunked(buf: Buffer, from: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const eol = buf.indexOf('\r\n', at, 'latin1');
    if (eol < 0) return undefined;
    const sizeText = buf.toString('latin1', at, eol).split(';')[0].trim();
    // Not a chunk: the framing is broken (e.g. another message spliced in), so nothing from here on is a body.
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return undefined;
    const size = parseInt(sizeText, 16);
    at = eol + 2;
    if (size === 0) {
      // Trailers, if any, end with an empty line.
      const end = buf.indexOf('\r\n\r\n', at - 2, 'latin1');
      return end < 0 ? undefined : { body: Buffer.concat(parts), end: end + 4 };
    }
    if (buf.length < at + size + 2) return undefined;
    parts.push(buf.subarray(at, at + size));
    at += size + 2;
  }
}

/**
 * Splits a byte stream into HTTP/1.1 responses. A response without Content-Length or chunked
 * framing runs to the end of the stream, and only counts as complete once the peer has closed.
 */
export function parseResponses(buf: Buffer, closed: boolean): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < buf.length) {
    const headEnd = buf.indexOf('\r\n\r\n', at, 'latin1');
    if (headEnd < 0) break;
    const head = parseHead(buf.toString('latin1', at, headEnd));
    if (!head) break;
    const bodyStart = headEnd + 4;
    const te = head.headers['transfer-encoding']?.join(',').toLowerCase();
    const cl = head.headers['content-length']?.[0];
    const bodiless = head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200);
    if (bodiless) {
      responses.push(makeResponse(head, Buffer.alloc(0)));
      at = bodyStart;
    } else if (te !== undefined && te.includes('chunked')) {
      const chunked = readChunked(buf, bodyStart);
      if (!chunked) break;
      responses.push(makeResponse(head, chunked.body));
      at = chunked.end;
    } else if (cl !== undefined) {
      const end = bodyStart + Number(cl);
      if (buf.length < end) break;
      responses.push(makeResponse(head, buf.subarray(bodyStart, end)));
      at = end;
    } else {
      if (!closed) break;
      responses.push(makeResponse(head, buf.subarray(bodyStart)));
      at = buf.length;
    }
  }
  return { responses, rest: buf.subarray(at) };
}

export interface RawOptions {
  readonly host?: string;
  /** Give up (and destroy the socket) after this long; the exchange then ends with 'timeout'. */
  readonly timeoutMs?: number;
  /** Stop as soon as this many complete responses arrived, instead of waiting for the peer to close. */
  readonly responses?: number;
  /** Half-close our side once everything is written. */
  readonly endAfterWrite?: boolean;
}

/** A raw connection: write exact bytes, then await the whole exchange. */
export class RawConnection {
  readonly socket: net.Socket;
  private readonly chunks: Buffer[] = [];
  private readonly connected: Promise<void>;
  private readonly finished: Promise<RawExchange>;
  private settle: ((how: RawExchange['ended'], error?: string) => void) | undefined;
  private wanted = Infinity;

  constructor(port: number, opts: RawOptions = {}) {
    this.wanted = opts.responses ?? Infinity;
    this.socket = net.connect({ port, host: opts.host ?? '127.0.0.1' });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    // A refused connection also ends the exchange; callers that never write must not see an unhandled rejection.
    this.connected.catch(() => undefined);
    this.finished = new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let error: string | undefined;
      let done = false;
      this.settle = (how, err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const raw = Buffer.concat(this.chunks);
        const { responses, rest } = parseResponses(raw, how === 'close' || how === 'error');
        if (!this.socket.destroyed) this.socket.destroy();
        const headEnd = rest.indexOf('\r\n\r\n', 0, 'latin1');
        const truncated = headEnd < 0 ? undefined : parseHead(rest.toString('latin1', 0, headEnd));
        resolve({ responses, rest, raw, ended: how, ...(truncated ? { truncated } : {}), ...(err ?? error ? { error: err ?? error } : {}) });
      };
      timer = setTimeout(() => this.settle?.('timeout'), opts.timeoutMs ?? 5000);
      this.socket.on('data', (c: Buffer) => {
        this.chunks.push(c);
        if (this.wanted !== Infinity && parseResponses(Buffer.concat(this.chunks), false).responses.length >= this.wanted) this.settle?.('complete');
      });
      this.socket.on('error', (err: Error & { code?: string }) => { error = err.code ?? err.message; });
      this.socket.on('close', () => this.settle?.(error === undefined ? 'close' : 'error', error));
    });
  }

  /** Resolves once the TCP connection is established. */
  ready(): Promise<void> {
    return this.connected;
  }

  /** Writes bytes as given (strings as latin1, so every byte value can be expressed); resolves once flushed. */
  async write(data: string | Buffer): Promise<void> {
    await this.connected;
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    await new Promise<void>((resolve, reject) => this.socket.write(buf, (err) => (err ? reject(err) : resolve())));
  }

  /** Resolves as soon as at least `n` complete responses have arrived (or the exchange ended). */
  responses(n: number): Promise<RawExchange> {
    this.wanted = n;
    const parsed = parseResponses(Buffer.concat(this.chunks), false);
    if (parsed.responses.length >= n) this.settle?.('complete');
    return this.finished;
  }

  /** Resolves when the peer closes the connection, the socket errors, or the timeout fires. */
  done(): Promise<RawExchange> {
    return this.finished;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends `data` on a fresh connection and collects everything until the peer closes, `responses` arrive, or timeout. */
export async function rawExchange(port: number, data: string | Buffer | (string | Buffer)[], opts: RawOptions = {}): Promise<RawExchange> {
  const conn = new RawConnection(port, opts);
  try {
    for (const part of Array.isArray(data) ? data : [data]) await conn.write(part);
    if (opts.endAfterWrite) conn.socket.end();
  } catch {
    // The peer may close or reset before we finish writing (it answered already); the exchange says what it sent.
  }
  return conn.done();
}
