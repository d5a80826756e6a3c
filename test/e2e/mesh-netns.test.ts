//! End to end across a network: the caller and "reviews" each run with their sidecar in a network
//! namespace of their own, made by the test and joined by a veth pair, so the mutual TLS between the
//! sidecars crosses a link rather than loopback. The control plane runs in the caller's namespace;
//! the reviews sidecar reaches it over the same link. Needs root and `ip netns`.

import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { spawnWindroseInNetns } from '../helpers/mesh.js';
import { until } from '../helpers/metrics.js';
import { CLI, type WindroseProcess } from '../helpers/windrose.js';

const HTTP_FIXTURE = fileURLToPath(new URL('../fixtures/netns-http.mjs', import.meta.url));
// Unique per run, so that runs side by side do not share a namespace; the addresses live inside
// the namespaces, so they need not be.
const NS_A = `wr-a-${process.pid}`;
const NS_B = `wr-b-${process.pid}`;
const VETH_A = `wra${process.pid}`;
const VETH_B = `wrb${process.pid}`;
const ADDR_A = '10.77.0.1';
const ADDR_B = '10.77.0.2';
// Each namespace has its own ports: the mesh's defaults are free there.
const CONTROL_PORT = 15012;
const INBOUND_PORT = 15006;
const OUTBOUND_PORT = 15001;
const APP_PORT = 9080;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Makes the first namespace; the reason it cannot be made is the reason to skip. */
function netnsUnavailable(): string | undefined {
  try {
    ip('netns', 'add', NS_A);
    return undefined;
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    return `ip netns is unavailable here (needs root and iproute2): ${e.stderr?.toString().trim() || e.message}`;
  }
}

const unavailable = netnsUnavailable();
const processes: (WindroseProcess | ChildProcess)[] = [];
const dirs: string[] = [];

after(async () => {
  for (const p of processes.reverse()) {
    if ('stop' in p) await p.stop();
    else if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGTERM');
      await exited;
    }
  }
  // Deleting a namespace deletes the veth end inside it, and with it the pair.
  if (unavailable === undefined) {
    for (const ns of [NS_A, NS_B]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // B is not made when the test fails before it.
      }
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Two namespaces, a veth pair between them, an address at each end and loopback up in each. */
function buildNetwork(): void {
  ip('netns', 'add', NS_B);
  ip('link', 'add', VETH_A, 'netns', NS_A, 'type', 'veth', 'peer', 'name', VETH_B, 'netns', NS_B);
  for (const [ns, dev, addr] of [[NS_A, VETH_A, ADDR_A], [NS_B, VETH_B, ADDR_B]]) {
    ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
}

/** The echo app inside `ns`, on 127.0.0.1:APP_PORT there; resolves once it listens. */
async function startApp(ns: string, name: string): Promise<void> {
  const app = spawn('ip', ['netns', 'exec', ns, process.execPath, HTTP_FIXTURE, 'serve', String(APP_PORT), name], { stdio: ['ignore', 'pipe', 'pipe'] });
  processes.push(app);
  let stderr = '';
  app.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  await new Promise<void>((resolve, reject) => {
    app.stdout!.on('data', (c: Buffer) => { if (c.toString().includes('listening')) resolve(); });
    app.once('exit', (code) => reject(new Error(`app in ${ns} exited with ${code}: ${stderr}`)));
  });
}

interface Answer { status: number; headers: Record<string, string>; body: string }

/** One GET made from inside `ns` (the test process cannot reach a namespace's addresses). */
async function getFrom(ns: string, host: string, port: number, path: string, hostHeader?: string): Promise<Answer> {
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', ns, process.execPath, HTTP_FIXTURE, 'get', host, String(port), path, ...(hostHeader ? [hostHeader] : [])]);
  return JSON.parse(stdout) as Answer;
}

async function joinToken(dataDir: string, serviceAccount: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'control', 'token', '--data-dir', dataDir, '--namespace', 'default', '--service-account', serviceAccount]);
  return stdout.trim();
}

function sidecar(ns: string, dataDir: string, token: string, address: string, services: string[]): WindroseProcess {
  const p = spawnWindroseInNetns(ns, [
    'sidecar', '--control', `https://${ADDR_A}:${CONTROL_PORT}`, '--control-ca', join(dataDir, 'ca', 'root.crt.pem'),
    '--app-port', String(APP_PORT), '--inbound', `${address}:${INBOUND_PORT}`, '--advertise', address,
    '--outbound', `127.0.0.1:${OUTBOUND_PORT}`, '--admin', '127.0.0.1:15021', '--service', services.join(','),
    '--heartbeat', '250ms', '--log-format', 'json', '--log-level', 'debug',
  ], { WINDROSE_JOIN_TOKEN: token });
  processes.push(p);
  return p;
}

test('sidecars in two network namespaces: a call crosses the veth over mutual TLS; plaintext across it is refused',
  { skip: unavailable, timeout: 90_000 }, async () => {
    buildNetwork();
    const dataDir = tempDir('windrose-netns-data-');
    const configDir = tempDir('windrose-netns-config-');
    writeFileSync(join(configDir, 'mesh.yaml'), `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: default }
spec:
  ports: [{ name: http, port: ${APP_PORT} }]
`);
    const control = spawnWindroseInNetns(NS_A, [
      'control', '--data-dir', dataDir, '--config', configDir, '--listen', `${ADDR_A}:${CONTROL_PORT}`, '--admin', '127.0.0.1:9901',
      '--svid-ttl', '1h', '--log-format', 'json',
    ]);
    processes.push(control);
    await control.waitForLog((l) => l.msg === 'ready');

    await startApp(NS_B, 'reviews');
    const reviews = sidecar(NS_B, dataDir, await joinToken(dataDir, 'reviews'), ADDR_B, ['reviews']);
    const web = sidecar(NS_A, dataDir, await joinToken(dataDir, 'web'), ADDR_A, []);
    await Promise.all([reviews, web].map((s) => s.waitForLog((l) => l.msg === 'config applied', 30_000)));

    // As an HTTP_PROXY client calls: the absolute URL to its sidecar's outbound port, in namespace A.
    const res = await until('reviews answers through the web sidecar', async () => {
      const r = await getFrom(NS_A, '127.0.0.1', OUTBOUND_PORT, `http://reviews.default:${APP_PORT}/hello`, `reviews.default:${APP_PORT}`);
      return r.status === 200 && r.headers['x-backend'] === 'reviews' ? r : undefined;
    }, 30_000, 200);
    const echo = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
    assert.equal(echo.url, '/hello');
    assert.equal(echo.headers['x-forwarded-client-cert'], 'URI=spiffe://cluster.local/ns/default/sa/web');
    // The reviews sidecar saw the caller's sidecar at its end of the link, not on a loopback.
    assert.equal((echo.headers['x-forwarded-for'] ?? '').split(', ').at(-1), ADDR_A, echo.headers['x-forwarded-for']);

    const plain = await getFrom(NS_A, ADDR_B, INBOUND_PORT, '/');
    assert.equal(plain.status, 403);
    assert.equal((JSON.parse(plain.body) as { error: { code: string } }).error.code, 'mtls_required');
  });
