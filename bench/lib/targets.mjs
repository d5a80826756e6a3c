// The things being benchmarked. Each target starts (on CPU 0 when pinning) and
// returns { url, pid, stop() } (windrose also its adminPort); `pid` is the root
// of the process tree whose CPU time and RSS are measured (null for the direct
// baseline).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, startChild, stopChild } from './procs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const benchDir = path.resolve(here, '..');
export const repoRoot = path.resolve(benchDir, '..');

export const EXPECTED_BODY = 'hello world';

/** One GET to 127.0.0.1 without keep-alive; resolves { status, body }. */
export function httpGet(port, urlPath = '/', timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function childOutput(handle) {
  const parts = [];
  if (handle.spawnError) parts.push(`spawn error: ${handle.spawnError.message}`);
  if (handle.exited) parts.push(`exited with ${handle.exitCode ?? handle.exitSignal}`);
  const err = handle.stderr.text.trim();
  const out = handle.stdout.text.trim();
  parts.push(err ? `stderr:\n${indent(err.slice(-4000))}` : 'stderr: (empty)');
  if (out) parts.push(`stdout:\n${indent(out.slice(-2000))}`);
  return parts.join('\n');
}

const indent = (s) => s.replace(/^/gm, '    ');

/** The handle a started target returns: URL, root pid, stop(), and a liveness check. */
export function started(handle, url, what) {
  return {
    url,
    pid: handle.pid,
    stop: () => stopChild(handle),
    // An Error if the process exited while it was being measured.
    check: () => (handle.exited ? new Error(`${what} exited during the measurement\n${childOutput(handle)}`) : null),
  };
}

/** Poll `port` + `urlPath` until it answers 200 (and `body` if given). */
export async function waitReady(handle, port, { urlPath = '/', body, timeoutMs, what }) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (handle.exited) break;
    try {
      const r = await httpGet(port, urlPath);
      if (r.status === 200 && (body === undefined || r.body === body)) return;
      last = `HTTP ${r.status} ${JSON.stringify(r.body.slice(0, 200))}`;
    } catch (err) {
      last = err.code ?? err.message;
    }
    await sleep(100);
  }
  await sleep(100); // let the exit event / remaining stderr arrive
  const reason = handle.exited ? 'process exited' : `not ready after ${timeoutMs / 1000} s`;
  throw new Error(`${what}: ${reason} (last poll of ${urlPath}: ${last})\n${childOutput(handle)}`);
}

/** Poll until `port` accepts a TCP connection. */
async function waitListening(handle, port, { timeoutMs, what }) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !handle.exited) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  await sleep(100); // let the exit event / remaining stderr arrive
  throw new Error(`${what}: ${handle.exited ? 'process exited' : `not listening after ${timeoutMs / 1000} s`}\n${childOutput(handle)}`);
}

async function startNodeProxy(ctx, label, script) {
  const port = await freePort();
  const [cmd, args] = ctx.pin(0, process.execPath, [path.join(benchDir, 'proxies', script), String(port), String(ctx.upstreamPort)]);
  const handle = startChild(label, cmd, args, { cwd: repoRoot, keepStdin: true });
  try {
    await waitReady(handle, port, { body: EXPECTED_BODY, timeoutMs: 15_000, what: label });
  } catch (err) {
    await stopChild(handle);
    throw err;
  }
  return started(handle, `http://127.0.0.1:${port}/`, label);
}

// ---------------------------------------------------------------------------

/**
 * `serverParams` follow each upstream `server` line (e.g. `max_fails=3`);
 * `locationDirectives` are added to `location /`, `serverDirectives` to the `server` block;
 * `listenParams` follow the listen address (`ssl`), and `upstreamScheme` is `http` or `https`.
 */
function nginxConfig(dir, port, { upstreamPorts, serverParams = '', locationDirectives = [], serverDirectives = [], listenParams = '', upstreamScheme = 'http' }) {
  const servers = upstreamPorts.map((p) => `        server 127.0.0.1:${p}${serverParams ? ` ${serverParams}` : ''};`).join('\n');
  const extra = locationDirectives.map((d) => `\n            ${d};`).join('');
  const serverExtra = serverDirectives.map((d) => `\n        ${d};`).join('');
  return `# generated by the windrose benchmark (bench/)
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;

    # Node servers put no cap on requests per connection; nginx's default of
    # 1000 would make nginx alone reconnect every 1000 requests (both sides).
    keepalive_requests 1000000;

    upstream bench_upstream {
${servers}
        keepalive 64;
        keepalive_requests 1000000;
    }

    server {
        listen 127.0.0.1:${port}${listenParams ? ` ${listenParams}` : ''};${serverExtra}

        location / {
            proxy_pass ${upstreamScheme}://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";${extra}
        }
    }
}
`;
}

/**
 * nginx in front of `upstreamPorts` (default: the shared upstream), with the optional settings of
 * nginxConfig. It is ready when GET / on its port answers the upstream's body (`ready: 'http'`),
 * or, for a TLS listener, when its port accepts connections (`ready: 'tcp'`).
 */
export async function startNginx(ctx, { upstreamPorts = [ctx.upstreamPort], label = 'nginx', ready = 'http', ...settings } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-bench-nginx-'));
  // Readable by an unprivileged nginx worker (nginx drops to `nobody` when run as root).
  fs.chmodSync(dir, 0o755);
  ctx.tempDirs.push(dir);
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, port, { upstreamPorts, ...settings }));
  const [cmd, args] = ctx.pin(0, ctx.tools.nginx, ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`]);
  const handle = startChild(label, cmd, args, { cwd: dir });
  try {
    if (ready === 'tcp') await waitListening(handle, port, { timeoutMs: 10_000, what: label });
    else await waitReady(handle, port, { body: EXPECTED_BODY, timeoutMs: 10_000, what: label });
  } catch (err) {
    let log = '';
    try {
      log = fs.readFileSync(path.join(dir, 'error.log'), 'utf8').trim();
    } catch {
      // no log
    }
    await stopChild(handle);
    throw new Error(`${err.message}${log ? `\nnginx error.log:\n${indent(log.slice(-4000))}` : ''}`);
  }
  return { ...started(handle, `http://127.0.0.1:${port}/`, label), port };
}

// ---------------------------------------------------------------------------

// BENCH_WINDROSE_ENTRY points the harness at another build of the CLI (or a stub when testing the harness).
export const windroseEntry = process.env.BENCH_WINDROSE_ENTRY
  ? path.resolve(process.env.BENCH_WINDROSE_ENTRY)
  : path.join(repoRoot, 'dist', 'cli', 'main.js');

/** One route to a Backend with an endpoint per upstream port; `extraYaml` adds documents (policies). */
function windroseConfig(listenPort, upstreamPorts, extraYaml) {
  const endpoints = upstreamPorts.map((p) => `{ ip: 127.0.0.1, port: ${p} }`).join(', ');
  return `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: windrose }
spec: { controllerName: windrose.dev/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: bench, namespace: default }
spec:
  gatewayClassName: windrose
  listeners: [{ name: http, port: ${listenPort}, protocol: HTTP }]
---
apiVersion: windrose.dev/v1alpha1
kind: Backend
metadata: { name: upstream, namespace: default }
spec: { endpoints: [${endpoints}] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: bench, namespace: default }
spec:
  parentRefs: [{ name: bench }]
  rules:
  - matches: [{ path: { type: PathPrefix, value: / } }]
    backendRefs: [{ group: windrose.dev, kind: Backend, name: upstream }]
${extraYaml}`;
}

/** windrose in front of `upstreamPorts` (default: the shared upstream), plus `extraYaml` documents and `extraArgs` flags. */
export async function startWindrose(ctx, { upstreamPorts = [ctx.upstreamPort], extraYaml = '', extraArgs = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-bench-config-'));
  ctx.tempDirs.push(dir);
  const listenPort = await freePort();
  const adminPort = await freePort();
  fs.writeFileSync(path.join(dir, 'bench.yaml'), windroseConfig(listenPort, upstreamPorts, extraYaml));
  // Run the CLI as the installed `windrose` binary runs: through its shebang, with its Node flags.
  const [cmd, args] = ctx.pin(0, windroseEntry, [
    'gateway',
    '--config',
    dir,
    '--workers',
    '1',
    // Loopback only, like every other process the benchmark starts.
    '--bind',
    '127.0.0.1',
    '--admin',
    `127.0.0.1:${adminPort}`,
    '--log-level',
    'error',
    ...extraArgs,
  ]);
  const handle = startChild('windrose', cmd, args, { cwd: repoRoot });
  try {
    await waitReady(handle, adminPort, { urlPath: '/ready', timeoutMs: 30_000, what: 'windrose (admin /ready)' });
    // Ready should mean routable; allow a moment for the route to be programmed anyway.
    await waitReady(handle, listenPort, { body: EXPECTED_BODY, timeoutMs: 5_000, what: 'windrose (proxying GET /)' });
  } catch (err) {
    await stopChild(handle);
    throw err;
  }
  return { ...started(handle, `http://127.0.0.1:${listenPort}/`, 'windrose'), adminPort };
}

// ---------------------------------------------------------------------------

/**
 * Targets in the order they run. `unavailable(ctx)` returns a reason string
 * when the target cannot run on this machine / checkout.
 */
export const TARGETS = [
  {
    name: 'direct',
    label: 'direct (no proxy)',
    unavailable: () => null,
    start: async (ctx) => ({ url: `http://127.0.0.1:${ctx.upstreamPort}/`, pid: null, stop: async () => {} }),
  },
  {
    name: 'windrose',
    label: 'windrose',
    unavailable: () =>
      fs.existsSync(windroseEntry)
        ? null
        : `${path.relative(repoRoot, windroseEntry)} not found — build the gateway first (npm run build)`,
    start: startWindrose,
  },
  {
    name: 'nginx',
    label: 'nginx',
    unavailable: (ctx) => (ctx.tools.nginx ? null : 'nginx not installed (/usr/sbin/nginx or nginx on PATH)'),
    start: startNginx,
  },
  {
    name: 'fastify',
    label: 'fastify + @fastify/http-proxy',
    unavailable: () => null,
    start: (ctx) => startNodeProxy(ctx, 'fastify', 'fastify-http-proxy.mjs'),
  },
  {
    name: 'http-proxy',
    label: 'http-proxy (node-http-proxy)',
    unavailable: () => null,
    start: (ctx) => startNodeProxy(ctx, 'http-proxy', 'http-proxy.mjs'),
  },
];

export const NODE_REFERENCES = ['fastify', 'http-proxy'];
