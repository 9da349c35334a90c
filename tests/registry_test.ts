/**
 * The core contract against the real registry (Debian's Distribution server) in its three set-ups: every
 * output byte-identical to skopeo's, request counts from the registry's own access log, auth sources and
 * errors. The tool runs as a subprocess, exactly as users run it.
 */

import assert from "node:assert/strict";
import { cli, runCli } from "./support/cli.ts";
import { type Catalog, catalogEntries, type SeededIndex, seedImages } from "./support/images.ts";
import { type RegistryAuth, startRegistry, type TestRegistry } from "./support/registry.ts";
import { skopeoInspect } from "./support/skopeo.ts";
import { sha256Digest } from "./support/push.ts";

const dec = new TextDecoder();

/** How the tool reaches a test registry: flags plus an environment with a docker config holding credentials. */
interface Access {
  args: string[];
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function dockerConfigDir(config: unknown): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "docker-config-" });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  return dir;
}

async function accessFor(reg: TestRegistry, withCredentials = true): Promise<Access> {
  if (!reg.tls) return { args: ["--plain-http"], env: {}, cleanup: async () => {} };
  const args = ["--ca-file", reg.caCertFile!];
  if (!withCredentials || !reg.username) return { args, env: {}, cleanup: async () => {} };
  const dir = await dockerConfigDir({
    auths: { [reg.host]: { auth: btoa(`${reg.username}:${reg.password}`) } },
  });
  return { args, env: { DOCKER_CONFIG: dir }, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(dec.decode(actual), dec.decode(expected), what);
  assert.equal(sha256Digest(actual), sha256Digest(expected), what);
}

async function tool(_reg: TestRegistry, access: Access, args: string[]) {
  const r = await cli([...args, ...access.args], { env: access.env });
  assert.equal(r.code, 0, `${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Wait for every promise before throwing, so no check runs into the next step. */
async function all(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

async function byteExactChecks(reg: TestRegistry, catalog: Catalog, access: Access): Promise<void> {
  const checks: Promise<unknown>[] = [];
  for (const e of catalogEntries(catalog)) {
    for (const ref of [e.reference, e.digestReference]) {
      const uri = `${reg.host}/${ref}`;
      checks.push((async () => {
        const [mine, oracle] = await Promise.all([
          tool(reg, access, ["get_manifest", "-u", uri]),
          skopeoInspect(reg, ref),
        ]);
        assertSameBytes(mine, oracle, `get_manifest ${ref}`);
      })());
    }
    if (e.kind === "image") {
      checks.push((async () => {
        const [mine, oracle] = await Promise.all([
          tool(reg, access, ["get_digest_metadata", "-u", `${reg.host}/${e.reference}`]),
          skopeoInspect(reg, e.reference, { config: true }),
        ]);
        assertSameBytes(mine, oracle, `get_digest_metadata ${e.reference}`);
        assertSameBytes(mine, e.configBytes, `seeded config of ${e.reference}`);
      })());
      continue;
    }
    checks.push(indexChecks(reg, access, e));
  }
  await all(checks);
}

/** For an index: every platform spelling selects the right entry, byte-identical to skopeo's choice. */
async function indexChecks(reg: TestRegistry, access: Access, e: SeededIndex): Promise<void> {
  const amd64 = e.entries.find((m) => m.platform.architecture === "amd64" && !m.attestation)!;
  const arm64 = e.entries.find((m) => m.platform.architecture === "arm64")!;
  const uri = `${reg.host}/${e.reference}`;
  const cases: [string, typeof amd64][] = [
    ["linux/amd64", amd64],
    ["x86_64", amd64],
    ["linux/arm64", arm64],
    ["linux/arm64/v8", arm64],
    ["aarch64", arm64],
    ["arm64/v8", arm64],
  ];
  const checks: Promise<unknown>[] = [];
  for (const [platform, entry] of cases) {
    checks.push((async () => {
      const [manifest, config, oracleManifest, oracleConfig] = await Promise.all([
        tool(reg, access, ["get_manifest", "-u", uri, "--platform", platform]),
        tool(reg, access, ["get_digest_metadata", "-u", uri, "--platform", platform]),
        skopeoInspect(reg, entry.digestReference),
        skopeoInspect(reg, e.reference, {
          config: true,
          platform: { os: "linux", arch: entry.platform.architecture, variant: entry.platform.variant },
        }),
      ]);
      assertSameBytes(manifest, oracleManifest, `get_manifest ${e.reference} --platform ${platform}`);
      assertSameBytes(config, oracleConfig, `get_digest_metadata ${e.reference} --platform ${platform}`);
      assertSameBytes(config, entry.configBytes, `seeded config for ${platform}`);
    })());
  }
  await all(checks);
}

for (const auth of ["none", "basic", "token"] as RegistryAuth[]) {
  Deno.test(`registry (${auth}): outputs are byte-identical to skopeo for every manifest type`, async () => {
    await using reg = await startRegistry({ auth });
    const catalog = await seedImages(reg);
    const access = await accessFor(reg);
    try {
      await byteExactChecks(reg, catalog, access);
    } finally {
      await access.cleanup();
    }
  });
}

Deno.test("registry: the original build image's config comes back exactly, digest and all", async () => {
  await using reg = await startRegistry({ auth: "basic" });
  const catalog = await seedImages(reg);
  const access = await accessFor(reg);
  try {
    const uri = `${reg.host}/${catalog.original.reference}`;
    const config = await tool(reg, access, ["get_digest_metadata", "-u", uri]);
    const fixture = await Deno.readFile(
      new URL("../fixtures/original-build-image/config.json", import.meta.url),
    );
    assertSameBytes(config, fixture, "original config");
    assert.equal(
      sha256Digest(config),
      "sha256:8a4a4313bd7cff420330aaf52e49da247b4c6107f44211d92db576e49b3f9659",
    );
    // The seed tool's argument order (options before the command) and --pretty.
    const r = await cli(["-u", uri, ...access.args, "get_digest_metadata", "--pretty"], {
      env: access.env,
    });
    assert.equal(r.code, 0, r.stderr);
    // Indented, every value as served: the same JSON value, and the registry's own escapes (`\u0026`) kept.
    assert.deepEqual(JSON.parse(r.stdoutText), JSON.parse(dec.decode(fixture)));
    assert.ok(r.stdoutText.startsWith('{\n  "architecture": "amd64",\n'), "two-space indent");
    assert.ok(r.stdoutText.includes("apt update -y \\u0026\\u0026 apt upgrade"), "escapes kept as served");
  } finally {
    await access.cleanup();
  }
});

Deno.test("registry: default platform is this machine's; index stays an index without --platform", async () => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  const access = await accessFor(reg);
  const uri = `${reg.host}/${catalog.multi.reference}`;
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  const entry = catalog.multi.entries.find((m) => m.platform.architecture === arch && !m.attestation)!;
  const config = await tool(reg, access, ["get_digest_metadata", "-u", uri]);
  assertSameBytes(config, entry.configBytes, "default platform config");
  const top = await tool(reg, access, ["get_manifest", "-u", uri]);
  assertSameBytes(top, catalog.multi.manifestBytes, "index bytes");
});

Deno.test("registry: request counts from the access log (no ping, no layers, one round per object)", async (t) => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  const access = await accessFor(reg);

  await t.step("single-platform image: one manifest GET, one config GET", async () => {
    await reg.clearRequests();
    await tool(reg, access, ["get_digest_metadata", "-u", `${reg.host}/${catalog.oci.reference}`]);
    const reqs = await reg.requests();
    assert.deepEqual(
      reqs.map((r) => `${r.method} ${r.path} ${r.status}`),
      [
        `GET /v2/${catalog.oci.repo}/manifests/${catalog.oci.tag} 200`,
        `GET /v2/${catalog.oci.repo}/blobs/${catalog.oci.configDigest} 200`,
      ],
    );
  });

  await t.step("index: one more manifest GET; get_manifest alone is one GET", async () => {
    await reg.clearRequests();
    const uri = `${reg.host}/${catalog.multi.reference}`;
    await tool(reg, access, ["get_digest_metadata", "-u", uri, "--platform", "linux/arm64"]);
    const arm = catalog.multi.entries.find((m) => m.platform.architecture === "arm64")!;
    assert.deepEqual((await reg.requests()).map((r) => `${r.method} ${r.path}`), [
      `GET /v2/${catalog.multi.repo}/manifests/${catalog.multi.tag}`,
      `GET /v2/${catalog.multi.repo}/manifests/${arm.manifestDigest}`,
      `GET /v2/${catalog.multi.repo}/blobs/${arm.configDigest}`,
    ]);
    await reg.clearRequests();
    await tool(reg, access, ["get_manifest", "-u", uri]);
    assert.equal((await reg.requests()).length, 1);
  });

  await t.step("sbom and capture: still one manifest GET (two for an index) and one config GET", async () => {
    const out = await Deno.makeTempDir();
    try {
      await reg.clearRequests();
      await tool(reg, access, ["sbom", "-u", `${reg.host}/${catalog.nested.reference}`]);
      assert.equal((await reg.requests()).length, 2);
      await reg.clearRequests();
      await tool(reg, access, [
        "capture",
        "-u",
        `${reg.host}/${catalog.multi.reference}`,
        "--output-dir",
        out,
      ]);
      const reqs = await reg.requests();
      assert.equal(reqs.filter((r) => r.path.includes("/manifests/")).length, 2);
      assert.equal(reqs.filter((r) => r.path.includes("/blobs/")).length, 1);
      assert.equal(reqs.length, 3);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
});

Deno.test("registry (token): one 401 and one token request per scope; anonymous pulls of public repos", async (t) => {
  await using reg = await startRegistry({ auth: "token" });
  const catalog = await seedImages(reg);
  const access = await accessFor(reg);
  try {
    await t.step("authenticated: 401 once, token once, then the two GETs", async () => {
      await reg.clearRequests();
      const before = reg.tokenRequests().length;
      await tool(reg, access, ["get_digest_metadata", "-u", `${reg.host}/${catalog.oci.reference}`]);
      const reqs = (await reg.requests()).map((r) => `${r.method} ${r.status} ${r.path}`);
      assert.deepEqual(reqs, [
        `GET 401 /v2/${catalog.oci.repo}/manifests/${catalog.oci.tag}`,
        `GET 200 /v2/${catalog.oci.repo}/manifests/${catalog.oci.tag}`,
        `GET 200 /v2/${catalog.oci.repo}/blobs/${catalog.oci.configDigest}`,
      ]);
      const tokens = reg.tokenRequests().slice(before);
      assert.equal(tokens.length, 1);
      assert.equal(tokens[0].authenticated, true);
      assert.deepEqual(tokens[0].scopes, [`repository:${catalog.oci.repo}:pull`]);
    });

    await t.step("anonymous token for a public repository", async () => {
      const anon = await accessFor(reg, false);
      const before = reg.tokenRequests().length;
      const out = await tool(reg, anon, ["get_manifest", "-u", `${reg.host}/${catalog.public.reference}`]);
      assertSameBytes(out, catalog.public.manifestBytes, "public manifest");
      const tokens = reg.tokenRequests().slice(before);
      assert.equal(tokens.length, 1);
      assert.equal(tokens[0].authenticated, false);
    });

    await t.step("no credentials for a private repository: exit 1, says where it looked", async () => {
      const anon = await accessFor(reg, false);
      const r = await cli(["get_manifest", "-u", `${reg.host}/${catalog.oci.reference}`, ...anon.args]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout.length, 0);
      assert.match(r.stderr, /refused access|unauthorized|requires authentication/);
      assert.match(r.stderr, /looked in: .*config\.json/);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    });
  } finally {
    await access.cleanup();
  }
});

Deno.test("registry (basic): credential sources: helper, containers auth file, wrong password", async (t) => {
  await using reg = await startRegistry({ auth: "basic" });
  const catalog = await seedImages(reg);
  const uri = `${reg.host}/${catalog.docker.reference}`;
  const ca = ["--ca-file", reg.caCertFile!];
  const tmp = await Deno.makeTempDir({ prefix: "creds-" });
  try {
    await t.step("docker-credential-<name> helper named in credHelpers", async () => {
      const bin = `${tmp}/bin`;
      await Deno.mkdir(bin);
      const log = `${tmp}/helper.log`;
      // A helper name from the compile task's --allow-run list: the run has the binary's permissions.
      await Deno.writeTextFile(
        `${bin}/docker-credential-pass`,
        `#!/bin/sh\nread host\necho "$1 $host" >> ${log}\n` +
          `if [ "$host" = "${reg.host}" ]; then printf '{"ServerURL":"%s","Username":"${reg.username}","Secret":"${reg.password}"}' "$host"; ` +
          `else echo "credentials not found in native keychain"; exit 1; fi\n`,
        { mode: 0o755 },
      );
      const cfg = await dockerConfigDir({ credHelpers: { [reg.host]: "pass" } });
      const r = await runCli(["get_manifest", "-u", uri, ...ca], {
        env: { DOCKER_CONFIG: cfg, PATH: `${bin}:${Deno.env.get("PATH")}` },
      });
      assert.equal(r.code, 0, r.stderr);
      assertSameBytes(r.stdout, catalog.docker.manifestBytes, "manifest via helper");
      assert.equal((await Deno.readTextFile(log)).trim(), `get ${reg.host}`);
    });

    await t.step("a credential helper that hangs is killed at the --timeout deadline", async () => {
      const bin = `${tmp}/slowbin`;
      await Deno.mkdir(bin);
      await Deno.writeTextFile(`${bin}/docker-credential-secretservice`, "#!/bin/sh\nsleep 30\n", {
        mode: 0o755,
      });
      const cfg = await dockerConfigDir({ credsStore: "secretservice" });
      const started = performance.now();
      const r = await runCli(["get_manifest", "-u", uri, ...ca, "--timeout", "2"], {
        env: { DOCKER_CONFIG: cfg, PATH: `${bin}:${Deno.env.get("PATH")}` },
      });
      const seconds = (performance.now() - started) / 1000;
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /credential helper docker-credential-secretservice did not answer before the deadline/,
      );
      assert.ok(seconds < 10, `took ${seconds} s`);
    });

    await t.step("REGISTRY_AUTH_FILE with a namespaced key", async () => {
      const file = `${tmp}/auth.json`;
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          auths: {
            [`${reg.host}/test`]: { auth: btoa(`${reg.username}:${reg.password}`) },
            [reg.host]: { auth: btoa(`${reg.username}:wrong`) },
          },
        }),
      );
      const r = await cli(["get_digest_metadata", "-u", uri, ...ca], {
        env: { REGISTRY_AUTH_FILE: file },
      });
      assert.equal(r.code, 0, r.stderr);
      assertSameBytes(r.stdout, catalog.docker.configBytes, "config via auth file");
    });

    await t.step("wrong password: exit 1, one line naming the source, no password", async () => {
      const cfg = await dockerConfigDir({
        auths: { [reg.host]: { username: reg.username, password: "not-it-9x" } },
      });
      const r = await cli(["get_manifest", "-u", uri, ...ca], { env: { DOCKER_CONFIG: cfg } });
      assert.equal(r.code, 1);
      assert.equal(r.stdout.length, 0);
      assert.match(r.stderr, /credentials from .*config\.json auths were rejected/);
      assert.ok(!r.stderr.includes("not-it-9x"));
    });

    await t.step("TLS without the CA: a TLS error that suggests --ca-file", async () => {
      const r = await cli(["get_manifest", "-u", uri]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /TLS/);
      assert.match(r.stderr, /--ca-file/);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("registry: errors name the cause, exit 1, print nothing on stdout", async (t) => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  const cases: [string, string[], RegExp][] = [
    [
      "unknown tag",
      ["get_manifest", "-u", `${reg.host}/${catalog.oci.repo}:nope`],
      /not found.*MANIFEST_UNKNOWN/,
    ],
    ["unknown repository", ["get_manifest", "-u", `${reg.host}/no/such/repo:1`], /not found/],
    [
      "no matching platform",
      ["get_digest_metadata", "-u", `${reg.host}/${catalog.multi.reference}`, "--platform", "linux/s390x"],
      /no image for platform linux\/s390x.*it has: linux\/amd64, linux\/arm64\/v8;/,
    ],
    ["connection refused", ["get_manifest", "-u", "127.0.0.1:9/x:1"], /connection refused|failed/],
    [
      "HTTPS against a plain HTTP registry",
      ["get_manifest", "-u", `${reg.host}/${catalog.oci.reference}`],
      /TLS/,
    ],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, async () => {
      const plain = name.startsWith("HTTPS") ? [] : ["--plain-http"];
      const r = await cli([...args, ...plain, "--retries", "0"]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout.length, 0);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    });
  }
});
