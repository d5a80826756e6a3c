//! `windrose sidecar`: flags to options, then run beside the workload until SIGTERM/SIGINT and drain.

import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_LIMITS } from '../config/limits.js';
import type { MtlsMode } from '../config/model.js';
import { pemCertificates } from '../config/translate/pem.js';
import { describeProblem, isDescriptorProblem, parseDescriptor } from '../mesh/descriptor.js';
import { HEARTBEAT_MS, type ProxyDescriptor } from '../mesh/protocol.js';
import { createLogger, defaultLogFormat } from '../telemetry/log.js';
import { parseAddress, parseDuration, parseFormat, parseLevel, parsePositiveDuration } from './options.js';
import { stopOnSignals } from './signals.js';

/** Service names are checked with the rest of the descriptor (see proxyDescriptor). */
function parseServices(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`expected KEY=VALUE pairs separated by commas, got "${pair}"`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`expected a port from 1 to 65535, got "${text}"`);
  return n;
}

function parseMode(text: string): MtlsMode {
  const mode = text.toUpperCase();
  if (mode === 'STRICT' || mode === 'PERMISSIVE') return mode;
  throw new InvalidArgumentError(`expected STRICT or PERMISSIVE, got "${text}"`);
}

/** The flag each field of the descriptor comes from, to name it in an error. */
const DESCRIPTOR_FLAGS: Record<keyof ProxyDescriptor, string> = {
  id: '--id', services: '--service', labels: '--labels', address: '--advertise', port: '--inbound', zone: '--zone',
};

/**
 * What the proxy will tell the control plane about itself, checked by the control plane's own
 * rules: a descriptor it refuses would otherwise make the proxy reconnect forever.
 */
function proxyDescriptor(cmd: Command, d: ProxyDescriptor): ProxyDescriptor {
  const checked = parseDescriptor(d);
  if (!isDescriptorProblem(checked)) return checked;
  const what = checked.field === undefined ? describeProblem(checked) : `option '${DESCRIPTOR_FLAGS[checked.field]}': ${checked.reason}`;
  return cmd.error(`error: ${what}`, { exitCode: 2, code: 'windrose.invalidDescriptor' });
}

/** The address peers reach this host at, when the inbound port listens on every interface. */
function defaultAdvertise(inboundHost: string): string {
  if (inboundHost !== '0.0.0.0' && inboundHost !== '::') return inboundHost;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export function sidecarCommand(): Command {
  return new Command('sidecar')
    .description('run a mesh proxy beside one workload: mutual TLS and authorization inbound, routing and resilience outbound')
    .addOption(new Option('--control <url>', 'the control plane').env('WINDROSE_CONTROL').default('https://127.0.0.1:15012'))
    .addOption(new Option('--control-ca <file>', 'PEM root(s) the control plane\'s certificate chains to (the mesh root, ca/root.crt.pem in its data dir)').env('WINDROSE_CONTROL_CA').makeOptionMandatory())
    .addOption(new Option('--join-token <token>', 'join token from `windrose control token`, proving namespace and service account (prefer the environment variable)').env('WINDROSE_JOIN_TOKEN').makeOptionMandatory())
    .addOption(new Option('--service <names>', 'Services (comma-separated, in the token\'s namespace) this workload is an endpoint of').env('WINDROSE_SERVICE').argParser(parseServices).default([]))
    .addOption(new Option('--labels <k=v,...>', 'the workload\'s labels, matched by AuthorizationPolicy selectors').env('WINDROSE_LABELS').argParser(parseLabels).default({}))
    .addOption(new Option('--app-port <port>', 'the application\'s port on 127.0.0.1').env('WINDROSE_APP_PORT').argParser(parsePort).makeOptionMandatory())
    .addOption(new Option('--inbound <host:port>', 'mutual TLS listener for callers').env('WINDROSE_INBOUND').default(parseAddress('0.0.0.0:15006'), '0.0.0.0:15006').argParser(parseAddress))
    .addOption(new Option('--outbound <host:port>', 'the application\'s proxy (HTTP_PROXY=http://HOST:PORT, or Host: <service>)').env('WINDROSE_OUTBOUND').default(parseAddress('127.0.0.1:15001'), '127.0.0.1:15001').argParser(parseAddress))
    .addOption(new Option('--advertise <address>', 'address other proxies reach the inbound port at (default: the inbound host, or this host\'s first IPv4 address)').env('WINDROSE_ADVERTISE'))
    .addOption(new Option('--mode <mode>', 'inbound mutual TLS: STRICT, or PERMISSIVE to also serve plaintext callers').env('WINDROSE_MODE').default('STRICT').argParser(parseMode))
    .addOption(new Option('--admin <host:port>', 'admin server: /ready, /live, /config, /metrics').env('WINDROSE_ADMIN').default(parseAddress('127.0.0.1:15021'), '127.0.0.1:15021').argParser(parseAddress))
    .addOption(new Option('--id <id>', 'this proxy\'s name at the control plane (default: host name and pid)').env('WINDROSE_ID'))
    .addOption(new Option('--zone <name>', 'zone of this workload: its endpoint is registered there and same-zone endpoints are preferred').env('WINDROSE_ZONE'))
    .addOption(new Option('--cluster-domain <domain>', 'suffix of service host names: <svc>.<ns>.svc.<domain>').env('WINDROSE_CLUSTER_DOMAIN').default('cluster.local'))
    .addOption(new Option('--heartbeat <duration>', 'how often to tell the control plane this proxy is alive').env('WINDROSE_HEARTBEAT').default(HEARTBEAT_MS, `${HEARTBEAT_MS / 1000}s`).argParser(parsePositiveDuration))
    .addOption(new Option('--drain-timeout <duration>', 'on SIGTERM, how long requests in flight may take to finish').env('WINDROSE_DRAIN_TIMEOUT').default(10_000, '10s').argParser(parseDuration))
    .addOption(new Option('--log-level <level>', 'debug, info, warn or error').env('WINDROSE_LOG_LEVEL').default('info').argParser(parseLevel))
    .addOption(new Option('--log-format <format>', 'json or text (default: text on a terminal, json otherwise)').env('WINDROSE_LOG_FORMAT').argParser(parseFormat))
    .action(async (o: {
      control: string; controlCa: string; joinToken: string; service: string[]; labels: Record<string, string>; appPort: number;
      inbound: { host: string; port: number }; outbound: { host: string; port: number }; advertise?: string; mode: MtlsMode;
      admin: { host: string; port: number }; id?: string; zone?: string; clusterDomain: string; heartbeat: number; drainTimeout: number;
      logLevel: 'debug' | 'info' | 'warn' | 'error'; logFormat?: 'json' | 'text';
    }, cmd: Command) => {
      const descriptor = proxyDescriptor(cmd, {
        id: o.id ?? `${hostname()}-${process.pid}`, services: o.service, labels: o.labels,
        address: o.advertise ?? defaultAdvertise(o.inbound.host), port: o.inbound.port, ...(o.zone === undefined ? {} : { zone: o.zone }),
      });
      const log = createLogger(o.logLevel, o.logFormat ?? defaultLogFormat());
      let controlCa: string;
      try {
        controlCa = readFileSync(o.controlCa, 'utf8');
      } catch (err) {
        process.stderr.write(`windrose sidecar: --control-ca ${o.controlCa}: ${(err as Error).message}\n`);
        process.exit(1);
      }
      // Node takes any text as a CA without a word; a wrong file would only show as handshakes failing forever.
      if (pemCertificates(controlCa) === undefined) {
        process.stderr.write(`windrose sidecar: --control-ca ${o.controlCa}: no PEM certificate in the file\n`);
        process.exit(1);
      }
      const { runSidecar, SidecarStartError } = await import('../runtime/sidecar.js');
      let stop: () => Promise<void>;
      try {
        stop = await runSidecar({
          control: o.control, controlCa, joinToken: o.joinToken, id: descriptor.id,
          services: descriptor.services, labels: descriptor.labels, appPort: o.appPort, inbound: o.inbound, outbound: o.outbound,
          advertise: descriptor.address, mode: o.mode, admin: o.admin, zone: descriptor.zone,
          clusterDomain: o.clusterDomain, heartbeatMs: o.heartbeat, limits: DEFAULT_LIMITS, drainMs: o.drainTimeout, log,
        });
      } catch (err) {
        process.stderr.write(`windrose sidecar: ${(err as Error).message}\n`);
        if (!(err instanceof SidecarStartError)) log.error({ err: (err as Error).stack }, 'start failed');
        process.exit(1);
      }
      stopOnSignals(stop, log);
    });
}
