//! End to end: `windrose control` signs SVIDs for workloads that present a join token minted by
//! `windrose control token`, refuses bad tokens and CSRs, and keeps its root across restarts.

import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { CLI } from '../helpers/windrose.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'windrose-control-'));
const running: ChildProcess[] = [];
after(() => {
  for (const p of running) p.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Starts `windrose control` on a free port and resolves with that port once it logs "ready" (logs go to stderr). */
function startControl(): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(CLI, ['control', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--svid-ttl', '5m', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.push(proc);
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`windrose control exited with ${code}`)));
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg: string; port?: number };
      if (entry.msg === 'ready') resolve({ proc, port: entry.port! });
    });
  });
}

function stop(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    proc.removeAllListeners('exit');
    proc.once('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}

async function mintToken(namespace: string, serviceAccount: string): Promise<string> {
  const { stdout } = await promisify(execFile)(CLI, ['control', 'token', '--data-dir', dataDir, '--namespace', namespace, '--service-account', serviceAccount]);
  return stdout.trim();
}

async function csrPem(): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  return (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=workload', keys, signingAlgorithm: alg })).toString('pem');
}

/** POSTs to the certificate API, trusting only the CA's root: the server's own SVID must verify. */
function post(port: number, body: string, token?: string): Promise<{ status: number; headers: Record<string, unknown>; json: { certificate?: string; trustBundle?: string; error?: { code: string } } }> {
  const ca = fs.readFileSync(path.join(dataDir, 'ca', 'root.crt.pem'), 'utf8');
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/v1/svid', method: 'POST', ca, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a workload with a join token gets an SVID for its CSR; bad tokens and CSRs are refused; the root survives a restart', { timeout: 30_000 }, async () => {
  const token = await mintToken('shop', 'web');
  const first = await startControl();
  const ok = await post(first.port, JSON.stringify({ csr: await csrPem() }), token);
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  const root = new X509Certificate(ok.json.trustBundle!);
  const svid = new X509Certificate(ok.json.certificate!);
  assert.equal(svid.subjectAltName, 'URI:spiffe://cluster.local/ns/shop/sa/web');
  assert.ok(svid.verify(root.publicKey));

  const noToken = await post(first.port, JSON.stringify({ csr: await csrPem() }));
  assert.equal(noToken.status, 401);
  assert.equal(noToken.headers['www-authenticate'], 'Bearer');
  assert.equal(noToken.json.error?.code, 'invalid_join_token');
  const forged = await post(first.port, JSON.stringify({ csr: await csrPem() }), `${token.slice(0, -4)}AAAA`);
  assert.equal(forged.status, 401);
  const badCsr = await post(first.port, JSON.stringify({ csr: 'not a csr' }), token);
  assert.equal(badCsr.status, 400);
  assert.equal(badCsr.json.error?.code, 'bad_csr');
  assert.equal((await post(first.port, '{', token)).status, 400);
  assert.equal(await stop(first.proc), 0);

  // A restarted control plane keeps its root: the earlier SVID still chains, the token still works.
  const second = await startControl();
  const again = await post(second.port, JSON.stringify({ csr: await csrPem() }), token);
  assert.equal(again.status, 200);
  assert.equal(again.json.trustBundle, ok.json.trustBundle);
  assert.equal(await stop(second.proc), 0);
});

test('control token refuses names that are not Kubernetes names (exit 1) and missing flags (exit 2)', async () => {
  const run = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(CLI, ['control', 'token', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.on('exit', (code) => resolve({ code, stderr }));
  });
  const bad = await run(['--namespace', 'Shop', '--service-account', 'web']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /namespace "Shop" is not a valid Kubernetes name/);
  const missing = await run(['--namespace', 'shop']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--service-account/);
});

/** Runs the CLI to its exit: its exit code and what it wrote to stderr. */
function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(CLI, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.on('exit', (code) => resolve({ code, stderr }));
  });
}

test('sidecar and control refuse zero intervals (exit 2) and a --control-ca without a certificate (exit 1) instead of looping', async () => {
  const junk = path.join(dataDir, 'not-a-ca.pem');
  fs.writeFileSync(junk, 'this is not a certificate\n');
  const sidecar = ['sidecar', '--control', 'https://127.0.0.1:1', '--app-port', '1', '--join-token', 't'];
  const noCa = await run([...sidecar, '--control-ca', junk]);
  assert.equal(noCa.code, 1);
  assert.match(noCa.stderr, /--control-ca .*not-a-ca\.pem: no PEM certificate in the file/);
  const heartbeat = await run([...sidecar, '--control-ca', junk, '--heartbeat', '0s']);
  assert.equal(heartbeat.code, 2);
  assert.match(heartbeat.stderr, /expected a duration above zero, got "0s"/);
  const ttl = await run(['control', '--data-dir', dataDir, '--svid-ttl', '0s']);
  assert.equal(ttl.code, 2);
  assert.match(ttl.stderr, /expected a duration above zero/);
});

test('a sidecar refuses, at start, a descriptor the control plane would refuse (exit 2), instead of reconnecting forever', async () => {
  // The control plane is never reached: the flags are checked first, with the control plane's own rules.
  const sidecar = ['sidecar', '--control', 'https://127.0.0.1:1', '--control-ca', path.join(dataDir, 'absent.pem'), '--app-port', '1', '--join-token', 't'];
  const cases: [string[], RegExp][] = [
    [['--service', 'reviews,9reviews'], /option '--service': "9reviews" is not a Service name \(a lowercase letter/],
    [['--advertise', 'not an address'], /option '--advertise': expected an IP address or a DNS name, got "not an address"/],
    [['--labels', `app=${'x'.repeat(64)}`], /option '--labels': "app" is not a valid label \(a key of 1 to 317 characters, a value of at most 63\)/],
    [['--id', 'a'.repeat(254)], /option '--id': expected a string of 1 to 253 printable characters/],
  ];
  for (const [flags, message] of cases) {
    const r = await run([...sidecar, ...flags]);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // Names the control plane takes pass this check and the sidecar goes on to read --control-ca.
  const fine = await run([...sidecar, '--service', 'reviews,ratings-v2', '--advertise', 'reviews-0.reviews.default.svc', '--labels', 'app=reviews,version=v2']);
  assert.equal(fine.code, 1);
  assert.match(fine.stderr, /--control-ca .*absent\.pem/);
});
