//! A real grpc-js server and client for the Echo service of test/fixtures/echo.proto, with promise
//! wrappers that keep response headers, trailers and status so tests can check what crossed the proxy.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const PROTO = fileURLToPath(new URL('../fixtures/echo.proto', import.meta.url));

export interface EchoReply { text: string; client: string; authority: string }

const definition = protoLoader.loadSync(PROTO, { keepCase: true, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { windrose: { test: { Echo: grpc.ServiceClientConstructor } } };
const Echo = loaded.windrose.test.Echo;

export interface GrpcServer {
  readonly port: number;
  close(): void;
}

function firstValue(md: grpc.Metadata, key: string): string {
  const v = md.get(key)[0];
  return v === undefined ? '' : String(v);
}

export function startGrpcServer(): Promise<GrpcServer> {
  const server = new grpc.Server();
  server.addService(Echo.service, {
    Say(call: grpc.ServerUnaryCall<{ text: string }, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      const headers = new grpc.Metadata();
      headers.set('x-served-by', 'grpc-echo');
      call.sendMetadata(headers);
      const trailers = new grpc.Metadata();
      trailers.set('x-trailer', 'after-body');
      callback(null, { text: call.request.text, client: firstValue(call.metadata, 'x-client'), authority: call.getHost() }, trailers);
    },
    Lookup(call: grpc.ServerUnaryCall<{ text: string }, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      const trailers = new grpc.Metadata();
      trailers.set('x-lookup', 'missed');
      callback({ code: grpc.status.NOT_FOUND, details: `no item named ${call.request.text}`, metadata: trailers });
    },
    Count(call: grpc.ServerWritableStream<{ count: number }, EchoReply>) {
      for (let i = 1; i <= call.request.count; i++) call.write({ text: String(i), client: '', authority: '' });
      call.end();
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(err);
      else resolve({ port, close: () => server.forceShutdown() });
    });
  });
}

export interface UnaryResult {
  readonly reply?: EchoReply;
  readonly error?: grpc.ServiceError;
  readonly headers: grpc.Metadata;
  readonly status: grpc.StatusObject;
}

export interface EchoClient {
  say(text: string, metadata?: Record<string, string>): Promise<UnaryResult>;
  lookup(text: string): Promise<UnaryResult>;
  count(count: number): Promise<{ texts: string[]; status: grpc.StatusObject }>;
  close(): void;
}

type UnaryMethod = (req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void) => grpc.ClientUnaryCall;

/** A client for `address` (host:port), over cleartext HTTP/2 unless `credentials` say otherwise. */
export function echoClient(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}): EchoClient {
  const client = new Echo(address, credentials, options) as grpc.Client & Record<string, UnaryMethod>;
  const unary = (method: 'Say' | 'Lookup', text: string, metadata: Record<string, string> = {}) =>
    new Promise<UnaryResult>((resolve) => {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      let headers = new grpc.Metadata();
      let outcome: { reply?: EchoReply; error?: grpc.ServiceError } | undefined;
      let status: grpc.StatusObject | undefined;
      // The callback and the status event arrive in either order; resolve once both have.
      const settle = () => { if (outcome && status) resolve({ ...outcome, headers, status }); };
      const call = client[method].call(client, { text }, md, (err, reply) => {
        outcome = err ? { error: err } : { reply };
        settle();
      });
      call.on('metadata', (m: grpc.Metadata) => { headers = m; });
      call.on('status', (s: grpc.StatusObject) => { status = s; settle(); });
    });
  return {
    say: (text, metadata) => unary('Say', text, metadata),
    lookup: (text) => unary('Lookup', text),
    count: (count) => new Promise((resolve, reject) => {
      const texts: string[] = [];
      const stream = (client as unknown as Record<string, (req: object) => grpc.ClientReadableStream<EchoReply>>).Count.call(client, { count });
      stream.on('data', (r: EchoReply) => texts.push(r.text));
      stream.on('error', reject);
      stream.on('status', (status: grpc.StatusObject) => { if (status.code === grpc.status.OK) resolve({ texts, status }); });
    }),
    close: () => client.close(),
  };
}

export { grpc };
