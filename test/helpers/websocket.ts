//! A small RFC 6455 echo server for upgrade tests: the opening handshake, masked client frames of any
//! length (no fragmentation or extensions), text and binary echoed back unmasked, ping answered, close returned.

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface WebSocketEcho {
  readonly port: number;
  /** The upgrade requests the server accepted, as received (after windrose). */
  readonly handshakes: http.IncomingMessage[];
  close(): Promise<void>;
}

function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n])
    : n < 0x10000 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff])
    : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  return Buffer.concat([head, payload]);
}

/** Parses whole frames off the front of `buf`; returns them and the bytes left for the next chunk. */
function parse(buf: Buffer): { frames: { opcode: number; payload: Buffer }[]; rest: Buffer } {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const opcode = buf[at] & 0x0f;
    const masked = (buf[at + 1] & 0x80) !== 0;
    let len = buf[at + 1] & 0x7f;
    let off = at + 2;
    if (len === 126) {
      if (buf.length < off + 2) break;
      len = buf.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (buf.length < off + 8) break;
      len = Number(buf.readBigUInt64BE(off));
      off += 8;
    }
    const maskLen = masked ? 4 : 0;
    if (buf.length < off + maskLen + len) break;
    const payload = Buffer.from(buf.subarray(off + maskLen, off + maskLen + len));
    if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[off + (i & 3)];
    frames.push({ opcode, payload });
    at = off + maskLen + len;
  }
  return { frames, rest: buf.subarray(at) };
}

function serve(socket: Duplex): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  // Upgrade sockets are half-open capable; a peer that goes away without a close frame must not leave this side open.
  socket.on('end', () => socket.end());
  socket.on('data', (chunk: Buffer) => {
    const { frames, rest } = parse(Buffer.concat([pending, chunk]));
    pending = rest;
    for (const f of frames) {
      if (f.opcode === 0x1 || f.opcode === 0x2) socket.write(frame(f.opcode, f.payload));
      else if (f.opcode === 0x9) socket.write(frame(0xa, f.payload));
      else if (f.opcode === 0x8) {
        socket.end(frame(0x8, f.payload));
        return;
      }
    }
  });
}

export function startWebSocketEcho(): Promise<WebSocketEcho> {
  const handshakes: http.IncomingMessage[] = [];
  const sockets = new Set<Duplex>();
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { upgrade: 'websocket', 'content-type': 'text/plain' }).end('upgrade required');
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    handshakes.push(req);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
    serve(socket);
    if (head.length > 0) socket.emit('data', head);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: (server.address() as AddressInfo).port,
      handshakes,
      close: () => new Promise((done) => {
        for (const s of sockets) (s as Socket).destroy();
        server.closeAllConnections();
        server.close(() => done());
      }),
    }));
  });
}
