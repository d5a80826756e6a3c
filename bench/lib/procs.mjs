// Child-process bookkeeping and /proc sampling for the benchmark harness.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Find an executable: explicit candidates first, then $PATH. */
export function which(name, candidates = []) {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  for (const file of [...candidates, ...dirs.map((d) => path.join(d, name))]) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not there
    }
  }
  return null;
}

/** CPUs this process may run on ("0-1,4" in /proc/self/status), in order. */
export function allowedCpus() {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    const cpus = [];
    for (const part of m[1].split(',')) {
      const [a, b = a] = part.split('-').map(Number);
      for (let c = a; c <= b; c++) cpus.push(c);
    }
    return cpus;
  } catch {
    return os.cpus().map((_, i) => i);
  }
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it back, release it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Children

const live = new Set();

/** Keeps the last `limit` characters of a stream. */
class Tail {
  constructor(limit = 64 * 1024) {
    this.limit = limit;
    this.text = '';
  }
  push(chunk) {
    this.text += chunk.toString();
    if (this.text.length > this.limit) this.text = this.text.slice(-this.limit);
  }
}

/**
 * Spawn a child in its own process group (so it and anything it forks can be
 * signalled together), capturing stdout/stderr. `keepStdin` gives the child a
 * stdin pipe that closes when the harness dies (our Node children exit on it).
 */
export function startChild(label, cmd, args, { cwd, env, keepStdin = false } = {}) {
  const child = spawn(cmd, args, {
    cwd,
    env: env ?? process.env,
    stdio: [keepStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const handle = {
    label,
    child,
    pid: child.pid,
    stdout: new Tail(),
    stderr: new Tail(),
    exited: false,
    exitCode: null,
    exitSignal: null,
    spawnError: null,
  };
  handle.done = new Promise((resolve) => {
    child.on('error', (err) => {
      handle.spawnError = err;
      handle.exited = true;
      live.delete(handle);
      resolve(handle);
    });
    child.on('exit', (code, signal) => {
      handle.exited = true;
      handle.exitCode = code;
      handle.exitSignal = signal;
      live.delete(handle);
      resolve(handle);
    });
  });
  child.stdout.on('data', (c) => handle.stdout.push(c));
  child.stderr.on('data', (c) => handle.stderr.push(c));
  child.stdin?.on('error', () => {});
  if (child.pid) live.add(handle);
  return handle;
}

function signalGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

function signalPid(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stop a child and everything under it: SIGTERM to its process group and to
 * every descendant found in /proc, then SIGKILL whatever is left after `graceMs`.
 */
export async function stopChild(handle, graceMs = 3000) {
  if (!handle || !handle.pid) return;
  const tree = handle.exited ? [] : processTree(handle.pid).map((p) => p.pid);
  if (!handle.exited) {
    signalGroup(handle.pid, 'SIGTERM');
    for (const pid of tree) signalPid(pid, 'SIGTERM');
  }
  const timedOut = await Promise.race([handle.done.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    signalGroup(handle.pid, 'SIGKILL');
    await Promise.race([handle.done, sleep(1000)]);
  }
  // Descendants that outlived the root (e.g. a worker that ignored SIGTERM).
  for (const pid of tree) {
    if (pid !== handle.pid && fs.existsSync(`/proc/${pid}`)) signalPid(pid, 'SIGKILL');
  }
  signalGroup(handle.pid, 'SIGKILL');
}

export async function stopAll() {
  await Promise.all([...live].map((h) => stopChild(h, 2000)));
}

/** Last-resort synchronous kill (used from process 'exit'). */
export function killAllSync() {
  for (const h of live) {
    signalGroup(h.pid, 'SIGKILL');
    signalPid(h.pid, 'SIGKILL');
  }
}

/**
 * Run a child to completion with a hard time limit. Resolves with
 * { code, signal, stdout, stderr, timedOut }. `onStderr` sees each chunk of
 * stderr as it arrives, for a child that reports progress there.
 */
export async function runChild(label, cmd, args, { timeoutMs, cwd, onStderr } = {}) {
  const h = startChild(label, cmd, args, { cwd });
  if (onStderr) h.child.stderr.on('data', (chunk) => onStderr(chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stopChild(h, 1000);
  }, timeoutMs);
  await h.done;
  clearTimeout(timer);
  if (h.spawnError) throw new Error(`${label}: cannot start ${cmd}: ${h.spawnError.message}`);
  return { code: h.exitCode, signal: h.exitSignal, stdout: h.stdout.text, stderr: h.stderr.text, timedOut };
}

// ---------------------------------------------------------------------------
// /proc sampling

let clkTck = null;
export function clockTicks() {
  if (clkTck === null) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** Parse /proc/<pid>/stat; null if the process is gone. */
function readStat(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  return {
    pid,
    ppid: Number(rest[1]),
    utime: Number(rest[11]),
    stime: Number(rest[12]),
    starttime: rest[19],
  };
}

/** The process `rootPid` and all its descendants (via the ppid of every /proc/<pid>/stat). */
export function processTree(rootPid) {
  const byParent = new Map();
  let root = null;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    if (st.pid === rootPid) root = st;
    if (!byParent.has(st.ppid)) byParent.set(st.ppid, []);
    byParent.get(st.ppid).push(st);
  }
  if (!root) return [];
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i].pid) ?? []));
  return out;
}

/** CPU ticks (utime + stime) of every process in the tree, keyed by pid. */
export function cpuSnapshot(rootPid) {
  const snap = new Map();
  for (const p of processTree(rootPid)) snap.set(p.pid, { ticks: p.utime + p.stime, starttime: p.starttime });
  return snap;
}

/**
 * CPU seconds used by the tree between two snapshots. A process that appeared
 * in between counts in full; one that exited in between is lost (not expected
 * for a proxy under steady load).
 */
export function cpuSecondsBetween(before, after) {
  let ticks = 0;
  for (const [pid, a] of after) {
    const b = before.get(pid);
    ticks += b && b.starttime === a.starttime ? a.ticks - b.ticks : a.ticks;
  }
  return { seconds: ticks / clockTicks(), processes: after.size };
}

/** Sum of VmRSS over the tree, in bytes. */
export function treeRssBytes(rootPid) {
  let kb = 0;
  for (const p of processTree(rootPid)) {
    try {
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${p.pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // exited
    }
  }
  return kb * 1024;
}

function cpuTotals() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + (fields[4] ?? 0); // idle + iowait
  return { total, idle };
}

/** Share of all CPUs (0..1) busy over the next `ms` milliseconds, whoever uses them. */
export async function systemBusy(ms) {
  const a = cpuTotals();
  await sleep(ms);
  const b = cpuTotals();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}
