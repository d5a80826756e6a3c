// What every benchmark script sets up the same way: the tools it drives, CPU pinning (the proxy
// on one CPU, everything else on another), and stopping every child process on every way out.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { allowedCpus, killAllSync, stopAll, which } from './procs.mjs';

export function setUpHarness(log) {
  const tools = {
    nginx: which('nginx', ['/usr/sbin/nginx']),
    wrk: which('wrk', ['/usr/bin/wrk']),
    taskset: which('taskset', ['/usr/bin/taskset']),
  };
  const cpus = allowedCpus();
  const pinning = Boolean(tools.taskset) && cpus.length >= 2;
  // Normally CPU 0 for the proxy under test and CPU 1 for everything else.
  const CPU = { proxy: cpus[0], load: cpus[1] };

  /** Wraps a command so it runs on the proxy's CPU (`role` 0) or the other one, when pinning is available. */
  function pin(role, cmd, args) {
    const cpu = role === 0 ? CPU.proxy : CPU.load;
    return pinning ? [tools.taskset, ['-c', String(cpu), cmd, ...args]] : [cmd, args];
  }

  const tempDirs = [];
  let cleaningUp = null;
  function cleanup() {
    cleaningUp ??= (async () => {
      await stopAll();
      for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
    })();
    return cleaningUp;
  }
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      log(`\nbench: ${sig} — stopping all child processes`);
      const exitCode = 128 + (os.constants.signals[sig] ?? 1);
      cleanup().finally(() => process.exit(exitCode));
      setTimeout(() => process.exit(exitCode), 5000).unref();
    });
  }

  if (!pinning) {
    log(`bench: warning: no CPU pinning (${tools.taskset ? `only ${cpus.length} CPU` : 'taskset not found'}) — figures will be noisier`);
  } else {
    // Keep the harness itself off the proxy's CPU; failing to is not fatal.
    try {
      execFileSync(tools.taskset, ['-a', '-p', '-c', String(CPU.load), String(process.pid)], { stdio: 'ignore' });
    } catch {
      log('bench: warning: could not move the harness off the proxy CPU');
    }
  }
  /** True once cleanup has begun: a measurement that fails then failed because its processes were stopped. */
  const stopping = () => cleaningUp !== null;
  /** Runs the benchmark's main, always cleans up, and exits with its code (1 if it threw or gave none). */
  async function runAndExit(main) {
    let exitCode = 1;
    try {
      exitCode = (await main()) ?? 1;
    } catch (err) {
      log(`bench: error: ${err.stack ?? err}`);
    } finally {
      await cleanup();
    }
    process.exit(exitCode);
  }
  return { tools, pinning, CPU, pin, tempDirs, cleanup, stopping, runAndExit };
}
