/**
 * Verbose logging of every HTTP exchange on stderr, with secrets redacted.
 *
 * @module
 */

import type { Fetcher } from "./fetcher.ts";
import { redactHeader, redactUrl } from "./redact.ts";

/** Where log lines go. */
export type Logger = (line: string) => void;

/**
 * Log method, redacted URL, status and elapsed time of each exchange, and (with `headers`) the request and
 * response headers with credentials redacted.
 *
 * @example
 * ```ts
 * const f = withLogging(baseFetcher({ userAgent: "x" }), (l) => console.error(l));
 * ```
 */
export function withLogging(next: Fetcher, log: Logger, headers = true): Fetcher {
  return async (req) => {
    const started = performance.now();
    log(`> ${req.method} ${redactUrl(req.url)}`);
    if (headers) {
      for (const [k, v] of req.headers) log(`>   ${k}: ${redactHeader(k, v)}`);
    }
    try {
      const res = await next(req);
      log(
        `< ${res.status} ${req.method} ${redactUrl(req.url)} (${Math.round(performance.now() - started)} ms)`,
      );
      if (headers) {
        for (const [k, v] of res.headers) log(`<   ${k}: ${redactHeader(k, v)}`);
      }
      return res;
    } catch (err) {
      log(`< error ${req.method} ${redactUrl(req.url)}: ${(err as Error).message}`);
      throw err;
    }
  };
}
