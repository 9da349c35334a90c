/**
 * Registry authentication as a Fetcher wrapper: answers `401` challenges (Basic, and Bearer token exchange
 * with realm, service and scope), caches tokens per scope for the life of the process, and retries a request
 * at most once with fresh authorization: a rejected token gets one replacement, never a loop.
 *
 * @module
 */

import { AuthError, NetworkError } from "../../errors.ts";
import { basicAuthorization, type Credential, type CredentialLookup } from "../credentials/types.ts";
import { type Challenge, parseChallenges } from "./challenge.ts";
import type { Fetcher } from "./fetcher.ts";
import { networkError, safeOrigin } from "./fetcher.ts";
import type { Logger } from "./log.ts";
import { readCapped } from "./body.ts";

/** Token answers larger than this are refused. */
export const MAX_TOKEN_BYTES = 1024 * 1024;

/** Options of the auth layer. */
export interface AuthOptions {
  /** The registry as named in the reference, for messages. */
  registry: string;
  /**
   * Looks up credentials once, lazily, when a challenge needs them (or up front for preemptive Basic); with
   * `refresh`, bypasses caches (a cached ECR token the registry rejected).
   */
  credentials: (refresh?: boolean) => Promise<CredentialLookup>;
  /** The fetcher used for token requests (no auth layer of its own). */
  tokenFetcher: Fetcher;
  /** Send Basic credentials before any challenge (ECR, whose challenge is always Basic). */
  preemptiveBasic?: boolean;
  /** Client id for OAuth2 refresh-token exchanges. */
  clientId: string;
  /** Called with every secret the layer learns (tokens), so logs and messages can redact it. */
  onSecret?: (secret: string) => void;
  log?: Logger;
  now?: () => number;
}

interface CachedAuth {
  header: string;
  expiresAt: number;
}

/** `repository:<name>:pull` for a distribution API path, or undefined for other paths. */
export function scopeForUrl(url: string): string | undefined {
  const path = new URL(url).pathname;
  // Not anchored: a --registry-endpoint may put the API under a path prefix (`https://mirror/prefix/v2/...`).
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
  const cache = new Map<string, CachedAuth>();
  const pending = new Map<string, Promise<CachedAuth>>();
  let lookup: Promise<CredentialLookup> | undefined;
  const getCredentials = () => (lookup ??= opts.credentials());
  let basicKnown = false;
  let refreshed = false;

  const describeSearch = (l: CredentialLookup) =>
    l.credential
      ? `credentials from ${l.credential.source} were rejected`
      : `no credentials found (looked in: ${l.searched.join(", ") || "nowhere"})`;

  async function authorize(
    challenges: Challenge[],
    scope: string | undefined,
    from: string,
  ): Promise<CachedAuth> {
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const basic = challenges.find((c) => c.scheme === "basic");
    const creds = await getCredentials();
    const cred = creds.credential;
    if (bearer) return await bearerToken(bearer, scope, cred, creds, from);
    if (basic) {
      if (cred?.kind === "basic") {
        basicKnown = true;
        return { header: basicAuthorization(cred.username, cred.password), expiresAt: Infinity };
      }
      throw new AuthError(`${opts.registry} requires authentication (Basic): ${describeSearch(creds)}`, {
        hint: "log in with `docker login` or add credentials to ~/.docker/config.json",
      });
    }
    throw new AuthError(
      `${opts.registry} answered 401 with no usable challenge (${
        challenges.map((c) => c.scheme).join(", ") || "none"
      })`,
      { hint: "the registry's authentication scheme is not supported" },
    );
  }

  async function bearerToken(
    ch: Challenge,
    wantScope: string | undefined,
    cred: Credential | undefined,
    creds: CredentialLookup,
    from: string,
  ): Promise<CachedAuth> {
    if (cred?.kind === "registry-token") {
      return { header: `Bearer ${cred.token}`, expiresAt: Infinity };
    }
    const realmText = ch.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmText ?? "");
    } catch {
      throw new AuthError(`${opts.registry} sent a Bearer challenge without a valid realm`, {
        hint: "the registry's token service is misconfigured",
      });
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") {
      throw new AuthError(`${opts.registry} sent a Bearer realm that is not http(s)`);
    }
    if (cred && realm.protocol === "http:" && new URL(from).protocol === "https:") {
      throw new AuthError(`${opts.registry} asks for credentials to be sent to a plain-HTTP token service`, {
        hint:
          `refusing to send ${cred.source} in clear text to ${realm.origin}; fix the registry's token realm`,
      });
    }
    const scope = ch.params.scope ?? wantScope;
    const service = ch.params.service;
    let req: Request;
    if (cred?.kind === "identity-token") {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: cred.token,
        client_id: opts.clientId,
      });
      if (service) form.set("service", service);
      if (scope) form.set("scope", scope);
      req = new Request(realm, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      });
    } else {
      if (service) realm.searchParams.set("service", service);
      if (scope) { for (const s of scope.split(" ")) realm.searchParams.append("scope", s); }
      const headers = new Headers();
      if (cred?.kind === "basic") {
        headers.set("authorization", basicAuthorization(cred.username, cred.password));
      }
      req = new Request(realm, { headers });
    }
    opts.log?.(
      `auth: requesting a token from ${realm.origin}${realm.pathname} for ${scope ?? "no scope"}${
        cred ? ` with ${cred.source}` : " anonymously"
      }`,
    );
    const res = await opts.tokenFetcher(req);
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => {});
      throw new AuthError(
        `token service of ${opts.registry} refused access to ${scope ?? "the registry"}: ${
          describeSearch(creds)
        }`,
        {
          hint: cred
            ? "check the credentials (docker login again)"
            : "the repository needs credentials: log in with `docker login`",
        },
      );
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new NetworkError(`token service ${safeOrigin(realm.href)} answered ${res.status}`, {
        hint: "try again later",
      });
    }
    let bytes: Uint8Array;
    try {
      bytes = await readCapped(res, MAX_TOKEN_BYTES, "token answer");
    } catch (err) {
      throw networkError(err, realm.href);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new AuthError(`token service of ${opts.registry} answered with something that is not JSON`);
    }
    const token = typeof body?.token === "string" && body.token
      ? body.token
      : typeof body?.access_token === "string" && body.access_token
      ? body.access_token
      : undefined;
    if (!token) throw new AuthError(`token service of ${opts.registry} answered without a token`);
    opts.onSecret?.(token);
    const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    // Renew a little early so a token never expires between cache lookup and use.
    return { header: `Bearer ${token}`, expiresAt: now() + Math.max(expiresIn - 10, 1) * 1000 };
  }

  async function authFor(
    key: string,
    challenges: Challenge[],
    scope: string | undefined,
    from: string,
  ): Promise<CachedAuth> {
    let p = pending.get(key);
    if (!p) {
      p = authorize(challenges, scope, from);
      pending.set(key, p);
      p.finally(() => pending.delete(key)).catch(() => {});
    }
    const a = await p;
    cache.set(key, a);
    return a;
  }

  const send = (req: Request, header: string | undefined) => {
    const r = new Request(req);
    if (header) r.headers.set("authorization", header);
    return next(r);
  };

  return async (req) => {
    const scope = scopeForUrl(req.url);
    const key = scope ?? "";
    let auth = cache.get(key);
    if (auth && auth.expiresAt <= now()) {
      cache.delete(key);
      auth = undefined;
    }
    let header = auth?.header;
    if (!header) {
      // Basic credentials go out before any challenge once the registry is known to take them (ECR always).
      if (opts.preemptiveBasic || basicKnown) header = await preemptive();
    }
    const res = await send(req.clone(), header);
    if (res.status !== 401) return res;
    const challenges = parseChallenges(res.headers.get("www-authenticate"));
    await res.body?.cancel().catch(() => {});
    cache.delete(key);
    if (header && challenges.every((c) => c.scheme === "basic") && basicKnown) {
      let creds = await getCredentials();
      if (creds.credential?.kind === "basic" && creds.credential.cached && !refreshed) {
        // A cached token (ECR) may have been revoked: fetch a fresh one, once.
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
    const fresh = await authFor(key, challenges, scope, req.url);
    const second = await send(req, fresh.header);
    if (second.status === 401) {
      await second.body?.cancel().catch(() => {});
      cache.delete(key);
      const creds = await getCredentials();
      const what = scope ?? "the request";
      throw new AuthError(
        creds.credential
          ? `unauthorized: ${opts.registry} refused ${what} with a fresh token: ${describeSearch(creds)}`
          : `unauthorized: ${opts.registry} denied anonymous access to ${what}: ${describeSearch(creds)}`,
        {
          hint: creds.credential
            ? "check the credentials and their permissions"
            : "log in with `docker login`",
        },
      );
    }
    return second;
  };

  async function preemptive(): Promise<string | undefined> {
    const c = (await getCredentials()).credential;
    if (c?.kind !== "basic") return undefined;
    basicKnown = true;
    return basicAuthorization(c.username, c.password);
  }
}
