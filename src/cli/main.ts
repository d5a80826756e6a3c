#!/usr/bin/env -S node --optimize-for-size --no-memory-reducer --liftoff-only
//! The windrose command line: one binary, one subcommand per role. Each command loads its role's
//! code only when it runs, so a sidecar never holds the control plane's libraries (about 9 MB).

import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { controlCommand } from './control.js';
import { demoCommand } from './demo.js';
import { gatewayCommand } from './gateway.js';
import { keysCommand } from './keys.js';
import { sidecarCommand } from './sidecar.js';
import { validateCommand } from './validate.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('windrose')
  .description('API gateway and service mesh configured by Kubernetes Gateway API resources')
  .version(version)
  .showHelpAfterError()
  // Lets a subcommand of a subcommand take an option its parent also has (control token --data-dir).
  .enablePositionalOptions()
  .exitOverride()
  .addCommand(gatewayCommand())
  .addCommand(validateCommand())
  .addCommand(controlCommand())
  .addCommand(sidecarCommand())
  .addCommand(demoCommand())
  .addCommand(keysCommand());
const overrideExits = (cmd: Command): void => {
  for (const sub of cmd.commands) {
    sub.exitOverride();
    overrideExits(sub);
  }
};
overrideExits(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Usage errors exit 2, as the conventions say; help and version exit 0.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  throw err;
}
