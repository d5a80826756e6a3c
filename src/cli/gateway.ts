//! `windrose gateway`: flags to options, then run until SIGTERM/SIGINT and drain.

import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { DEFAULT_LIMITS } from '../config/limits.js';
import { createLogger, defaultLogFormat } from '../telemetry/log.js';
import { parseAddress, parseCount, parseDuration, parseFormat, parseLevel, parseSize } from './options.js';
import { stopOnSignals } from './signals.js';
import { dataDirOption, storeLocation, storeOption, type StoreFlags } from './store-options.js';

export function gatewayCommand(): Command {
  return new Command('gateway')
    .description('serve the Gateways of the windrose GatewayClass found in the config')
    .addOption(new Option('-c, --config <path>', 'file or directory of YAML/JSON resources').env('WINDROSE_CONFIG').makeOptionMandatory())
    .addOption(new Option('--admin <host:port>', 'admin server address').env('WINDROSE_ADMIN').default(parseAddress('127.0.0.1:9901'), '127.0.0.1:9901').argParser(parseAddress))
    .addOption(new Option('--workers <n>', 'worker processes serving the same ports (default: number of CPUs)').env('WINDROSE_WORKERS').argParser(parseCount))
    .addOption(new Option('--bind <address>', 'address the listeners bind to').env('WINDROSE_BIND').default('0.0.0.0'))
    .addOption(new Option('--zone <name>', 'zone this gateway runs in: endpoints in the same zone (EndpointSlice zone) are preferred').env('WINDROSE_ZONE'))
    .addOption(new Option('--max-header-size <size>', 'largest request head accepted (431 beyond)').env('WINDROSE_MAX_HEADER_SIZE').default(DEFAULT_LIMITS.maxHeaderBytes, '60Ki').argParser(parseSize))
    .addOption(new Option('--max-header-count <n>', 'most header fields a request may carry (431 beyond)').env('WINDROSE_MAX_HEADER_COUNT').default(DEFAULT_LIMITS.maxHeaderCount).argParser(parseCount))
    .addOption(new Option('--max-body-size <size>', 'largest request body accepted (413 beyond)').env('WINDROSE_MAX_BODY_SIZE').default(DEFAULT_LIMITS.maxBodyBytes, '10Mi').argParser(parseSize))
    .addOption(new Option('--idle-timeout <duration>', 'close client connections idle this long').env('WINDROSE_IDLE_TIMEOUT').default(DEFAULT_LIMITS.idleTimeoutMs, '60s').argParser(parseDuration))
    .addOption(new Option('--drain-timeout <duration>', 'on SIGTERM, how long requests in flight may take to finish').env('WINDROSE_DRAIN_TIMEOUT').default(10_000, '10s').argParser(parseDuration))
    .addOption(new Option('--log-level <level>', 'debug, info, warn or error').env('WINDROSE_LOG_LEVEL').default('info').argParser(parseLevel))
    .addOption(new Option('--log-format <format>', 'json or text (default: text on a terminal, json otherwise)').env('WINDROSE_LOG_FORMAT').argParser(parseFormat))
    .addOption(dataDirOption())
    .addOption(storeOption())
    .action(async (o: StoreFlags & {
      config: string; admin: { host: string; port: number }; workers?: number; bind: string; zone?: string; maxHeaderSize: number; maxHeaderCount: number;
      maxBodySize: number; idleTimeout: number; drainTimeout: number; logLevel: 'debug' | 'info' | 'warn' | 'error'; logFormat?: 'json' | 'text';
    }) => {
      const store = storeLocation('gateway', o);
      const logFormat = o.logFormat ?? defaultLogFormat();
      const log = createLogger(o.logLevel, logFormat);
      const { GatewayStartError, runGateway } = await import('../runtime/gateway.js');
      let stop: () => Promise<void>;
      try {
        stop = await runGateway({
          config: o.config, admin: o.admin, workers: o.workers ?? availableParallelism(), bind: o.bind, zone: o.zone,
          limits: { maxHeaderBytes: o.maxHeaderSize, maxHeaderCount: o.maxHeaderCount, maxBodyBytes: o.maxBodySize, idleTimeoutMs: o.idleTimeout },
          drainMs: o.drainTimeout, logLevel: o.logLevel, logFormat, log, store,
        });
      } catch (err) {
        if (!(err instanceof GatewayStartError)) process.stderr.write(`windrose gateway: ${(err as Error).message}\n`);
        process.exit(1);
      }
      stopOnSignals(stop, log);
    });
}
