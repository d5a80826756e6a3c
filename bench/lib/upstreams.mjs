// The upstream process the benchmarks proxy to (bench/upstream.mjs, one process serving several
// ports), and the retry every start needs on a shared machine.
import path from 'node:path';
import { log } from './cli.mjs';
import { freePort, sleep, startChild, stopChild } from './procs.mjs';
import { EXPECTED_BODY, benchDir, httpGet, repoRoot } from './targets.mjs';

/**
 * Runs `start` again when another process took the port it was given between the free-port
 * probe and the bind: the machine is shared, and a lost race is not a result.
 */
export async function withFreshPort(start) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt === 3 || !/EADDRINUSE|Address already in use/.test(err.message)) throw err;
      log(`  port taken by another process; starting again (${attempt})`);
    }
  }
}

/** One upstream process serving `count` ports on the load CPU (`pin` from the harness); resolves when every port answers. */
export function startUpstreams(pin, count) {
  return withFreshPort(() => startUpstreamsOnce(pin, count));
}

async function startUpstreamsOnce(pin, count) {
  const ports = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const [cmd, args] = pin(1, process.execPath, [path.join(benchDir, 'upstream.mjs'), ...ports.map(String)]);
  const handle = startChild('upstream', cmd, args, { cwd: repoRoot, keepStdin: true });
  const deadline = Date.now() + 10_000;
  const ready = new Set();
  while (Date.now() < deadline && !handle.exited && ready.size < ports.length) {
    for (const port of ports) {
      if (ready.has(port)) continue;
      try {
        const r = await httpGet(port);
        if (r.status === 200 && r.body === EXPECTED_BODY) ready.add(port);
      } catch {
        // not yet
      }
    }
    if (ready.size < ports.length) await sleep(50);
  }
  if (ready.size === ports.length) return { ports, handle };
  await stopChild(handle);
  throw new Error(`upstream did not start:\n${handle.stderr.text}`);
}
