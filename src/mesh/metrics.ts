//! A mesh proxy's own metrics: its certificate, its link to the control plane, and the config
//! versions it applied or rejected.

import { Counter, MetricRegistry } from '../telemetry/series.js';

export const meshRegistry = new MetricRegistry();

const expiry = new Counter(
  'windrose_mesh_certificate_expiry_timestamp_seconds',
  'When this proxy\'s SVID expires, as a Unix time; alert on it minus time() (istio_agent_cert_expiry_seconds).',
  meshRegistry,
  'gauge',
);
const renewals = new Counter('windrose_mesh_certificate_renewals_total', 'SVID requests to the control plane, by result (success or failure).', meshRegistry);
const connected = new Counter('windrose_mesh_control_connected', '1 while the config stream to the control plane is open, else 0.', meshRegistry, 'gauge');
const configs = new Counter('windrose_mesh_config_updates_total', 'Config versions received from the control plane, by result (ack or nack).', meshRegistry);

export function recordCertificate(notAfter: Date): void {
  expiry.set({}, Math.floor(notAfter.getTime() / 1000));
}

const renewed = renewals.bind({ result: 'success' });
const renewFailed = renewals.bind({ result: 'failure' });
const acked = configs.bind({ result: 'ack' });
const nacked = configs.bind({ result: 'nack' });

export function recordRenewal(ok: boolean): void {
  (ok ? renewed : renewFailed).inc();
}

export function recordControlConnected(up: boolean): void {
  connected.set({}, up ? 1 : 0);
}

export function recordConfigUpdate(accepted: boolean): void {
  (accepted ? acked : nacked).inc();
}
