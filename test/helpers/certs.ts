//! Real X.509 material for TLS tests, made with the openssl CLI in a temp dir: a CA and leaf
//! certificates with DNS SANs, plus the kubernetes.io/tls Secret that carries a leaf to windrose.

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 fingerprint as Node reports it on a peer certificate ("AB:CD:..."). */
  readonly fingerprint256: string;
}

export interface CertificateAuthority extends KeyPair {
  /** Issues a leaf for `dnsNames` (the first is also the subject CN), signed by this CA. */
  issue(dnsNames: readonly string[]): Promise<KeyPair>;
  /** Removes the temp dir holding the CA key. */
  dispose(): Promise<void>;
}

// P-256 keys take milliseconds to make, where RSA keys can take most of a second each.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function pair(dir: string, name: string): Promise<KeyPair> {
  const [certPem, keyPem] = await Promise.all([readFile(join(dir, `${name}.crt`), 'utf8'), readFile(join(dir, `${name}.key`), 'utf8')]);
  return { certPem, keyPem, fingerprint256: new X509Certificate(certPem).fingerprint256 };
}

export async function createCA(commonName = 'windrose test CA'): Promise<CertificateAuthority> {
  const dir = await mkdtemp(join(tmpdir(), 'windrose-certs-'));
  await run('openssl', [
    'req', '-x509', ...KEY_ARGS, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '2', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const ca = await pair(dir, 'ca');
  let serial = 0;
  return {
    ...ca,
    async issue(dnsNames) {
      const name = `leaf-${++serial}`;
      const ext = join(dir, `${name}.ext`);
      await writeFile(ext, [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}`,
        '',
      ].join('\n'));
      await run('openssl', ['req', '-new', ...KEY_ARGS, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', `/CN=${dnsNames[0]}`]);
      await run('openssl', [
        'x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
        '-set_serial', String(1000 + serial), '-days', '2', '-extfile', ext, '-out', join(dir, `${name}.crt`),
      ]);
      return pair(dir, name);
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A kubernetes.io/tls Secret document holding `pair`, base64 in `data` as kubectl would print it. */
export function tlsSecret(name: string, pair: KeyPair, namespace = 'default'): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${namespace} }
type: kubernetes.io/tls
data:
  tls.crt: ${Buffer.from(pair.certPem).toString('base64')}
  tls.key: ${Buffer.from(pair.keyPem).toString('base64')}
`;
}
