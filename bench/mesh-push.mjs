#!/usr/bin/env node
// Mesh config push (issue 4): how long a config change takes to reach 100 proxies. Starts the real
// `windrose control` (dist build), gives 100 proxies real SVIDs (join tokens, CSRs) and real mTLS
// HTTP/2 config streams from this one process (each JSON-parses every snapshot and acks it), then
// rewrites a config file and measures, per change, the time from the write until all 100 have
// acked; and the same for a change only one proxy needs. See docs/performance.md.
// Usage: node bench/mesh-push.mjs [--proxies 100] [--changes 20] [--services 10]
import 'reflect-metadata';
import { execFile, spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

const { values: args } = parseArgs({
  options: {
    proxies: { type: 'string', default: '100' },
    changes: { type: 'string', default: '20' },
    services: { type: 'string', default: '10' },
  },
});
const PROXIES = Number(args.proxies);
const CHANGES = Number(args.changes);
const SERVICES = Number(args.services);
/** The proxy whose own policy the single-proxy changes edit. */
const LONE = 42 % PROXIES;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(repoRoot, 'dist', 'cli', 'main.js');
if (!fs.existsSync(CLI)) {
  process.stderr.write('dist/cli/main.js not found: run "npm run build" first\n');
  process.exit(1);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-mesh-bench-'));
const dataDir = path.join(work, 'data');
const configDir = path.join(work, 'config');
fs.mkdirSync(configDir);

const svc = (k) => `svc-${k}`;
const services = Array.from({ length: SERVICES }, (_, k) => `apiVersion: v1
kind: Service
metadata: { name: ${svc(k)}, namespace: bench }
spec:
  ports: [{ name: http, port: 8080 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${svc(k)}, namespace: bench }
spec:
  parentRefs: [{ group: "", kind: Service, name: ${svc(k)}, port: 8080 }]
  rules: [{ backendRefs: [{ name: ${svc(k)}, port: 8080 }] }]
---
apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: ${svc(k)}, namespace: bench }
spec:
  selector: { matchLabels: { app: ${svc(k)} } }
  action: ALLOW
  rules: [{ from: [{ source: { namespaces: [bench] } }] }]
`).join('---\n');
/** Every proxy needs it: a mesh route's timeout. */
const shared = (marker) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: shared, namespace: bench }
spec:
  parentRefs: [{ group: "", kind: Service, name: ${svc(0)}, port: 8080 }]
  rules: [{ backendRefs: [{ name: ${svc(0)}, port: 8080 }], timeouts: { request: ${marker}ms } }]
`;
/** Only proxy LONE needs it: a policy that selects its own label. */
const lone = (marker) => `apiVersion: windrose.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: lone, namespace: bench }
spec:
  selector: { matchLabels: { proxy: p-${LONE} } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin-${marker}"] } }] }]
`;
fs.writeFileSync(path.join(configDir, 'services.yaml'), services);
fs.writeFileSync(path.join(configDir, 'shared.yaml'), shared(1000));
fs.writeFileSync(path.join(configDir, 'lone.yaml'), lone(1000));

// ---------------------------------------------------------------------------------------------
// The control plane

/** When the control plane had read each config change (its log time, epoch ms): the watch, the debounce and the loader are behind it. */
const reloads = [];

function startControl() {
  const proc = spawn(CLI, ['control', '--data-dir', dataDir, '--config', configDir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`windrose control exited with ${code}`)));
    createInterface({ input: proc.stderr }).on('line', (line) => {
      let entry;
      try { entry = JSON.parse(line); } catch { process.stderr.write(`${line}\n`); return; }
      if (entry.level >= 50) process.stderr.write(`control: ${line}\n`);
      if (entry.msg === 'config change') reloads.push(entry.time);
      if (entry.msg === 'ready') resolve({ proc, port: entry.port, admin: `http://127.0.0.1:${entry.adminPort}` });
    });
  });
}

const mint = (sa) => promisify(execFile)(CLI, ['control', 'token', '--data-dir', dataDir, '--namespace', 'bench', '--service-account', sa]).then((r) => r.stdout.trim());

async function svid(port, ca, token) {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=bench', keys, signingAlgorithm: EC });
  const key = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const body = await new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/v1/svid', method: 'POST', ca, agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c)).on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(text))));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ csr: csr.toString('pem') }));
  });
  return { cert: body.certificate, key };
}

// ---------------------------------------------------------------------------------------------
// The proxies: each acks every snapshot after parsing it, and remembers when and what it acked

const listeners = new Set();
const notify = () => { for (const l of [...listeners]) l(); };

function openProxy(i, port, ca, creds) {
  const app = svc(i % SERVICES);
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca, cert: creds.cert, key: creds.key });
  session.on('error', (err) => process.stderr.write(`proxy p-${i}: ${err.message}\n`));
  const stream = session.request({ ':method': 'POST', ':path': '/v1/stream', 'content-type': 'application/x-ndjson' });
  const proxy = { i, session, snapshots: 0, bytes: 0, acked: [] };
  const send = (m) => stream.write(`${JSON.stringify(m)}\n`);
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const snapshot = JSON.parse(line);
      send({ type: 'ack', version: snapshot.version });
      proxy.snapshots++;
      proxy.bytes = line.length;
      // What the measurements look for, rather than every snapshot kept: 100 proxies times 40 snapshots add up.
      const texts = snapshot.documents.map((d) => d.text).join('\n');
      proxy.acked.push({
        at: performance.now(),
        shared: /request: (\d+)ms/.exec(texts)?.[1],
        lone: /\/admin-(\d+)/.exec(texts)?.[1],
        registry: snapshot.documents.filter((d) => d.file === 'registry').length,
      });
    }
    notify();
  });
  send({ type: 'hello', proxy: { id: `p-${i}`, services: [app], labels: { app, proxy: `p-${i}` }, address: `10.0.${i >> 8}.${i & 255}`, port: 15006 } });
  proxy.heartbeat = setInterval(() => send({ type: 'heartbeat' }), 5_000);
  return proxy;
}

function until(pred, timeoutMs = 60_000) {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { listeners.delete(check); reject(new Error('timed out')); }, timeoutMs);
    const check = () => { if (pred()) { clearTimeout(timer); listeners.delete(check); resolve(); } };
    listeners.add(check);
  });
}

const lastAck = (p) => p.acked[p.acked.length - 1];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (values, q) => {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)];
};
const ms = (v) => `${v.toFixed(1)} ms`;

// ---------------------------------------------------------------------------------------------

const control = await startControl();
let proxies = [];
try {
  const ca = fs.readFileSync(path.join(dataDir, 'ca', 'root.crt.pem'), 'utf8');
  const tokens = await Promise.all(Array.from({ length: SERVICES }, (_, k) => mint(svc(k))));
  const t0 = performance.now();
  const creds = [];
  for (let i = 0; i < PROXIES; i++) creds.push(await svid(control.port, ca, tokens[i % SERVICES]));
  const svidMs = performance.now() - t0;
  const t1 = performance.now();
  proxies = creds.map((c, i) => openProxy(i, control.port, ca, c));
  // Settled: every proxy has acked a snapshot that lists every proxy's EndpointSlice.
  await until(() => proxies.every((p) => lastAck(p)?.registry === PROXIES));
  const connectMs = performance.now() - t1;
  await sleep(500);

  const sharedRuns = [];
  for (let n = 1; n <= CHANGES; n++) {
    const marker = String(1000 + n);
    const start = performance.now();
    const wall = Date.now();
    fs.writeFileSync(path.join(configDir, 'shared.yaml'), shared(marker));
    await until(() => proxies.every((p) => lastAck(p).shared === marker));
    const acks = proxies.map((p) => p.acked.find((a) => a.shared === marker).at - start);
    const read = reloads.find((t) => t >= wall) - wall;
    sharedRuns.push({ first: Math.min(...acks), all: Math.max(...acks), read });
    await sleep(200);
  }

  const loneRuns = [];
  let others = 0;
  for (let n = 1; n <= CHANGES; n++) {
    const marker = String(1000 + n);
    const before = proxies.map((p) => p.snapshots);
    const start = performance.now();
    fs.writeFileSync(path.join(configDir, 'lone.yaml'), lone(marker));
    await until(() => lastAck(proxies[LONE]).lone === marker);
    loneRuns.push(lastAck(proxies[LONE]).at - start);
    // Long enough for a push to the others to have arrived, were there one.
    await sleep(300);
    others += proxies.reduce((sum, p, i) => sum + (i === LONE ? 0 : p.snapshots - before[i]), 0);
  }

  const metrics = await fetch(`${control.admin}/metrics`).then((r) => r.text());
  const pick = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
  const all = sharedRuns.map((r) => r.all);
  const first = sharedRuns.map((r) => r.first);
  const read = sharedRuns.map((r) => r.read);
  const push = sharedRuns.map((r) => r.all - r.read);
  const result = {
    proxies: PROXIES, services: SERVICES, changes: CHANGES,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    setup: { svidsMs: svidMs, connectAndSettleMs: connectMs, snapshotBytes: Math.max(...proxies.map((p) => p.bytes)) },
    sharedChange: {
      allAckedMs: { p50: pct(all, 0.5), p99: pct(all, 0.99), max: Math.max(...all) },
      firstAckMs: { p50: pct(first, 0.5) },
      writeToReadMs: { p50: pct(read, 0.5), max: Math.max(...read) },
      readToAllAckedMs: { p50: pct(push, 0.5), p99: pct(push, 0.99), max: Math.max(...push) },
    },
    singleProxyChange: { ackedMs: { p50: pct(loneRuns, 0.5), p99: pct(loneRuns, 0.99), max: Math.max(...loneRuns) }, snapshotsToOthers: others },
    control: {
      pushes: pick('windrose_control_pushes_total'),
      pushToAckSecondsAvg: pick('windrose_control_push_seconds_sum') / pick('windrose_control_push_seconds_count'),
    },
  };
  const lines = [
    `${PROXIES} proxies, ${SERVICES} services, ${CHANGES} changes each; snapshot ${result.setup.snapshotBytes} bytes`,
    `setup: ${PROXIES} SVIDs in ${ms(svidMs)}, streams connected and settled in ${ms(connectMs)}`,
    `change every proxy needs, write -> all ${PROXIES} acked: p50 ${ms(result.sharedChange.allAckedMs.p50)}, p99 ${ms(result.sharedChange.allAckedMs.p99)}, max ${ms(result.sharedChange.allAckedMs.max)} (first ack p50 ${ms(result.sharedChange.firstAckMs.p50)})`,
    `  of which write -> control plane has read it (watch, 75 ms settle, loader): p50 ${ms(result.sharedChange.writeToReadMs.p50)}; read -> all acked: p50 ${ms(result.sharedChange.readToAllAckedMs.p50)}, p99 ${ms(result.sharedChange.readToAllAckedMs.p99)}, max ${ms(result.sharedChange.readToAllAckedMs.max)}`,
    `change one proxy needs, write -> its ack: p50 ${ms(result.singleProxyChange.ackedMs.p50)}, p99 ${ms(result.singleProxyChange.ackedMs.p99)}, max ${ms(result.singleProxyChange.ackedMs.max)}; snapshots sent to the other ${PROXIES - 1}: ${others}`,
    `control plane: ${result.control.pushes} pushes, push -> ack ${ms(result.control.pushToAckSecondsAvg * 1000)} on average`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const resultsDir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `mesh-push-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`written to ${path.relative(repoRoot, file)}\n`);
} finally {
  for (const p of proxies) {
    clearInterval(p.heartbeat);
    p.session.destroy();
  }
  control.proc.removeAllListeners('exit');
  control.proc.kill('SIGTERM');
  await new Promise((resolve) => control.proc.once('exit', resolve));
  fs.rmSync(work, { recursive: true, force: true });
}
