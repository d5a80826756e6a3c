// Medians, ratios and the text / markdown tables.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { NODE_REFERENCES } from './targets.mjs';

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Each metric's median over the successful runs of one target (metric by metric). */
export function summarize(runs) {
  const ok = runs.filter((r) => !r.error);
  const pick = (f) => median(ok.map(f));
  return {
    runs: ok.length,
    failedRuns: runs.length - ok.length,
    reqPerSec: pick((r) => r.max.reqPerSec),
    p50Ms: pick((r) => r.max.latencyMs.p50),
    p99Ms: pick((r) => r.max.latencyMs.p99),
    rateReqPerSec: pick((r) => r.rate.reqPerSec),
    rateP50Ms: pick((r) => r.rate.latencyMs.p50),
    rateP99Ms: pick((r) => r.rate.latencyMs.p99),
    cpuUsPerReq: pick((r) => r.cpuUsPerReq),
    cpuUtilPct: pick((r) => r.cpuUtilPct),
    rssMB: pick((r) => (r.rssBytes == null ? null : r.rssBytes / (1024 * 1024))),
    backgroundCpuPctMax: ok.length ? Math.max(...ok.map((r) => r.backgroundCpuPct ?? 0)) : null,
  };
}

export function computeRatios(summary) {
  const w = summary.windrose;
  const out = {
    throughputVsFastestNode: null,
    fastestNodeReference: null,
    p99At1000VsNginx: null,
    windroseRssMB: null,
    notes: [],
  };
  if (!w || !w.runs) {
    out.notes.push(w ? 'windrose failed in every run; see the log' : 'windrose was not measured');
    return out;
  }
  const refs = NODE_REFERENCES.filter((n) => summary[n]?.runs && summary[n].reqPerSec);
  if (refs.length) {
    const best = refs.reduce((a, b) => (summary[b].reqPerSec > summary[a].reqPerSec ? b : a));
    out.fastestNodeReference = best;
    out.throughputVsFastestNode = w.reqPerSec / summary[best].reqPerSec;
  } else {
    out.notes.push('no Node reference measured (fastify, http-proxy)');
  }
  if (summary.nginx?.runs && summary.nginx.rateP99Ms) {
    out.p99At1000VsNginx = w.rateP99Ms / summary.nginx.rateP99Ms;
  } else {
    out.notes.push('nginx not measured');
  }
  out.windroseRssMB = w.rssMB;
  return out;
}

/**
 * Caveats worth printing under the table: a proxy that used well under one
 * core at max load was limited by something else (CPU 1, other load), not by itself.
 */
export function caveats(order, summary, labels) {
  const lines = [];
  for (const name of order) {
    const s = summary[name];
    if (name === 'direct' || !s?.runs || s.cpuUtilPct == null) continue;
    if (s.cpuUtilPct < 85) {
      lines.push(
        `${labels[name]} used ${s.cpuUtilPct.toFixed(0)}% of its core at max load: its req/s is limited by something else ` +
          '(the upstream and load generator on CPU 1, or other load on the machine), not by the proxy; compare CPU µs/req instead.',
      );
    }
  }
  const busy = order.filter((n) => summary[n]?.backgroundCpuPctMax > 10);
  if (busy.length) {
    lines.push(`The machine was not idle before measuring ${busy.join(', ')} (other load > 10% of CPU): treat those figures with care.`);
  }
  return lines;
}

// ---------------------------------------------------------------------------

export function machineInfo(tools, pinning) {
  let cpuModel = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1].trim();
  } catch {
    // not Linux?
  }
  const versionOf = (cmd, args) => {
    if (!cmd) return null;
    // nginx -v and wrk -v print to stderr (wrk also exits non-zero).
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    return text ? text.split('\n')[0] : null;
  };
  let autocannonVersion = null;
  try {
    autocannonVersion = JSON.parse(
      fs.readFileSync(new URL('../../node_modules/autocannon/package.json', import.meta.url), 'utf8'),
    ).version;
  } catch {
    // not installed
  }
  const nginx = versionOf(tools.nginx, ['-v']);
  const wrk = versionOf(tools.wrk, ['-v']);
  return {
    cpuModel,
    cores: os.cpus().length,
    node: process.version,
    nginx: nginx ? nginx.replace(/^nginx version:\s*/, '').replace(/^nginx\//, '') : null,
    wrk: wrk ? wrk.split(' ')[1] ?? wrk : null,
    autocannon: autocannonVersion,
    kernel: `${os.type()} ${os.release()}`,
    pinning: pinning ? `proxy on CPU ${pinning.proxy}; upstream and load generators on CPU ${pinning.load} (taskset)` : 'none',
  };
}

// ---------------------------------------------------------------------------

export const fmt = {
  int: (v) => (v == null ? '–' : Math.round(v).toLocaleString('en-US')),
  ms: (v) => (v == null ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)),
  ms3: (v) => (v == null ? '–' : v >= 10 ? v.toFixed(1) : v.toFixed(3)),
  num: (v, d = 1) => (v == null ? '–' : v.toFixed(d)),
  ratio: (v) => (v == null ? 'n/a' : `${v.toFixed(2)}×`),
};

const HEADER = [
  'target',
  'req/s',
  'p50 ms (max load)',
  'p99 ms (max load)',
  'p50 ms @1000/s',
  'p99 ms @1000/s',
  'CPU µs/req',
  'RSS MB',
];

function rows(order, summary, labels) {
  return order
    .filter((name) => summary[name])
    .map((name) => {
      const s = summary[name];
      if (!s.runs) return [labels[name], 'failed', '', '', '', '', '', ''];
      return [
        labels[name],
        fmt.int(s.reqPerSec),
        fmt.ms(s.p50Ms),
        fmt.ms(s.p99Ms),
        fmt.ms3(s.rateP50Ms),
        fmt.ms3(s.rateP99Ms),
        fmt.num(s.cpuUsPerReq),
        fmt.num(s.rssMB),
      ];
    });
}

/** A plain-text table: the first `left` columns (names) left-aligned, the others (figures) right-aligned. */
export function alignedTable(header, body, left = 1) {
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i < left ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table in Markdown. */
export function markdownTable(header, body, left = 1) {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < left ? ' --- ' : ' ---: ')).join('|')}|`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export function textTable(order, summary, labels) {
  return alignedTable(HEADER, rows(order, summary, labels));
}

export function ratioLines(ratios) {
  const lines = [];
  lines.push(
    `windrose throughput / fastest Node reference${ratios.fastestNodeReference ? ` (${ratios.fastestNodeReference})` : ''}: ${fmt.ratio(ratios.throughputVsFastestNode)}  (higher is better)`,
  );
  lines.push(`windrose p99 @1000 req/s / nginx p99 @1000 req/s: ${fmt.ratio(ratios.p99At1000VsNginx)}  (lower is better)`);
  lines.push(`windrose RSS: ${ratios.windroseRssMB == null ? 'n/a' : `${ratios.windroseRssMB.toFixed(1)} MB`}`);
  for (const n of ratios.notes) lines.push(`(${n})`);
  return lines;
}

export function markdown({ order, summary, labels, ratios, machine, config, notes = [] }) {
  const out = [];
  out.push(markdownTable(HEADER, rows(order, summary, labels)));
  out.push('');
  for (const l of ratioLines(ratios)) out.push(`- ${l}`);
  for (const l of notes) out.push(`- ${l}`);
  out.push('');
  out.push(
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.nginx ? `nginx ${machine.nginx}` : 'no nginx'}, ${machine.kernel}. ` +
      `Pinning: ${machine.pinning}.`,
  );
  out.push(
    `Method: medians of ${config.runs} run(s); ${config.warmupSec} s warm-up, ` +
      `${config.durationSec} s at max load (${config.maxTool}, 50 connections), ` +
      `${config.durationSec} s at ${config.rate} req/s (autocannon overallRate, ${config.rateConnections} connection${config.rateConnections === 1 ? '' : 's'}); ` +
      'upstream answers 200 "hello world" over keep-alive.',
  );
  return out.join('\n');
}
