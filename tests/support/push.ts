/**
 * Pushing blobs and manifests to a test registry through the registry HTTP API, handling Basic auth and the
 * Bearer 401-challenge -> token dance with the registry's test credentials.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { TestRegistry } from "./registry.ts";

/** `sha256:<hex>` of `bytes`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Parse a `WWW-Authenticate` header: scheme plus its `key="value"` parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^(\S+)\s*(.*)$/.exec(header.trim());
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const p of (m?.[2] ?? "").matchAll(re)) params[p[1].toLowerCase()] = p[2] ?? p[3] ?? "";
  return { scheme: (m?.[1] ?? "").toLowerCase(), params };
}

/** The parts of a {@linkcode TestRegistry} needed to talk to it. */
export type RegistryConnection = Pick<TestRegistry, "url" | "httpClient" | "username" | "password">;

/** Per registry: token by scope, and the last token that worked for a repository. */
const tokens = new WeakMap<RegistryConnection, {
  byScope: Map<string, string>;
  byRepo: Map<string, string>;
  basic: boolean;
}>();

/**
 * `fetch(reg.url + path)` with the test credentials: Basic is sent on a 401 Basic challenge; on a 401 Bearer
 * challenge a token is fetched from the realm (with Basic credentials when the registry has them) for the
 * challenge's scope and the request is retried once. Tokens are cached per registry and scope. `path` may also
 * be an absolute URL (e.g. an upload `Location`). The body must be re-sendable (bytes or string).
 */
export async function registryFetch(
  reg: RegistryConnection,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const url = new URL(path, reg.url).href;
  let cache = tokens.get(reg);
  if (!cache) tokens.set(reg, cache = { byScope: new Map(), byRepo: new Map(), basic: false });
  const repo = /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//.exec(new URL(url).pathname)?.[1] ?? "";
  const send = (authorization?: string) => {
    const headers = new Headers(init.headers);
    if (authorization) headers.set("authorization", authorization);
    return fetch(url, { ...init, headers, client: reg.httpClient });
  };
  const basic = reg.username !== undefined
    ? `Basic ${btoa(`${reg.username}:${reg.password ?? ""}`)}`
    : undefined;
  const known = cache.byRepo.get(repo);
  const res = await send(known ? `Bearer ${known}` : cache.basic ? basic : undefined);
  if (res.status !== 401) return res;
  const challenge = parseChallenge(res.headers.get("www-authenticate") ?? "");
  await res.body?.cancel();
  if (challenge.scheme === "basic") {
    cache.basic = basic !== undefined;
    return send(basic);
  }
  if (challenge.scheme !== "bearer" || !challenge.params.realm) return send(basic);
  const scope = challenge.params.scope ?? "";
  let token = cache.byScope.get(scope);
  if (!token) {
    const tokenUrl = new URL(challenge.params.realm);
    if (challenge.params.service) tokenUrl.searchParams.set("service", challenge.params.service);
    for (const s of scope.split(" ").filter((s) => s !== "")) tokenUrl.searchParams.append("scope", s);
    const tr = await fetch(tokenUrl, {
      client: reg.httpClient,
      headers: basic ? { authorization: basic } : {},
    });
    if (!tr.ok) throw new Error(`token request ${tokenUrl} failed: ${tr.status} ${await tr.text()}`);
    const body = await tr.json() as { token?: string; access_token?: string };
    token = body.token ?? body.access_token;
    if (!token) throw new Error(`token response from ${tokenUrl} has no token`);
    cache.byScope.set(scope, token);
  }
  const retried = await send(`Bearer ${token}`);
  if (retried.status !== 401 && repo) cache.byRepo.set(repo, token);
  return retried;
}

async function expectStatus(res: Response, expected: number, what: string): Promise<void> {
  if (res.status !== expected) {
    throw new Error(`${what}: expected HTTP ${expected}, got ${res.status}: ${await res.text()}`);
  }
}

/**
 * Upload `bytes` as a blob of `repo` (monolithic `POST /v2/<repo>/blobs/uploads/` then `PUT <location>&digest=`).
 * Returns its digest.
 */
export async function pushBlob(reg: RegistryConnection, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256Digest(bytes);
  const start = await registryFetch(reg, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await expectStatus(start, 202, `start blob upload to ${repo}`);
  await start.body?.cancel();
  const location = start.headers.get("location");
  if (!location) throw new Error(`blob upload to ${repo}: no Location header`);
  const put = new URL(location, reg.url);
  put.searchParams.set("digest", digest);
  const res = await registryFetch(reg, put.href, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  await expectStatus(res, 201, `finish blob upload ${digest} to ${repo}`);
  await res.body?.cancel();
  const got = res.headers.get("docker-content-digest");
  if (got && got !== digest) {
    throw new Error(`blob upload to ${repo}: registry says ${got}, expected ${digest}`);
  }
  return digest;
}

/**
 * `PUT /v2/<repo>/manifests/<ref>` with `bytes` as `mediaType`. Returns the sha256 digest of `bytes` and checks
 * that the registry's `Docker-Content-Digest` equals it.
 */
export async function pushManifest(
  reg: RegistryConnection,
  repo: string,
  ref: string,
  bytes: Uint8Array,
  mediaType: string,
): Promise<string> {
  const digest = sha256Digest(bytes);
  const res = await registryFetch(reg, `/v2/${repo}/manifests/${ref}`, {
    method: "PUT",
    headers: { "content-type": mediaType },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  await expectStatus(res, 201, `push manifest ${repo}:${ref}`);
  await res.body?.cancel();
  const got = res.headers.get("docker-content-digest");
  if (got !== digest) {
    throw new Error(`push manifest ${repo}:${ref}: registry says ${got}, expected ${digest}`);
  }
  return digest;
}
