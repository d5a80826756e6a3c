// Load generators: wrk (max throughput, when installed), autocannon (fallback for
// max throughput; the fixed-rate phase of bench/run.mjs) and an open-loop
// fixed-rate client (bench/resilience.mjs under a fault).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPEN_LOOP_MEASURING } from './child.mjs';
import { runChild } from './procs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const autocannonChild = path.join(here, '..', 'load', 'autocannon.mjs');
const openLoopChild = path.join(here, '..', 'load', 'open-loop.mjs');

/** wrk prints durations as e.g. "812.00us", "1.23ms", "2.00s", "1.00m". */
function wrkTimeToMs(value, unit) {
  const v = Number(value);
  switch (unit) {
    case 'us':
      return v / 1000;
    case 'ms':
      return v;
    case 's':
      return v * 1000;
    case 'm':
      return v * 60_000;
    case 'h':
      return v * 3_600_000;
    default:
      return NaN;
  }
}

export function parseWrk(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : null;
  };
  const pct = {};
  for (const m of text.matchAll(/^\s+(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$/gm)) {
    pct[`p${m[1]}`] = wrkTimeToMs(m[2], m[3]);
  }
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const done = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)/m.exec(text);
  const out = {
    tool: 'wrk',
    requests: done ? Number(done[1]) : null,
    durationSec: done ? wrkTimeToMs(done[2], done[3]) / 1000 : null,
    reqPerSec: num(/^Requests\/sec:\s+([\d.]+)/m),
    latencyMs: { p50: pct.p50 ?? null, p75: pct.p75 ?? null, p90: pct.p90 ?? null, p99: pct.p99 ?? null },
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0,
  };
  if (out.reqPerSec === null || out.requests === null) {
    throw new Error(`could not parse wrk output:\n${text}`);
  }
  return out;
}

/** Problems worth printing next to a result (non-2xx, socket errors, ...). */
export function loadProblems(r) {
  const problems = [];
  if (r.non2xx) problems.push(`${r.non2xx} non-2xx responses`);
  if (r.socketErrors) {
    const { connect, read, write, timeout } = r.socketErrors;
    if (connect + read + write + timeout > 0) {
      problems.push(`socket errors connect ${connect}, read ${read}, write ${write}, timeout ${timeout}`);
    }
  }
  if (r.errors) problems.push(`${r.errors} errors`);
  if (r.timeouts) problems.push(`${r.timeouts} timeouts`);
  if (r.mismatches) problems.push(`${r.mismatches} unexpected bodies`);
  return problems;
}

/**
 * @param {object} p
 * @param {(cpu: number, cmd: string, args: string[]) => [string, string[]]} p.pin
 * @param {Record<string, string>} [p.headers] sent with every request; wrk replaces its own Host only with
 *   a header spelled `Host` (a mesh proxy routes by it)
 */
export async function runWrk({ wrk, pin, url, connections, durationSec, latency = true, headers = {} }) {
  const headerArgs = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const args = ['-t1', `-c${connections}`, `-d${durationSec}s`, ...(latency ? ['--latency'] : []), ...headerArgs, url];
  const [cmd, argv] = pin(1, wrk, args);
  const res = await runChild('wrk', cmd, argv, { timeoutMs: (durationSec + 20) * 1000 });
  if (res.timedOut) throw new Error(`wrk did not finish within ${durationSec + 20} s`);
  if (res.code !== 0) throw new Error(`wrk exited with ${res.code ?? res.signal}: ${res.stderr || res.stdout}`);
  return parseWrk(res.stdout);
}

/** Runs one of bench/load/*.mjs on the load CPU and parses the JSON line it prints last. */
async function runJsonChild(label, script, job, durationSec, pin, onStderr) {
  const [cmd, argv] = pin(1, process.execPath, [script, JSON.stringify(job)]);
  const res = await runChild(label, cmd, argv, { timeoutMs: (durationSec + 30) * 1000, onStderr });
  if (res.timedOut) throw new Error(`${label} did not finish within ${durationSec + 30} s`);
  if (res.code !== 0) throw new Error(`${label} exited with ${res.code ?? res.signal}: ${res.stderr}`);
  try {
    return JSON.parse(res.stdout.trim().split('\n').pop());
  } catch {
    throw new Error(`could not parse ${label} output: ${res.stdout}\n${res.stderr}`);
  }
}

export function runAutocannon({ pin, url, connections, durationSec, overallRate, expectBody }) {
  return runJsonChild('autocannon', autocannonChild, { url, connections, duration: durationSec, overallRate, expectBody }, durationSec, pin);
}

/**
 * Fixed-rate open-loop load (bench/load/open-loop.mjs); the result has autocannon's shape.
 * The client first sends at the rate for `warmupSec` without recording, then calls
 * `onMeasuring` as the measured `durationSec` begins. `headers` go with every request.
 */
export function runOpenLoop({ pin, url, rate, durationSec, warmupSec = 0, connections, headers, onMeasuring }) {
  let told = false;
  const onStderr = (text) => {
    if (!told && text.includes(OPEN_LOOP_MEASURING)) {
      told = true;
      onMeasuring?.();
    }
  };
  const job = { url, rate, duration: durationSec, warmup: warmupSec, connections, headers };
  return runJsonChild('open-loop', openLoopChild, job, warmupSec + durationSec, pin, onStderr);
}
