/**
 * Redirects followed by the tool itself: at most 10 hops, never from https to http, never to a link-local
 * address (see `destination.ts`), credentials (`Authorization`, cookies) dropped on every hop to another
 * origin, which is what presigned blob URLs (ECR's 307 to S3) require, and a request body (a token POST
 * holding a refresh token) never sent to another origin.
 *
 * @module
 */

import { NetworkError } from "../../errors.ts";
import { checkDestination, type HostResolver } from "./destination.ts";
import type { Fetcher } from "./fetcher.ts";
import { safeOrigin } from "./fetcher.ts";

/** Most hops followed before giving up. */
export const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/** Options of {@link withRedirects}. */
export interface RedirectOptions {
  /** Most hops followed (default {@link MAX_REDIRECTS}). */
  maxRedirects?: number;
  /** Resolves redirect targets' host names, to refuse names that lead to link-local addresses. */
  resolve?: HostResolver;
  /** The run's deadline (for those lookups). */
  signal?: AbortSignal;
}

/**
 * Follow redirects of `next` by hand.
 *
 * @example
 * ```ts
 * const f = withRedirects(baseFetcher({ userAgent: "x" }), { resolve: dnsResolver });
 * ```
 */
export function withRedirects(next: Fetcher, opts: RedirectOptions = {}): Fetcher {
  const maxRedirects = opts.maxRedirects ?? MAX_REDIRECTS;
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
      // The first request's origin is the one the caller chose (the registry, a realm already checked).
      await checkDestination(target, "a redirect", {
        own: new URL(first.url).origin,
        resolve: opts.resolve,
        signal: opts.signal,
      });
      const keepBody = res.status === 307 || res.status === 308;
      const headers = new Headers(req.headers);
      if (target.origin !== from.origin) {
        for (const h of CREDENTIAL_HEADERS) headers.delete(h);
        // A body is as secret as a header (an OAuth2 refresh_token): it does not go where credentials do not.
        if (keepBody && req.body !== null) {
          throw new NetworkError(
            `refusing to send a ${req.method} body from ${from.origin} to another origin ` +
              `(${target.origin}) on a ${res.status} redirect`,
            { hint: "the token service redirects elsewhere; check the registry's token realm" },
          );
        }
      }
      const method = keepBody || req.method === "HEAD" ? req.method : "GET";
      req = new Request(target, { method, headers, body: keepBody ? body : undefined });
    }
  };
}
