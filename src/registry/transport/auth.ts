/**
 * Registry authentication as a Fetcher wrapper: answers `401` challenges (Basic, see `basic.ts`; Bearer token
 * exchange, see `bearer.ts`), caches the answer per scope for the life of the process, and retries a request at
 * most once with fresh authorization: a rejected token gets one replacement, never a loop. Only a challenge
 * from the origin the request was sent to is answered: a 401 from where a redirect led (presigned storage, or
 * anywhere a hostile registry points) is an error, never a reason to hand out the registry's credentials.
 *
 * @module
 */

import { AuthError } from "../../errors.ts";
import { basicAuthorization, type CredentialLookup } from "../credentials/types.ts";
import { basicAnswer } from "./basic.ts";
import { type Authorization, type BearerOptions, bearerToken, describeSearch } from "./bearer.ts";
import { type Challenge, parseChallenges } from "./challenge.ts";
import { type Fetcher, safeOrigin } from "./fetcher.ts";

export { MAX_TOKEN_BYTES } from "./bearer.ts";

/** Options of the auth layer: those of the token exchange, and where credentials come from. */
export interface AuthOptions extends BearerOptions {
  /**
   * Looks up credentials once, lazily, when a challenge needs them (or up front for preemptive Basic); with
   * `refresh`, bypasses caches (a cached ECR token the registry rejected).
   */
  credentials: (refresh?: boolean) => Promise<CredentialLookup>;
  /** Send Basic credentials before any challenge (ECR, whose challenge is always Basic). */
  preemptiveBasic?: boolean;
}

/** `repository:<name>:pull` for a distribution API path, or undefined for other paths. */
export function scopeForUrl(url: string): string | undefined {
  const path = new URL(url).pathname;
  // Not anchored: a registry endpoint may put the API under a path prefix (`https://mirror/prefix/v2/...`).
  const m = /\/v2\/(.+)\/(manifests|blobs|tags|referrers)\//.exec(path);
  return m ? `repository:${m[1]}:pull` : undefined;
}

/**
 * Wrap `next` with challenge-driven authentication.
 *
 * @example
 * ```ts
 * const f = withAuth(inner, { registry: "ghcr.io", credentials: () => lookup("ghcr.io"), tokenFetcher: inner,
 *   clientId: "ecrimagemetadataextractor" });
 * ```
 */
export function withAuth(next: Fetcher, opts: AuthOptions): Fetcher {
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Authorization>();
  const pending = new Map<string, Promise<Authorization>>();
  let lookup: Promise<CredentialLookup> | undefined;
  const getCredentials = () => (lookup ??= opts.credentials());
  let basicKnown = false;
  let refreshed = false;

  /** Answer `challenges` (Bearer preferred), once per scope even for concurrent requests. */
  function authFor(key: string, challenges: Challenge[], scope: string | undefined, from: string) {
    let p = pending.get(key);
    if (!p) {
      p = (async () => {
        const creds = await getCredentials();
        const bearer = challenges.find((c) => c.scheme === "bearer");
        if (bearer) return await bearerToken(bearer, scope, creds, from, { ...opts, now });
        if (challenges.some((c) => c.scheme === "basic")) {
          const answer = basicAnswer(creds, opts.registry);
          basicKnown = true;
          return answer;
        }
        throw new AuthError(
          `${opts.registry} answered 401 with no usable challenge (${
            challenges.map((c) => c.scheme).join(", ") || "none"
          })`,
          { hint: "the registry's authentication scheme is not supported" },
        );
      })();
      pending.set(key, p);
      p.finally(() => pending.delete(key)).catch(() => {});
    }
    return p.then((a) => {
      cache.set(key, a);
      return a;
    });
  }

  /**
   * Send `req` with `header`. A 401 must come from the origin the request went to: the redirect layer below
   * follows Location headers, and the response's `url` says which origin answered in the end (a fetcher that
   * does not set it answered for the request's own origin).
   */
  const send = async (req: Request, header: string | undefined) => {
    const r = new Request(req);
    if (header) r.headers.set("authorization", header);
    const res = await next(r);
    if (res.status !== 401 || !res.url || new URL(res.url).origin === new URL(req.url).origin) return res;
    await res.body?.cancel().catch(() => {});
    throw new AuthError(
      `${safeOrigin(res.url)}, where ${opts.registry} redirected the request, answered 401; the ` +
        `credentials of ${opts.registry} are not sent to another origin`,
      {
        hint: "the registry's storage refused the redirected request (an expired presigned URL?); try again",
      },
    );
  };

  async function preemptive(): Promise<string | undefined> {
    const c = (await getCredentials()).credential;
    if (c?.kind !== "basic") return undefined;
    basicKnown = true;
    return basicAuthorization(c.username, c.password);
  }

  /** The Basic credentials were refused: a cached token (ECR) may have been revoked, so try a fresh one once. */
  async function basicRejected(req: Request): Promise<Response> {
    let creds = await getCredentials();
    if (creds.credential?.kind === "basic" && creds.credential.cached && !refreshed) {
      refreshed = true;
      lookup = opts.credentials(true);
      const again = await send(req.clone(), await preemptive());
      if (again.status !== 401) return again;
      await again.body?.cancel().catch(() => {});
      creds = await getCredentials();
    }
    throw new AuthError(`${opts.registry} rejected the credentials: ${describeSearch(creds)}`, {
      hint: "check the credentials (docker login again)",
    });
  }

  return async (req) => {
    const scope = scopeForUrl(req.url);
    const key = scope ?? "";
    let auth = cache.get(key);
    if (auth && auth.expiresAt <= now()) {
      cache.delete(key);
      auth = undefined;
    }
    let header = auth?.header;
    // Basic credentials go out before any challenge once the registry is known to take them (ECR always).
    if (!header && (opts.preemptiveBasic || basicKnown)) header = await preemptive();
    const res = await send(req.clone(), header);
    if (res.status !== 401) return res;
    const challenges = parseChallenges(res.headers.get("www-authenticate"));
    await res.body?.cancel().catch(() => {});
    cache.delete(key);
    if (header && basicKnown && challenges.every((c) => c.scheme === "basic")) {
      return await basicRejected(req);
    }
    const fresh = await authFor(key, challenges, scope, req.url);
    const second = await send(req, fresh.header);
    if (second.status !== 401) return second;
    await second.body?.cancel().catch(() => {});
    cache.delete(key);
    const creds = await getCredentials();
    const what = scope ?? "the request";
    throw new AuthError(
      creds.credential
        ? `unauthorized: ${opts.registry} refused ${what} with a fresh token: ${describeSearch(creds)}`
        : `unauthorized: ${opts.registry} denied anonymous access to ${what}: ${describeSearch(creds)}`,
      {
        hint: creds.credential ? "check the credentials and their permissions" : "log in with `docker login`",
      },
    );
  };
}
