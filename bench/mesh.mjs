#!/usr/bin/env node
// Mesh benchmark (issue 4): what two sidecar hops add between a client and its app. One run
// measures client -> app, client -> windrose sidecar -> (mutual TLS) -> sidecar -> app, and, as the
// reference, the same two hops through two nginx with mutual TLS between them. See
// bench/README.md. Usage: node bench/mesh.mjs [options]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fail, log, parseBenchArgs } from './lib/cli.mjs';
import { loadProblems, runOpenLoop, runWrk } from './lib/load.mjs';
import { cpuSecondsBetween, cpuSnapshot, freePort, processTree, runChild, sleep, startChild, stopChild, systemBusy, treeRssBytes, which } from './lib/procs.mjs';
import { setUpHarness } from './lib/harness.mjs';
import { alignedTable, fmt, machineInfo, markdownTable, median } from './lib/report.mjs';
import { EXPECTED_BODY, benchDir, httpGet, repoRoot, startNginx, started, waitReady, windroseEntry } from './lib/targets.mjs';

const MAX_CONNECTIONS = 50; // wrk -c50, as in bench/run.mjs
// Open loop: a pause anywhere must not make requests queue in the client for a connection.
const OPEN_LOOP_CONNECTIONS = 128;
// What the client asks its sidecar for, as the app would (Host: <service>.<namespace>:<port>).
const SERVICE_HOST = 'reviews.default:9080';
const MB = 1024 * 1024;

// The published figures the results are read against (docs/performance.md cites the sources).
const ISTIO = 'Istio 1.20: two sidecars add 0.228 ms p90 / 0.298 ms p99 at 1000 req/s; a sidecar uses about 0.2–0.5 vCPU and 50–60 MB per 1000 req/s';
const LINKERD = 'Linkerd: its proxy uses about 18–26 MB';
const TARGET_P99_RATIO = 3;
const TARGET_IDLE_RSS_MB = 60;

// ---------------------------------------------------------------------------
// Command line

const TARGET_NAMES = ['direct', 'windrose', 'nginx'];
const LABELS = {
  direct: 'direct (client -> app)',
  windrose: 'windrose: sidecar -> mTLS -> sidecar',
  nginx: 'nginx: nginx -> mTLS -> nginx',
};

const USAGE = `usage: node bench/mesh.mjs [options]

  --rounds N        rounds of (direct, windrose, nginx), order rotated each round;
                    medians reported (default 5)
  --duration S      seconds of each measured phase: fixed rate, then max load (default 10)
  --warmup S        seconds of warm-up at max load before measuring, and of the open-loop
                    client before its measured window (default 2)
  --rate R          request rate of the open-loop latency phase (default 1000)
  --targets LIST    subset of ${TARGET_NAMES.join(', ')} (default all; direct is needed for added latency)
  -h, --help        this text
`;

function parseCli() {
  const { int, list } = parseBenchArgs({
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rate: { type: 'string', default: '1000' },
    targets: { type: 'string', default: TARGET_NAMES.join(',') },
  }, USAGE);
  return {
    rounds: int('rounds', 1, 20),
    durationSec: int('duration', 1, 120),
    warmupSec: int('warmup', 0, 60),
    rate: int('rate', 10, 100_000),
    targets: list('targets', TARGET_NAMES),
  };
}

// ---------------------------------------------------------------------------
// Setup

const opts = parseCli();
const { tools, pinning, CPU, pin, tempDirs, runAndExit } = setUpHarness(log);
const ctx = { pin, tools, tempDirs };
if (!tools.wrk) fail('wrk is required for the max-throughput phase (apt-get install wrk)', 1);
const openssl = which('openssl', ['/usr/bin/openssl']);

const targets = opts.targets.filter((name) => {
  if (name === 'windrose' && !fs.existsSync(windroseEntry)) {
    fail(`${path.relative(repoRoot, windroseEntry)} not found — build first (npm run build)`, 1);
  }
  if (name === 'nginx' && !(tools.nginx && openssl)) {
    log(`bench: skipping nginx: ${tools.nginx ? 'openssl' : 'nginx'} not installed`);
    return false;
  }
  return true;
});

/** A temporary directory, removed on the way out. nginx reads its certificates in its master process. */
function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** The app behind both paths: bench/upstream.mjs on the load CPU. */
async function startApp() {
  const port = await freePort();
  const [cmd, args] = pin(1, process.execPath, [path.join(benchDir, 'upstream.mjs'), String(port)]);
  const handle = startChild('app', cmd, args, { cwd: repoRoot, keepStdin: true });
  await waitReady(handle, port, { body: EXPECTED_BODY, timeoutMs: 10_000, what: 'app (bench/upstream.mjs)' });
  return { port, handle };
}

// ---------------------------------------------------------------------------
// windrose: the control plane and two sidecars, as `windrose control` / `windrose sidecar` run

const MESH_CONFIG = `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: default }
spec:
  ports: [{ name: http, port: 9080 }]
`;

/** Resolves once the child has written a JSON log line with `msg`. */
async function waitForLogLine(handle, msg, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  const seen = () => handle.stderr.text.split('\n').some((line) => line.includes(`"msg":${JSON.stringify(msg)}`));
  while (!seen()) {
    if (handle.exited || Date.now() > deadline) {
      throw new Error(`${what}: ${handle.exited ? `exited with ${handle.exitCode ?? handle.exitSignal}` : `no "${msg}" within ${timeoutMs / 1000} s`}\n${handle.stderr.text.slice(-4000)}`);
    }
    await sleep(50);
  }
}

async function startSidecar(control, { serviceAccount, services = [], appPort }) {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const token = await runChild('windrose control token', windroseEntry, [
    'control', 'token', '--data-dir', control.dataDir, '--namespace', 'default', '--service-account', serviceAccount,
  ], { timeoutMs: 15_000 });
  if (token.code !== 0) throw new Error(`windrose control token failed: ${token.stderr}`);
  // Run as the installed binary runs: through its shebang, with its Node flags.
  const [cmd, args] = pin(0, windroseEntry, [
    'sidecar', '--control', control.url, '--control-ca', path.join(control.dataDir, 'ca', 'root.crt.pem'),
    '--app-port', String(appPort), '--inbound', `127.0.0.1:${inbound}`, '--outbound', `127.0.0.1:${outbound}`,
    '--admin', `127.0.0.1:${admin}`, '--service', services.join(','), '--log-level', 'error', '--log-format', 'json',
  ]);
  const handle = startChild(`sidecar ${serviceAccount}`, cmd, args, { cwd: repoRoot, env: { ...process.env, WINDROSE_JOIN_TOKEN: token.stdout.trim() } });
  try {
    await waitReady(handle, admin, { urlPath: '/ready', timeoutMs: 30_000, what: `sidecar ${serviceAccount} (admin /ready)` });
  } catch (err) {
    await stopChild(handle);
    throw err;
  }
  return { ...started(handle, `http://127.0.0.1:${outbound}/`, `sidecar ${serviceAccount}`), outbound };
}

/** client -> sidecar "web" (outbound) -> mutual TLS -> sidecar "reviews" (inbound) -> app. */
async function startWindroseMesh(appPort) {
  const dataDir = tempDir('windrose-bench-mesh-data-');
  const configDir = tempDir('windrose-bench-mesh-config-');
  fs.writeFileSync(path.join(configDir, 'mesh.yaml'), MESH_CONFIG);
  const [port, admin] = [await freePort(), await freePort()];
  // The control plane is idle while measuring (heartbeats only): it runs with the load, not the proxies.
  const [cmd, args] = pin(1, windroseEntry, [
    'control', '--data-dir', dataDir, '--config', configDir, '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${admin}`,
    '--log-level', 'info', '--log-format', 'json',
  ]);
  const controlHandle = startChild('windrose control', cmd, args, { cwd: repoRoot });
  const control = { url: `https://127.0.0.1:${port}`, dataDir };
  const proxies = [];
  const stop = async () => {
    for (const p of proxies.reverse()) await p.stop();
    await stopChild(controlHandle);
  };
  try {
    await waitForLogLine(controlHandle, 'ready', 30_000, 'windrose control');
    const server = await startSidecar(control, { serviceAccount: 'reviews', services: ['reviews'], appPort });
    proxies.push(server);
    const client = await startSidecar(control, { serviceAccount: 'web', appPort });
    proxies.push(client);
    // Ready once the client's sidecar has the server's endpoint: an absolute-form request, as an HTTP_PROXY client sends.
    await waitReady(client, client.outbound, { urlPath: `http://${SERVICE_HOST}/`, body: EXPECTED_BODY, timeoutMs: 30_000, what: 'windrose mesh (GET through both sidecars)' });
    return {
      url: client.url,
      // Spelled "Host": wrk replaces its own Host header only then (a "host" would be a second one).
      headers: { Host: SERVICE_HOST },
      probe: () => httpGet(client.outbound, `http://${SERVICE_HOST}/`),
      proxies: [{ role: 'client side', pid: client.pid }, { role: 'server side', pid: server.pid }],
      check: () => server.check() ?? client.check() ?? (controlHandle.exited ? new Error(`windrose control exited\n${controlHandle.stderr.text.slice(-4000)}`) : null),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// nginx: the same two hops, mutual TLS between them

/** An EC P-256 CA and two leaf certificates signed by it, made with openssl in a temp dir. */
function makeCertificates() {
  const dir = tempDir('windrose-bench-mesh-certs-');
  const file = (name) => path.join(dir, name);
  const run = (args) => execFileSync(openssl, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'];
  run(['req', '-x509', ...key, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-subj', '/CN=bench mesh CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  const leaf = (name, serviceAccount, san) => run(['req', '-x509', ...key, '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
    '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-subj', `/CN=${serviceAccount}`,
    '-addext', `subjectAltName=${san}URI:spiffe://cluster.local/ns/default/sa/${serviceAccount}`,
    '-addext', 'extendedKeyUsage=serverAuth,clientAuth', '-addext', 'basicConstraints=critical,CA:FALSE']);
  leaf('client', 'web', '');
  leaf('server', 'reviews', 'DNS:reviews.default,');
  return file;
}

/** client -> nginx (plain HTTP in, HTTPS with a client certificate out) -> nginx (mutual TLS in) -> app. */
async function startNginxMesh(appPort) {
  const cert = makeCertificates();
  // TLS 1.3 on both sides, as between the sidecars; keep-alive upstream pools on both hops.
  const server = await startNginx(ctx, {
    label: 'nginx server side',
    upstreamPorts: [appPort],
    ready: 'tcp',
    listenParams: 'ssl',
    serverDirectives: [
      `ssl_certificate ${cert('server.crt')}`, `ssl_certificate_key ${cert('server.key')}`, 'ssl_protocols TLSv1.3',
      `ssl_client_certificate ${cert('ca.crt')}`, 'ssl_verify_client on',
    ],
    // The caller's identity goes to the app, as the sidecar's x-forwarded-client-cert does.
    locationDirectives: ['proxy_set_header X-Forwarded-Client-Cert "Subject=\\"$ssl_client_s_dn\\""'],
  });
  try {
    const client = await startNginx(ctx, {
      label: 'nginx client side',
      upstreamPorts: [server.port],
      upstreamScheme: 'https',
      locationDirectives: [
        `proxy_ssl_certificate ${cert('client.crt')}`, `proxy_ssl_certificate_key ${cert('client.key')}`,
        `proxy_ssl_trusted_certificate ${cert('ca.crt')}`, 'proxy_ssl_verify on', 'proxy_ssl_name reviews.default',
        'proxy_ssl_protocols TLSv1.3', 'proxy_ssl_session_reuse on',
      ],
    });
    return {
      url: client.url,
      headers: {},
      probe: () => httpGet(client.port),
      proxies: [{ role: 'client side', pid: client.pid }, { role: 'server side', pid: server.pid }],
      check: () => server.check() ?? client.check(),
      stop: async () => {
        await client.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

const STARTERS = {
  direct: async (appPort) => ({
    url: `http://127.0.0.1:${appPort}/`,
    headers: {},
    probe: () => httpGet(appPort),
    proxies: [],
    check: () => null,
    stop: async () => {},
  }),
  windrose: startWindroseMesh,
  nginx: startNginxMesh,
};

// ---------------------------------------------------------------------------
// Measurement

/**
 * Private memory (USS) of a process tree: what its exit would free. RSS also counts the pages of
 * the executable it shares with every other process running it (the node binary's code, for two
 * sidecars on one host).
 */
function treeUssBytes(rootPid) {
  let kb = 0;
  for (const p of processTree(rootPid)) {
    try {
      for (const m of fs.readFileSync(`/proc/${p.pid}/smaps_rollup`, 'utf8').matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB/gm)) kb += Number(m[1]);
    } catch {
      // exited
    }
  }
  return kb * 1024;
}

const BUSY_WARN = 0.1; // share of all CPUs busy while only the idle app runs

async function backgroundLoad(label) {
  const busy = await systemBusy(1000);
  if (busy > BUSY_WARN) log(`  ${label}: WARNING machine not idle: ${(busy * 100).toFixed(0)}% of CPU busy before starting — figures will be noisy`);
  return Math.round(busy * 1000) / 10;
}

function aliveCheck(target) {
  const err = target.check();
  if (err) throw err;
}

/** Per proxy: CPU snapshots now, and its peak RSS sampled every second until `finish()`. */
function watchProxies(proxies) {
  const before = proxies.map((p) => cpuSnapshot(p.pid));
  const peak = proxies.map(() => 0);
  const sample = () => proxies.forEach((p, i) => {
    peak[i] = Math.max(peak[i], treeRssBytes(p.pid));
  });
  const timer = setInterval(sample, 1000);
  return {
    finish: () => {
      clearInterval(timer);
      sample();
      return proxies.map((p, i) => ({ cpuSeconds: cpuSecondsBetween(before[i], cpuSnapshot(p.pid)).seconds, peakRssBytes: peak[i] }));
    },
  };
}

async function measure(name, round, appPort) {
  const label = `${name} (round ${round})`;
  const background = await backgroundLoad(label);
  const target = await STARTERS[name](appPort);
  try {
    // Idle: started, and a few requests through, as a workload's sidecar is between calls.
    for (let i = 0; i < 20; i++) {
      const r = await target.probe();
      if (r.status !== 200 || r.body !== EXPECTED_BODY) throw new Error(`${name}: GET answered ${r.status} ${JSON.stringify(r.body.slice(0, 200))}`);
    }
    await sleep(1000);
    const idleRssBytes = target.proxies.map((p) => treeRssBytes(p.pid));
    const idleUssBytes = target.proxies.map((p) => treeUssBytes(p.pid));

    if (opts.warmupSec > 0) {
      log(`  ${label}: warm-up ${opts.warmupSec} s`);
      await runWrk({ wrk: tools.wrk, pin, url: target.url, headers: target.headers, connections: MAX_CONNECTIONS, durationSec: opts.warmupSec, latency: false });
    }

    log(`  ${label}: ${opts.rate} req/s open loop for ${opts.durationSec} s`);
    let watch = null;
    const rate = await runOpenLoop({
      pin, url: target.url, headers: target.headers, rate: opts.rate, durationSec: opts.durationSec, warmupSec: opts.warmupSec,
      connections: OPEN_LOOP_CONNECTIONS, onMeasuring: () => { watch = watchProxies(target.proxies); },
    });
    if (watch === null) throw new Error('the open-loop client never reported the start of its measurement');
    const rateProxies = watch.finish();
    aliveCheck(target);
    rate.problems = loadProblems(rate);
    if (rate.reqPerSec < 0.95 * opts.rate) rate.problems.push(`achieved only ${Math.round(rate.reqPerSec)} of ${opts.rate} req/s`);

    log(`  ${label}: max throughput ${opts.durationSec} s`);
    watch = watchProxies(target.proxies);
    const max = await runWrk({ wrk: tools.wrk, pin, url: target.url, headers: target.headers, connections: MAX_CONNECTIONS, durationSec: opts.durationSec });
    const maxProxies = watch.finish();
    aliveCheck(target);
    max.problems = loadProblems(max);

    const proxies = target.proxies.map((p, i) => ({
      role: p.role,
      idleRssBytes: idleRssBytes[i],
      idleUssBytes: idleUssBytes[i],
      rate: rateProxies[i],
      max: maxProxies[i],
    }));
    const sum = (phase) => proxies.reduce((s, p) => s + p[phase].cpuSeconds, 0);
    const result = {
      round,
      target: name,
      rate,
      max,
      proxies,
      // CPU seconds both proxies spent per 1000 requests at the fixed rate: at 1000 req/s, the
      // share of a core they keep busy (Istio's "vCPU per 1000 requests per second").
      cpuSecPer1000Req: proxies.length ? (sum('rate') * 1000) / rate.requests : null,
      cpuUsPerReqMax: proxies.length ? (sum('max') * 1e6) / max.requests : null,
      backgroundCpuPct: background,
    };
    log(
      `  ${label}: @${opts.rate}/s p50 ${fmt.ms3(rate.latencyMs.p50)} p90 ${fmt.ms3(rate.latencyMs.p90)} p99 ${fmt.ms3(rate.latencyMs.p99)} ms; ` +
        `max ${fmt.int(max.reqPerSec)} req/s` +
        (proxies.length
          ? `; CPU ${fmt.num(result.cpuSecPer1000Req, 3)} s/1000 req; RSS idle ${proxies.map((p) => fmt.num(p.idleRssBytes / MB)).join(' + ')} MB, ` +
            `@${opts.rate}/s ${proxies.map((p) => fmt.num(p.rate.peakRssBytes / MB)).join(' + ')} MB`
          : ''),
    );
    for (const [phase, r] of [['fixed rate', rate], ['max load', max]]) for (const p of r.problems) log(`  ${label}: ${phase}: ${p}`);
    return result;
  } finally {
    await target.stop();
  }
}

// ---------------------------------------------------------------------------
// Summary

function summarize(runs) {
  const ok = runs.filter((r) => !r.error);
  const summary = {};
  for (const name of targets) {
    const mine = ok.filter((r) => r.target === name);
    const pick = (f) => median(mine.map(f));
    const perProxy = (f) => (mine[0]?.proxies ?? []).map((_, i) => median(mine.map((r) => f(r.proxies[i]))));
    // Added latency per round, against direct measured minutes apart in the same round.
    const added = (q) =>
      median(mine.map((r) => {
        const direct = ok.find((d) => d.target === 'direct' && d.round === r.round);
        return direct ? r.rate.latencyMs[q] - direct.rate.latencyMs[q] : null;
      }));
    summary[name] = {
      runs: mine.length,
      failedRuns: runs.filter((r) => r.target === name && r.error).length,
      p50Ms: pick((r) => r.rate.latencyMs.p50),
      p90Ms: pick((r) => r.rate.latencyMs.p90),
      p99Ms: pick((r) => r.rate.latencyMs.p99),
      addedP50Ms: name === 'direct' ? null : added('p50'),
      addedP90Ms: name === 'direct' ? null : added('p90'),
      addedP99Ms: name === 'direct' ? null : added('p99'),
      maxReqPerSec: pick((r) => r.max.reqPerSec),
      maxP99Ms: pick((r) => r.max.latencyMs.p99),
      cpuSecPer1000Req: pick((r) => r.cpuSecPer1000Req),
      cpuUsPerReqMax: pick((r) => r.cpuUsPerReqMax),
      roles: (mine[0]?.proxies ?? []).map((p) => p.role),
      idleRssMB: perProxy((p) => p.idleRssBytes / MB),
      idleUssMB: perProxy((p) => p.idleUssBytes / MB),
      rateRssMB: perProxy((p) => p.rate.peakRssBytes / MB),
      maxRssMB: perProxy((p) => p.max.peakRssBytes / MB),
      cpuSecPer1000ReqByProxy: (mine[0]?.proxies ?? []).map((_, i) => median(mine.map((r) => (r.proxies[i].rate.cpuSeconds * 1000) / r.rate.requests))),
      backgroundCpuPctMax: mine.length ? Math.max(...mine.map((r) => r.backgroundCpuPct)) : null,
    };
  }
  return summary;
}

/** windrose / nginx for the added p99, per round (runs minutes apart drift less) and of the medians. */
function ratios(runs, summary) {
  const ok = runs.filter((r) => !r.error);
  const addedP99 = (name, round) => {
    const r = ok.find((x) => x.target === name && x.round === round);
    const d = ok.find((x) => x.target === 'direct' && x.round === round);
    return r && d ? r.rate.latencyMs.p99 - d.rate.latencyMs.p99 : null;
  };
  const perRound = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const w = addedP99('windrose', round);
    const n = addedP99('nginx', round);
    if (w !== null && n !== null && n > 0) perRound.push(w / n);
  }
  const w = summary.windrose;
  const n = summary.nginx;
  return {
    addedP99PerRound: perRound,
    addedP99MedianOfRounds: median(perRound),
    addedP99OfMedians: w?.addedP99Ms != null && n?.addedP99Ms > 0 ? w.addedP99Ms / n.addedP99Ms : null,
    idleRssMaxMB: w?.idleRssMB.length ? Math.max(...w.idleRssMB) : null,
  };
}

const LATENCY_HEADER = ['target', `p50 ms @${opts.rate}/s`, 'p90 ms', 'p99 ms', 'added p50 ms', 'added p90 ms', 'added p99 ms', 'max req/s', 'p99 ms (max load)'];

function latencyRows(summary) {
  return targets.filter((n) => summary[n]).map((n) => {
    const s = summary[n];
    if (!s.runs) return [LABELS[n], 'failed', '', '', '', '', '', '', ''];
    return [LABELS[n], fmt.ms3(s.p50Ms), fmt.ms3(s.p90Ms), fmt.ms3(s.p99Ms), fmt.ms3(s.addedP50Ms), fmt.ms3(s.addedP90Ms), fmt.ms3(s.addedP99Ms), fmt.int(s.maxReqPerSec), fmt.ms(s.maxP99Ms)];
  });
}

const RESOURCE_HEADER = ['target', 'proxy', 'RSS MB idle', 'private MB idle', `RSS MB @${opts.rate}/s (peak)`, 'RSS MB max load (peak)', 'CPU s per 1000 req', 'CPU µs/req (max load, both)'];

function resourceRows(summary) {
  const rows = [];
  for (const n of targets) {
    const s = summary[n];
    if (!s?.runs || s.roles.length === 0) continue;
    s.roles.forEach((role, i) => rows.push([LABELS[n], role, fmt.num(s.idleRssMB[i]), fmt.num(s.idleUssMB[i]), fmt.num(s.rateRssMB[i]), fmt.num(s.maxRssMB[i]), fmt.num(s.cpuSecPer1000ReqByProxy[i], 3), i === 0 ? fmt.num(s.cpuUsPerReqMax) : '']));
    rows.push([LABELS[n], 'both', fmt.num(s.idleRssMB.reduce((a, b) => a + b, 0)), fmt.num(s.idleUssMB.reduce((a, b) => a + b, 0)), '', '', fmt.num(s.cpuSecPer1000Req, 3), '']);
  }
  return rows;
}

function verdictLines(summary, r) {
  const lines = [];
  const w = summary.windrose;
  const n = summary.nginx;
  if (w?.runs && n?.runs) {
    const ratio = r.addedP99MedianOfRounds ?? r.addedP99OfMedians;
    const range = r.addedP99PerRound.length > 1 ? `; per round ${Math.min(...r.addedP99PerRound).toFixed(2)}–${Math.max(...r.addedP99PerRound).toFixed(2)}` : '';
    lines.push(
      `added p99 @${opts.rate}/s, windrose / nginx: ${fmt.ratio(ratio)} (median of per-round ratios; ${fmt.ratio(r.addedP99OfMedians)} of the medians, ` +
        `${fmt.ms3(w.addedP99Ms)} vs ${fmt.ms3(n.addedP99Ms)} ms${range}) — target ≤ ${TARGET_P99_RATIO}×: ${ratio != null && ratio <= TARGET_P99_RATIO ? 'met' : 'MISSED'}`,
    );
  } else {
    lines.push('added p99 windrose / nginx: n/a (both must be measured)');
  }
  if (w?.runs) {
    lines.push(
      `sidecar RSS idle: ${w.idleRssMB.map((v, i) => `${w.roles[i]} ${fmt.num(v)} MB`).join(', ')} — target < ${TARGET_IDLE_RSS_MB} MB: ` +
        `${r.idleRssMaxMB < TARGET_IDLE_RSS_MB ? 'met' : 'MISSED'}`,
    );
    lines.push(
      `windrose per 1000 req/s: ${fmt.num(w.cpuSecPer1000Req, 3)} vCPU for both sidecars, ${w.rateRssMB.map((v) => fmt.num(v)).join(' + ')} MB; ` +
        `added p90 ${fmt.ms3(w.addedP90Ms)} ms, p99 ${fmt.ms3(w.addedP99Ms)} ms`,
    );
  }
  lines.push(`Published: ${ISTIO}. ${LINKERD}.`);
  return lines;
}

function caveats(summary) {
  const lines = [];
  const busy = targets.filter((n) => summary[n]?.backgroundCpuPctMax > BUSY_WARN * 100);
  if (busy.length) lines.push(`The machine was not idle before measuring ${busy.join(', ')} (other load > 10% of CPU): treat those figures with care.`);
  for (const n of targets) if (summary[n]?.failedRuns) lines.push(`${LABELS[n]}: ${summary[n].failedRuns} run(s) failed (see the log and the JSON).`);
  return lines;
}

function methodLines(machine) {
  return [
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.nginx ? `nginx ${machine.nginx}` : 'no nginx'}, ` +
      `wrk ${machine.wrk ?? 'n/a'}, ${machine.kernel}. Pinning: ${machine.pinning}; both proxies of a path share the proxy CPU, the windrose control plane runs on the other.`,
    `Method: ${opts.rounds} round(s), target order rotated each round, every target started fresh; per target: RSS of each proxy after start and 20 requests (idle), ` +
      `${opts.warmupSec} s warm-up (wrk), ${opts.rate} req/s open loop for ${opts.durationSec} s after ${opts.warmupSec} s of the client's own warm-up ` +
      `(${OPEN_LOOP_CONNECTIONS} keep-alive connections; CPU and peak RSS of each proxy over that window), then wrk -t1 -c${MAX_CONNECTIONS} for ${opts.durationSec} s. ` +
      'Added latency = the path\'s percentile minus direct\'s in the same round; medians over rounds. The app is bench/upstream.mjs (200 "hello world").',
  ];
}

async function main() {
  const perTarget = 1 + 4 + 3 * opts.warmupSec + 2 * opts.durationSec + 2;
  log(`bench: mesh, ${opts.rounds} round(s) of ${targets.join(', ')}; about ${Math.ceil((opts.rounds * targets.length * perTarget) / 60)} min`);
  const machine = machineInfo(tools, pinning && CPU);
  const runs = [];
  for (let round = 1; round <= opts.rounds; round++) {
    log(`bench: round ${round}/${opts.rounds}`);
    const shift = (round - 1) % targets.length;
    const order = [...targets.slice(shift), ...targets.slice(0, shift)];
    const app = await startApp();
    try {
      for (const name of order) {
        try {
          runs.push(await measure(name, round, app.port));
        } catch (err) {
          runs.push({ round, target: name, error: err.message });
          log(`  ${name}: FAILED — ${err.message.replace(/\n/g, '\n    ')}`);
        }
      }
    } finally {
      await stopChild(app.handle);
    }
  }

  const summary = summarize(runs);
  const r = ratios(runs, summary);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(benchDir, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `mesh-${stamp}.json`);
  fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, config: { ...opts, openLoopConnections: OPEN_LOOP_CONNECTIONS, maxConnections: MAX_CONNECTIONS }, summary, ratios: r, runs }, null, 2) + '\n');

  const verdict = verdictLines(summary, r);
  const notes = caveats(summary);
  const method = methodLines(machine);
  const out = [
    '', `Latency at ${opts.rate} req/s (open loop) and max throughput, medians of ${opts.rounds} round(s)`, '',
    alignedTable(LATENCY_HEADER, latencyRows(summary)), '',
    'Proxy resources', '',
    alignedTable(RESOURCE_HEADER, resourceRows(summary), 2), '',
    ...verdict, ...notes, ...method, `JSON: ${path.relative(repoRoot, file)}`, '', 'Markdown for docs/performance.md:', '',
    markdownTable(LATENCY_HEADER, latencyRows(summary)), '',
    markdownTable(RESOURCE_HEADER, resourceRows(summary), 2), '',
    ...[...verdict, ...notes].map((l) => `- ${l}`), '', ...method, '',
  ];
  process.stdout.write(out.join('\n'));
  return runs.some((x) => x.error) || runs.length === 0 ? 1 : 0;
}

await runAndExit(main);
