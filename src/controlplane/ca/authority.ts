//! The mesh's certificate authority: a root kept on disk (generated on first start, key file
//! mode 0600), optionally an intermediate that signs in its place, and during a root rotation the
//! previous root, still trusted. Short-lived X.509 SVIDs are signed from workloads' CSRs, their
//! private keys never leaving them. The CA decides the identity from who the workload proved to
//! be, never from the CSR.

// @peculiar/x509 relies on decorator metadata, which must be installed before it loads.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, webcrypto, X509Certificate as NodeCertificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { writeFileAtomic } from '../atomic-file.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;
/** Clocks of workloads differ a little; a certificate valid from a minute ago is not refused by a peer that is behind. */
const BACKDATE_MS = 60_000;

/** The files of a CA directory. An operator may place the root, or root and intermediate, before the first start. */
export const CA_FILES = {
  root: 'root.crt.pem',
  rootKey: 'root.key.pem',
  previousRoot: 'previous-root.crt.pem',
  previousRootKey: 'previous-root.key.pem',
  intermediate: 'intermediate.crt',
  intermediateKey: 'intermediate.key',
} as const;

export interface WorkloadIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export function spiffeId(trustDomain: string, id: WorkloadIdentity): string {
  return `spiffe://${trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

export class CaError extends Error {}

/** A positive serial number of 128 random bits (RFC 5280 allows up to 20 octets). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}

export interface AuthorityOptions {
  readonly trustDomain: string;
  /** Lifetime of a root generated on first start; default 10 years. */
  readonly rootLifetimeMs?: number;
}

/** A certificate that signs leaves, its key, and the certificates a leaf carries after itself to reach a root. */
interface Signer {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
  /** PEM appended to each leaf it signs: the intermediate chain, empty for a root. */
  readonly chain: string;
  /** No leaf outlives the chain it hangs from. */
  readonly notAfter: number;
}

/** Makes a self-signed ECDSA P-256 root for the trust domain and writes it (key first, mode 0600) into `dir`. */
export async function generateRoot(dir: string, trustDomain: string, lifetimeMs = 3650 * DAY_MS): Promise<void> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    // A rotation keeps two roots trusted at once; distinct names keep chain building from confusing them.
    name: `O=windrose, OU=${serial().slice(0, 8)}, CN=windrose root CA for ${trustDomain}`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + lifetimeMs),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The key is written before the certificate, so a crash in between leaves no root without its key.
  writeFileAtomic(path.join(dir, CA_FILES.rootKey), x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), 0o600);
  writeFileAtomic(path.join(dir, CA_FILES.root), `${root.toString('pem')}\n`, 0o644);
}

const read = (dir: string, name: string) => {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
};

function parseCertificates(pem: string, name: string): NodeCertificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CaError(`${name} holds no PEM certificate`);
  try {
    return blocks.map((b) => new NodeCertificate(b));
  } catch {
    throw new CaError(`${name} is not a valid PEM certificate`);
  }
}

/** Imports a PKCS#8 or SEC1 PEM key for signing, after checking that it is ECDSA P-256 and belongs to `cert`. */
async function signingKey(pem: string, name: string, cert: NodeCertificate): Promise<CryptoKey> {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new CaError(`${name} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new CaError(`${name} must be an ECDSA P-256 key`);
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(cert.publicKey))) throw new CaError(`${name} is not the key of its certificate`);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return (await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign'])) as unknown as CryptoKey;
}

function requireCa(cert: NodeCertificate, name: string): void {
  if (!cert.ca) throw new CaError(`${name} is not a CA certificate (basicConstraints CA:TRUE)`);
  if (new Date(cert.validTo).getTime() <= Date.now()) throw new CaError(`${name} expired on ${cert.validTo}`);
}

const issued = (child: NodeCertificate, parent: NodeCertificate) => child.checkIssued(parent) && child.verify(parent.publicKey);

export class CertificateAuthority {
  private constructor(
    readonly trustDomain: string,
    private readonly rootPems: readonly string[],
    private readonly workloadSigner: Signer,
    private readonly serverSigner: Signer,
  ) {}

  /** Loads the CA from `dir`, or generates a root there when it holds none. */
  static async open(dir: string, opts: AuthorityOptions): Promise<CertificateAuthority> {
    if (!fs.existsSync(path.join(dir, CA_FILES.root))) await generateRoot(dir, opts.trustDomain, opts.rootLifetimeMs);
    return CertificateAuthority.load(dir, opts);
  }

  /** Loads the CA from `dir` as it stands; throws CaError when its files are missing, mismatched or unusable. */
  static async load(dir: string, opts: AuthorityOptions): Promise<CertificateAuthority> {
    const rootPem = read(dir, CA_FILES.root);
    if (rootPem === undefined) throw new CaError(`${CA_FILES.root} is missing`);
    const [root] = parseCertificates(rootPem, CA_FILES.root);
    requireCa(root, CA_FILES.root);
    const roots = [root.toString()];
    const signerFrom = async (certs: NodeCertificate[], keyPem: string, keyName: string): Promise<Signer> => ({
      cert: new x509.X509Certificate(certs[0].raw),
      key: await signingKey(keyPem, keyName, certs[0]),
      chain: certs[0] === root ? '' : certs.map((c) => c.toString()).join(''),
      notAfter: Math.min(...[...certs, root].map((c) => new Date(c.validTo).getTime())),
    });

    const rootKeyPem = read(dir, CA_FILES.rootKey);
    const rootSigner = rootKeyPem === undefined ? undefined : await signerFrom([root], rootKeyPem, CA_FILES.rootKey);

    const intermediatePem = read(dir, CA_FILES.intermediate);
    const intermediateKeyPem = read(dir, CA_FILES.intermediateKey);
    if ((intermediatePem === undefined) !== (intermediateKeyPem === undefined)) {
      throw new CaError(`${CA_FILES.intermediate} and ${CA_FILES.intermediateKey} go together; only one of them is present`);
    }
    let workloadSigner = rootSigner;
    if (intermediatePem !== undefined && intermediateKeyPem !== undefined) {
      const chain = parseCertificates(intermediatePem, CA_FILES.intermediate);
      chain.forEach((c) => requireCa(c, CA_FILES.intermediate));
      const linked = chain.every((c, i) => issued(c, chain[i + 1] ?? root));
      if (!linked) throw new CaError(`${CA_FILES.intermediate} does not chain to ${CA_FILES.root}`);
      workloadSigner = await signerFrom(chain, intermediateKeyPem, CA_FILES.intermediateKey);
    }
    if (workloadSigner === undefined) throw new CaError(`${CA_FILES.rootKey} is missing, and no intermediate signs in its place`);

    // During a rotation the control plane serves with a certificate of the previous root, the one
    // every proxy already trusts, including those that have not received the new bundle yet.
    let serverSigner = workloadSigner;
    const previousPem = read(dir, CA_FILES.previousRoot);
    if (previousPem !== undefined) {
      const [previous] = parseCertificates(previousPem, CA_FILES.previousRoot);
      if (previous.fingerprint256 !== root.fingerprint256) {
        roots.push(previous.toString());
        const previousKeyPem = read(dir, CA_FILES.previousRootKey);
        if (previousKeyPem !== undefined && new Date(previous.validTo).getTime() > Date.now()) {
          serverSigner = {
            cert: new x509.X509Certificate(previous.raw),
            key: await signingKey(previousKeyPem, CA_FILES.previousRootKey, previous),
            chain: '',
            notAfter: new Date(previous.validTo).getTime(),
          };
        }
      }
    }
    return new CertificateAuthority(opts.trustDomain, roots, workloadSigner, serverSigner);
  }

  /** The roots a workload must trust, PEM, the current one first. */
  roots(): readonly string[] {
    return this.rootPems;
  }

  /** The same roots as one PEM text. */
  trustBundle(): string {
    return this.rootPems.join('');
  }

  /** True when `other` trusts the same roots and signs with the same certificates. */
  sameAs(other: CertificateAuthority): boolean {
    const signers = (ca: CertificateAuthority) => [ca.workloadSigner, ca.serverSigner].map((s) => s.cert.toString('pem')).join('');
    return other.trustBundle() === this.trustBundle() && signers(other) === signers(this);
  }

  /**
   * Signs an X.509 SVID for `id` over the public key of `csrPem`, and returns it followed by the
   * intermediates it needs. The CSR must be signed by its own key (proof the workload holds it)
   * and carry an ECDSA P-256 key; whatever names it asks for are ignored, since the CA alone
   * decides the identity.
   */
  signWorkload(csrPem: string, id: WorkloadIdentity, lifetimeMs = DAY_MS, ipAddresses: readonly string[] = []): Promise<string> {
    return this.sign(this.workloadSigner, csrPem, id, lifetimeMs, ipAddresses);
  }

  /** Signs the control plane's own serving certificate: as signWorkload, by the root every proxy trusts. */
  signServer(csrPem: string, id: WorkloadIdentity, lifetimeMs: number, ipAddresses: readonly string[]): Promise<string> {
    return this.sign(this.serverSigner, csrPem, id, lifetimeMs, ipAddresses);
  }

  private async sign(signer: Signer, csrPem: string, id: WorkloadIdentity, lifetimeMs: number, ipAddresses: readonly string[]): Promise<string> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch {
      throw new CaError('the CSR is not a PEM PKCS#10 certificate request');
    }
    if (!(await csr.verify())) throw new CaError('the CSR signature does not match its public key');
    const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
    if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw new CaError('the CSR key must be ECDSA P-256');
    const now = Date.now();
    const ski = signer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `O=windrose, CN=${id.serviceAccount}.${id.namespace}`,
      issuer: signer.cert.subject,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(Math.min(now + lifetimeMs, signer.notAfter)),
      publicKey: await csr.publicKey.export(),
      signingKey: signer.key,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        // SPIFFE X.509-SVID: a leaf has digitalSignature, and never keyCertSign or cRLSign.
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        // Exactly one URI SAN, the SPIFFE ID; a server also names its addresses so clients can check them.
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: spiffeId(this.trustDomain, id) },
          ...ipAddresses.map((ip) => ({ type: 'ip' as const, value: ip })),
        ], true),
        // Chain building matches this against the issuer's own key identifier, so reuse that when it has one.
        ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : await x509.AuthorityKeyIdentifierExtension.create(signer.cert),
      ],
    });
    return `${cert.toString('pem')}\n${signer.chain}`;
  }
}
