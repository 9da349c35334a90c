/**
 * Retries with exponential backoff and full jitter for transient failures: network errors, 408, 429, 500,
 * 502, 503, 504. `Retry-After` (seconds or HTTP date) is honoured up to a cap. Other statuses pass through.
 * A body that breaks off mid-way (reset, or closed short of its Content-Length) is a network error too: it is
 * resumed from a fresh attempt, within the same budget (see `resume.ts`).
 *
 * @module
 */

import { NetworkError, TimeoutError } from "../../errors.ts";
import { type Fetcher, networkError } from "./fetcher.ts";
import type { Logger } from "./log.ts";
import { redactUrl } from "./redact.ts";
import { markResumable, sameRepresentation } from "./resume.ts";

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
  /** How to wait between attempts (tests pass one that records the delay and returns at once). */
  sleep?: Sleep;
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

/** Waits `ms`, or rejects when `signal` aborts first. A parameter of {@link withRetry} so tests need not wait. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The real sleep: a timer, cleared if the signal aborts. */
export const sleep: Sleep = (ms, signal) => {
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
};

function retryable(err: unknown): boolean {
  // A TLS or DNS failure will not fix itself within a few seconds; a reset or refused connection may.
  return err instanceof NetworkError && err.transient;
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
  const wait = opts.sleep ?? sleep;
  return async (req) => {
    let attempt = 0;
    /** Log, then sleep the backoff (or the advised Retry-After) before the next attempt. */
    const pause = async (res: Response | undefined, reason: string) => {
      const backoff = Math.min(cap, base * 2 ** attempt) * random();
      const advised = res ? retryAfterMs(res.headers.get("retry-after")) : undefined;
      const delay = Math.min(cap, advised ?? backoff);
      await res?.body?.cancel().catch(() => {});
      opts.log?.(
        `retry ${attempt + 1}/${opts.retries} of ${req.method} ${redactUrl(req.url)} in ${
          Math.round(delay)
        } ms (${reason})`,
      );
      try {
        await wait(delay, opts.signal);
      } catch {
        throw new TimeoutError(`timed out while retrying ${new URL(req.url).origin}`, {
          hint: "the registry kept failing until the deadline; allow more time or try later",
          advice: "timeout",
        });
      }
    };
    for (;; attempt++) {
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await next(req.clone());
      } catch (err) {
        if (err instanceof TimeoutError || !retryable(err) || attempt >= opts.retries) throw err;
        failure = err;
      }
      if (res && (!RETRY_STATUSES.has(res.status) || attempt >= opts.retries)) {
        if (attempt < opts.retries) markResumable(req, res, resend);
        return res;
      }
      await pause(res, res ? `status ${res.status}` : (failure as Error).message);
    }

    /**
     * The body of `first` broke off with `cause`: send the request again (while attempts remain) and return
     * the new response, if it is provably the same object; otherwise throw the failure as a typed error.
     */
    async function resend(first: Response, cause: unknown): Promise<Response> {
      let failure = networkError(cause, req.url, opts.signal);
      for (;;) {
        if (failure instanceof TimeoutError || !retryable(failure) || attempt >= opts.retries) throw failure;
        await pause(undefined, `body: ${failure.message}`);
        attempt++;
        let again: Response;
        try {
          again = await next(req.clone());
        } catch (err) {
          failure = networkError(err, req.url, opts.signal);
          continue;
        }
        if (RETRY_STATUSES.has(again.status)) {
          await again.body?.cancel().catch(() => {});
          failure = new NetworkError(`${new URL(req.url).origin} answered ${again.status} on a retry`, {
            failure: "interrupted",
          });
          continue;
        }
        if (!sameRepresentation(first, again)) {
          await again.body?.cancel().catch(() => {});
          throw failure;
        }
        return again;
      }
    }
  };
}
