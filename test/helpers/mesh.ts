//! A mesh on loopback for end-to-end tests: the real `windrose control` and `windrose sidecar`
//! processes, each on its own free ports, with a temporary data dir and config dir.

import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from './mesh-client.js';
import { until } from './metrics.js';
import { freePort } from './ports.js';
import { spawnWindrose, tempConfigDir, type WindroseProcess } from './windrose.js';

export interface MeshControl {
  /** The running process; replaced by restart(). */
  proc: WindroseProcess;
  readonly url: string;
  /** The control plane's admin server, e.g. http://127.0.0.1:PORT (/proxies, /metrics). */
  readonly admin: string;
  readonly dataDir: string;
  readonly configDir: string;
  /** The mesh root, as sidecars get it with --control-ca. */
  readonly caFile: string;
  token(namespace: string, serviceAccount: string): Promise<string>;
  write(name: string, text: string): void;
  /** Starts the control plane (again) on the same ports and data dir. */
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops it and removes its directories. */
  dispose(): Promise<void>;
}

export interface ControlOptions {
  readonly svidTtl?: string;
  readonly heartbeatTimeout?: string;
  readonly args?: readonly string[];
}

export async function startMeshControl(files: Record<string, string>, opts: ControlOptions = {}): Promise<MeshControl> {
  const dataDir = mkdtempSync(join(tmpdir(), 'windrose-mesh-'));
  const configDir = tempConfigDir(files);
  const port = await freePort();
  const adminPort = await freePort();
  const control: MeshControl = {
    proc: undefined as unknown as WindroseProcess,
    url: `https://127.0.0.1:${port}`,
    admin: `http://127.0.0.1:${adminPort}`,
    dataDir, configDir,
    caFile: join(dataDir, 'ca', 'root.crt.pem'),
    token: (namespace, serviceAccount) => mintToken(dataDir, namespace, serviceAccount),
    write: (name, text) => writeFileSync(join(configDir, name), text),
    start: async () => {
      control.proc = spawnWindrose([
        'control', '--data-dir', dataDir, '--config', configDir, '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${adminPort}`,
        '--svid-ttl', opts.svidTtl ?? '1h', '--heartbeat-timeout', opts.heartbeatTimeout ?? '15s', '--log-format', 'json', ...(opts.args ?? []),
      ]);
      await control.proc.waitForLog((l) => l.msg === 'ready');
    },
    stop: (signal) => control.proc.stop(signal),
    dispose: async () => {
      await control.proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(configDir, { recursive: true, force: true });
    },
  };
  await control.start();
  return control;
}

export interface Sidecar extends WindroseProcess {
  readonly inbound: number;
  readonly outbound: number;
  /** http://127.0.0.1:PORT of its admin server. */
  readonly admin: string;
}

export interface SidecarOptions {
  readonly namespace?: string;
  readonly serviceAccount: string;
  readonly services?: readonly string[];
  readonly appPort: number;
  readonly mode?: 'STRICT' | 'PERMISSIVE';
  readonly labels?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
  /** Resolve before the first config is applied (default: wait for /ready). */
  readonly waitReady?: boolean;
}

export async function startSidecar(control: MeshControl, opts: SidecarOptions): Promise<Sidecar> {
  const [inbound, outbound, adminPort] = [await freePort(), await freePort(), await freePort()];
  const token = await control.token(opts.namespace ?? 'default', opts.serviceAccount);
  const labels = Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const proc = spawnWindrose([
    'sidecar', '--control', control.url, '--control-ca', control.caFile, '--app-port', String(opts.appPort),
    '--inbound', `127.0.0.1:${inbound}`, '--outbound', `127.0.0.1:${outbound}`, '--admin', `127.0.0.1:${adminPort}`,
    '--service', (opts.services ?? []).join(','), '--labels', labels, '--mode', opts.mode ?? 'STRICT',
    '--heartbeat', '250ms', '--log-format', 'json', '--log-level', 'debug', ...(opts.args ?? []),
  ], { WINDROSE_JOIN_TOKEN: token });
  const sidecar: Sidecar = { ...proc, inbound, outbound, admin: `http://127.0.0.1:${adminPort}` };
  if (opts.waitReady !== false) {
    try {
      await proc.waitForLog((l) => l.msg === 'config applied');
    } catch (err) {
      await proc.stop();
      throw err;
    }
  }
  return sidecar;
}

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A call from the application through its sidecar's outbound port, as an HTTP_PROXY client makes it. */
export function callThrough(sidecar: Sidecar, url: string, init: { method?: string; headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: sidecar.outbound, path: url, method: init.method ?? 'GET', headers: { host: new URL(url).host, ...init.headers }, agent: init.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The control plane's view of the proxies (admin GET /proxies). */
export async function proxies(control: MeshControl): Promise<{ id: string; spiffeId: string; connected: boolean; ackedVersion?: string; sentVersion?: string; nack?: { version: string; error: string } }[]> {
  const res = await fetch(`${control.admin}/proxies`);
  return (await res.json()) as Awaited<ReturnType<typeof proxies>>;
}

/** Waits until the control plane lists `count` connected proxies that acknowledged what they were sent. */
export function converged(control: MeshControl, count: number): Promise<unknown> {
  return until(`${count} proxies in sync`, async () => {
    const list = await proxies(control);
    const synced = list.filter((p) => p.connected && p.sentVersion !== undefined && p.ackedVersion === p.sentVersion);
    return synced.length >= count ? synced : undefined;
  }, 20_000);
}

/** `windrose <args>` inside the network namespace `netns` (`ip netns exec`, which needs root). */
export function spawnWindroseInNetns(netns: string, args: readonly string[], env: Record<string, string> = {}): WindroseProcess {
  return spawnWindrose(args, env, ['ip', 'netns', 'exec', netns]);
}
