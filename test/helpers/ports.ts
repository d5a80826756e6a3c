//! Free loopback ports for tests, taken below the kernel's ephemeral range: a port the kernel
//! handed out for listen(0) is one it may give the next outgoing connection as its local port, and
//! a test running beside this one (they run two at a time) then takes it before the process under
//! test binds it.

import fs from 'node:fs';
import net from 'node:net';

const LOWEST = 20_000;

/** The first port of the range the kernel picks local ports of outgoing connections from. */
function ephemeralStart(): number {
  try {
    const first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > LOWEST + 1000) return first;
  } catch {
    // Not Linux: the range IANA assigns to ephemeral ports.
  }
  return 49_152;
}

const END = ephemeralStart();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (END - LOWEST));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port found between ${LOWEST} and ${END}`);
}
