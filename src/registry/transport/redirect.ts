/**
 * Redirects followed by the tool itself: at most 10 hops, never from https to http, and credentials
 * (`Authorization`, cookies) dropped on every hop to another origin, which is what presigned blob URLs
 * (ECR's 307 to S3) require.
 *
 * @module
 */

import { NetworkError } from "../../errors.ts";
import type { Fetcher } from "./fetcher.ts";
import { safeOrigin } from "./fetcher.ts";

/** Most hops followed before giving up. */
export const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/**
 * Follow redirects of `next` by hand.
 *
 * @example
 * ```ts
 * const f = withRedirects(baseFetcher({ userAgent: "x" }));
 * ```
 */
export function withRedirects(next: Fetcher, maxRedirects = MAX_REDIRECTS): Fetcher {
  return async (first) => {
    let req = first;
    // Keep the body (token POSTs) so a 307/308 can resend it.
    const body = first.body ? await first.clone().arrayBuffer() : undefined;
    for (let hop = 0;; hop++) {
      const res = await next(req);
      if (!REDIRECT_STATUSES.has(res.status)) return res;
      const location = res.headers.get("location");
      await res.body?.cancel().catch(() => {});
      if (!location) {
        throw new NetworkError(`${safeOrigin(req.url)} answered ${res.status} without a Location header`);
      }
      if (hop >= maxRedirects) {
        throw new NetworkError(
          `too many redirects (more than ${maxRedirects}) starting at ${safeOrigin(first.url)}`,
          {
            hint: "the registry or a proxy redirects in a loop; check its configuration",
          },
        );
      }
      let target: URL;
      try {
        target = new URL(location, req.url);
      } catch {
        throw new NetworkError(`${safeOrigin(req.url)} redirected to an invalid location`);
      }
      const from = new URL(req.url);
      if (from.protocol === "https:" && target.protocol !== "https:") {
        throw new NetworkError(
          `refusing a redirect from https to ${target.protocol.replace(":", "")} (${target.origin})`,
          {
            hint: "the registry tried to downgrade the connection; check its configuration",
          },
        );
      }
      if (target.protocol !== "https:" && target.protocol !== "http:") {
        throw new NetworkError(`refusing a redirect to a ${target.protocol} URL`);
      }
      const headers = new Headers(req.headers);
      if (target.origin !== from.origin) {
        for (const h of CREDENTIAL_HEADERS) headers.delete(h);
      }
      const keepBody = res.status === 307 || res.status === 308;
      const method = keepBody || req.method === "HEAD" ? req.method : "GET";
      req = new Request(target, { method, headers, body: keepBody ? body : undefined });
    }
  };
}
