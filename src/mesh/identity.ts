//! The proxy's SVID over its life: obtained with the join token at start, renewed at half of its
//! remaining life with the current SVID as proof (the join token may have expired by then), retried
//! with backoff while the control plane is away, and loudly reported when expiry draws near.

import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { backoffDelay, ControlError, type ControlClient } from './control-client.js';
import type { MeshCredentials, Svid } from './credentials.js';
import { createKeyAndCsr } from './csr.js';
import { recordCertificate, recordRenewal } from './metrics.js';

/** Below this share of its life left, failing renewals are logged as errors rather than warnings. */
const ALARM_SHARE = 0.25;
const RETRY_MAX_MS = 30_000;

export function svidOf(certificate: string, keyPem: string): Svid {
  const leaf = new X509Certificate(certificate);
  const uris = (leaf.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:spiffe://'));
  if (uris.length !== 1) throw new Error('the issued certificate does not carry exactly one SPIFFE ID');
  return { certPem: certificate, keyPem, spiffeId: uris[0].slice(4), notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) };
}

export class Identity {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** When the current SVID arrived: its remaining life is measured from here, not from its backdated notBefore. */
  private receivedAt = 0;
  private joinToken: string | undefined;

  constructor(
    private readonly control: ControlClient,
    private readonly credentials: MeshCredentials,
    private readonly log: Logger,
  ) {}

  /**
   * Gets the first SVID with the join token, retrying while the control plane cannot be reached;
   * rejects at once when the control plane refuses the token.
   */
  async bootstrap(joinToken: string): Promise<Svid> {
    this.joinToken = joinToken;
    for (let failures = 0; ; failures++) {
      try {
        const svid = await this.issue(joinToken);
        this.schedule();
        return svid;
      } catch (err) {
        if (err instanceof ControlError && err.status >= 400 && err.status < 500) throw err;
        if (this.stopped) throw err;
        const delay = Math.min(RETRY_MAX_MS, backoffDelay(failures) + 100);
        this.log.warn({ err: (err as Error).message, retryInMs: Math.round(delay) }, 'cannot reach the control plane for a certificate');
        await new Promise((resolve) => { this.timer = setTimeout(resolve, delay); });
      }
    }
  }

  private async issue(joinToken?: string): Promise<Svid> {
    const { keyPem, csrPem } = createKeyAndCsr();
    const { certificate, trustBundle } = await this.control.requestSvid(csrPem, joinToken);
    const svid = svidOf(certificate, keyPem);
    this.receivedAt = Date.now();
    this.credentials.update({ svid, trustBundle: this.credentials.credentials?.trustBundle ?? trustBundle });
    recordCertificate(svid.notAfter);
    recordRenewal(true);
    this.log.info({ spiffeId: svid.spiffeId, notAfter: svid.notAfter.toISOString() }, joinToken ? 'certificate issued' : 'certificate renewed');
    return svid;
  }

  private schedule(failures = 0): void {
    if (this.stopped) return;
    const svid = this.credentials.credentials?.svid;
    if (svid === undefined) return;
    const now = Date.now();
    const expiresAt = svid.notAfter.getTime();
    const delay = failures === 0
      ? Math.max(0, (expiresAt - this.receivedAt) / 2 - (now - this.receivedAt))
      : Math.min(RETRY_MAX_MS, Math.max(250, (expiresAt - now) / 10), backoffDelay(failures) + 250);
    this.timer = setTimeout(() => void this.renew(failures), delay);
  }

  private async renew(failures: number): Promise<void> {
    try {
      try {
        await this.issue();
      } catch (err) {
        // An SVID the control plane no longer accepts (expired, or from a retired root): the join token may still be good.
        if (!(err instanceof ControlError && err.status === 401) || this.joinToken === undefined) throw err;
        await this.issue(this.joinToken);
      }
      this.schedule();
    } catch (err) {
      recordRenewal(false);
      const svid = this.credentials.credentials?.svid;
      const left = svid ? svid.notAfter.getTime() - Date.now() : 0;
      const life = svid ? svid.notAfter.getTime() - this.receivedAt : 1;
      const context = { err: (err as Error).message, attempt: failures + 1, expiresInSeconds: Math.round(left / 1000), notAfter: svid?.notAfter.toISOString() };
      if (left <= 0) this.log.error(context, 'certificate EXPIRED and could not be renewed: mutual TLS with peers fails until the control plane is back');
      else if (left < life * ALARM_SHARE) this.log.error(context, 'certificate expires soon and renewal keeps failing');
      else this.log.warn(context, 'certificate renewal failed; retrying');
      this.schedule(failures + 1);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
