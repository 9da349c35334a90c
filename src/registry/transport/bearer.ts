/**
 * The Bearer token exchange of the distribution token spec: GET the realm with service and scope (Basic
 * credentials if any, anonymous otherwise), or an OAuth2 `refresh_token` POST for identity tokens; the answer's
 * `token` (or `access_token`) with its lifetime.
 *
 * @module
 */

import { AuthError, NetworkError } from "../../errors.ts";
import { basicAuthorization, type Credential, type CredentialLookup } from "../credentials/types.ts";
import { readCapped } from "./body.ts";
import type { Challenge } from "./challenge.ts";
import { checkDestination, type HostResolver } from "./destination.ts";
import { type Fetcher, networkError, safeOrigin } from "./fetcher.ts";
import type { Logger } from "./log.ts";

/** Token answers larger than this are refused. */
export const MAX_TOKEN_BYTES = 1024 * 1024;

/** An `Authorization` header value and when it stops being good. */
export interface Authorization {
  header: string;
  expiresAt: number;
}

/** What a token exchange needs. */
export interface BearerOptions {
  /** The registry as named in the reference, for messages. */
  registry: string;
  /** The fetcher for token requests (no auth layer of its own). */
  tokenFetcher: Fetcher;
  /** Client id for OAuth2 refresh-token exchanges. */
  clientId: string;
  /** Told of every token, so logs and messages can redact it. */
  onSecret?: (secret: string) => void;
  /** Resolves the realm's host name, to refuse a realm that leads to a link-local address. */
  resolve?: HostResolver;
  /** The run's deadline (for that lookup). */
  signal?: AbortSignal;
  log?: Logger;
  now?: () => number;
}

/** A token as it may go into an `Authorization` header: visible ASCII, no spaces, no line breaks. */
const HEADER_TOKEN = /^[\x21-\x7e]+$/;

/** "credentials from X were rejected" / "no credentials found (looked in: ...)". */
export function describeSearch(l: CredentialLookup): string {
  return l.credential
    ? `credentials from ${l.credential.source} were rejected`
    : `no credentials found (looked in: ${l.searched.join(", ") || "nowhere"})`;
}

/**
 * Exchange credentials (or none) for a token as the Bearer challenge `ch` asks, for `wantScope` unless the
 * challenge names its own scope. `from` is the URL the challenge came from (an https registry never sends
 * credentials to a plain-HTTP realm).
 *
 * @example
 * ```ts
 * const auth = await bearerToken(challenge, "repository:library/alpine:pull", lookup, url, opts);
 * ```
 */
export async function bearerToken(
  ch: Challenge,
  wantScope: string | undefined,
  creds: CredentialLookup,
  from: string,
  opts: BearerOptions,
): Promise<Authorization> {
  const now = opts.now ?? Date.now;
  const cred = creds.credential;
  if (cred?.kind === "registry-token") {
    if (!HEADER_TOKEN.test(cred.token)) {
      throw new AuthError(`the registry token from ${cred.source} is not a valid header value`, {
        hint: "it holds spaces, line breaks or other characters a token cannot have; log in again",
      });
    }
    return { header: `Bearer ${cred.token}`, expiresAt: Infinity };
  }
  const realm = realmOf(ch, cred, from, opts.registry);
  await checkDestination(realm, "the registry's token realm", {
    own: new URL(from).origin,
    resolve: opts.resolve,
    signal: opts.signal,
  });
  const scope = ch.params.scope ?? wantScope;
  const req = tokenRequest(realm, ch.params.service, scope, cred, opts.clientId);
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
      failure: "status",
    });
  }
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(res, MAX_TOKEN_BYTES, "token answer");
  } catch (err) {
    throw networkError(err, realm.href);
  }
  const { token, expiresIn } = parseTokenAnswer(bytes, opts.registry);
  opts.onSecret?.(token);
  // Renew a little early so a token never expires between cache lookup and use.
  return { header: `Bearer ${token}`, expiresAt: now() + Math.max(expiresIn - 10, 1) * 1000 };
}

function realmOf(ch: Challenge, cred: Credential | undefined, from: string, registry: string): URL {
  let realm: URL;
  try {
    realm = new URL(ch.params.realm ?? "");
  } catch {
    throw new AuthError(`${registry} sent a Bearer challenge without a valid realm`, {
      hint: "the registry's token service is misconfigured",
    });
  }
  if (realm.protocol !== "https:" && realm.protocol !== "http:") {
    throw new AuthError(`${registry} sent a Bearer realm that is not http(s)`);
  }
  if (cred && realm.protocol === "http:" && new URL(from).protocol === "https:") {
    throw new AuthError(`${registry} asks for credentials to be sent to a plain-HTTP token service`, {
      hint:
        `refusing to send ${cred.source} in clear text to ${realm.origin}; fix the registry's token realm`,
    });
  }
  return realm;
}

function tokenRequest(
  realm: URL,
  service: string | undefined,
  scope: string | undefined,
  cred: Credential | undefined,
  clientId: string,
): Request {
  if (cred?.kind === "identity-token") {
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: cred.token,
      client_id: clientId,
    });
    if (service) form.set("service", service);
    if (scope) form.set("scope", scope);
    return new Request(realm, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
  }
  const url = new URL(realm);
  if (service) url.searchParams.set("service", service);
  if (scope) { for (const s of scope.split(" ")) url.searchParams.append("scope", s); }
  const headers = new Headers();
  if (cred?.kind === "basic") headers.set("authorization", basicAuthorization(cred.username, cred.password));
  return new Request(url, { headers });
}

function parseTokenAnswer(bytes: Uint8Array, registry: string): { token: string; expiresIn: number } {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new AuthError(`token service of ${registry} answered with something that is not JSON`);
  }
  const token = typeof body?.token === "string" && body.token
    ? body.token
    : typeof body?.access_token === "string" && body.access_token
    ? body.access_token
    : undefined;
  if (!token) throw new AuthError(`token service of ${registry} answered without a token`);
  // A hostile token service must not smuggle a header (or break the request) through a line break.
  if (!HEADER_TOKEN.test(token)) {
    throw new AuthError(
      `token service of ${registry} answered with a token that is not a valid header value`,
      {
        hint: "the token service is broken or hostile; check the registry's token realm",
      },
    );
  }
  const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
  return { token, expiresIn };
}
