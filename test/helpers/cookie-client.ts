//! An HTTP client for tests that keeps cookies as a browser would (per origin here, so the gateway's
//! and the provider's cookies on 127.0.0.1 stay apart) and never follows redirects itself: each hop
//! is asserted by the test.

export interface Hop {
  readonly status: number;
  readonly location: string | undefined;
  readonly headers: Headers;
  readonly setCookies: string[];
  readonly body: string;
}

export class CookieClient {
  /** origin -> cookie name -> value */
  readonly jar = new Map<string, Map<string, string>>();

  constructor(private readonly accept = 'text/html,application/xhtml+xml') {}

  cookies(origin: string): Map<string, string> {
    let m = this.jar.get(origin);
    if (m === undefined) this.jar.set(origin, m = new Map());
    return m;
  }

  async go(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Hop> {
    const u = new URL(url);
    const jar = this.cookies(u.origin);
    const headers: Record<string, string> = { accept: this.accept, ...init.headers };
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form !== undefined) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (gone) jar.delete(name);
      else jar.set(name, pair.slice(eq + 1).trim());
    }
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, location: location === undefined ? undefined : new URL(location, url).href, headers: res.headers, setCookies, body: await res.text() };
  }
}

/** The action URL of the (only) form of an HTML page, resolved against the page's URL. */
export function formAction(html: string, pageURL: string): string {
  const m = /<form[^>]*action="([^"]+)"/.exec(html);
  if (m === null) throw new Error(`no form on ${pageURL}:\n${html.slice(0, 500)}`);
  return new URL(m[1].replace(/&amp;/g, '&'), pageURL).href;
}
