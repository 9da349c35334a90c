/**
 * Hostile registries and hostile local files (issue 11): every attack is reproduced against a server the test
 * starts on loopback, or with files the test makes in a temporary directory, and must end in one line on
 * stderr, exit 1, and nothing leaked, hung or grown.
 */

import assert from "node:assert/strict";
import { NetworkError } from "../src/errors.ts";
import { parseReference } from "../src/reference.ts";
import { openRegistry } from "../src/registry/mod.ts";
import { blockedAddress, type HostResolver } from "../src/registry/transport/destination.ts";
import type { Fetcher } from "../src/registry/transport/fetcher.ts";
import { withRedirects } from "../src/registry/transport/redirect.ts";
import { cli, type CliResult } from "./support/cli.ts";
import { dockerConfigDir, fakeImage, PLAIN_CONFIG, serveImage, startServer } from "./support/hostile.ts";

const PASSWORD = "alice-Pa55word-0123456789";
const BASIC = `Basic ${btoa(`alice:${PASSWORD}`)}`;

/** Exit 1, nothing on stdout, exactly one line on stderr matching `message`, and no untyped error. */
function failed(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}; stderr: ${r.stderr}`);
  assert.equal(r.stdout.byteLength, 0, `stdout must stay empty on failure: ${r.stdoutText}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^ecrimagemetadataextractor: error: /);
  assert.doesNotMatch(lines[0], /error: [A-Za-z]*Error: /, "an untyped error reached the user");
  assert.match(lines[0], message);
}

/** A 401 asking for Basic credentials. */
const basicChallenge = () =>
  Response.json({ errors: [{ code: "UNAUTHORIZED", message: "auth" }] }, {
    status: 401,
    headers: { "www-authenticate": 'Basic realm="hostile"' },
  });

// ---------------------------------------------------------------------------------------------------------------
// 1-4: credentials and requests

Deno.test("hostile 1: a 401 from a redirect target is never answered with the registry's password", async () => {
  await using realm = startServer(() => Response.json({ token: "harvested" }));
  await using s3 = startServer(() =>
    new Response("no", {
      status: 401,
      headers: { "www-authenticate": `Bearer realm="${realm.url}/token",service="s3"` },
    })
  );
  const image = fakeImage(PLAIN_CONFIG);
  await using reg = startServer((req) =>
    req.headers.get("authorization") !== BASIC ? basicChallenge() : serveImage(req, image, {
      blob: () =>
        new Response(null, { status: 307, headers: { location: `${s3.url}/bucket/blob?X-Amz-X=1` } }),
    })
  );
  await using cfg = await dockerConfigDir(reg.host, { auth: btoa(`alice:${PASSWORD}`) });
  const r = await cli(["get_digest_metadata", "-u", `${reg.host}/app:1`, "--plain-http"], {
    env: { DOCKER_CONFIG: cfg.dir },
  });
  const sent = realm.requests.map((q) => q.headers.get("authorization") ?? "");
  assert.deepEqual(
    sent.filter((a) => a.includes(btoa(`alice:${PASSWORD}`))),
    [],
    "the realm got alice's password",
  );
  assert.equal(realm.requests.length, 0, "no token request for a challenge from another origin");
  failed(r, new RegExp(`${s3.host.replace(/\./g, "\\.")}.*401`));
});

Deno.test("hostile 2: a token POST redirected to another origin does not carry its body there", async () => {
  await using other = startServer(() => Response.json({ access_token: "from-elsewhere" }));
  const image = fakeImage(PLAIN_CONFIG);
  await using reg = startServer((req) => {
    const url = new URL(req.url);
    if (url.pathname === "/token") {
      return new Response(null, { status: 307, headers: { location: `${other.url}/token` } });
    }
    if (req.headers.get("authorization") !== "Bearer from-elsewhere") {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": `Bearer realm="${url.origin}/token",service="reg"` },
      });
    }
    return serveImage(req, image);
  });
  await using cfg = await dockerConfigDir(reg.host, { identitytoken: "refresh-SECRET-identity-token" });
  const r = await cli(["get_manifest", "-u", `${reg.host}/app:1`, "--plain-http"], {
    env: { DOCKER_CONFIG: cfg.dir },
  });
  assert.deepEqual(other.requests.filter((q) => q.body.includes("refresh-SECRET")).map((q) => q.body), []);
  failed(r, /redirect/);
});

for (
  const [name, target] of [
    ["IPv4 metadata address", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"],
    ["ECS credentials address", "http://169.254.170.2/v2/credentials/abc"],
    ["IPv4 in hex", "http://0xa9fea9fe/latest/"],
    ["IPv6 link-local", "http://[fe80::1]/latest/"],
    ["EC2 IPv6 metadata address", "http://[fd00:ec2::254]/latest/"],
    ["IPv4-mapped IPv6", "http://[::ffff:169.254.169.254]/latest/"],
  ]
) {
  Deno.test(`hostile 3: a redirect to a cloud metadata address is refused (${name})`, async () => {
    const image = fakeImage(PLAIN_CONFIG);
    await using reg = startServer((req) =>
      serveImage(req, image, {
        blob: () => new Response(null, { status: 307, headers: { location: target } }),
      })
    );
    const r = await cli(["get_digest_metadata", "-u", `${reg.host}/app:1`, "--plain-http", "--timeout", "3"]);
    failed(r, /link-local/);
  });
}

Deno.test("hostile 3: a Bearer realm at a cloud metadata address is refused", async () => {
  const image = fakeImage(PLAIN_CONFIG);
  await using reg = startServer((req) =>
    req.headers.has("authorization") ? serveImage(req, image) : new Response(null, {
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="http://169.254.170.2/v2/credentials/x",service="r"' },
    })
  );
  const r = await cli(["get_manifest", "-u", `${reg.host}/app:1`, "--plain-http", "--timeout", "3"]);
  failed(r, /link-local/);
});

Deno.test("hostile 3: blockedAddress knows the link-local ranges in every form, and nothing else", () => {
  for (
    const a of [
      "169.254.169.254",
      "169.254.0.1",
      "[fe80::1]",
      "febf::1",
      "fe80::1%eth0",
      "fd00:ec2::254",
      "[fd00:ec2::23]",
      "::ffff:169.254.169.254",
      "[::ffff:a9fe:a9fe]",
      "::169.254.170.2",
      "64:ff9b::a9fe:a9fe",
    ]
  ) assert.ok(blockedAddress(a), a);
  for (
    const a of [
      "127.0.0.1",
      "10.0.0.1",
      "169.253.1.1",
      "[::1]",
      "fec0::1",
      "fd00:ec3::254",
      "::ffff:10.0.0.1",
    ]
  ) assert.ok(!blockedAddress(a), a);
  for (const a of ["", "registry.example", "1.2.3", "::ffff:999.1.1.1", "1::2::3", "g::1"]) {
    assert.ok(!blockedAddress(a), a);
  }
});

Deno.test("hostile 3: host names are resolved before a redirect is followed; ECR's S3 redirect costs no lookup", async () => {
  const lookups: string[] = [];
  const resolve: HostResolver = (host) => {
    lookups.push(host);
    return Promise.resolve(
      host === "metadata.hostile.test"
        ? ["192.0.2.7", "169.254.169.254"]
        : host === "v6.hostile.test"
        ? ["fd00:ec2::254"]
        : ["192.0.2.1"],
    );
  };
  const seen: string[] = [];
  const inner = (target: string): Fetcher => (req) => {
    seen.push(req.url);
    return Promise.resolve(
      req.url.startsWith("https://reg.example/")
        ? new Response(null, { status: 307, headers: { location: target } })
        : new Response("blob"),
    );
  };
  for (const host of ["metadata.hostile.test", "v6.hostile.test"]) {
    const f = withRedirects(inner(`https://${host}/latest/`), { resolve });
    await assert.rejects(f(new Request("https://reg.example/v2/a/blobs/sha256:1")), /link-local/);
  }
  assert.deepEqual(seen, [
    "https://reg.example/v2/a/blobs/sha256:1",
    "https://reg.example/v2/a/blobs/sha256:1",
  ]);
  assert.deepEqual(lookups, ["metadata.hostile.test", "v6.hostile.test"]);

  lookups.length = 0;
  const s3 = "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/x?X-Amz-Signature=s";
  const res = await withRedirects(inner(s3), { resolve })(
    new Request("https://reg.example/v2/a/blobs/sha256:1"),
  );
  assert.equal(await res.text(), "blob");
  assert.deepEqual(lookups, [], "no DNS lookup of its own on the ECR S3 redirect path");

  const other = await withRedirects(inner("https://cdn.example/blob"), { resolve })(
    new Request("https://reg.example/v2/a/blobs/sha256:1"),
  );
  assert.equal(await other.text(), "blob");
  assert.deepEqual(lookups, ["cdn.example"], "any other host name is looked up once");
});

Deno.test("hostile 3: a realm whose host name resolves to a metadata address is refused (openRegistry wiring)", async () => {
  const image = fakeImage(PLAIN_CONFIG);
  await using reg = startServer((req) =>
    req.headers.has("authorization") ? serveImage(req, image) : new Response(null, {
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="http://metadata.hostile.test/token",service="r"' },
    })
  );
  const lookups: string[] = [];
  await using source = openRegistry(parseReference(`${reg.host}/app:1`), `${reg.host}/app:1`, {
    plainHttp: true,
    retries: 0,
    resolveHost: (host) => {
      lookups.push(host);
      return Promise.resolve(["169.254.169.254"]);
    },
  });
  await assert.rejects(source.manifest(), (err: unknown) => {
    assert.ok(err instanceof NetworkError, String(err));
    assert.match(
      err.message,
      /connect to http:\/\/metadata\.hostile\.test \(169\.254\.169\.254\), named by the registry's token realm/,
    );
    return true;
  });
  assert.deepEqual(lookups, ["metadata.hostile.test"]);
  assert.equal(reg.requests.length, 1, "only the first, unauthenticated request");
});

Deno.test("hostile 4: a token holding CR/LF is an AuthError, not a raw TypeError", async () => {
  const image = fakeImage(PLAIN_CONFIG);
  await using reg = startServer((req) => {
    const url = new URL(req.url);
    if (url.pathname === "/token") return Response.json({ token: "abc\r\nX-Injected: yes" });
    if (!req.headers.has("authorization")) {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": `Bearer realm="${url.origin}/token",service="reg"` },
      });
    }
    return serveImage(req, image);
  });
  const r = await cli(["get_manifest", "-u", `${reg.host}/app:1`, "--plain-http"]);
  failed(r, /token .*not a valid header value/);
});

Deno.test("hostile 4: a registry token with a line break in the docker config is an error, not a TypeError", async () => {
  const image = fakeImage(PLAIN_CONFIG);
  await using reg = startServer((req) =>
    req.headers.has("authorization") ? serveImage(req, image) : new Response(null, {
      status: 401,
      headers: { "www-authenticate": `Bearer realm="${new URL(req.url).origin}/token"` },
    })
  );
  await using cfg = await dockerConfigDir(reg.host, { registrytoken: "abc\ndef" });
  const r = await cli(["get_manifest", "-u", `${reg.host}/app:1`, "--plain-http"], {
    env: { DOCKER_CONFIG: cfg.dir },
  });
  failed(r, /not a valid header value/);
});
