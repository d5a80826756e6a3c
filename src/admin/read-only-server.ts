//! The shape every windrose admin server shares: read-only (GET and HEAD), JSON errors, /live, a
//! 404 that lists the paths there are, and a listen that rejects when the port cannot be bound.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { sendJson, sendJsonError } from '../json-response.js';

export type AdminHandler = (res: ServerResponse, req: IncomingMessage) => void;

export function startReadOnlyServer(host: string, port: number, routes: Readonly<Record<string, AdminHandler>>): Promise<http.Server> {
  const all: Record<string, AdminHandler> = { '/live': (res) => sendJson(res, 200, { live: true }), ...routes };
  const known = Object.keys(all).join(', ');
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJsonError(res, 405, 'method_not_allowed', 'the admin API is read-only');
    const handler = all[(req.url ?? '/').split('?')[0]];
    if (handler === undefined) return sendJsonError(res, 404, 'not_found', `try ${known}`);
    handler(res, req);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
