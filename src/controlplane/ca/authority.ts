//! The mesh's certificate authority: a root kept on disk (generated on first start, key file
//! mode 0600), and short-lived X.509 SVIDs signed from workloads' CSRs, their private keys never
//! leaving them. The CA decides the identity from who the workload proved to be, never from the CSR.

// @peculiar/x509 relies on decorator metadata, which must be installed before it loads.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;
/** Clocks of workloads differ a little; a certificate valid from a minute ago is not refused by a peer that is behind. */
const BACKDATE_MS = 60_000;

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

export class CertificateAuthority {
  private constructor(
    readonly trustDomain: string,
    private readonly root: x509.X509Certificate,
    private readonly rootKey: CryptoKey,
  ) {}

  /** Loads the root from `dir`, or generates and stores one there when it holds none. */
  static async open(dir: string, opts: AuthorityOptions): Promise<CertificateAuthority> {
    const certFile = path.join(dir, 'root.crt.pem');
    const keyFile = path.join(dir, 'root.key.pem');
    if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
      const root = new x509.X509Certificate(fs.readFileSync(certFile, 'utf8'));
      const der = x509.PemConverter.decodeFirst(fs.readFileSync(keyFile, 'utf8'));
      const key = await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
      return new CertificateAuthority(opts.trustDomain, root, key as unknown as CryptoKey);
    }
    const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
    const now = Date.now();
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `O=windrose, CN=windrose root CA for ${opts.trustDomain}`,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + (opts.rootLifetimeMs ?? 3650 * DAY_MS)),
      keys,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${opts.trustDomain}` }]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The key is written before the certificate, so a crash in between leaves no root without its key.
    fs.writeFileSync(keyFile, x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), { mode: 0o600 });
    fs.writeFileSync(certFile, root.toString('pem'));
    return new CertificateAuthority(opts.trustDomain, root, keys.privateKey);
  }

  /** The roots a workload must trust, PEM. */
  trustBundle(): string {
    return this.root.toString('pem');
  }

  /**
   * Signs an X.509 SVID for `id` over the public key of `csrPem`. The CSR must be signed by its
   * own key (proof the workload holds it) and carry an ECDSA P-256 key; whatever names it asks
   * for are ignored, since the CA alone decides the identity.
   */
  async signWorkload(csrPem: string, id: WorkloadIdentity, lifetimeMs = DAY_MS, ipAddresses: readonly string[] = []): Promise<string> {
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
    const notAfter = Math.min(now + lifetimeMs, this.root.notAfter.getTime());
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `O=windrose, CN=${id.serviceAccount}.${id.namespace}`,
      issuer: this.root.subject,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(notAfter),
      publicKey: await csr.publicKey.export(),
      signingKey: this.rootKey,
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
        await x509.AuthorityKeyIdentifierExtension.create(this.root),
      ],
    });
    return cert.toString('pem');
  }
}
