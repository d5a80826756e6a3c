//! `windrose demo`: starts three sample services and a gateway from examples/demo in front of them,
//! then prints what to try. What `npm start` runs.

import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { DEFAULT_LIMITS } from '../config/limits.js';
import { startSampleService, type SampleService } from '../demo/services.js';
import { createLogger, defaultLogFormat } from '../telemetry/log.js';
import { parseAddress } from './options.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/demo', import.meta.url));
const SERVICES: readonly [string, number][] = [['shop-v1', 9101], ['shop-v2', 9102], ['users', 9103]];

export function demoCommand(): Command {
  return new Command('demo')
    .description('run sample services and a gateway in front of them (examples/demo), and print URLs to try')
    .addOption(new Option('--admin <host:port>', 'admin server address').env('WINDROSE_ADMIN').default(parseAddress('127.0.0.1:9901'), '127.0.0.1:9901').argParser(parseAddress))
    .action(async (o: { admin: { host: string; port: number } }) => {
      const log = createLogger('info', defaultLogFormat());
      let services: SampleService[];
      try {
        services = await Promise.all(SERVICES.map(([name, port]) => startSampleService(name, port)));
      } catch (err) {
        process.stderr.write(`windrose demo: could not start the sample services on ports 9101-9103: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const { GatewayStartError, runGateway } = await import('../runtime/gateway.js');
      let stop: () => Promise<void>;
      try {
        stop = await runGateway({
          config: EXAMPLE, admin: o.admin, workers: 1, bind: '127.0.0.1', limits: DEFAULT_LIMITS, drainMs: 2000,
          logLevel: 'info', logFormat: defaultLogFormat(), log,
        });
      } catch (err) {
        if (!(err instanceof GatewayStartError)) process.stderr.write(`windrose demo: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const admin = `http://${o.admin.host}:${o.admin.port}`;
      process.stdout.write([
        '',
        'windrose demo is running: a gateway on http://127.0.0.1:8080 in front of three sample services.',
        `Config: ${EXAMPLE} (edit it: changes apply without a restart)`,
        '',
        'Try:',
        '  curl -i http://127.0.0.1:8080/shop/cart               # 90% shop-v1, 10% shop-v2',
        '  curl -i -H "x-canary: always" http://127.0.0.1:8080/shop  # always shop-v2',
        '  curl -i http://127.0.0.1:8080/api/users/42            # rewritten to /users/42',
        '  curl -i http://127.0.0.1:8080/old-users               # 301 to /api/users',
        '  curl -i http://127.0.0.1:8080/nowhere                 # 404 with a JSON error',
        `  curl ${admin}/status                       # resource conditions`,
        `  curl ${admin}/metrics                      # Prometheus metrics`,
        '',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'));
      const onSignal = () => {
        stop().then(() => Promise.all(services.map((s) => s.close()))).then(() => process.exit(0));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
}
