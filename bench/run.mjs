#!/usr/bin/env node
// Proxy benchmark harness: windrose vs nginx and Node reverse proxies, on loopback.
// See bench/README.md. Usage: node bench/run.mjs [--runs N] [--duration S] [--only a,b]
import fs from 'node:fs';
import path from 'node:path';
import { fail, log, parseBenchArgs } from './lib/cli.mjs';
import { loadProblems, runAutocannon, runWrk } from './lib/load.mjs';
import {
  cpuSecondsBetween,
  cpuSnapshot,
  freePort,
  sleep,
  startChild,
  stopChild,
  systemBusy,
  treeRssBytes,
} from './lib/procs.mjs';
import { setUpHarness } from './lib/harness.mjs';
import { caveats, computeRatios, machineInfo, markdown, ratioLines, summarize, textTable } from './lib/report.mjs';
import { EXPECTED_BODY, TARGETS, benchDir, httpGet, repoRoot } from './lib/targets.mjs';

const MAX_CONNECTIONS = 50; // wrk -c50 (and the autocannon fallback)

const USAGE = `usage: node bench/run.mjs [options]

  --runs N         repetitions of the whole sequence; medians are reported (default 3)
  --duration S     seconds of each measured phase: max load, then fixed rate (default 10)
  --warmup S       seconds of warm-up load before measuring each target (default 3)
  --rate R         request rate of the fixed-rate latency phase (default 1000)
  --rate-connections C
                   autocannon connections sharing that rate (default 1, see README)
  --only LIST      comma-separated subset of: ${TARGETS.map((t) => t.name).join(', ')}
  -h, --help       this text
`;

function parseCli() {
  const { values, int, list } = parseBenchArgs({
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    'rate-connections': { type: 'string', default: '1' },
    only: { type: 'string' },
  }, USAGE);
  return {
    runs: int('runs', 1, 20),
    durationSec: int('duration', 1, 120),
    warmupSec: int('warmup', 0, 60),
    rate: int('rate', 10, 100_000),
    rateConnections: int('rate-connections', 1, 1000),
    only: values.only === undefined ? null : list('only', TARGETS.map((t) => t.name)),
  };
}

// ---------------------------------------------------------------------------

const opts = parseCli();

const { tools, pinning, CPU, pin, tempDirs, stopping, runAndExit } = setUpHarness(log);
const ctx = { pin, tools, upstreamPort: null, tempDirs };

// Targets to run.
const skipped = {};
const selected = [];
for (const t of TARGETS) {
  if (opts.only && !opts.only.includes(t.name)) continue;
  const reason = t.unavailable(ctx);
  if (reason) {
    skipped[t.name] = reason;
    log(`bench: skipping ${t.name}: ${reason}`);
  } else {
    selected.push(t);
  }
}
if (selected.length === 0) {
  log('bench: nothing to run');
  process.exit(1);
}

if (!tools.wrk) log('bench: wrk not found — using autocannon for the max-throughput phase');

const perTarget = opts.warmupSec + 2 * opts.durationSec + 3;
log(
  `bench: ${selected.map((t) => t.name).join(', ')} × ${opts.runs} run(s); ` +
    `about ${Math.ceil((perTarget * selected.length * opts.runs) / 60)} min`,
);

// ---------------------------------------------------------------------------

async function startUpstream() {
  const port = await freePort();
  const [cmd, args] = pin(1, process.execPath, [path.join(benchDir, 'upstream.mjs'), String(port)]);
  const handle = startChild('upstream', cmd, args, { cwd: repoRoot, keepStdin: true });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !handle.exited) {
    try {
      const r = await httpGet(port);
      if (r.status === 200 && r.body === EXPECTED_BODY) return { port, handle };
    } catch {
      // not yet
    }
    await sleep(50);
  }
  await stopChild(handle);
  throw new Error(`upstream did not start:\n${handle.stderr.text}`);
}

async function maxLoad(url, durationSec, latency = true) {
  if (tools.wrk) return runWrk({ wrk: tools.wrk, pin, url, connections: MAX_CONNECTIONS, durationSec, latency });
  return runAutocannon({ pin, url, connections: MAX_CONNECTIONS, durationSec, expectBody: EXPECTED_BODY });
}

const BUSY_WARN = 0.1; // share of all CPUs busy while the harness itself is idle

async function measureTarget(target, run) {
  // With only the idle upstream running, anything busy is someone else's load.
  const background = await systemBusy(1000);
  if (background > BUSY_WARN) {
    log(`  ${target.name}: WARNING machine not idle: ${(background * 100).toFixed(0)}% of CPU busy before starting — figures will be noisy`);
  }
  const started = await target.start(ctx);
  const alive = () => {
    const err = started.check?.();
    if (err) throw err;
  };
  try {
    if (opts.warmupSec > 0) {
      log(`  ${target.name}: warm-up ${opts.warmupSec} s`);
      await maxLoad(started.url, opts.warmupSec, false);
    }

    log(`  ${target.name}: max throughput ${opts.durationSec} s (${tools.wrk ? 'wrk' : 'autocannon'}, ${MAX_CONNECTIONS} connections)`);
    const before = started.pid ? cpuSnapshot(started.pid) : null;
    const max = await maxLoad(started.url, opts.durationSec);
    const cpu = started.pid ? cpuSecondsBetween(before, cpuSnapshot(started.pid)) : null;
    alive();
    max.problems = loadProblems(max);

    log(`  ${target.name}: ${opts.rate} req/s for ${opts.durationSec} s (autocannon, ${opts.rateConnections} connection${opts.rateConnections === 1 ? '' : 's'})`);
    const rate = await runAutocannon({
      pin,
      url: started.url,
      connections: opts.rateConnections,
      durationSec: opts.durationSec,
      overallRate: opts.rate,
      expectBody: EXPECTED_BODY,
    });
    alive();
    rate.problems = loadProblems(rate);
    if (rate.reqPerSec < 0.95 * opts.rate) {
      rate.problems.push(`achieved only ${Math.round(rate.reqPerSec)} of ${opts.rate} req/s (requests slower than 1 s / rate per connection)`);
    }

    const rssBytes = started.pid ? treeRssBytes(started.pid) : null;
    const result = {
      run,
      target: target.name,
      max,
      rate,
      cpuSeconds: cpu?.seconds ?? null,
      processes: cpu?.processes ?? null,
      cpuUsPerReq: cpu && max.requests ? (cpu.seconds * 1e6) / max.requests : null,
      // Share of one core the proxy used at max load: well below 100% means it was not the bottleneck.
      cpuUtilPct: cpu && max.durationSec ? Math.round((cpu.seconds / max.durationSec) * 1000) / 10 : null,
      rssBytes,
      backgroundCpuPct: Math.round(background * 1000) / 10,
    };
    log(
      `  ${target.name}: ${Math.round(max.reqPerSec)} req/s, p99 ${max.latencyMs.p99?.toFixed(2)} ms; ` +
        `@${opts.rate}/s p99 ${rate.latencyMs.p99?.toFixed(3)} ms` +
        (result.cpuUsPerReq != null
          ? `; ${result.cpuUsPerReq.toFixed(1)} µs CPU/req, ${result.cpuUtilPct}% of a core, ${cpu.processes} process(es)`
          : '') +
        (rssBytes != null ? `; RSS ${(rssBytes / 1048576).toFixed(1)} MB` : ''),
    );
    for (const p of [...max.problems.map((p) => `max load: ${p}`), ...rate.problems.map((p) => `fixed rate: ${p}`)]) {
      log(`  ${target.name}: WARNING ${p}`);
    }
    return result;
  } finally {
    await started.stop();
  }
}

async function main() {
  const machine = machineInfo(tools, pinning && CPU);
  const results = Object.fromEntries(selected.map((t) => [t.name, []]));
  const failed = {}; // target -> first error message; not retried in later runs

  for (let run = 1; run <= opts.runs; run++) {
    log(`bench: run ${run}/${opts.runs}`);
    const upstream = await startUpstream();
    ctx.upstreamPort = upstream.port;
    try {
      for (const target of selected) {
        if (failed[target.name]) continue;
        try {
          results[target.name].push(await measureTarget(target, run));
        } catch (err) {
          if (stopping()) return null;
          failed[target.name] = err.message;
          results[target.name].push({ run, target: target.name, error: err.message });
          log(`  ${target.name}: FAILED — ${err.message.replace(/\n/g, '\n    ')}`);
        }
      }
    } finally {
      await stopChild(upstream.handle);
    }
  }

  const labels = Object.fromEntries(TARGETS.map((t) => [t.name, t.label]));
  const order = TARGETS.map((t) => t.name);
  const summary = Object.fromEntries(Object.entries(results).map(([name, runs]) => [name, summarize(runs)]));
  const ratios = computeRatios(summary);
  const config = {
    runs: opts.runs,
    durationSec: opts.durationSec,
    warmupSec: opts.warmupSec,
    rate: opts.rate,
    maxTool: tools.wrk ? 'wrk -t1' : 'autocannon',
    maxConnections: MAX_CONNECTIONS,
    rateConnections: opts.rateConnections,
    only: opts.only,
  };

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(benchDir, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${stamp}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), machine, config, skipped, failed, summary, ratios, results }, null, 2) + '\n',
  );

  const out = [];
  out.push('');
  out.push(`Results (median of ${opts.runs} run(s); ${opts.durationSec} s per phase)`);
  out.push('');
  out.push(textTable(order, summary, labels));
  out.push('');
  out.push(...ratioLines(ratios));
  const notes = caveats(order, summary, labels);
  out.push(...notes);
  for (const [name, reason] of Object.entries(skipped)) out.push(`skipped ${name}: ${reason}`);
  for (const [name, msg] of Object.entries(failed)) out.push(`FAILED ${name}: ${msg.split('\n')[0]} (details in the log above and in the JSON)`);
  out.push('');
  out.push(
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, nginx ${machine.nginx ?? 'n/a'}, ` +
      `wrk ${machine.wrk ?? 'n/a'}, autocannon ${machine.autocannon ?? 'n/a'}; pinning: ${machine.pinning}`,
  );
  out.push(`JSON: ${path.relative(repoRoot, file)}`);
  out.push('');
  out.push('Markdown for docs/performance.md:');
  out.push('');
  out.push(markdown({ order, summary, labels, ratios, machine, config, notes }));
  out.push('');
  process.stdout.write(out.join('\n'));
  return Object.keys(failed).length ? 1 : 0;
}

await runAndExit(main);
