// Shared by the benchmark's child processes (the upstream, the reference proxies, the open-loop client).
import fs from 'node:fs';

/** The line bench/load/open-loop.mjs writes to stderr when its measured window begins. */
export const OPEN_LOOP_MEASURING = 'open-loop: measuring';

// The harness gives each child a stdin pipe that closes when it goes away (even on
// SIGKILL): exit then. Not when stdin is a terminal or /dev/null (manual runs).
export function exitWhenParentGoes() {
  let isPipe = false;
  try {
    const st = fs.fstatSync(0);
    isPipe = st.isFIFO() || st.isSocket();
  } catch {
    // no stdin
  }
  if (!isPipe) return;
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
