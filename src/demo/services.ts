//! Small sample services for the demo: each answers JSON saying who it is and what it received.

import http from 'node:http';

export interface SampleService {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

export function startSampleService(name: string, port: number, host = '127.0.0.1'): Promise<SampleService> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        service: name,
        method: req.method,
        path: req.url,
        host: req.headers.host,
        requestId: req.headers['x-request-id'],
        forwardedFor: req.headers['x-forwarded-for'],
        bodyBytes: Buffer.concat(chunks).length,
      }, null, 2);
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': name });
      res.end(`${body}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({
      name, port,
      close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
    }));
  });
}
