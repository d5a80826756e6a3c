// Open-loop load at a fixed rate, in its own process (so the harness can pin it), printing a
// JSON summary on stdout shaped like bench/load/autocannon.mjs's.
// Usage: node bench/load/open-loop.mjs '{"url":...,"rate":R,"duration":S,"warmup":W,"connections":C,"headers":{...}}'
//
// Request i is sent at start + i / rate whatever happened to the ones before it, as wrk2 does,
// over a pool of keep-alive connections large enough that a slow answer (a retry waiting out
// its backoff) holds up nothing else. A closed-loop client such as autocannon over one
// connection would instead wait for it, send less than the rate, and never count the requests
// it did not send (coordinated omission).
//
// The first `warmup` seconds are sent but not recorded: a fresh client spends its first few
// hundred milliseconds compiling, and at 1000 req/s that alone puts ~100 ms into the p99. The
// line OPEN_LOOP_MEASURING on stderr marks the start of the measured `duration`.
import { Pool } from 'undici';
import { OPEN_LOOP_MEASURING } from '../lib/child.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
if (!opts.url || !opts.rate || !opts.duration) {
  console.error('usage: node bench/load/open-loop.mjs \'{"url":...,"rate":R,"duration":S,"warmup":W,"connections":C}\'');
  process.exit(2);
}
const url = new URL(opts.url);
const TIMEOUT_MS = 10_000;
const connections = opts.connections ?? 128;
const pool = new Pool(url.origin, { connections, pipelining: 1, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
// e.g. the Host a mesh proxy routes by; undici sends a given `host` instead of the origin's.
const request = { path: `${url.pathname}${url.search}`, method: 'GET', headers: opts.headers };

const warmupCount = Math.round(opts.rate * (opts.warmup ?? 0));
const total = Math.round(opts.rate * opts.duration);
const fromSend = new Float64Array(total);
const fromSchedule = new Float64Array(total);
const sentSecond = new Uint16Array(total);
let recorded = 0;
const counts = { responses: 0, non2xx: 0, errors: 0, timeouts: 0 };
const statusCodes = {};
const errorCodes = {};
let sent = 0; // measured requests only
let inFlight = 0; // measured requests only
let maxLagMs = 0;
const seconds = Array.from({ length: Math.ceil(opts.duration) }, () => ({ sent: 0, failed: 0 }));

/** A warm-up request: same path through the client, nothing recorded. */
function warm() {
  pool.request(request).then(({ body }) => body.dump(), () => {});
}

function fire(scheduledAt) {
  const sentAt = performance.now();
  maxLagMs = Math.max(maxLagMs, sentAt - scheduledAt);
  const second = Math.min(seconds.length - 1, Math.floor((scheduledAt - measureFrom) / 1000));
  seconds[second].sent++;
  sent++;
  inFlight++;
  pool
    .request(request)
    .then(async ({ statusCode, body }) => {
      await body.dump();
      const now = performance.now();
      counts.responses++;
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
      if (statusCode >= 200 && statusCode < 300) {
        fromSend[recorded] = now - sentAt;
        fromSchedule[recorded] = now - scheduledAt;
        sentSecond[recorded++] = second;
      } else {
        counts.non2xx++;
        seconds[second].failed++;
      }
    })
    .catch((err) => {
      counts.errors++;
      seconds[second].failed++;
      if (/timeout/i.test(err.code ?? '')) counts.timeouts++;
      const code = err.code ?? err.name;
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    })
    .finally(() => {
      inFlight--;
    });
}

const intervalMs = 1000 / opts.rate;
const begin = performance.now();
const measureFrom = begin + warmupCount * intervalMs;
let issued = 0; // warm-up and measured
await new Promise((resolve) => {
  const tick = () => {
    const due = Math.min(warmupCount + total, Math.floor((performance.now() - begin) / intervalMs) + 1);
    while (issued < due) {
      if (issued < warmupCount) {
        warm();
      } else {
        if (issued === warmupCount) process.stderr.write(`${OPEN_LOOP_MEASURING}\n`);
        fire(begin + issued * intervalMs);
      }
      issued++;
    }
    if (issued < warmupCount + total) setTimeout(tick, 1);
    else resolve();
  };
  tick();
});
const sendEnd = performance.now();
const drainDeadline = sendEnd + TIMEOUT_MS + 1000;
while (inFlight > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 5));
const durationSec = (performance.now() - measureFrom) / 1000;
await pool.destroy();

function percentiles(samples) {
  const sorted = Float64Array.from(samples.subarray(0, recorded)).sort();
  const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))] : null);
  return {
    mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

process.stdout.write(
  JSON.stringify({
    tool: 'open-loop',
    rate: opts.rate,
    connections,
    warmupSec: opts.warmup ?? 0,
    durationSec,
    sent,
    requests: counts.responses,
    reqPerSec: sent / ((sendEnd - measureFrom) / 1000),
    non2xx: counts.non2xx,
    // Requests still unanswered at the end count as timed out.
    errors: counts.errors + inFlight,
    timeouts: counts.timeouts + inFlight,
    statusCodes,
    errorCodes,
    // How late the client itself sent a measured request: large values mean CPU 1 could not keep up.
    maxSendLagMs: maxLagMs,
    // 2xx answers, from the moment each request was handed to the pool.
    latencyMs: percentiles(fromSend),
    // The same from the moment it was due, so the client's own lag counts too.
    latencyFromScheduleMs: percentiles(fromSchedule),
    // Second by second of the measured window (by when requests were due): how the start of a
    // failure differs from what follows.
    perSecond: seconds.map((s, i) => {
      const own = [];
      for (let k = 0; k < recorded; k++) if (sentSecond[k] === i) own.push(fromSend[k]);
      own.sort((a, b) => a - b);
      return { ...s, p99Ms: own.length ? own[Math.min(own.length - 1, Math.ceil(0.99 * own.length) - 1)] : null };
    }),
  }) + '\n',
);
process.exit(0);
