/**
 * Auth details found in review: UTF-8 passwords, API paths under a prefix, clear-text credential refusal.
 */

import assert from "node:assert/strict";
import { AuthError } from "../src/errors.ts";
import { basicAuthorization, secretsOf } from "../src/registry/credentials/types.ts";
import { scopeForUrl, withAuth } from "../src/registry/transport/auth.ts";
import type { Fetcher } from "../src/registry/transport/fetcher.ts";

Deno.test("auth: Basic credentials are UTF-8 (RFC 7617), for headers and for redaction alike", () => {
  const header = basicAuthorization("ünïcode", "pa€€word");
  const decoded = new TextDecoder().decode(Uint8Array.from(atob(header.slice(6)), (c) => c.charCodeAt(0)));
  assert.equal(decoded, "ünïcode:pa€€word");
  const secrets = secretsOf({ kind: "basic", username: "ünïcode", password: "pa€€word", source: "test" });
  assert.deepEqual(secrets, ["pa€€word", header.slice(6)]);
});

Deno.test("auth: the pull scope is found under a path prefix (--registry-endpoint https://mirror/prefix)", () => {
  assert.equal(scopeForUrl("https://m.example/prefix/v2/team/app/manifests/1"), "repository:team/app:pull");
  assert.equal(
    scopeForUrl("https://m.example/v2/library/alpine/blobs/sha256:ab"),
    "repository:library/alpine:pull",
  );
  assert.equal(scopeForUrl("https://m.example/v2/"), undefined);
});

Deno.test("auth: credentials are never sent to a plain-HTTP realm when the registry is HTTPS", async () => {
  const seen: Request[] = [];
  const inner: Fetcher = (req) => {
    seen.push(req);
    return Promise.resolve(
      new Response("{}", {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="http://auth.example/token",service="reg"' },
      }),
    );
  };
  const f = withAuth(inner, {
    registry: "reg.example",
    clientId: "test",
    tokenFetcher: inner,
    credentials: () =>
      Promise.resolve({
        credential: { kind: "basic", username: "u", password: "secret-pw", source: "test config" },
        searched: ["test config"],
      }),
  });
  await assert.rejects(f(new Request("https://reg.example/v2/app/manifests/1")), (err: unknown) => {
    assert.ok(err instanceof AuthError);
    assert.match(err.message, /plain-HTTP token service/);
    return true;
  });
  assert.equal(seen.length, 1, "no token request may be made");
  assert.ok(!seen.some((r) => r.url.startsWith("http://auth.example")));
});
