//! Root rotation in two steps an operator runs: `rotate` makes a new root and keeps the current one
//! as the previous root, both trusted, so SVIDs of either root verify while workloads renew onto
//! the new one; `retire`, once they all have, drops the previous root. A running control plane
//! picks each step up from the files (src/controlplane/ca/watch.ts).

import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { CA_FILES, CaError, CertificateAuthority, generateRoot } from './authority.js';

const at = (dir: string, name: string) => path.join(dir, name);

/** The trust domain a root was made for, from its URI SAN `spiffe://<trust-domain>`. */
function trustDomainOf(rootPem: string): string {
  const san = new X509Certificate(rootPem).subjectAltName ?? '';
  const m = /(?:^|, )URI:spiffe:\/\/([^/,]+)(?:,|$)/.exec(san);
  if (!m) throw new CaError(`${CA_FILES.root} names no trust domain (a URI SAN spiffe://<trust-domain>)`);
  return m[1];
}

export async function rotateRoot(dir: string): Promise<{ trustDomain: string }> {
  // Loading first refuses a CA directory that is incomplete or inconsistent before anything changes.
  await CertificateAuthority.load(dir, { trustDomain: '' });
  if (fs.existsSync(at(dir, CA_FILES.previousRoot))) {
    throw new CaError(`a previous root is still trusted (${CA_FILES.previousRoot}); run "windrose control ca retire" first`);
  }
  if (fs.existsSync(at(dir, CA_FILES.intermediate))) {
    throw new CaError(`${CA_FILES.intermediate} signs the SVIDs: rotate the root by replacing root and intermediate together, from the CA that issued them`);
  }
  const rootPem = fs.readFileSync(at(dir, CA_FILES.root), 'utf8');
  const trustDomain = trustDomainOf(rootPem);
  // The previous root's key stays, so the control plane can keep serving with a certificate that
  // proxies which have not received the new bundle yet still verify.
  writeFileAtomic(at(dir, CA_FILES.previousRootKey), fs.readFileSync(at(dir, CA_FILES.rootKey), 'utf8'), 0o600);
  writeFileAtomic(at(dir, CA_FILES.previousRoot), rootPem, 0o644);
  await generateRoot(dir, trustDomain);
  return { trustDomain };
}

export function retireRoot(dir: string): void {
  if (!fs.existsSync(at(dir, CA_FILES.previousRoot))) throw new CaError(`there is no previous root to retire (${CA_FILES.previousRoot})`);
  fs.rmSync(at(dir, CA_FILES.previousRoot));
  fs.rmSync(at(dir, CA_FILES.previousRootKey), { force: true });
}
