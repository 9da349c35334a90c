/**
 * Secrets never leak: every command with `--verbose`, against the real registry with Basic and with token auth
 * (credentials from a docker config file, TLS with the test CA), must not print the password, the Basic
 * credential, any token or any `Authorization` value, on stdout, stderr or into the files it writes. The same
 * for failures, and for ECR-style presigned redirect URLs, whose signature must not reach the log.
 */

import assert from "node:assert/strict";
import { cli } from "./support/cli.ts";
import { faults, startFaultProxy } from "./support/fault_proxy.ts";
import { seedImages } from "./support/images.ts";
import { freePort, type RegistryAuth, startRegistry } from "./support/registry.ts";

const dec = new TextDecoder();

/** What must never appear anywhere the tool writes. */
interface Secrets {
  /** Verbatim strings: passwords, base64 credentials, signatures. */
  literals: string[];
}

/** Every leak found in `text` (`where` names it in the messages). */
function leaks(text: string, where: string, secrets: Secrets): string[] {
  const found: string[] = [];
  for (const s of secrets.literals) {
    if (text.includes(s)) found.push(`${where} contains the secret ${JSON.stringify(s.slice(0, 6))}...`);
  }
  const patterns: [RegExp, string][] = [
    [/eyJ[A-Za-z0-9_-]{8,}/, "a JWT-looking string"],
    [/authorization:\s*(?!(?:basic|bearer)\s+REDACTED\b|REDACTED\b)\S+/i, "an Authorization value"],
    [/\bBearer\s+(?!REDACTED\b)[A-Za-z0-9._~+/-]{8,}/, "a Bearer credential"],
    [/\bBasic\s+(?!REDACTED\b)[A-Za-z0-9+/]{8,}=*/, "a Basic credential"],
    [/X-Amz-Signature=(?!REDACTED\b)[^&\s"']+/i, "a presigned URL signature"],
  ];
  for (const [re, what] of patterns) {
    const m = re.exec(text);
    if (m) found.push(`${where} contains ${what}: ${JSON.stringify(m[0].slice(0, 40))}`);
  }
  return found;
}

async function dockerConfig(host: string, username: string, password: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "docker-config-" });
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({ auths: { [host]: { auth: btoa(`${username}:${password}`) } } }),
  );
  return dir;
}

async function filesIn(dir: string): Promise<{ name: string; text: string }[]> {
  const out: { name: string; text: string }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.push({ name: e.name, text: dec.decode(await Deno.readFile(`${dir}/${e.name}`)) });
  }
  return out;
}

for (const auth of ["basic", "token"] as RegistryAuth[]) {
  Deno.test(`secrets (${auth}): no credential or token in any output of any command with --verbose`, async (t) => {
    await using reg = await startRegistry({ auth });
    const catalog = await seedImages(reg);
    const secrets: Secrets = {
      literals: [reg.password!, btoa(`${reg.username}:${reg.password}`)],
    };
    const config = await dockerConfig(reg.host, reg.username!, reg.password!);
    const work = await Deno.makeTempDir({ prefix: "secrets-out-" });
    try {
      const env = { DOCKER_CONFIG: config };
      const tls = ["--ca-file", reg.caCertFile!];
      // The index exercises the most requests (index, platform manifest, config).
      const ref = `${reg.host}/${catalog.multi.reference}`;
      const common = ["-u", ref, "--platform", "linux/amd64", "--verbose", ...tls];

      await t.step("every command succeeds and prints nothing secret", async () => {
        const commands: [string, string[]][] = [
          ["get_manifest", ["get_manifest", ...common]],
          ["get_digest_metadata", ["get_digest_metadata", ...common]],
          ["sbom", ["sbom", ...common]],
          ["sbom -o", ["sbom", ...common, "-o", `${work}/sbom-o.cdx.json`]],
          ["provenance", ["provenance", "--format", "descriptor", ...common]],
          ["capture", ["capture", "--output-dir", `${work}/capture`, ...common]],
        ];
        await Deno.mkdir(`${work}/capture`);
        const results = await Promise.all(commands.map(([, args]) => cli(args, { env })));
        const found: string[] = [];
        for (const [i, [name]] of commands.entries()) {
          const r = results[i];
          assert.equal(r.code, 0, `${name} failed: ${r.stderr}`);
          // The log really shows the exchanges, credentials included, redacted.
          assert.match(r.stderr, /debug: > GET https:\/\/127\.0\.0\.1:\d+\/v2\//, `${name}: no request log`);
          assert.match(
            r.stderr,
            auth === "basic" ? /authorization: Basic REDACTED/ : /authorization: Bearer REDACTED/,
            `${name}: the Authorization header should be logged, redacted`,
          );
          if (auth === "token") assert.match(r.stderr, /auth: requesting a token/);
          // Redaction must not mangle what holds no secret: the challenge stays readable.
          assert.match(
            r.stderr,
            auth === "basic"
              ? /www-authenticate: Basic realm="test-registry"/
              : /www-authenticate: Bearer realm="https:\/\/127\.0\.0\.1:\d+\/token",service="test-registry"/,
            `${name}: the challenge should be logged intact`,
          );
          found.push(...leaks(r.stdoutText, `${name} stdout`, secrets));
          found.push(...leaks(r.stderr, `${name} stderr`, secrets));
        }
        const files = [...await filesIn(work), ...await filesIn(`${work}/capture`)];
        assert.ok(
          files.length >= 5,
          `expected the -o file and the capture files, got ${files.map((f) => f.name)}`,
        );
        for (const f of files) found.push(...leaks(f.text, `file ${f.name}`, secrets));
        assert.deepEqual(found, []);
      });

      await t.step(
        "a wrong password: exit 1, and neither it nor the right one in the verbose log",
        async () => {
          const wrong = `wrong-${crypto.randomUUID().slice(0, 12)}`;
          const bad = await dockerConfig(reg.host, reg.username!, wrong);
          try {
            const r = await cli(["get_digest_metadata", ...common], { env: { DOCKER_CONFIG: bad } });
            assert.equal(r.code, 1, r.stderr);
            assert.equal(r.stdout.byteLength, 0);
            assert.match(r.stderr, /error: .*(rejected|refused|unauthorized)/);
            assert.match(r.stderr, /debug: /, "the verbose log should be there");
            const literals = [...secrets.literals, wrong, btoa(`${reg.username}:${wrong}`)];
            assert.deepEqual(leaks(r.stderr, "stderr", { literals }), []);
          } finally {
            await Deno.remove(bad, { recursive: true });
          }
        },
      );
    } finally {
      await Deno.remove(config, { recursive: true });
      await Deno.remove(work, { recursive: true });
    }
  });
}

Deno.test("secrets: presigned blob URLs (ECR's 307 to S3) never show their signature", async (t) => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  await using proxy = await startFaultProxy(reg);
  const username = "AWS";
  const password = `ecr-${crypto.randomUUID()}`;
  const basic = { username, password };
  const config = await dockerConfig(proxy.host, username, password);
  const secrets: Secrets = {
    literals: ["SECRETSIG", "ASIAFAKECREDENTIAL", password, btoa(`${username}:${password}`)],
  };
  const run = (scenario: string, extra: string[] = []) =>
    cli([
      "get_digest_metadata",
      "-u",
      proxy.ref(scenario, catalog.oci.reference),
      "--plain-http",
      "--verbose",
      ...extra,
    ], { env: { DOCKER_CONFIG: config } });
  try {
    await t.step(
      "success: the redirect and the S3 request are logged with the signature redacted",
      async () => {
        proxy.scenario("s3ok", faults.presignedBlobs({ basic }));
        const r = await run("s3ok");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdoutText, dec.decode(catalog.oci.configBytes));
        const s3 = proxy.requests("s3ok", "s3");
        assert.equal(s3.length, 1);
        assert.match(s3[0].target, /X-Amz-Signature=SECRETSIG/, "the signature did reach S3");
        assert.match(r.stderr, /location: http:\/\/127\.0\.0\.1:\d+\/s3ok\/.*X-Amz-Signature=REDACTED/);
        assert.match(r.stderr, /> GET http:\/\/127\.0\.0\.1:\d+\/s3ok\/.*X-Amz-Signature=REDACTED/);
        assert.deepEqual(leaks(r.stderr, "stderr", secrets), []);
      },
    );

    await t.step("S3 refusing (403): the error and the log hold no signature", async () => {
      proxy.scenario("s3denied", faults.presignedBlobs({ basic, s3Status: 403 }));
      const r = await run("s3denied");
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout.byteLength, 0);
      assert.match(r.stderr, /error: .*forbidden/);
      assert.deepEqual(leaks(r.stderr, "stderr", secrets), []);
    });

    await t.step("S3 failing (503) and retried: the retry log holds no signature", async () => {
      proxy.scenario("s3flaky", faults.presignedBlobs({ basic, s3Status: 503 }));
      const r = await run("s3flaky", ["--retries", "1"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /debug: retry 1\/1 of GET http:\/\/127\.0\.0\.1:\d+\/s3flaky\//);
      assert.equal(proxy.requests("s3flaky", "s3").length, 2);
      assert.deepEqual(leaks(r.stderr, "stderr", secrets), []);
    });

    await t.step("S3 unreachable (connection refused): the error and the log hold no signature", async () => {
      proxy.scenario("s3down", faults.presignedBlobs({ basic, s3Base: `http://127.0.0.1:${freePort()}` }));
      const r = await run("s3down", ["--retries", "0"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /error: connection refused by http:\/\/127\.0\.0\.1:\d+;/);
      assert.deepEqual(leaks(r.stderr, "stderr", secrets), []);
    });
  } finally {
    await Deno.remove(config, { recursive: true });
  }
});
