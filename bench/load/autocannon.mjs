// Runs one autocannon job in its own process (so the harness can pin it to a
// CPU) and prints a JSON summary on stdout.
// Usage: node bench/load/autocannon.mjs '<json options>'
//   options: { url, connections, duration, overallRate? }
//
// autocannon's own latency histogram stores whole milliseconds, which rounds
// every loopback latency to 0 or 1 ms. The per-response latencies autocannon
// emits ('response' event, float ms from process.hrtime) are kept here and the
// percentiles are computed from them exactly; autocannon's histogram values are
// reported alongside as `autocannonHistogramMs`.
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2] ?? '{}');
if (!opts.url || !opts.connections || !opts.duration) {
  console.error('usage: node bench/load/autocannon.mjs \'{"url":...,"connections":N,"duration":S}\'');
  process.exit(2);
}

let samples = new Float64Array(1 << 16);
let n = 0;
function record(ms) {
  if (n === samples.length) {
    const bigger = new Float64Array(samples.length * 2);
    bigger.set(samples);
    samples = bigger;
  }
  samples[n++] = ms;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((q / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** HdrHistogram-style recordValueWithExpectedInterval over exact samples. */
function correctedSorted(sorted, intervalMs) {
  const extra = [];
  for (const v of sorted) {
    for (let missed = v - intervalMs; missed >= intervalMs && extra.length < 10_000_000; missed -= intervalMs) extra.push(missed);
  }
  const all = new Float64Array(sorted.length + extra.length);
  all.set(sorted);
  all.set(extra, sorted.length);
  return all.sort();
}

const instance = autocannon(
  {
    url: opts.url,
    connections: opts.connections,
    duration: opts.duration,
    overallRate: opts.overallRate || undefined,
    pipelining: 1,
    timeout: 10,
    expectBody: opts.expectBody,
  },
  (err, result) => {
    if (err) {
      console.error(String(err?.stack ?? err));
      process.exit(1);
    }
    const sorted = samples.subarray(0, n).sort();
    const mean = n ? sorted.reduce((a, b) => a + b, 0) / n : null;
    const corrected = opts.overallRate ? correctedSorted(sorted, (1000 * result.connections) / opts.overallRate) : null;
    const summary = {
      tool: 'autocannon',
      connections: result.connections,
      overallRate: opts.overallRate ?? null,
      durationSec: result.duration,
      requests: result.requests.total ?? n,
      sent: result.requests.sent,
      reqPerSec: result.duration ? (result.requests.total ?? n) / result.duration : null,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      mismatches: result.mismatches,
      samples: n,
      latencyMs: {
        mean,
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
        p999: percentile(sorted, 99.9),
        max: n ? sorted[n - 1] : null,
      },
      // Same samples with the coordinated-omission correction for the intended
      // per-connection interval (connections / rate): a response that took L ms
      // also stands for the requests that would have been sent during L.
      latencyCorrectedMs: corrected && {
        intervalMs: (1000 * result.connections) / opts.overallRate,
        samples: corrected.length,
        p50: percentile(corrected, 50),
        p99: percentile(corrected, 99),
        p999: percentile(corrected, 99.9),
      },
      autocannonHistogramMs: {
        p50: result.latency.p50,
        p99: result.latency.p99,
        max: result.latency.max,
      },
    };
    process.stdout.write(JSON.stringify(summary) + '\n');
    process.exit(0);
  },
);

instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  if (statusCode >= 200 && statusCode < 300) record(responseTime);
});

process.on('SIGTERM', () => {
  instance.stop();
  process.exit(143);
});
