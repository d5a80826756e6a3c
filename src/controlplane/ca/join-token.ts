//! Join tokens: how a proxy proves, before it has a certificate, which namespace and service
//! account it runs as. The control plane mints them (an operator hands one to each workload) and
//! checks them with a secret only it holds: an HMAC-SHA256 over the identity and an expiry.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkloadIdentity } from './authority.js';

const PREFIX = 'wrj1';

export class JoinTokenError extends Error {}

interface Payload {
  readonly ns: string;
  readonly sa: string;
  /** Expiry, milliseconds since the epoch. */
  readonly exp: number;
}

/** Kubernetes names: what a namespace or service account may be called. */
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export class JoinTokens {
  private constructor(private readonly secret: Buffer) {}

  /** The signing secret lives beside the CA's root (mode 0600), generated on first use. */
  static open(dir: string): JoinTokens {
    const file = path.join(dir, 'join-token.key');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    }
    return new JoinTokens(Buffer.from(fs.readFileSync(file, 'utf8'), 'base64'));
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.secret).update(`${PREFIX}.${body}`).digest();
  }

  mint(id: WorkloadIdentity, lifetimeMs: number, now = Date.now()): string {
    for (const [field, value] of [['namespace', id.namespace], ['service account', id.serviceAccount]] as const) {
      if (!NAME.test(value)) throw new JoinTokenError(`${field} "${value}" is not a valid Kubernetes name`);
    }
    const payload: Payload = { ns: id.namespace, sa: id.serviceAccount, exp: now + lifetimeMs };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${PREFIX}.${body}.${this.mac(body).toString('base64url')}`;
  }

  /** The identity a token proves; throws JoinTokenError when it is forged, altered or expired. */
  verify(token: string, now = Date.now()): WorkloadIdentity {
    const [prefix, body, mac, extra] = token.split('.');
    if (prefix !== PREFIX || body === undefined || mac === undefined || extra !== undefined) throw new JoinTokenError('not a windrose join token');
    const given = Buffer.from(mac, 'base64url');
    const expected = this.mac(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new JoinTokenError('the join token signature is not valid');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    if (payload.exp <= now) throw new JoinTokenError('the join token has expired');
    return { namespace: payload.ns, serviceAccount: payload.sa };
  }
}
