//! Real X.509 material for TLS tests, made with the openssl CLI in a temp dir: a CA, leaf
//! certificates with DNS (and URI) SANs for servers or clients, revocation lists, and the
//! kubernetes.io/tls Secret that carries a leaf to windrose.

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

export interface LeafOptions {
  /** A client certificate (extendedKeyUsage clientAuth) rather than a server one. */
  readonly client?: boolean;
  /** URI SANs besides the DNS ones, such as a SPIFFE ID. */
  readonly uris?: readonly string[];
  /** The subject in openssl's form ("/O=Acme/CN=partner"); by default CN is the first DNS name. */
  readonly subject?: string;
}

export interface CertificateAuthority extends KeyPair {
  /** Issues a leaf for `dnsNames`, signed by this CA; serial numbers count up from 1001 (0x3E9). */
  issue(dnsNames: readonly string[], options?: LeafOptions): Promise<KeyPair>;
  /** Marks `leaf` revoked; the next `crl()` lists it. */
  revoke(leaf: KeyPair): Promise<void>;
  /** A PEM certificate revocation list signed by this CA, valid for two days. */
  crl(): Promise<string>;
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
  // `openssl ca` keeps what it revoked in a small database beside the CA key.
  const caConfig = join(dir, 'ca.cnf');
  const database = Promise.all([
    writeFile(join(dir, 'index.txt'), ''),
    writeFile(join(dir, 'crlnumber'), '1000\n'),
    writeFile(caConfig, `[ca]\ndefault_ca=test_ca\n[test_ca]\ndatabase=${join(dir, 'index.txt')}\ncrlnumber=${join(dir, 'crlnumber')}\ndefault_md=sha256\ndefault_crl_days=2\n`),
  ]);
  const caArgs = ['-config', caConfig, '-cert', join(dir, 'ca.crt'), '-keyfile', join(dir, 'ca.key')];
  return {
    ...ca,
    async issue(dnsNames, options = {}) {
      // Taken now: leaves issued concurrently must not share the counter's final value.
      const number = ++serial;
      const name = `leaf-${number}`;
      const ext = join(dir, `${name}.ext`);
      const sans = [...dnsNames.map((n) => `DNS:${n}`), ...(options.uris ?? []).map((u) => `URI:${u}`)];
      await writeFile(ext, [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${options.client ? 'clientAuth' : 'serverAuth'}`,
        `subjectAltName=${sans.join(',')}`,
        '',
      ].join('\n'));
      await run('openssl', ['req', '-new', ...KEY_ARGS, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', options.subject ?? `/CN=${dnsNames[0]}`]);
      await run('openssl', [
        'x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
        '-set_serial', String(1000 + number), '-days', '2', '-extfile', ext, '-out', join(dir, `${name}.crt`),
      ]);
      return pair(dir, name);
    },
    async revoke(leaf) {
      await database;
      const file = join(dir, `revoked-${leaf.fingerprint256.replaceAll(':', '')}.crt`);
      await writeFile(file, leaf.certPem);
      await run('openssl', ['ca', ...caArgs, '-revoke', file]);
    },
    async crl() {
      await database;
      const out = join(dir, 'ca.crl');
      await run('openssl', ['ca', ...caArgs, '-gencrl', '-out', out]);
      return readFile(out, 'utf8');
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
