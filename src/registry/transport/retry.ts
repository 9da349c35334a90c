/**
 * Retries with exponential backoff and full jitter for transient failures: network errors, 408, 429, 500,
 * 502, 503, 504. `Retry-After` (seconds or HTTP date) is honoured up to a cap. Other statuses pass through.
 *
 * @module
 */

import { NetworkError, TimeoutError } from "../../errors.ts";
import type { Fetcher } from "./fetcher.ts";
import type { Logger } from "./log.ts";
import { redactUrl } from "./redact.ts";

/** Statuses worth another try. */
export const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Retry settings. */
export interface RetryOptions {
  /** Retries after the first attempt (0 = no retry). */
  retries: number;
  /** First backoff in ms; doubles each attempt. */
  baseDelayMs?: number;
  /** Largest single backoff in ms, also the cap on Retry-After. */
  maxDelayMs?: number;
  /** The run's deadline: no sleep outlives it. */
  signal?: AbortSignal;
  /** Randomness in [0, 1), a parameter so tests are deterministic. */
  random?: () => number;
  log?: Logger;
}

/**
 * Parse a `Retry-After` value into milliseconds from `now`; undefined when absent or unparseable.
 *
 * @example
 * ```ts
 * retryAfterMs("2"); // 2000
 * ```
 */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const when = Date.parse(v);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, when - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function retryable(err: unknown): boolean {
  // A TLS or DNS failure will not fix itself within a few seconds; a reset or refused connection may.
  return err instanceof NetworkError && !/^(TLS failure|cannot resolve)/.test(err.message);
}

/**
 * Wrap `next` with retries.
 *
 * @example
 * ```ts
 * const f = withRetry(baseFetcher({ userAgent: "x" }), { retries: 3 });
 * ```
 */
export function withRetry(next: Fetcher, opts: RetryOptions): Fetcher {
  const base = opts.baseDelayMs ?? 200;
  const cap = opts.maxDelayMs ?? 10_000;
  const random = opts.random ?? Math.random;
  return async (req) => {
    for (let attempt = 0;; attempt++) {
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await next(req.clone());
      } catch (err) {
        if (err instanceof TimeoutError || !retryable(err) || attempt >= opts.retries) throw err;
        failure = err;
      }
      if (res && (!RETRY_STATUSES.has(res.status) || attempt >= opts.retries)) return res;
      const backoff = Math.min(cap, base * 2 ** attempt) * random();
      const advised = res ? retryAfterMs(res.headers.get("retry-after")) : undefined;
      const delay = Math.min(cap, advised ?? backoff);
      await res?.body?.cancel().catch(() => {});
      opts.log?.(
        `retry ${attempt + 1}/${opts.retries} of ${req.method} ${redactUrl(req.url)} in ${Math.round(delay)} ms (${
          res ? `status ${res.status}` : (failure as Error).message
        })`,
      );
      try {
        await sleep(delay, opts.signal);
      } catch {
        throw new TimeoutError(`timed out while retrying ${new URL(req.url).origin}`, {
          hint: "the registry kept failing until the deadline; raise --timeout or try later",
        });
      }
    }
  };
}
