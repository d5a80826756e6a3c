#!/usr/bin/env node
// Resilience benchmark (issue 3): what windrose's backend resilience features cost on the happy
// path, and what they buy when one of three backends fails, next to nginx retrying with
// proxy_next_upstream. See bench/README.md. Usage: node bench/resilience.mjs [options]
import fs from 'node:fs';
import path from 'node:path';
import { fail, log, parseBenchArgs } from './lib/cli.mjs';
import { loadProblems, runAutocannon, runOpenLoop, runWrk } from './lib/load.mjs';
import {
  cpuSecondsBetween,
  cpuSnapshot,
  sleep,
  stopChild,
  systemBusy,
  treeRssBytes,
} from './lib/procs.mjs';
import { setUpHarness } from './lib/harness.mjs';
import { startUpstreams, withFreshPort } from './lib/upstreams.mjs';
import { alignedTable, fmt, machineInfo, markdownTable, median } from './lib/report.mjs';
import { EXPECTED_BODY, benchDir, httpGet, repoRoot, startNginx, startWindrose, windroseEntry } from './lib/targets.mjs';

const MAX_CONNECTIONS = 50; // wrk -c50, as in bench/run.mjs
// Enough that requests held up by retries never make the open-loop client wait for a connection.
const OPEN_LOOP_CONNECTIONS = 128;

// ---------------------------------------------------------------------------
// Configurations

const policy = (body) => `---
apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: resilience, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: bench }]
${body}`;

const RETRY = `  retry:
    numRetries: 2
    retryOn: { triggers: [connect-failure, reset, retriable-status-codes], httpStatusCodes: [503] }
`;

// Every feature on, with limits far above the benchmark's load so that none of them trips.
const ALL_ON = policy(`  loadBalancer: { type: LeastRequest }
  healthCheck:
    active:
      type: HTTP
      http: { path: /health, expectedStatuses: [200] }
      interval: 1s
      timeout: 1s
      healthyThreshold: 1
      unhealthyThreshold: 3
    passive: { interval: 1s, consecutive5XxErrors: 5, consecutiveGatewayErrors: 3, baseEjectionTime: 30s, maxEjectionPercent: 34 }
  circuitBreaker: { maxConnections: 10000, maxPendingRequests: 10000, maxParallelRequests: 10000, maxParallelRetries: 100 }
  retry:
    numRetries: 2
    retryOn: { triggers: [connect-failure, reset, retriable-status-codes], httpStatusCodes: [503] }
    perRetry: { timeout: 2s, backOff: { baseInterval: 25ms, maxInterval: 250ms } }
    budget: { percent: 20, minRetriesPerSecond: 10, interval: 10s }
  timeout: { http: { streamIdleTimeout: 30s } }
`);

/** Scenario A: the same windrose twice, without and with every resilience feature. */
const HAPPY_CONFIGS = [
  { name: 'none', extraYaml: '' },
  { name: 'all', extraYaml: ALL_ON },
];

/** Scenario B targets, each in front of the same three endpoints. */
const FAULT_TARGETS = [
  {
    name: 'windrose-bare',
    label: 'windrose, no protection',
    start: (ctx, ports) => startWindrose(ctx, { upstreamPorts: ports }),
  },
  {
    name: 'windrose-retry',
    label: 'windrose, retries only',
    start: (ctx, ports) => startWindrose(ctx, { upstreamPorts: ports, extraYaml: policy(RETRY) }),
  },
  {
    name: 'windrose',
    label: 'windrose, retries + outlier detection',
    start: (ctx, ports) =>
      startWindrose(ctx, {
        upstreamPorts: ports,
        extraYaml: policy(`${RETRY}  healthCheck:
    passive: { consecutiveGatewayErrors: 3, baseEjectionTime: 30s }
`),
      }),
  },
  {
    name: 'nginx',
    label: 'nginx, proxy_next_upstream + max_fails',
    needsNginx: true,
    start: (ctx, ports) =>
      startNginx(ctx, {
        upstreamPorts: ports,
        serverParams: 'max_fails=3 fail_timeout=30s',
        locationDirectives: ['proxy_next_upstream error timeout http_503', 'proxy_next_upstream_tries 3'],
      }),
  },
];

const FAULTS = {
  refuse: 'the endpoint\'s process exits: its connections close and new ones are refused',
  503: 'the endpoint answers 503 to everything, over its open connections',
};

// ---------------------------------------------------------------------------
// Command line

const USAGE = `usage: node bench/resilience.mjs [options]

  --scenarios LIST   a (happy-path cost), b (one of three backends failing); default a,b
  --faults LIST      failures for scenario b: refuse, 503; default refuse,503
  --targets LIST     scenario b targets: ${FAULT_TARGETS.map((t) => t.name).join(', ')}; default all
  --rounds N         scenario a: alternating rounds of (none, all); medians reported (default 5)
  --fault-rounds N   scenario b: runs of each target, fault and phase (default 3)
  --duration S       scenario a: seconds of each measured phase (default 5)
  --fault-duration S scenario b: seconds of each measured phase (default 10)
  --warmup S         seconds of warm-up at max load before measuring, and of the
                     open-loop client before its measured window (default 2)
  --rate R           request rate of the fixed-rate phases (default 1000)
  --rate-connections C
                     scenario a: autocannon connections sharing that rate (default 1);
                     scenario b sends open-loop over ${OPEN_LOOP_CONNECTIONS} connections
  -h, --help         this text
`;

function parseCli() {
  const { int, list } = parseBenchArgs({
    scenarios: { type: 'string', default: 'a,b' },
    faults: { type: 'string', default: 'refuse,503' },
    targets: { type: 'string', default: FAULT_TARGETS.map((t) => t.name).join(',') },
    rounds: { type: 'string', default: '5' },
    'fault-rounds': { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    'fault-duration': { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rate: { type: 'string', default: '1000' },
    'rate-connections': { type: 'string', default: '1' },
  }, USAGE);
  return {
    scenarios: list('scenarios', ['a', 'b']),
    faults: list('faults', Object.keys(FAULTS)),
    targets: list('targets', FAULT_TARGETS.map((t) => t.name)),
    rounds: int('rounds', 1, 20),
    faultRounds: int('fault-rounds', 1, 20),
    durationSec: int('duration', 1, 120),
    faultDurationSec: int('fault-duration', 1, 120),
    warmupSec: int('warmup', 0, 60),
    rate: int('rate', 10, 100_000),
    rateConnections: int('rate-connections', 1, 1000),
  };
}

// ---------------------------------------------------------------------------
// Setup: tools, pinning, cleanup

const opts = parseCli();

const { tools, pinning, CPU, pin, tempDirs, stopping, runAndExit } = setUpHarness(log);
const ctx = { pin, tools, tempDirs };
if (!fs.existsSync(windroseEntry)) fail(`${path.relative(repoRoot, windroseEntry)} not found — build the gateway first (npm run build)`, 1);
if (!tools.wrk) fail('wrk is required for the max-throughput phases (apt-get install wrk)', 1);

const faultTargets = FAULT_TARGETS.filter((t) => {
  if (!opts.targets.includes(t.name)) return false;
  if (t.needsNginx && !tools.nginx) {
    log(`bench: skipping ${t.name}: nginx not installed (/usr/sbin/nginx or nginx on PATH)`);
    return false;
  }
  return true;
});

// ---------------------------------------------------------------------------
// Measurement

const BUSY_WARN = 0.1; // share of all CPUs busy while only idle upstreams run

async function backgroundLoad(label) {
  const busy = await systemBusy(1000);
  if (busy > BUSY_WARN) log(`  ${label}: WARNING machine not idle: ${(busy * 100).toFixed(0)}% of CPU busy before starting — figures will be noisy`);
  return Math.round(busy * 1000) / 10;
}

function aliveCheck(started) {
  const err = started.check?.();
  if (err) throw err;
}

async function warmUp(started, label) {
  if (opts.warmupSec === 0) return;
  log(`  ${label}: warm-up ${opts.warmupSec} s`);
  await runWrk({ wrk: tools.wrk, pin, url: started.url, connections: MAX_CONNECTIONS, durationSec: opts.warmupSec, latency: false });
}

/** wrk at max load, with the CPU the proxy's process tree used meanwhile. */
async function maxPhase(started, durationSec) {
  const before = cpuSnapshot(started.pid);
  const max = await runWrk({ wrk: tools.wrk, pin, url: started.url, connections: MAX_CONNECTIONS, durationSec });
  const cpu = cpuSecondsBetween(before, cpuSnapshot(started.pid));
  aliveCheck(started);
  max.problems = loadProblems(max);
  max.cpuUsPerReq = max.requests ? (cpu.seconds * 1e6) / max.requests : null;
  max.cpuUtilPct = max.durationSec ? Math.round((cpu.seconds / max.durationSec) * 1000) / 10 : null;
  return max;
}

/**
 * Scenario a measures as bench/run.mjs does (autocannon); scenario b open loop
 * (bench/load/open-loop.mjs), whose client warms up at the rate and then calls `onMeasuring`.
 */
async function ratePhase(started, durationSec, { openLoop = false, expectBody, onMeasuring } = {}) {
  const rate = openLoop
    ? await runOpenLoop({
        pin,
        url: started.url,
        rate: opts.rate,
        durationSec,
        warmupSec: opts.warmupSec,
        connections: OPEN_LOOP_CONNECTIONS,
        onMeasuring,
      })
    : await runAutocannon({ pin, url: started.url, connections: opts.rateConnections, durationSec, overallRate: opts.rate, expectBody });
  aliveCheck(started);
  rate.problems = loadProblems(rate);
  if (rate.reqPerSec < 0.95 * opts.rate) rate.problems.push(`achieved only ${Math.round(rate.reqPerSec)} of ${opts.rate} req/s`);
  return rate;
}

function warnProblems(label, phase, r) {
  for (const p of r.problems) log(`  ${label}: ${phase}: ${p}`);
}

// --- Scenario A -------------------------------------------------------------

async function measureHappy(config, round, upstreamPorts) {
  const label = `a/${config.name}`;
  const background = await backgroundLoad(label);
  const started = await withFreshPort(() => startWindrose(ctx, { upstreamPorts, extraYaml: config.extraYaml }));
  try {
    await warmUp(started, label);
    log(`  ${label}: max throughput ${opts.durationSec} s`);
    const max = await maxPhase(started, opts.durationSec);
    log(`  ${label}: ${opts.rate} req/s for ${opts.durationSec} s`);
    const rate = await ratePhase(started, opts.durationSec, { expectBody: EXPECTED_BODY });
    const rssBytes = treeRssBytes(started.pid);
    log(
      `  ${label}: ${Math.round(max.reqPerSec)} req/s, p99 ${fmt.ms(max.latencyMs.p99)} ms; @${opts.rate}/s p99 ${fmt.ms3(rate.latencyMs.p99)} ms; ` +
        `${fmt.num(max.cpuUsPerReq)} µs CPU/req (${max.cpuUtilPct}% of a core); RSS ${(rssBytes / 1048576).toFixed(1)} MB`,
    );
    warnProblems(label, 'max load', max);
    warnProblems(label, 'fixed rate', rate);
    return { round, config: config.name, max, rate, rssBytes, backgroundCpuPct: background };
  } finally {
    await started.stop();
  }
}

const HAPPY_METRICS = [
  { key: 'reqPerSec', label: 'req/s (max load)', get: (r) => r.max.reqPerSec, show: fmt.int },
  { key: 'p50Ms', label: 'p50 ms (max load)', get: (r) => r.max.latencyMs.p50, show: fmt.ms },
  { key: 'p99Ms', label: 'p99 ms (max load)', get: (r) => r.max.latencyMs.p99, show: fmt.ms },
  { key: 'rateP50Ms', label: `p50 ms @${opts.rate}/s`, get: (r) => r.rate.latencyMs.p50, show: fmt.ms3 },
  { key: 'rateP99Ms', label: `p99 ms @${opts.rate}/s`, get: (r) => r.rate.latencyMs.p99, show: fmt.ms3 },
  { key: 'cpuUsPerReq', label: 'CPU µs/req', get: (r) => r.max.cpuUsPerReq, show: (v) => fmt.num(v) },
  { key: 'rssMB', label: 'RSS MB', get: (r) => r.rssBytes / 1048576, show: (v) => fmt.num(v) },
];

/**
 * Medians per configuration, and the median of the per-round ratios all/none: the two runs of a
 * round are seconds apart, so their ratio drifts less with the machine than a ratio of medians.
 */
function summarizeHappy(runs) {
  const ok = runs.filter((r) => !r.error);
  const of = (name) => ok.filter((r) => r.config === name);
  const summary = {};
  for (const m of HAPPY_METRICS) {
    const ratios = [];
    for (const a of of('all')) {
      const n = of('none').find((r) => r.round === a.round);
      if (n && m.get(n)) ratios.push(m.get(a) / m.get(n));
    }
    summary[m.key] = {
      none: median(of('none').map(m.get)),
      all: median(of('all').map(m.get)),
      ratio: median(ratios),
      ratios,
    };
  }
  summary.rounds = { none: of('none').length, all: of('all').length };
  summary.cpuUtilPct = { none: median(of('none').map((r) => r.max.cpuUtilPct)), all: median(of('all').map((r) => r.max.cpuUtilPct)) };
  summary.backgroundCpuPctMax = ok.length ? Math.max(...ok.map((r) => r.backgroundCpuPct)) : null;
  return summary;
}

function happyRows(summary) {
  return HAPPY_METRICS.map((m) => {
    const s = summary[m.key];
    const range = s.ratios.length > 1 ? `${Math.min(...s.ratios).toFixed(2)}–${Math.max(...s.ratios).toFixed(2)}` : '–';
    return [m.label, m.show(s.none), m.show(s.all), fmt.ratio(s.ratio), range];
  });
}
const HAPPY_HEADER = ['metric', 'none', 'all on', 'all on / none', 'per-round ratios'];

async function scenarioA() {
  const runs = [];
  log(`bench: scenario a — happy-path cost, ${opts.rounds} round(s) of (none, all)`);
  for (let round = 1; round <= opts.rounds; round++) {
    // ABBA order, so that a machine drifting one way over the run favours neither.
    const order = round % 2 ? HAPPY_CONFIGS : [...HAPPY_CONFIGS].reverse();
    log(`bench: a: round ${round}/${opts.rounds}`);
    const upstream = await startUpstreams(pin, 3);
    try {
      for (const config of order) {
        try {
          runs.push(await measureHappy(config, round, upstream.ports));
        } catch (err) {
          if (stopping()) throw err;
          runs.push({ round, config: config.name, error: err.message });
          log(`  a/${config.name}: FAILED — ${err.message.replace(/\n/g, '\n    ')}`);
        }
      }
    } finally {
      await stopChild(upstream.handle);
    }
  }
  return { runs, summary: summarizeHappy(runs) };
}

// --- Scenario B -------------------------------------------------------------

/** Fails the endpoint served by `failing` (its own upstream process) in the way `fault` names. */
async function injectFault(fault, failing) {
  if (fault === 'refuse') {
    await stopChild(failing.handle);
    return;
  }
  process.kill(failing.handle.pid, 'SIGUSR2');
  // Returns once the endpoint is seen failing, so that max-load phases start with the failure.
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    if ((await httpGet(failing.ports[0])).status === 503) return;
    await sleep(10);
  }
  throw new Error('the failing upstream did not switch to 503 after SIGUSR2');
}

/**
 * Requests sent and failed: a non-2xx answer, a socket error or (wrk) a response slower than its
 * 2 s timeout counts as failed.
 */
function outcome(r) {
  if (r.tool === 'wrk') {
    const { connect, read, write, timeout } = r.socketErrors;
    const sent = r.requests + connect + read + write;
    return { sent, failed: Math.min(sent, r.non2xx + connect + read + write + timeout) };
  }
  return { sent: r.requests + r.errors, failed: r.non2xx + r.errors };
}

const WINDROSE_COUNTERS = /^windrose_upstream_(retries_total|retry_budget_exhausted_total|overflow_total|ejections_total|panic_total|endpoints)\b/;

/** windrose's own account of the phase: retries, refusals, ejections, endpoint states. */
async function windroseCounters(started) {
  try {
    const { status, body } = await httpGet(started.adminPort, '/metrics', 2000);
    if (status !== 200) return null;
    const out = {};
    for (const line of body.split('\n')) {
      const m = /^(\w+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
      if (!m || !WINDROSE_COUNTERS.test(m[1]) || Number(m[3]) === 0) continue;
      // One backend here, so its label says nothing.
      const labels = (m[2] ?? '').split(',').filter((l) => l && !l.startsWith('backend='));
      const key = `${m[1].replace('windrose_upstream_', '')}${labels.length ? `{${labels.join(',')}}` : ''}`;
      out[key] = (out[key] ?? 0) + Number(m[3]);
    }
    return out;
  } catch {
    return null;
  }
}

async function measureFault(target, fault, phase, round) {
  const label = `b/${fault}/${target.name}/${phase}`;
  const healthy = await startUpstreams(pin, 2);
  let failing;
  let started;
  try {
    failing = await startUpstreams(pin, 1);
    const background = await backgroundLoad(label);
    started = await withFreshPort(() => target.start(ctx, [...healthy.ports, ...failing.ports]));
    // Warm up with all three healthy, then fail one: the measurement starts at the failure.
    await warmUp(started, label);
    let load;
    if (phase === 'rate') {
      log(`  ${label}: ${opts.rate} req/s, ${opts.warmupSec} s healthy, then ${opts.faultDurationSec} s with the failure`);
      // The failure starts when the client's measured window does, after its own warm-up.
      let injected = null;
      const onMeasuring = () => {
        injected = injectFault(fault, failing).then(() => null, (err) => err);
      };
      load = await ratePhase(started, opts.faultDurationSec, { openLoop: true, onMeasuring });
      if (injected === null) throw new Error('the open-loop client never reported the start of its measurement');
      const err = await injected;
      if (err) throw err;
    } else {
      await injectFault(fault, failing);
      log(`  ${label}: max load for ${opts.faultDurationSec} s`);
      load = await maxPhase(started, opts.faultDurationSec);
    }
    const { sent, failed } = outcome(load);
    const counters = started.adminPort ? await windroseCounters(started) : null;
    const result = {
      round,
      fault,
      target: target.name,
      phase,
      load,
      sent,
      failed,
      successPct: sent ? (100 * (sent - failed)) / sent : null,
      windroseCounters: counters,
      backgroundCpuPct: background,
    };
    log(
      `  ${label}: ${fmt.num(result.successPct, 2)}% ok (${failed} of ${sent} failed), ${Math.round(load.reqPerSec)} req/s, ` +
        `p50 ${fmt.ms3(load.latencyMs.p50)} ms, p99 ${fmt.ms3(load.latencyMs.p99)} ms` +
        (counters ? `; windrose: ${JSON.stringify(counters)}` : ''),
    );
    return result;
  } finally {
    await started?.stop();
    if (failing && !failing.handle.exited) await stopChild(failing.handle);
    await stopChild(healthy.handle);
  }
}

function summarizeFault(runs) {
  const ok = runs.filter((r) => !r.error);
  const pick = (f) => median(ok.map(f));
  return {
    runs: ok.length,
    failedRuns: runs.length - ok.length,
    successPct: pick((r) => r.successPct),
    worstSuccessPct: ok.length ? Math.min(...ok.map((r) => r.successPct)) : null,
    reqPerSec: pick((r) => r.load.reqPerSec),
    p50Ms: pick((r) => r.load.latencyMs.p50),
    p99Ms: pick((r) => r.load.latencyMs.p99),
    // Open loop only: the first second of the failure, before detection has done its work.
    firstSecondP99Ms: pick((r) => r.load.perSecond?.[0]?.p99Ms),
    backgroundCpuPctMax: ok.length ? Math.max(...ok.map((r) => r.backgroundCpuPct)) : null,
  };
}

const FAULT_HEADER = [
  'failure',
  'target',
  `ok % @${opts.rate}/s`,
  `p50 ms @${opts.rate}/s`,
  `p99 ms @${opts.rate}/s`,
  `p99 ms @${opts.rate}/s, 1st s`,
  'ok % (max load)',
  'req/s (max load)',
  'p99 ms (max load)',
];

const pct = (v) => (v == null ? '–' : v >= 99.995 ? '100' : v.toFixed(2));

function faultRows(summary) {
  const rows = [];
  for (const fault of opts.faults) {
    for (const t of faultTargets) {
      const rate = summary[fault]?.[t.name]?.rate;
      const max = summary[fault]?.[t.name]?.max;
      if (!rate && !max) continue;
      const okText = (s) => (s?.runs ? `${pct(s.successPct)}${s.runs > 1 && s.worstSuccessPct < s.successPct - 0.005 ? ` (≥ ${pct(s.worstSuccessPct)})` : ''}` : 'failed');
      rows.push([
        fault === 'refuse' ? 'connection refused' : '503',
        t.label,
        okText(rate),
        fmt.ms3(rate?.p50Ms),
        fmt.ms3(rate?.p99Ms),
        fmt.ms3(rate?.firstSecondP99Ms),
        okText(max),
        fmt.int(max?.reqPerSec),
        fmt.ms(max?.p99Ms),
      ]);
    }
  }
  return rows;
}

async function scenarioB() {
  const runs = [];
  const failed = {};
  log(`bench: scenario b — one of three backends failing (${opts.faults.join(', ')}), ${opts.faultRounds} round(s)`);
  for (let round = 1; round <= opts.faultRounds; round++) {
    log(`bench: b: round ${round}/${opts.faultRounds}`);
    // Rotate the order each round so that drift is spread over the targets.
    const shift = (round - 1) % faultTargets.length;
    const order = [...faultTargets.slice(shift), ...faultTargets.slice(0, shift)];
    for (const fault of opts.faults) {
      for (const target of order) {
        for (const phase of ['rate', 'max']) {
          const key = `${fault}/${target.name}`;
          if (failed[key]) continue;
          try {
            runs.push(await measureFault(target, fault, phase, round));
          } catch (err) {
            if (stopping()) throw err;
            failed[key] = err.message;
            runs.push({ round, fault, target: target.name, phase, error: err.message });
            log(`  b/${key}/${phase}: FAILED — ${err.message.replace(/\n/g, '\n    ')}`);
          }
        }
      }
    }
  }
  const summary = {};
  for (const fault of opts.faults) {
    summary[fault] = {};
    for (const t of faultTargets) {
      const of = (phase) => runs.filter((r) => r.fault === fault && r.target === t.name && r.phase === phase);
      summary[fault][t.name] = { rate: summarizeFault(of('rate')), max: summarizeFault(of('max')) };
    }
  }
  return { runs, summary, failed };
}

// ---------------------------------------------------------------------------

function caveats(a, b) {
  const lines = [];
  if (a) {
    for (const name of ['none', 'all']) {
      const util = a.summary.cpuUtilPct[name];
      if (util != null && util < 85) {
        lines.push(`windrose (${name}) used ${util.toFixed(0)}% of its core at max load: req/s is capped by CPU 1 (upstream and wrk); compare CPU µs/req.`);
      }
    }
    if (a.summary.backgroundCpuPctMax > BUSY_WARN * 100) {
      lines.push(`The machine was not idle during scenario a (up to ${a.summary.backgroundCpuPctMax}% CPU busy before a measurement).`);
    }
  }
  if (b) {
    const busy = Math.max(0, ...b.runs.filter((r) => !r.error).map((r) => r.backgroundCpuPct));
    if (busy > BUSY_WARN * 100) lines.push(`The machine was not idle during scenario b (up to ${busy}% CPU busy before a measurement).`);
    for (const [key, msg] of Object.entries(b.failed)) lines.push(`FAILED ${key}: ${msg.split('\n')[0]} (details in the log and the JSON)`);
  }
  return lines;
}

function methodLines(machine) {
  const lines = [
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.nginx ? `nginx ${machine.nginx}` : 'no nginx'}, ` +
      `wrk ${machine.wrk ?? 'n/a'}, autocannon ${machine.autocannon ?? 'n/a'}, ${machine.kernel}. Pinning: ${machine.pinning}.`,
  ];
  if (opts.scenarios.includes('a')) {
    lines.push(
      `Scenario a: ${opts.rounds} round(s) of (none, all) in ABBA order; each run ${opts.warmupSec} s warm-up, ${opts.durationSec} s of ` +
        `wrk -t1 -c${MAX_CONNECTIONS}, ${opts.durationSec} s at ${opts.rate} req/s (autocannon overallRate, ${opts.rateConnections} connection(s)); ` +
        'medians per column, ratio = median of the per-round ratios.',
    );
  }
  if (opts.scenarios.includes('b')) {
    lines.push(
      `Scenario b: ${opts.faultRounds} run(s) per failure, target and phase, each on a fresh proxy and upstreams: ${opts.warmupSec} s warm-up ` +
        `at max load with three healthy endpoints, then one fails and ${opts.faultDurationSec} s are measured at ${opts.rate} req/s (open loop over ` +
        `${OPEN_LOOP_CONNECTIONS} connections, after ${opts.warmupSec} s of the client's own warm-up at that rate; latencies of 2xx answers) ` +
        `or at max load (wrk -t1 -c${MAX_CONNECTIONS}; latencies of all answers). ` +
        'ok % = answers 2xx / requests sent (median; worst run in parentheses when lower).',
    );
    for (const fault of opts.faults) lines.push(`Failure "${fault}": ${FAULTS[fault]}.`);
  }
  return lines;
}

async function main() {
  const perHappy = 2 * opts.rounds * (opts.warmupSec + 2 * opts.durationSec + 5);
  // The fixed-rate phase has the client's warm-up on top of the proxy's.
  const perFault = opts.faultRounds * opts.faults.length * faultTargets.length * (3 * opts.warmupSec + 2 * opts.faultDurationSec + 10);
  const total = (opts.scenarios.includes('a') ? perHappy : 0) + (opts.scenarios.includes('b') ? perFault : 0);
  log(`bench: resilience, scenarios ${opts.scenarios.join(', ')}; about ${Math.ceil(total / 60)} min`);

  const machine = machineInfo(tools, pinning && CPU);
  const a = opts.scenarios.includes('a') ? await scenarioA() : null;
  const b = opts.scenarios.includes('b') ? await scenarioB() : null;

  const config = { ...opts, maxTool: `wrk -t1 -c${MAX_CONNECTIONS}`, policies: { allOn: ALL_ON, fault: Object.fromEntries(FAULT_TARGETS.map((t) => [t.name, t.label])) } };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(benchDir, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `resilience-${stamp}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), machine, config, happyPath: a, fault: b }, null, 2) + '\n',
  );

  const notes = caveats(a, b);
  const out = [''];
  const md = [];
  if (a) {
    out.push(`Scenario a: happy-path cost of the resilience features (medians of ${opts.rounds} round(s))`, '');
    out.push(alignedTable(HAPPY_HEADER, happyRows(a.summary)), '');
    md.push(markdownTable(HAPPY_HEADER, happyRows(a.summary)), '');
  }
  if (b) {
    out.push(`Scenario b: one of three backends failing (medians of ${opts.faultRounds} run(s))`, '');
    out.push(alignedTable(FAULT_HEADER, faultRows(b.summary), 2), '');
    md.push(markdownTable(FAULT_HEADER, faultRows(b.summary), 2), '');
  }
  const method = methodLines(machine);
  out.push(...notes, ...method, `JSON: ${path.relative(repoRoot, file)}`, '', 'Markdown for docs/performance.md:', '');
  md.push(...notes.map((l) => `- ${l}`), ...(notes.length ? [''] : []), ...method);
  out.push(...md, '');
  process.stdout.write(out.join('\n'));
  const anyFailed = (a?.runs ?? []).some((r) => r.error) || Object.keys(b?.failed ?? {}).length > 0;
  return anyFailed ? 1 : 0;
}

await runAndExit(main);
