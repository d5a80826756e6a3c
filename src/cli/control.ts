//! `windrose control`: the mesh control plane (CA, workload registry, config distribution);
//! `windrose control token` to mint the join tokens workloads prove their identity with; and
//! `windrose control ca rotate|retire` for the two steps of a root rotation.

import { Command, Option } from 'commander';
import path from 'node:path';
import type { RunningControl } from '../controlplane/run.js';
import { HEARTBEAT_MS, MISSED_HEARTBEATS } from '../mesh/protocol.js';
import { createLogger, defaultLogFormat } from '../telemetry/log.js';
import { stopOnSignals } from './signals.js';
import { parseAddress, parseFormat, parseLevel, parsePositiveDuration } from './options.js';

const dataDir = () => new Option('--data-dir <path>', 'where the CA, the join-token secret and the workload registry are kept').env('WINDROSE_DATA_DIR').default('windrose-data');

function fail(command: string, err: unknown): never {
  process.stderr.write(`windrose ${command}: ${(err as Error).message}\n`);
  process.exit(1);
}

function tokenCommand(): Command {
  return new Command('token')
    .description('print a join token that proves a workload runs as this namespace and service account')
    .addOption(dataDir())
    .addOption(new Option('--namespace <name>', 'the workload\'s namespace').makeOptionMandatory())
    .addOption(new Option('--service-account <name>', 'the workload\'s service account').makeOptionMandatory())
    .addOption(new Option('--ttl <duration>', 'how long the token stays valid').default(3_600_000, '1h').argParser(parsePositiveDuration))
    .action(async (o: { dataDir: string; namespace: string; serviceAccount: string; ttl: number }) => {
      try {
        const { JoinTokens } = await import('../controlplane/ca/join-token.js');
        const tokens = JoinTokens.open(path.join(path.resolve(o.dataDir), 'ca'));
        process.stdout.write(`${tokens.mint({ namespace: o.namespace, serviceAccount: o.serviceAccount }, o.ttl)}\n`);
      } catch (err) {
        fail('control token', err);
      }
    });
}

function caCommand(): Command {
  const caDir = (o: { dataDir: string }) => path.join(path.resolve(o.dataDir), 'ca');
  return new Command('ca')
    .description('rotate the mesh root: "rotate" adds a new root (both trusted), "retire" drops the previous one')
    .addCommand(new Command('rotate')
      .description('make a new root that signs from now on; the current one stays trusted as the previous root')
      .addOption(dataDir())
      .action(async (o: { dataDir: string }) => {
        try {
          const { rotateRoot } = await import('../controlplane/ca/rotation.js');
          const { trustDomain } = await rotateRoot(caDir(o));
          process.stdout.write(`new root for ${trustDomain}; the previous root stays trusted until "windrose control ca retire"\n`);
        } catch (err) {
          fail('control ca rotate', err);
        }
      }))
    .addCommand(new Command('retire')
      .description('stop trusting the previous root, once every workload has renewed onto the new one')
      .addOption(dataDir())
      .action(async (o: { dataDir: string }) => {
        try {
          const { retireRoot } = await import('../controlplane/ca/rotation.js');
          retireRoot(caDir(o));
          process.stdout.write('previous root retired\n');
        } catch (err) {
          fail('control ca retire', err);
        }
      }));
}

interface ControlFlags {
  dataDir: string;
  trustDomain: string;
  listen: { host: string; port: number };
  svidTtl: number;
  config?: string;
  admin: { host: string; port: number };
  heartbeatTimeout: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  logFormat?: 'json' | 'text';
}

export function controlCommand(): Command {
  return new Command('control')
    .description('run the mesh control plane: certificate authority, workload registry and config distribution to proxies')
    // `control token --data-dir X` must give X to token: both commands take --data-dir.
    .enablePositionalOptions()
    .addOption(dataDir())
    .addOption(new Option('-c, --config <path>', 'file or directory of resources to distribute to proxies, reloaded on change').env('WINDROSE_CONFIG'))
    .addOption(new Option('--trust-domain <name>', 'SPIFFE trust domain of the mesh').env('WINDROSE_TRUST_DOMAIN').default('cluster.local'))
    .addOption(new Option('--listen <host:port>', 'address of the mTLS API: certificates and config streams').env('WINDROSE_LISTEN').default(parseAddress('127.0.0.1:15012'), '127.0.0.1:15012').argParser(parseAddress))
    .addOption(new Option('--admin <host:port>', 'admin server address (ready, live, metrics, proxies)').env('WINDROSE_ADMIN').default(parseAddress('127.0.0.1:15014'), '127.0.0.1:15014').argParser(parseAddress))
    .addOption(new Option('--svid-ttl <duration>', 'lifetime of the certificates it signs').env('WINDROSE_SVID_TTL').default(86_400_000, '24h').argParser(parsePositiveDuration))
    .addOption(new Option('--heartbeat-timeout <duration>', 'a workload whose proxy sent nothing for this long is removed').env('WINDROSE_HEARTBEAT_TIMEOUT')
      .default(HEARTBEAT_MS * MISSED_HEARTBEATS, `${(HEARTBEAT_MS * MISSED_HEARTBEATS) / 1000}s`).argParser(parsePositiveDuration))
    .addOption(new Option('--log-level <level>', 'debug, info, warn or error').env('WINDROSE_LOG_LEVEL').default('info').argParser(parseLevel))
    .addOption(new Option('--log-format <format>', 'json or text (default: text on a terminal, json otherwise)').env('WINDROSE_LOG_FORMAT').argParser(parseFormat))
    .addCommand(tokenCommand())
    .addCommand(caCommand())
    .action(async (o: ControlFlags) => {
      const log = createLogger(o.logLevel, o.logFormat ?? defaultLogFormat());
      let control: RunningControl;
      try {
        const { startControl } = await import('../controlplane/run.js');
        control = await startControl({
          dataDir: path.resolve(o.dataDir),
          trustDomain: o.trustDomain,
          host: o.listen.host,
          port: o.listen.port,
          svidLifetimeMs: o.svidTtl,
          config: o.config === undefined ? undefined : path.resolve(o.config),
          admin: o.admin,
          heartbeatTimeoutMs: o.heartbeatTimeout,
          log,
        });
      } catch (err) {
        fail('control', err);
      }
      log.info({ port: control.port, adminPort: control.adminPort, trustDomain: o.trustDomain }, 'ready');
      stopOnSignals(() => control.close(), log);
    });
}
