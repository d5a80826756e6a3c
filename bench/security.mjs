#!/usr/bin/env node
// Edge security benchmark (issue 5): what JWT validation, API-key lookup and the WAF cost on the
// request path, each as a ratio to the same request on a route with no security filter, all
// measured in one run against one windrose process. See bench/README.md.
// Usage: node bench/security.mjs [options]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { fail, log, parseBenchArgs } from './lib/cli.mjs';
import { setUpHarness } from './lib/harness.mjs';
import { loadProblems, runOpenLoop, runWrk } from './lib/load.mjs';
import { cpuSecondsBetween, cpuSnapshot, stopChild, treeRssBytes } from './lib/procs.mjs';
import { alignedTable, fmt, machineInfo, markdownTable, median } from './lib/report.mjs';
import { benchDir, repoRoot, startWindrose, windroseEntry } from './lib/targets.mjs';
import { startUpstreams, withFreshPort } from './lib/upstreams.mjs';

const MAX_CONNECTIONS = 50; // wrk -c50, as in bench/run.mjs
const RATE_CONNECTIONS = 16;

/** Each configuration is a route of its own on the one gateway; `none` is the route without a policy. */
const CONFIGS = {
  none: 'no security filter',
  jwt: 'JWT (RS256, local JWKS)',
  apikey: 'API key (SQLite store)',
  waf: 'WAF (paranoia 1, blocking)',
};

const USAGE = `usage: node bench/security.mjs [options]

  --configs LIST     ${Object.keys(CONFIGS).join(', ')}; default all (none is always measured)
  --rounds N         rounds; each runs every configuration, in an order that rotates (default 5)
  --duration S       seconds of each measured phase (default 5)
  --warmup S         seconds of warm-up at max load before each configuration (default 1)
  --rate R           request rate of the fixed-rate phase (default 1000)
  -h, --help         this text
`;

const { int, list } = parseBenchArgs({
  configs: { type: 'string', default: Object.keys(CONFIGS).join(',') },
  rounds: { type: 'string', default: '5' },
  duration: { type: 'string', default: '5' },
  warmup: { type: 'string', default: '1' },
  rate: { type: 'string', default: '1000' },
}, USAGE);
const opts = {
  configs: ['none', ...list('configs', Object.keys(CONFIGS)).filter((c) => c !== 'none')],
  rounds: int('rounds', 1, 20),
  durationSec: int('duration', 1, 120),
  warmupSec: int('warmup', 0, 60),
  rate: int('rate', 10, 100_000),
};

const { tools, pinning, CPU, pin, tempDirs, runAndExit } = setUpHarness(log);
const ctx = { pin, tools, tempDirs };
if (!fs.existsSync(windroseEntry)) fail(`${path.relative(repoRoot, windroseEntry)} not found — build the gateway first (npm run build)`, 1);
if (!tools.wrk) fail('wrk is required for the max-throughput phases (apt-get install wrk)', 1);

// ---------------------------------------------------------------------------
// Credentials and configuration

const ISSUER = 'https://issuer.bench.example';
const AUDIENCE = 'bench-api';

/** An RS256 key pair; the gateway gets the public half inline, the requests a token signed by the private one. */
async function jwtMaterial() {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const token = await new SignJWT({ scope: 'orders:read orders:write' })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('bench-user')
    .setIssuedAt()
    .setExpirationTime('24h')
    .sign(privateKey);
  return { jwks: JSON.stringify({ keys: [jwk] }), token };
}

/** An API key issued the way an operator issues one: `windrose keys create` against the gateway's data directory. */
function issueApiKey(dataDir) {
  const out = execFileSync(process.execPath, [windroseEntry, 'keys', 'create', '--consumer', 'bench', '--data-dir', dataDir, '--output', 'json'], { encoding: 'utf8' });
  return JSON.parse(out).key;
}

const route = (name) => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: default }
spec:
  parentRefs: [{ name: bench }]
  rules:
  - matches: [{ path: { type: PathPrefix, value: /${name}/ } }]
    backendRefs: [{ group: windrose.dev, kind: Backend, name: upstream }]
`;

const securityPolicy = (name, body) => `---
apiVersion: windrose.dev/v1alpha1
kind: SecurityPolicy
metadata: { name: ${name}, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: ${name} }]
${body}`;

function configYaml(jwks) {
  return [
    route('none'),
    route('jwt'),
    securityPolicy('jwt', `  jwt:
    providers:
    - name: bench
      issuer: ${ISSUER}
      audiences: [${AUDIENCE}]
      localJWKS: { type: Inline, value: '${jwks}' }
`),
    route('apikey'),
    securityPolicy('apikey', `  apiKeyAuth: {}
`),
    route('waf'),
    securityPolicy('waf', `  waf: { mode: Block, paranoiaLevel: 1 }
`),
  ].join('');
}

/**
 * Every configuration gets the same request, the credentials of all of them included, so that the
 * ratios measure the filters and not a difference in what was sent: a search with a few query
 * arguments, a browser's headers and cookies.
 */
function requestFor(base, name, creds) {
  return {
    url: `${base}${name}/search?q=running+shoes&page=2&sort=price_asc&size=42`,
    headers: {
      authorization: `Bearer ${creds.token}`,
      'x-api-key': creds.apiKey,
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
      accept: 'application/json, text/plain, */*',
      'accept-language': 'en-GB,en;q=0.9',
      cookie: 'session=9f8e7d6c5b4a; theme=dark; consent=analytics',
      referer: 'https://shop.example/catalogue/shoes?colour=blue',
    },
  };
}

// ---------------------------------------------------------------------------
// Measurement

async function measure(started, name, round, creds) {
  const label = `${name} (round ${round + 1})`;
  const req = requestFor(started.url, name, creds);
  if (opts.warmupSec > 0) await runWrk({ wrk: tools.wrk, pin, url: req.url, connections: MAX_CONNECTIONS, durationSec: opts.warmupSec, latency: false, headers: req.headers });
  const before = cpuSnapshot(started.pid);
  const max = await runWrk({ wrk: tools.wrk, pin, url: req.url, connections: MAX_CONNECTIONS, durationSec: opts.durationSec, headers: req.headers });
  const cpu = cpuSecondsBetween(before, cpuSnapshot(started.pid));
  const rate = await runOpenLoop({ pin, url: req.url, rate: opts.rate, durationSec: opts.durationSec, warmupSec: 1, connections: RATE_CONNECTIONS, headers: req.headers });
  const problems = [...loadProblems(max), ...loadProblems(rate)];
  if (rate.reqPerSec < 0.95 * opts.rate) problems.push(`achieved only ${Math.round(rate.reqPerSec)} of ${opts.rate} req/s`);
  const run = {
    round,
    config: name,
    reqPerSec: max.reqPerSec,
    maxP99Ms: max.latencyMs.p99,
    rateP50Ms: rate.latencyMs.p50,
    rateP99Ms: rate.latencyMs.p99,
    cpuUsPerReq: max.requests ? (cpu.seconds * 1e6) / max.requests : null,
    rssBytes: treeRssBytes(started.pid),
    problems,
  };
  log(`  ${label}: ${Math.round(run.reqPerSec)} req/s, p99 ${fmt.ms(run.maxP99Ms)} ms; @${opts.rate}/s p99 ${fmt.ms3(run.rateP99Ms)} ms; ${fmt.num(run.cpuUsPerReq)} µs CPU/req`);
  for (const p of problems) log(`  ${label}: ${p}`);
  return run;
}

const METRICS = [
  { key: 'reqPerSec', label: 'req/s (max load)', show: fmt.int },
  { key: 'maxP99Ms', label: 'p99 ms (max load)', show: fmt.ms },
  { key: 'rateP50Ms', label: `p50 ms @${opts.rate}/s`, show: fmt.ms3 },
  { key: 'rateP99Ms', label: `p99 ms @${opts.rate}/s`, show: fmt.ms3 },
  { key: 'cpuUsPerReq', label: 'CPU µs/req', show: (v) => fmt.num(v) },
];

/** Medians per configuration, and the median of the per-round ratios to `none` (the two runs of a round are close in time). */
function summarize(runs) {
  const summary = {};
  for (const name of opts.configs) {
    const mine = runs.filter((r) => r.config === name && r.problems.length === 0);
    const s = { runs: mine.length };
    for (const m of METRICS) {
      s[m.key] = median(mine.map((r) => r[m.key]));
      const ratios = mine.map((r) => {
        const base = runs.find((b) => b.config === 'none' && b.round === r.round && b.problems.length === 0);
        return base && base[m.key] ? r[m.key] / base[m.key] : null;
      });
      s[`${m.key}Ratio`] = median(ratios);
    }
    summary[name] = s;
  }
  return summary;
}

const HEADER = ['configuration', ...METRICS.map((m) => m.label), 'throughput ratio', `p99 @${opts.rate}/s ratio`, 'CPU/req ratio'];

function rows(summary) {
  return opts.configs.map((name) => {
    const s = summary[name];
    return [CONFIGS[name], ...METRICS.map((m) => m.show(s[m.key])), fmt.ratio(s.reqPerSecRatio), fmt.ratio(s.rateP99MsRatio), fmt.ratio(s.cpuUsPerReqRatio)];
  });
}

async function main() {
  const perConfig = opts.warmupSec + 2 * opts.durationSec + 3;
  log(`bench: security, configurations ${opts.configs.join(', ')}; about ${Math.ceil((opts.rounds * opts.configs.length * perConfig + 10) / 60)} min`);
  const machine = machineInfo(tools, pinning && CPU);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-bench-store-'));
  tempDirs.push(dataDir);
  const { jwks, token } = await jwtMaterial();
  const creds = { token, apiKey: issueApiKey(dataDir) };

  const upstream = await startUpstreams(pin, 1);
  const runs = [];
  try {
    const started = await withFreshPort(() => startWindrose(ctx, { upstreamPorts: upstream.ports, extraYaml: configYaml(jwks), extraArgs: ['--data-dir', dataDir] }));
    try {
      for (let round = 0; round < opts.rounds; round++) {
        // Rotating the order spreads the machine's drift over every configuration.
        const order = opts.configs.map((_, i) => opts.configs[(i + round) % opts.configs.length]);
        for (const name of order) runs.push(await measure(started, name, round, creds));
      }
    } finally {
      await started.stop();
    }
  } finally {
    await stopChild(upstream.handle);
  }

  const summary = summarize(runs);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(benchDir, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `security-${stamp}.json`);
  fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, config: opts, runs, summary }, null, 2) + '\n');

  const method = [
    `${opts.rounds} round(s); in each, every configuration on the same windrose process (1 worker${pinning ? `, CPU ${CPU.proxy}` : ''}): ` +
      `${opts.warmupSec} s warm-up, ${opts.durationSec} s of wrk -t1 -c${MAX_CONNECTIONS}, ${opts.durationSec} s at ${opts.rate} req/s ` +
      `(open loop over ${RATE_CONNECTIONS} connections). Medians per column; ratio = median of the per-round ratios to "${CONFIGS.none}".`,
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, wrk ${machine.wrk}; pinning: ${machine.pinning}.`,
  ];
  const out = ['', alignedTable(HEADER, rows(summary)), '', ...method, `JSON: ${path.relative(repoRoot, file)}`, '', 'Markdown for docs/performance.md:', '',
    markdownTable(HEADER, rows(summary)), '', ...method, ''];
  process.stdout.write(out.join('\n'));
  return runs.some((r) => r.problems.length > 0) ? 1 : 0;
}

await runAndExit(main);
