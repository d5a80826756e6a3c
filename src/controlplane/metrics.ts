//! The control plane's own metrics, served by its admin server beside the config-reload counter the
//! gateway also exports. Names map to istiod's in docs/metrics.md.

import { Counter, Histogram, MetricRegistry, type CounterSeries, type HistogramSeries } from '../telemetry/series.js';

export const controlRegistry = new MetricRegistry();

const proxies = new Counter('windrose_control_proxies', 'Proxies with a config stream open to this control plane.', controlRegistry, 'gauge');
const workloads = new Counter('windrose_control_workloads', 'Workloads in the registry, connected or not.', controlRegistry, 'gauge');
const pushes = new Counter('windrose_control_pushes_total', 'Snapshots sent to proxies.', controlRegistry);
const acks = new Counter('windrose_control_acks_total', 'Snapshots proxies answered, by result (ack or nack).', controlRegistry);
const pushSeconds = new Histogram(
  'windrose_control_push_seconds',
  'Time from sending a snapshot to a proxy until it acknowledged it.',
  [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  controlRegistry,
);
const svids = new Counter('windrose_control_svids_issued_total', 'Workload certificates signed, by reason (join: with a join token; renew: with the current SVID).', controlRegistry);

export interface ControlMetrics {
  readonly pushed: CounterSeries;
  readonly acked: CounterSeries;
  readonly nacked: CounterSeries;
  readonly pushToAck: HistogramSeries;
  readonly svidJoin: CounterSeries;
  readonly svidRenew: CounterSeries;
  setProxies(n: number): void;
  setWorkloads(n: number): void;
}

export const controlMetrics: ControlMetrics = {
  pushed: pushes.bind({}),
  acked: acks.bind({ result: 'ack' }),
  nacked: acks.bind({ result: 'nack' }),
  pushToAck: pushSeconds.bind({}),
  svidJoin: svids.bind({ reason: 'join' }),
  svidRenew: svids.bind({ reason: 'renew' }),
  setProxies: (n) => proxies.set({}, n),
  setWorkloads: (n) => workloads.set({}, n),
};

controlMetrics.setProxies(0);
controlMetrics.setWorkloads(0);
