//! Starts the real windrose CLI as a child process and waits for the log lines that say it is serving.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface LogLine { level: number; msg: string; [k: string]: unknown }

/** A windrose process started by a test, with its JSON log lines. */
export interface WindroseProcess {
  readonly proc: ChildProcess;
  readonly logs: LogLine[];
  /** Resolves with the first log line (already seen or future) that satisfies `pred`. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends SIGTERM (or `signal`) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Windrose extends WindroseProcess {
  readonly admin: string;
  readonly configDir: string;
  /** Writes a config file into the watched directory. */
  write(name: string, text: string): void;
}

export function tempConfigDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'windrose-test-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/**
 * Starts `windrose <args>` with JSON logs on stderr; `env` adds to the test's environment. `prefix`
 * runs it under another command that execs it, e.g. `ip netns exec NS`, so signals still reach windrose.
 */
export function spawnWindrose(args: readonly string[], env: Record<string, string> = {}, prefix: readonly string[] = []): WindroseProcess {
  const [command, ...rest] = [...prefix, process.execPath, CLI, ...args];
  const proc = spawn(command, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const logs: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let stderrText = '';
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    let parsed: LogLine;
    try { parsed = JSON.parse(line) as LogLine; } catch { stderrText += `${line}\n`; return; }
    logs.push(parsed);
    for (const w of [...waiters]) if (w.pred(parsed)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(parsed); }
  });
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 15_000) => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a log line; stderr:\n${stderrText}\nlogs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
      const w = { pred, resolve: (l: LogLine) => { clearTimeout(timer); resolve(l); } };
      waiters.push(w);
      void exited.then((code) => {
        if (!waiters.includes(w)) return;
        clearTimeout(timer);
        reject(new Error(`windrose ${args[0]}${prefix.length > 0 ? ` (${prefix.join(' ')})` : ''} exited with ${code} before the expected log line; stderr:\n${stderrText}`));
      });
    });
  };
  return {
    proc, logs, waitForLog,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export async function startWindrose(files: Record<string, string>, opts: { workers?: number; args?: string[]; waitReady?: boolean } = {}): Promise<Windrose> {
  const configDir = tempConfigDir(files);
  const adminPort = await freePort();
  const admin = `http://127.0.0.1:${adminPort}`;
  const p = spawnWindrose([
    'gateway', '--config', configDir, '--admin', `127.0.0.1:${adminPort}`, '--workers', String(opts.workers ?? 1),
    '--bind', '127.0.0.1', '--log-format', 'json', '--log-level', 'debug', ...(opts.args ?? []),
  ]);
  const w: Windrose = { ...p, admin, configDir, write: (name, text) => writeFileSync(join(configDir, name), text) };
  if (opts.waitReady !== false) {
    try {
      await w.waitForLog((l) => l.msg === 'ready');
    } catch (err) {
      await w.stop();
      throw err;
    }
  }
  return w;
}

/** Resolves once windrose logs that it serves config version `version` everywhere. */
export function waitForVersion(w: Windrose, version: number): Promise<LogLine> {
  return w.waitForLog((l) => l.msg === 'ready' && l.version === version);
}
