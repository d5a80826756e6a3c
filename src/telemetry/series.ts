//! Prometheus metrics without a client library: counters, gauges and histograms whose label sets
//! are bound once and then cost one addition per use, collected as plain data (which crosses the
//! worker IPC channel as is), summed across workers, and rendered in the text exposition format.

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** The series name when it differs from the metric's (histogram _bucket, _sum, _count). */
  readonly name?: string;
  readonly labels: Labels;
  readonly value: number;
}

export interface MetricData {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly samples: readonly Sample[];
}

interface Metric {
  collect(): MetricData;
}

export class MetricRegistry {
  private readonly metrics: Metric[] = [];

  register(metric: Metric): void {
    this.metrics.push(metric);
  }

  collect(): MetricData[] {
    return this.metrics.map((m) => m.collect());
  }
}

export interface CounterSeries {
  inc(): void;
}

export interface HistogramSeries {
  observe(value: number): void;
}

export class Counter implements Metric {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(readonly name: string, readonly help: string, registry: MetricRegistry, private readonly type: 'counter' | 'gauge' = 'counter') {
    registry.register(this);
  }

  private entry(labels: Labels): { labels: Labels; value: number } {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  /** The series for these labels; bind it once and keep it. */
  bind(labels: Labels): CounterSeries {
    const entry = this.entry(labels);
    return { inc: () => { entry.value++; } };
  }

  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }

  collect(): MetricData {
    return { name: this.name, help: this.help, type: this.type, samples: [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value })) };
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { labels: Labels; counts: Float64Array; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, private readonly buckets: readonly number[], registry: MetricRegistry) {
    registry.register(this);
  }

  bind(labels: Labels): HistogramSeries {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    const entry = s;
    const bounds = this.buckets;
    return {
      observe(value: number) {
        entry.sum += value;
        entry.count++;
        for (let i = 0; i < bounds.length; i++) {
          if (value <= bounds[i]) {
            entry.counts[i]++;
            return;
          }
        }
      },
    };
  }

  collect(): MetricData {
    const samples: Sample[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i];
        samples.push({ name: `${this.name}_bucket`, labels: { ...s.labels, le: String(le) }, value: cumulative });
      });
      samples.push({ name: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      samples.push({ name: `${this.name}_sum`, labels: s.labels, value: s.sum });
      samples.push({ name: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}

/** Adds up the same metrics from several processes, sample by sample (name and labels). */
export function sumMetrics(sets: readonly (readonly MetricData[])[]): MetricData[] {
  const byName = new Map<string, { data: MetricData; samples: Map<string, Sample> }>();
  for (const set of sets) {
    for (const m of set) {
      let acc = byName.get(m.name);
      if (acc === undefined) {
        acc = { data: m, samples: new Map() };
        byName.set(m.name, acc);
      }
      for (const s of m.samples) {
        const key = `${s.name ?? ''}|${JSON.stringify(s.labels)}`;
        const had = acc.samples.get(key);
        acc.samples.set(key, had === undefined ? s : { ...s, value: had.value + s.value });
      }
    }
  }
  return [...byName.values()].map(({ data, samples }) => ({ ...data, samples: [...samples.values()] }));
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The Prometheus text exposition format (version 0.0.4). */
export function renderText(metrics: readonly MetricData[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of m.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      lines.push(`${s.name ?? m.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
