/**
 * Hostile registries and hostile local files (issue 11): every attack is reproduced against a server the test
 * starts on loopback, or with files the test makes in a temporary directory, and must end in one line on
 * stderr, exit 1, and nothing leaked, hung or grown.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { SaxesParser } from "saxes";
import { prettyJson } from "../src/cli/emit.ts";
import { NetworkError, printable, TooLargeError } from "../src/errors.ts";
import { readLocalFile } from "../src/files.ts";
import { writeFileAtomic } from "../src/output.ts";
import { stripUrlCredentials } from "../src/url.ts";
import { credentialSettings } from "../src/cli/environment.ts";
import { ecrCredential } from "../src/registry/credentials/ecr.ts";
import { parseEcrHost } from "../src/registry/ecr.ts";
import { parseReference } from "../src/reference.ts";
import { openRegistry } from "../src/registry/mod.ts";
import { blockedAddress, type HostResolver } from "../src/registry/transport/destination.ts";
import type { Fetcher } from "../src/registry/transport/fetcher.ts";
import { withRedirects } from "../src/registry/transport/redirect.ts";
import {
  assertOneLineFailure as failed,
  cli,
  type CliResult,
  REPO_ROOT,
  runCli,
  type RunCliOptions,
} from "./support/cli.ts";
import {
  dockerConfigDir,
  fakeImage,
  PLAIN_CONFIG,
  serveImage,
  startRawServer,
  startServer,
} from "./support/hostile.ts";

const PASSWORD = "alice-Pa55word-0123456789";
const BASIC = `Basic ${btoa(`alice:${PASSWORD}`)}`;

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
      /connect to http:\/\/metadata\.hostile\.test \(169\.254\.169\.254\), named by the registry's/,
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

// ---------------------------------------------------------------------------------------------------------------
// 5-7: deadlines and memory

/**
 * A Deno process with the AWS SDK loaded peaks at about 70 MiB here; an unbounded read passes this within a
 * second.
 */
const MEMORY_LIMIT_MIB = 256;
/** A run still going after this is a hang (every run here has --timeout of a few seconds). */
const HANG_LIMIT_MS = 20_000;
/** Start-up of a process (and the AWS SDK) on a loaded machine, on top of a run's --timeout. */
const SLACK_MS = 4000;

/** Run the CLI as a process under the memory and hang limits. */
function bounded(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  return runCli(args, { memoryLimitMiB: MEMORY_LIMIT_MIB, hangLimitMs: HANG_LIMIT_MS, ...opts });
}

/** A temporary directory holding a FIFO (`fifo`), removed by `await using`. */
async function fifoDir(): Promise<AsyncDisposable & { dir: string; fifo: string }> {
  const dir = await Deno.makeTempDir({ prefix: "hostile-fifo-" });
  const fifo = `${dir}/fifo`;
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(made.success, "mkfifo failed");
  return { dir, fifo, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

const ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/** An ECR registry stand-in: Basic `AWS:<password>` opens it. */
function ecrRegistry(password: string) {
  const image = fakeImage(PLAIN_CONFIG);
  const basic = `Basic ${btoa(`AWS:${password}`)}`;
  return startServer((req) =>
    req.headers.get("authorization") === basic ? serveImage(req, image) : basicChallenge()
  );
}

/** Exit 1 with one line matching `message`, within `ms`, and the memory it took stayed small. */
function failedWithin(r: CliResult, ms: number, took: number, message: RegExp): void {
  failed(r, message);
  assert.ok(took < ms, `took ${Math.round(took)} ms, more than ${ms}`);
  assert.ok((r.peakMiB ?? 0) < MEMORY_LIMIT_MIB, `peak memory ${r.peakMiB} MiB`);
}

Deno.test("hostile 5: AWS credential resolution and the ECR API obey --timeout and cap what they read", async () => {
  await using reg = ecrRegistry("unused");
  await using hold = startRawServer("hold");
  await using endless = startRawServer("endless");
  const cache = await Deno.makeTempDir({ prefix: "hostile-ecr-cache-" });
  const base = ["get_manifest", "-u", `${ECR_HOST}/app:1`, "--registry-endpoint", `${ECR_HOST}=${reg.url}`];
  const staticKeys = {
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/EXAMPLEKEY",
  };
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "container credentials endpoint that never answers",
      { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${hold.url}/creds`, AWS_ENDPOINT_URL_ECR: hold.url },
      /deadline|timed out/,
    ],
    [
      "container credentials endpoint with an endless body",
      { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endless.url}/creds`, AWS_ENDPOINT_URL_ECR: hold.url },
      /container credentials endpoint .* more than 64 KiB/,
    ],
    ["ECR API that never answers", { ...staticKeys, AWS_ENDPOINT_URL_ECR: hold.url }, /deadline|timed out/],
    [
      "ECR API with an endless body",
      { ...staticKeys, AWS_ENDPOINT_URL_ECR: endless.url },
      /AWS API .* more than 1 MiB/,
    ],
  ];
  try {
    const runs = await Promise.allSettled(cases.map(async ([, env]) => {
      const started = performance.now();
      const r = await bounded([...base, "--timeout", "3", "--no-ecr-cache"], {
        env: { XDG_CACHE_HOME: cache, AWS_EC2_METADATA_DISABLED: "true", ...env },
      });
      return { r, took: performance.now() - started };
    }));
    const problems: string[] = [];
    for (const [i, [name, , message]] of cases.entries()) {
      const settled = runs[i];
      if (settled.status === "rejected") {
        problems.push(`${name}: ${(settled.reason as Error).message.slice(0, 300)}`);
        continue;
      }
      try {
        failedWithin(settled.value.r, 3000 + SLACK_MS, settled.value.took, message);
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message.split("\n")[0]} [${settled.value.r.stderr.trim()}]`);
      }
    }
    assert.deepEqual(problems, []);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("hostile 5: the bounded container credentials provider keeps the SDK's chain: token file, env keys first", async () => {
  const password = `ecr-${crypto.randomUUID()}`;
  await using reg = ecrRegistry(password);
  await using creds = startServer(() =>
    Response.json({
      AccessKeyId: "ASIAFROMCONTAINER",
      SecretAccessKey: "container-secret",
      Token: "container-session-token",
      Expiration: new Date(Date.now() + 3600_000).toISOString(),
    })
  );
  await using api = startServer((_req, seen) =>
    new Response(
      JSON.stringify({
        authorizationData: [{
          authorizationToken: btoa(`AWS:${password}`),
          expiresAt: Math.floor(Date.now() / 1000) + 3600,
          key: /Credential=([A-Z0-9]+)\//.exec(seen.headers.get("authorization") ?? "")?.[1],
        }],
      }),
      { headers: { "content-type": "application/x-amz-json-1.1" } },
    )
  );
  const dir = await Deno.makeTempDir({ prefix: "hostile-container-" });
  try {
    await Deno.writeTextFile(`${dir}/token`, "pod-identity-token\n");
    const run = (env: Record<string, string>) =>
      bounded(["get_manifest", "-u", `${ECR_HOST}/app:1`, "--registry-endpoint", `${ECR_HOST}=${reg.url}`], {
        env: {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `${creds.url}/v1/credentials`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: `${dir}/token`,
          AWS_ENDPOINT_URL_ECR: api.url,
          ECRIMAGEMETADATAEXTRACTOR_NO_CACHE: "1",
          ...env,
        },
      });
    const r = await run({});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(creds.requests.length, 1);
    assert.equal(creds.requests[0].headers.get("authorization"), "pod-identity-token");
    assert.match(api.requests[0].headers.get("authorization") ?? "", /Credential=ASIAFROMCONTAINER\//);
    assert.equal(api.requests[0].headers.get("x-amz-security-token"), "container-session-token");

    // Environment keys come before the container endpoint, as in the SDK's default chain.
    const keys = await run({ AWS_ACCESS_KEY_ID: "AKIDFROMENV", AWS_SECRET_ACCESS_KEY: "env-secret" });
    assert.equal(keys.code, 0, keys.stderr);
    assert.equal(creds.requests.length, 1, "the container endpoint is not asked when env keys are set");
    assert.match(api.requests[1].headers.get("authorization") ?? "", /Credential=AKIDFROMENV\//);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hostile 6: devices and FIFOs as auth files, docker config, CA files and subjects: refused, no hang, no growth", async () => {
  const image = fakeImage(PLAIN_CONFIG);
  await using reg = startServer((req) =>
    req.headers.get("authorization") === BASIC ? serveImage(req, image) : basicChallenge()
  );
  await using f = await fifoDir();
  const configDir = `${f.dir}/docker`;
  await Deno.mkdir(configDir);
  await Deno.symlink("/dev/zero", `${configDir}/config.json`);
  const fifoConfigDir = `${f.dir}/docker-fifo`;
  await Deno.mkdir(fifoConfigDir);
  await new Deno.Command("mkfifo", { args: [`${fifoConfigDir}/config.json`] }).output();
  const get = ["get_manifest", "-u", `${reg.host}/app:1`, "--plain-http", "--timeout", "3"];
  const provenance = [
    "provenance",
    "-u",
    `oci:${REPO_ROOT}/fixtures/oci-layout:demo`,
    "--platform",
    "linux/amd64",
    "--builder-id",
    "https://ci.example/builder",
  ];
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["REGISTRY_AUTH_FILE=/dev/zero", get, { REGISTRY_AUTH_FILE: "/dev/zero" }, /\/dev\/zero is a device/],
    ["REGISTRY_AUTH_FILE=FIFO", get, { REGISTRY_AUTH_FILE: f.fifo }, /fifo is a FIFO/],
    ["docker config -> /dev/zero", get, { DOCKER_CONFIG: configDir }, /config\.json is a device/],
    ["docker config FIFO", get, { DOCKER_CONFIG: fifoConfigDir }, /config\.json is a FIFO/],
    ["--ca-file /dev/zero", [...get, "--ca-file", "/dev/zero"], {}, /\/dev\/zero is a device/],
    ["--ca-file FIFO", [...get, "--ca-file", f.fifo], {}, /fifo is a FIFO/],
    [
      "--subject /dev/zero",
      [...provenance, "--subject", "/dev/zero", "--timeout", "3"],
      {},
      /\/dev\/zero.* device/,
    ],
    ["--subject FIFO", [...provenance, "--subject", f.fifo, "--timeout", "3"], {}, /fifo.* FIFO/],
  ];
  const results = await Promise.allSettled(cases.map(([, args, env]) => bounded(args, { env })));
  const problems: string[] = [];
  for (const [i, [name, , , message]] of cases.entries()) {
    const settled = results[i];
    if (settled.status === "rejected") {
      problems.push(`${name}: ${(settled.reason as Error).message.split(";")[0]}`);
      continue;
    }
    const r = settled.value;
    const lines = r.stderr.trimEnd().split("\n");
    if (
      r.code !== 1 || lines.length !== 1 || !message.test(lines[0]) || !/not a regular file/.test(lines[0])
    ) {
      problems.push(`${name}: exit ${r.code}: ${r.stderr.trimEnd()}`);
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("hostile 6: readLocalFile reads regular files up to the cap, and nothing else", async () => {
  await using f = await fifoDir();
  const file = `${f.dir}/file`;
  await Deno.writeTextFile(file, "12345678");
  assert.equal(
    new TextDecoder().decode((await readLocalFile(file, { max: 8, what: "test file" })).bytes),
    "12345678",
  );
  await assert.rejects(readLocalFile(file, { max: 7, what: "test file" }), TooLargeError);
  await Deno.symlink(file, `${f.dir}/link`);
  assert.equal((await readLocalFile(`${f.dir}/link`, { max: 8, what: "test file" })).bytes.byteLength, 8);
  await assert.rejects(
    readLocalFile(`${f.dir}/link`, { max: 8, what: "test file", noFollow: true }),
    /test file .*link is a symbolic link, not a regular file/,
  );
  await assert.rejects(readLocalFile("/dev/zero", { max: 8, what: "test file" }), /is a device/);
  await assert.rejects(readLocalFile(f.fifo, { max: 8, what: "test file" }), /is a FIFO/);
  await assert.rejects(readLocalFile(f.dir, { max: 8, what: "test file" }), /is a directory/);
  await assert.rejects(
    readLocalFile(`${f.dir}/missing`, { max: 8, what: "test file" }),
    Deno.errors.NotFound,
  );
});

Deno.test("hostile 7: a credential helper that prints without end is cut off at its cap and killed", async () => {
  const image = fakeImage(PLAIN_CONFIG);
  await using reg = startServer((req) =>
    req.headers.get("authorization") === BASIC ? serveImage(req, image) : basicChallenge()
  );
  await using bin = await Deno.makeTempDir({ prefix: "hostile-helper-" }).then((dir) => ({
    dir,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  }));
  // docker-credential-pass is one of the helpers the compiled binary may run.
  const helper = `${bin.dir}/docker-credential-pass`;
  const pidFile = `${bin.dir}/pid`;
  await using cfg = await dockerConfigDir(reg.host, {}, { credHelpers: { [reg.host]: "pass" } });
  for (const redirect of ["", " >&2"]) {
    // `exec` keeps the pid the tool knows, so "killed" can be checked.
    await Deno.writeTextFile(helper, `#!/bin/sh\necho $$ > ${pidFile}\nexec cat /dev/zero${redirect}\n`, {
      mode: 0o755,
    });
    const r = await bounded(["get_manifest", "-u", `${reg.host}/app:1`, "--plain-http", "--timeout", "10"], {
      env: { DOCKER_CONFIG: cfg.dir, PATH: `${bin.dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` },
    });
    failed(
      r,
      new RegExp(`docker-credential-pass answered with more than 1 MiB on ${redirect ? "stderr" : "stdout"}`),
    );
    const pid = (await Deno.readTextFile(pidFile)).trim();
    const state = await Deno.readTextFile(`/proc/${pid}/status`).then(
      (t) => /^State:\s+(\S)/m.exec(t)?.[1],
      () => "gone",
    );
    assert.ok(state === "gone" || state === "Z", `the helper is still running (state ${state})`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 8-9: output

/** A config command on the bundled layout: no network, known bytes. */
const LAYOUT_CONFIG = [
  "get_digest_metadata",
  "-u",
  `oci:${REPO_ROOT}/fixtures/oci-layout:demo`,
  "--platform",
  "linux/amd64",
];

Deno.test("hostile 8: -o to a device, a FIFO or /dev/stdout writes through it; through a symlink it replaces the target", async (t) => {
  const expected = (await cli(LAYOUT_CONFIG)).stdout;
  assert.ok(expected.byteLength > 0);
  await using f = await fifoDir();

  await t.step({
    name: "a character device (our own /dev/null, so a regression cannot break the machine's) stays a device",
    ignore: Deno.uid() !== 0,
    fn: async () => {
      const made = await new Deno.Command("mknod", { args: [`${f.dir}/null`, "c", "1", "3"] }).output();
      assert.ok(made.success, "mknod failed");
      const r = await cli([...LAYOUT_CONFIG, "-o", `${f.dir}/null`]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok((await Deno.lstat(`${f.dir}/null`)).isCharDevice, "the device became something else");
    },
  });

  await t.step(
    "-o /dev/null with the compiled binary's permissions: exit 0, and /dev/null stays a device",
    async () => {
      // Safe to try on the real /dev/null: those permissions do not reach anything else in /dev.
      const r = await bounded([...LAYOUT_CONFIG, "-o", "/dev/null"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.byteLength, 0);
      assert.ok((await Deno.lstat("/dev/null")).isCharDevice, "/dev/null is no longer a device");
    },
  );

  await t.step("a FIFO: the reader on the other end gets the bytes, and it stays a FIFO", async () => {
    // Bounded: if the FIFO were replaced, nothing would ever write to the reader.
    const reader = new Deno.Command("cat", {
      args: [f.fifo],
      stdout: "piped",
      signal: AbortSignal.timeout(5000),
    })
      .output();
    const r = await cli([...LAYOUT_CONFIG, "-o", f.fifo]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await reader).stdout, expected);
    assert.ok((await Deno.lstat(f.fifo)).isFifo, "the FIFO became something else");
  });

  await t.step("-o /dev/stdout prints (tried as /dev/fd/1 and /proc/self/fd/1, in procfs)", async () => {
    // Paths in procfs cannot be renamed over, so a regression here cannot replace the machine's /dev/stdout.
    // The compiled binary's permissions do not reach these special files (Deno asks for --allow-all for
    // them), so the CLI must know them as its standard output.
    for (const path of ["/dev/fd/1", "/proc/self/fd/1"]) {
      const out = await bounded([...LAYOUT_CONFIG, "-o", path]);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(out.stdout, expected, `-o ${path} printed nothing`);
    }
  });

  await t.step(
    "a symlink to a file: the file it names is replaced (a new inode), the link stays",
    async () => {
      await Deno.writeTextFile(`${f.dir}/real.json`, "old");
      await Deno.symlink("real.json", `${f.dir}/link.json`);
      const before = await Deno.stat(`${f.dir}/real.json`);
      const viaLink = await cli([...LAYOUT_CONFIG, "-o", `${f.dir}/link.json`]);
      assert.equal(viaLink.code, 0, viaLink.stderr);
      assert.ok((await Deno.lstat(`${f.dir}/link.json`)).isSymlink, "the link was replaced by a file");
      assert.deepEqual(await Deno.readFile(`${f.dir}/real.json`), expected);
      assert.notEqual((await Deno.stat(`${f.dir}/real.json`)).ino, before.ino, "not replaced atomically");
    },
  );

  await t.step("a dangling symlink: the file it names is created, the link stays", async () => {
    await Deno.symlink("later.json", `${f.dir}/dangling.json`);
    const r = await cli([...LAYOUT_CONFIG, "-o", `${f.dir}/dangling.json`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await Deno.lstat(`${f.dir}/dangling.json`)).isSymlink, "the link was replaced by a file");
    assert.deepEqual(await Deno.readFile(`${f.dir}/later.json`), expected);
  });

  await t.step("no temporary files are left behind", () => {
    const names = [...Deno.readDirSync(f.dir)].map((e) => e.name);
    assert.deepEqual(names.filter((n) => n.startsWith(".")), []);
  });
});

Deno.test("hostile 9: the temporary output file is never readable by more than the final file", async () => {
  await using f = await fifoDir();
  const path = `${f.dir}/private.json`;
  await Deno.writeTextFile(path, "secret", { mode: 0o600 });
  await Deno.chmod(path, 0o600);
  const seen: { path: string; mode: number }[] = [];
  const open = Deno.open;
  // Watch every file the writer opens: its mode the moment it exists.
  Deno.open = async (p: string | URL, options?: Deno.OpenOptions) => {
    const file = await open(p, options);
    if (options?.createNew || options?.create) {
      seen.push({ path: String(p), mode: (await file.stat()).mode! & 0o777 });
    }
    return file;
  };
  try {
    await writeFileAtomic(path, new TextEncoder().encode("new secret"));
    await writeFileAtomic(`${f.dir}/fresh.json`, new TextEncoder().encode("{}"));
  } finally {
    Deno.open = open;
  }
  assert.ok(seen.length >= 2, `the writer opened ${seen.length} new files`);
  assert.deepEqual(seen.filter((s) => s.path.includes(".private.json.")).map((s) => s.mode), [0o600]);
  assert.ok(seen.every((s) => (s.mode & ~0o644) === 0), JSON.stringify(seen));
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.equal(await Deno.readTextFile(path), "new secret");
});

// ---------------------------------------------------------------------------------------------------------------
// 10-11: what is printed

Deno.test("hostile 10: get_digest_metadata prints only a config that is JSON, and names the media type when not", async () => {
  const escapes = new TextEncoder().encode("\x1b]0;pwned\x07\x1b[2J\u202eevil\u009b31m");
  const image = fakeImage(escapes, "application/octet-stream");
  await using reg = startServer((req) => serveImage(req, image));
  const r = await cli(["get_digest_metadata", "-u", `${reg.host}/app:1`, "--plain-http"]);
  failed(r, new RegExp(`config ${image.configDigest} \\(application/octet-stream\\) is not JSON`));
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(r.stderr, /[\x1b\x07\u009b\u202e]/, "a raw escape reached the terminal");
});

Deno.test("hostile 11: --pretty keeps big integers and duplicate keys", async () => {
  const config = '{"architecture":"amd64","os":"linux","big":12345678901234567891,"dup":1,"dup":2,"f":1.50}';
  const image = fakeImage(config);
  await using reg = startServer((req) => serveImage(req, image));
  const r = await cli(["get_digest_metadata", "-u", `${reg.host}/app:1`, "--plain-http", "--pretty"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdoutText, /"big": 12345678901234567891,/);
  assert.match(r.stdoutText, /"dup": 1,\n {2}"dup": 2,/);
  assert.match(r.stdoutText, /"f": 1\.50\n/);
});

Deno.test("hostile 11: pretty JSON means the same as the input and is stable (fast-check)", () => {
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  const texts = fc.oneof(
    fc.json(),
    fc.tuple(fc.jsonValue(), fc.constantFrom(undefined, 0, 1, 4, "\t", " \n ")).map(([v, space]) =>
      JSON.stringify(v, null, space as string | number | undefined)
    ),
  ).filter((t) => t !== undefined);
  fc.assert(
    fc.property(texts, (text) => {
      const once = prettyJson(enc.encode(text));
      assert.deepEqual(JSON.parse(dec.decode(once)), JSON.parse(text));
      assert.equal(dec.decode(prettyJson(once)), dec.decode(once), "pretty(pretty(x)) != pretty(x)");
    }),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// 12-14: what reaches the terminal or the documents

/** What a hostile registry puts in its answers to take over a terminal. */
const TERMINAL_ATTACK = "\x1b]0;title\x07\x1b[2J\u202e\u2066\u200f\u009b31m";

Deno.test("hostile 12: with -v, nothing a registry sends reaches stderr unescaped (C0, C1, bidi)", async () => {
  // Raw bytes: Deno.serve refuses (panics on) such header values, a hostile server does not. The client
  // refuses C0 controls in headers, but takes bytes 0x80-0xFF (as Latin-1): 0x9B is the 8-bit CSI.
  const body = new TextEncoder().encode(
    JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: `gone ${TERMINAL_ATTACK}` }] }),
  );
  const head = "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\n" +
    `x-hostile: \x9b2J\x9d0;title\x9c\r\ncontent-length: ${body.byteLength}\r\n\r\n`;
  await using reg = startRawServer(
    new Uint8Array([...Uint8Array.from(head, (c) => c.charCodeAt(0)), ...body]),
  );
  const r = await cli(["get_manifest", "-u", `${reg.host}/app:1`, "--plain-http", "-v"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /x-hostile: /, "the header is in the verbose log");
  assert.match(r.stderr, /debug: /);
  assert.match(r.stderr, /at .*client\.ts/, "the stack trace is there");
  // deno-lint-ignore no-control-regex
  const raw = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;
  const bad = r.stderr.split("\n").filter((l) => raw.test(l));
  assert.deepEqual(bad.map((l) => JSON.stringify(l)), [], "lines with raw control or bidi characters");
  assert.match(r.stderr, /gone \\u001b\]0;title\\u0007\\u001b\[2J\\u202e\\u2066\\u200f\\u009b31m/);
});

Deno.test("printable: bidi controls and line separators are escaped like control characters", () => {
  assert.equal(
    printable("a\u202eb\u2066c\u200fd\u061ce\u2028f"),
    "a\\u202eb\\u2066c\\u200fd\\u061ce\\u2028f",
  );
  assert.equal(
    printable(printable("x\u202e\x1by")),
    printable("x\u202e\x1by"),
    "escaping twice changes nothing",
  );
});

Deno.test("hostile 13: a password holding a TAB and a newline, echoed by the registry, is never printed", async () => {
  const password = "Tab\there\nNewline-s3cr3t-P4ss";
  const basic = `Basic ${btoa(`alice:${password}`)}`;
  await using reg = startServer((req) => {
    const auth = req.headers.get("authorization");
    if (auth !== basic) return basicChallenge();
    // The registry echoes what it was sent, as some do in their error messages.
    return Response.json({
      errors: [{ code: "MANIFEST_UNKNOWN", message: `no manifest for alice:${password}` }],
    }, {
      status: 404,
      headers: { "x-echo": password.replace("\n", " ") },
    });
  });
  await using cfg = await dockerConfigDir(reg.host, { auth: btoa(`alice:${password}`) });
  const r = await cli(["get_manifest", "-u", `${reg.host}/app:1`, "--plain-http", "-v"], {
    env: { DOCKER_CONFIG: cfg.dir },
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /not found/);
  for (const part of ["s3cr3t", "Newline-", "Tab\there", "Tab here", "Tab\\u0009here"]) {
    assert.ok(!r.stderr.includes(part), `the password (${JSON.stringify(part)}) was printed:\n${r.stderr}`);
  }
});

Deno.test("hostile 14: an XML SBOM of an image whose label key and value hold \\u0001 and U+FFFE is well-formed", async () => {
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Labels: { "key\u0001\uFFFE": "value\u0001\uFFFE" } },
    rootfs: { type: "layers", diff_ids: [] },
  });
  const image = fakeImage(config);
  await using reg = startServer((req) => serveImage(req, image));
  const r = await cli(["sbom", "-u", `${reg.host}/app:1`, "--plain-http", "--format", "cyclonedx-xml"]);
  assert.equal(r.code, 0, r.stderr);
  const parser = new SaxesParser({ xmlns: true });
  const errors: string[] = [];
  parser.on("error", (e) => errors.push(e.message));
  parser.write(r.stdoutText).close();
  assert.deepEqual(errors, []);
  assert.match(r.stdoutText, /label:key\uFFFD\uFFFD">value\uFFFD\uFFFD</);
});

Deno.test("hostile 15: credentials in CODEBUILD_SOURCE_REPO_URL never reach the provenance", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hostile-provenance-" });
  try {
    await Deno.writeTextFile(`${dir}/os.img`, "image");
    const cases: [string, string][] = [
      // A git repository's URI keeps no query at all (`@REF` follows its path).
      ["https://github.com/o/r.git?access_token=SECRET1&ref=main", "git+https://github.com/o/r.git"],
      ["ssh://git:SECRET2@host.example/o/r.git", "git+ssh://git@host.example/o/r.git"],
      ["https://user:SECRET3p@ss@host3.example/o/r", "git+https://host3.example/o/r"],
      ["https://ghp_SECRET4@github.com/o/r.git", "git+https://github.com/o/r.git"],
      ["git:SECRET5@github.com:o/r.git", "git+ssh://git@github.com/o/r.git"],
      ["https://gitlab.example/o/r.git?private_token=SECRET6", "git+https://gitlab.example/o/r.git"],
    ];
    for (const [url, expected] of cases) {
      const r = await cli([
        "provenance",
        "-u",
        `oci:${REPO_ROOT}/fixtures/oci-layout:demo`,
        "--platform",
        "linux/amd64",
        "--subject",
        `${dir}/os.img`,
      ], {
        env: {
          CODEBUILD_BUILD_ARN: "arn:aws:codebuild:us-east-1:123456789012:build/p:1",
          CODEBUILD_SOURCE_REPO_URL: url,
          CODEBUILD_RESOLVED_SOURCE_VERSION: "a".repeat(40),
        },
      });
      assert.equal(r.code, 0, r.stderr);
      const leaked = /SECRET\d|p@ss|ss@|access_token|private_token/.exec(
        r.stdoutText,
      );
      assert.equal(leaked, null, `${url}: the provenance carries ${leaked?.[0]}`);
      const deps = JSON.parse(r.stdoutText).predicate.buildDefinition.resolvedDependencies as {
        uri: string;
      }[];
      assert.ok(deps.some((d) => d.uri === expected), `${url}: ${deps.map((d) => d.uri).join(", ")}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stripUrlCredentials: userinfo of every scheme and secret-bearing parameters, nothing else", () => {
  assert.equal(stripUrlCredentials("https://u:p@h.example/a?x=1&token=t#f"), "https://h.example/a?x=1#f");
  assert.equal(stripUrlCredentials("s3://AKID:secret@bucket/key"), "s3://bucket/key");
  assert.equal(stripUrlCredentials("ssh://git:tok@h/r", { keepUsername: true }), "ssh://git@h/r");
  assert.equal(stripUrlCredentials("https://GitHub.com/O/R?a=b%20c"), "https://GitHub.com/O/R?a=b%20c");
  assert.equal(stripUrlCredentials("https://h/r?X-Amz-Signature=s&a=b+c"), "https://h/r?a=b+c");
  assert.equal(stripUrlCredentials("user:pass@host/path"), "host/path");
});

Deno.test("hostile 16: registry hosts named like Object.prototype keys are hosts, not prototype lookups", async () => {
  await using reg = startServer(() => basicChallenge());
  await using cfg = await dockerConfigDir("other.example", { auth: btoa("u:p") }, {
    credHelpers: { "other.example": "pass" },
  });
  const problems: string[] = [];
  for (const host of ["toString", "hasOwnProperty", "valueOf", "isPrototypeOf"]) {
    const r = await cli([
      "get_manifest",
      "-u",
      `${host}/app:1`,
      "--registry-endpoint",
      `${host}=${reg.url}`,
      "--timeout",
      "5",
    ], { env: { DOCKER_CONFIG: cfg.dir } });
    const line = r.stderr.trimEnd();
    if (
      r.code !== 1 || line.includes("\n") ||
      !/requires authentication \(Basic\): no credentials found/.test(line)
    ) {
      problems.push(`${host}: exit ${r.code}: ${line}`);
    }
  }
  // No mapping for the host itself: the endpoint table must not answer with Object's own properties either.
  const r = await cli([
    "get_manifest",
    "-u",
    "Constructor/app:1",
    "--registry-endpoint",
    `other.example=${reg.url}`,
    "--plain-http",
    "--retries",
    "0",
    "--timeout",
    "5",
  ]);
  if (r.code !== 1 || /TypeError|Invalid URL|function/.test(r.stderr)) {
    problems.push(`Constructor: ${r.stderr}`);
  }
  assert.deepEqual(problems, []);
});

// ---------------------------------------------------------------------------------------------------------------
// 17: the ECR token cache

Deno.test("hostile 17: the ECR token cache is trusted only as the user's own regular file, briefly, per identity", async (t) => {
  const password = `ecr-${crypto.randomUUID()}`;
  const host = parseEcrHost(ECR_HOST)!;
  let calls = 0;
  const getAuthorizationToken = () => {
    calls++;
    return Promise.resolve({
      authorizationToken: btoa(`AWS:${password}`),
      expiresAt: new Date(Date.now() + 3600_000),
    });
  };
  const base = await Deno.makeTempDir({ prefix: "hostile-ecr-cache-" });
  const dir = `${base}/ecrimagemetadataextractor`;
  /** Ask for the token as the CLI would, as `key`; true when the cached token was used (no API call). */
  const usedCache = async (key = "AKIDEXAMPLE1") => {
    const env = {
      AWS_ACCESS_KEY_ID: key,
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/EXAMPLEKEY",
      XDG_CACHE_HOME: base,
    };
    const settings = credentialSettings(env, { cache: true, uid: Deno.uid() });
    const before = calls;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cred = await Promise.race([
      ecrCredential({ ...settings.ecr, host, getAuthorizationToken }),
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error("hung reading the cache")), 5000)
      ),
    ]).finally(() => clearTimeout(timer));
    assert.equal(cred.kind === "basic" ? cred.password : undefined, password);
    return calls === before;
  };
  const only = () => {
    const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".json"));
    assert.equal(files.length, 1, files.map((f) => f.name).join(", "));
    return `${dir}/${files[0].name}`;
  };
  /** Put a working token back as a plain 0600 file of ours; `fields` change it. */
  const plant = async (fields: Record<string, unknown> = {}) => {
    const file = only();
    await Deno.remove(file);
    const now = Date.now();
    const token = { username: "AWS", password, expiresAt: now + 3600_000, writtenAt: now, ...fields };
    await Deno.writeTextFile(file, JSON.stringify(token), { mode: 0o600 });
    await Deno.chmod(file, 0o600);
    return file;
  };
  try {
    await t.step("the first call fills the cache, the second uses it", async () => {
      assert.equal(await usedCache(), false);
      assert.equal(await usedCache(), true);
      await plant();
      assert.equal(await usedCache(), true, "a planted file like the tool's own is used");
    });

    await t.step("a symlink in place of the cache file is not followed", async () => {
      const file = await plant();
      await Deno.rename(file, `${base}/elsewhere.json`);
      await Deno.symlink(`${base}/elsewhere.json`, file);
      assert.equal(await usedCache(), false, "the symlinked cache was used");
      assert.ok(!(await Deno.lstat(only())).isSymlink, "the fresh token replaced the link");
    });

    await t.step({
      name: "a 0600 file owned by another user is not trusted",
      ignore: Deno.uid() !== 0,
      fn: async () => {
        const file = await plant();
        await Deno.chown(file, 65534, 65534);
        assert.equal(await usedCache(), false, "another user's cache file was used");
      },
    });

    await t.step("a cache directory writable by others is not trusted, nor written to", async () => {
      await plant();
      await Deno.chmod(dir, 0o777);
      assert.equal(await usedCache(), false, "a world-writable cache directory was trusted");
      await Deno.chmod(dir, 0o700);
    });

    await t.step({
      name: "a cache directory owned by another user is not trusted",
      ignore: Deno.uid() !== 0,
      fn: async () => {
        await plant();
        await Deno.chown(dir, 65534, 65534);
        assert.equal(await usedCache(), false, "another user's cache directory was trusted");
        await Deno.chown(dir, Deno.uid(), Deno.gid());
      },
    });

    await t.step(
      "an expiry beyond the 12 hours ECR issues, counted from when it was written, is not honoured",
      async () => {
        const year2500 = Date.parse("2500-01-01T00:00:00Z");
        await plant({ expiresAt: year2500, writtenAt: Date.now() - 13 * 3600_000 });
        assert.equal(await usedCache(), false, "a token written 13 hours ago was used");
        await plant({ expiresAt: year2500, writtenAt: undefined });
        assert.equal(await usedCache(), false, "a token of unknown age was used");
        await plant({ expiresAt: year2500, writtenAt: Date.now() + 24 * 3600_000 });
        assert.equal(await usedCache(), false, "a token written in the future was used");
        const written = JSON.parse(await Deno.readTextFile(only()));
        assert.ok(
          written.expiresAt <= written.writtenAt + 12 * 3600_000,
          "the tool writes what it will believe",
        );
      },
    );

    await t.step("a FIFO in place of the cache file: ignored, no hang", async () => {
      const file = await plant();
      await Deno.remove(file);
      await new Deno.Command("mkfifo", { args: ["-m", "600", file] }).output();
      assert.equal(await usedCache(), false);
    });

    await t.step("two AWS_ACCESS_KEY_ID values never share a token", async () => {
      assert.equal(await usedCache("AKIDEXAMPLE1"), true);
      assert.equal(await usedCache("AKIDEXAMPLE2"), false, "another access key id reused the token");
      assert.equal(await usedCache("AKIDEXAMPLE2"), true);
      assert.equal(await usedCache("AKIDEXAMPLE1"), true);
    });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
