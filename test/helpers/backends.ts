//! Real HTTP backends on loopback for end-to-end tests: an echo server that reports what it received.

import http from 'node:http';
import { after, before } from 'node:test';
import net, { type AddressInfo } from 'node:net';
import type { Connector } from '../../src/dataplane/upstream/dispatcher.js';
import { freePort } from './ports.js';
import { backend, docs, gateway, route } from './resources.js';
import { startWindrose, type Windrose } from './windrose.js';

export interface Echo {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: string;
  readonly name: string;
}

export interface Backend {
  readonly port: number;
  readonly server: http.Server;
  readonly received: Echo[];
  close(): Promise<void>;
}

/** A plain TCP connection to a backend on loopback, for a connection pool under test. */
export function tcpConnector(port: number): Connector {
  return (callback) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => callback(null, socket));
    socket.once('error', (err) => callback(err, null));
  };
}

/** An echo backend: answers 200 with JSON of what it received and `x-backend: <name>`. `handler` may take over. */
export function startBackend(
  name: string,
  handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => boolean | void,
): Promise<Backend> {
  const received: Echo[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const echo: Echo = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body, name };
      received.push(echo);
      if (handler?.(req, res, body) === true) return;
      const text = JSON.stringify(echo);
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: (server.address() as AddressInfo).port, server, received,
      close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
    }));
  });
}

export { GATEWAY_CLASS } from './resources.js';

/** The GatewayClass, the Gateway "gw" with one HTTP listener on `port`, and a Backend per entry of `backends`. */
export function baseConfig(port: number, backends: Record<string, number>): string {
  return docs(gateway({ http: port }), ...Object.entries(backends).map(([name, p]) => backend(name, [{ port: p }])));
}

/** An HTTPRoute on Gateway "gw" with one PathPrefix "/" rule to the Backend `to`. */
export function simpleRoute(name: string, to: string, extraRule = ''): string {
  return route(name, { backends: [to], rule: extraRule });
}

export interface GatewayWithBackend {
  readonly gw: Windrose;
  /** The echo backend, named "a" in the config. */
  readonly a: Backend;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly base: string;
}

/**
 * Registers before/after hooks that start an echo backend "a" and windrose with a Gateway "gw" on a
 * free port (baseConfig) plus `files`, and stop both; the returned object is filled in by `before`.
 */
export function gatewayWithBackend(files: Record<string, string>, opts: Parameters<typeof startWindrose>[1] = {}): GatewayWithBackend {
  const t = {} as { gw: Windrose; a: Backend; port: number; base: string };
  before(async () => {
    t.a = await startBackend('a');
    t.port = await freePort();
    t.base = `http://127.0.0.1:${t.port}`;
    t.gw = await startWindrose({ 'gateway.yaml': baseConfig(t.port, { a: t.a.port }), ...files }, opts);
  });
  after(async () => {
    await t.gw?.stop();
    await t.a?.close();
  });
  return t;
}
