//! A new ECDSA P-256 key and a PKCS#10 certificate request for it (RFC 2986). The private key is
//! created in this process and never sent anywhere. The request is one fixed DER structure, encoded
//! here with node:crypto rather than with an X.509 library: loading one (or a worker thread to hold
//! it) costs a sidecar 4-6 MB of resident memory for a request made once per renewal.

import { generateKeyPairSync, sign } from 'node:crypto';

export interface KeyAndCsr {
  readonly keyPem: string;
  readonly csrPem: string;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const SEQUENCE = 0x30;
const SET = 0x31;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const UTF8_STRING = 0x0c;
const ATTRIBUTES = 0xa0; // [0] IMPLICIT SET OF Attribute
const OID_COMMON_NAME = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]); // 2.5.4.3
const OID_ECDSA_SHA256 = Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]); // 1.2.840.10045.4.3.2

function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The CA names the certificate after the caller's proven identity, whatever `commonName` says. */
export function createKeyAndCsr(commonName = 'windrose-proxy'): KeyAndCsr {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const subject = der(SEQUENCE, der(SET, der(SEQUENCE, OID_COMMON_NAME, der(UTF8_STRING, Buffer.from(commonName, 'utf8')))));
  const info = der(SEQUENCE, der(INTEGER, Buffer.from([0])), subject, publicKey.export({ type: 'spki', format: 'der' }), der(ATTRIBUTES));
  const signature = sign('sha256', info, privateKey);
  const request = der(SEQUENCE, info, der(SEQUENCE, OID_ECDSA_SHA256), der(BIT_STRING, Buffer.from([0]), signature));
  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, csrPem: pem('CERTIFICATE REQUEST', request) };
}
