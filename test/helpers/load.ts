//! Continuous load for tests: a few keep-alive connections, each sending one request at a time and
//! recording what every request got. It never retries, so each failure windrose lets through shows.

import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

export interface LoadResult {
  /** performance.now() when the request was sent. */
  readonly at: number;
  readonly ms: number;
  /** 0 when the request failed without a complete response. */
  readonly status: number;
  /** The `x-backend` header of the answer, if any. */
  readonly backend?: string;
  /** Why the request failed: a transport error, or the body was cut off. */
  readonly error?: string;
}

export interface LoadOptions {
  /** Concurrent keep-alive connections, each with one request in flight at a time; 8 unless set. */
  readonly connections?: number;
  /** Stop after this many requests in all; without it the load runs until `stop()`. */
  readonly requests?: number;
  readonly method?: Dispatcher.HttpMethod;
  /** Path of the n-th request; `/load/<n>` unless set. */
  readonly path?: (n: number) => string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** Sees every 2xx response before its body is read. */
  readonly onOk?: (res: Dispatcher.ResponseData) => void;
}

export interface Load {
  /** Every request finished so far, in order of completion. */
  readonly results: readonly LoadResult[];
  /** The finished requests that got no 2xx answer, or no complete one. */
  readonly failures: readonly LoadResult[];
  /** How many requests got a complete 2xx answer. */
  readonly ok: number;
  /** Connections opened so far: more than `connections` means some were closed under the client. */
  readonly connects: number;
  /** Resolves once `n` more requests have finished (or the load has ended). */
  more(n: number): Promise<void>;
  /** Resolves once the requested count is done, or after `stop()`. */
  readonly done: Promise<LoadResult[]>;
  /** Lets the requests in flight finish, sends no more, closes the connections and returns all results. */
  stop(): Promise<LoadResult[]>;
}

/** Sends requests to `origin` (e.g. http://127.0.0.1:8080) on `connections` keep-alive connections. */
export function startLoad(origin: string, opts: LoadOptions = {}): Load {
  const connections = opts.connections ?? 8;
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const results: LoadResult[] = [];
  const failures: LoadResult[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let ok = 0;
  let connects = 0;
  let issued = 0;
  let stopped = false;
  let ended = false;
  pool.on('connect', () => connects++);
  const more = (): boolean => !stopped && (opts.requests === undefined || issued < opts.requests);

  const record = (r: LoadResult): void => {
    results.push(r);
    if (r.status >= 200 && r.status < 300) ok++;
    else failures.push(r);
    for (const w of waiters.filter((x) => results.length >= x.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };

  const worker = async (): Promise<void> => {
    while (more()) {
      const n = issued++;
      const at = performance.now();
      try {
        const res = await pool.request({
          path: opts.path?.(n) ?? `/load/${n}`, method: opts.method ?? 'GET', headers: opts.headers, body: opts.body,
        });
        const header = res.headers['x-backend'];
        const backend = typeof header === 'string' ? header : undefined;
        if (res.statusCode >= 200 && res.statusCode < 300) opts.onOk?.(res);
        try {
          await res.body.dump({ limit: Infinity });
          record({ at, ms: performance.now() - at, status: res.statusCode, backend });
        } catch (err) {
          record({ at, ms: performance.now() - at, status: 0, backend, error: errorText(err) });
        }
      } catch (err) {
        record({ at, ms: performance.now() - at, status: 0, error: errorText(err) });
      }
    }
  };

  const done = Promise.all(Array.from({ length: connections }, worker)).then(async () => {
    ended = true;
    for (const w of waiters.splice(0)) w.resolve();
    await pool.close();
    return results;
  });
  return {
    results,
    failures,
    get ok() { return ok; },
    get connects() { return connects; },
    more: (n) => (ended ? Promise.resolve() : new Promise((resolve) => waiters.push({ count: results.length + n, resolve }))),
    done,
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

function errorText(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code ?? e.message ?? String(err);
}
