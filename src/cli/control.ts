//! `windrose control`: the mesh control plane (for now its certificate authority), and
//! `windrose control token` to mint the join tokens workloads prove their identity with.

import { Command, Option } from 'commander';
import path from 'node:path';
import { JoinTokens } from '../controlplane/ca/join-token.js';
import { startControl } from '../controlplane/server.js';
import { createLogger, defaultLogFormat } from '../telemetry/log.js';
import { parseAddress, parseDuration, parseFormat, parseLevel } from './options.js';

const dataDir = () => new Option('--data-dir <path>', 'where the CA root, its key and the join-token secret are kept').env('WINDROSE_DATA_DIR').default('windrose-data');

function tokenCommand(): Command {
  return new Command('token')
    .description('print a join token that proves a workload runs as this namespace and service account')
    .addOption(dataDir())
    .addOption(new Option('--namespace <name>', 'the workload\'s namespace').makeOptionMandatory())
    .addOption(new Option('--service-account <name>', 'the workload\'s service account').makeOptionMandatory())
    .addOption(new Option('--ttl <duration>', 'how long the token stays valid').default(3_600_000, '1h').argParser(parseDuration))
    .action((o: { dataDir: string; namespace: string; serviceAccount: string; ttl: number }) => {
      try {
        const tokens = JoinTokens.open(path.join(path.resolve(o.dataDir), 'ca'));
        process.stdout.write(`${tokens.mint({ namespace: o.namespace, serviceAccount: o.serviceAccount }, o.ttl)}\n`);
      } catch (err) {
        process.stderr.write(`windrose control token: ${(err as Error).message}\n`);
        process.exit(1);
      }
    });
}

export function controlCommand(): Command {
  return new Command('control')
    .description('run the mesh control plane: the certificate authority that signs workload SVIDs')
    // `control token --data-dir X` must give X to token: both commands take --data-dir.
    .enablePositionalOptions()
    .addOption(dataDir())
    .addOption(new Option('--trust-domain <name>', 'SPIFFE trust domain of the mesh').env('WINDROSE_TRUST_DOMAIN').default('cluster.local'))
    .addOption(new Option('--listen <host:port>', 'address of the certificate API (HTTPS)').env('WINDROSE_CONTROL_LISTEN').default(parseAddress('127.0.0.1:15012'), '127.0.0.1:15012').argParser(parseAddress))
    .addOption(new Option('--svid-ttl <duration>', 'lifetime of the certificates it signs').env('WINDROSE_SVID_TTL').default(86_400_000, '24h').argParser(parseDuration))
    .addOption(new Option('--log-level <level>', 'debug, info, warn or error').env('WINDROSE_LOG_LEVEL').default('info').argParser(parseLevel))
    .addOption(new Option('--log-format <format>', 'json or text (default: text on a terminal, json otherwise)').env('WINDROSE_LOG_FORMAT').argParser(parseFormat))
    .addCommand(tokenCommand())
    .action(async (o: {
      dataDir: string; trustDomain: string; listen: { host: string; port: number }; svidTtl: number;
      logLevel: 'debug' | 'info' | 'warn' | 'error'; logFormat?: 'json' | 'text';
    }) => {
      const log = createLogger(o.logLevel, o.logFormat ?? defaultLogFormat());
      let control;
      try {
        control = await startControl({
          dataDir: path.resolve(o.dataDir), trustDomain: o.trustDomain, host: o.listen.host, port: o.listen.port, svidLifetimeMs: o.svidTtl, log,
        });
      } catch (err) {
        process.stderr.write(`windrose control: ${(err as Error).message}\n`);
        process.exit(1);
      }
      log.info({ port: control.port, trustDomain: o.trustDomain }, 'ready');
      const stop = () => void control.close().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
