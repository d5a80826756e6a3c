import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, MetricRegistry, renderText, sumMetrics } from './series.js';

test('counters, gauges and histograms render in the Prometheus text format', () => {
  const reg = new MetricRegistry();
  const c = new Counter('x_total', 'Things "counted".\nTwice.', reg);
  const inc = c.bind({ route: 'a"b\\c\nd' });
  inc.inc();
  inc.inc();
  new Counter('x_version', 'A gauge.', reg, 'gauge').set({}, 7);
  const h = new Histogram('x_seconds', 'Latency.', [0.1, 1], reg);
  const obs = h.bind({ route: 'r' });
  obs.observe(0.05);
  obs.observe(0.5);
  obs.observe(5);
  assert.equal(renderText(reg.collect()), [
    '# HELP x_total Things "counted".\\nTwice.',
    '# TYPE x_total counter',
    'x_total{route="a\\"b\\\\c\\nd"} 2',
    '# HELP x_version A gauge.',
    '# TYPE x_version gauge',
    'x_version 7',
    '# HELP x_seconds Latency.',
    '# TYPE x_seconds histogram',
    'x_seconds_bucket{route="r",le="0.1"} 1',
    'x_seconds_bucket{route="r",le="1"} 2',
    'x_seconds_bucket{route="r",le="+Inf"} 3',
    'x_seconds_sum{route="r"} 5.55',
    'x_seconds_count{route="r"} 3',
    '',
  ].join('\n'));
});

test('binding the same labels twice gives the same series', () => {
  const reg = new MetricRegistry();
  const c = new Counter('y_total', 'Y.', reg);
  c.bind({ a: '1' }).inc();
  c.bind({ a: '1' }).inc();
  assert.deepEqual(reg.collect()[0].samples, [{ labels: { a: '1' }, value: 2 }]);
});

test('metrics from several workers add up sample by sample', () => {
  const make = (n: number) => {
    const reg = new MetricRegistry();
    const c = new Counter('z_total', 'Z.', reg);
    for (let i = 0; i < n; i++) c.bind({ w: 'same' }).inc();
    c.bind({ only: String(n) }).inc();
    const h = new Histogram('z_seconds', 'Z.', [1], reg);
    h.bind({}).observe(n);
    return reg.collect();
  };
  const text = renderText(sumMetrics([make(2), make(3)]));
  assert.match(text, /^z_total\{w="same"\} 5$/m);
  assert.match(text, /^z_total\{only="2"\} 1$/m);
  assert.match(text, /^z_total\{only="3"\} 1$/m);
  assert.match(text, /^z_seconds_bucket\{le="\+Inf"\} 2$/m);
  assert.match(text, /^z_seconds_sum 5$/m);
  assert.equal(text.match(/# TYPE z_total counter/g)?.length, 1);
});
