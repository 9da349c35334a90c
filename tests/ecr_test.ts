/**
 * ECR end to end. The only stand-in is the ECR API (`GetAuthorizationToken`, reached through the AWS SDK's
 * standard `AWS_ENDPOINT_URL_ECR`); the token it hands out must open a real registry (Distribution with htpasswd
 * user `AWS`) over TLS, reached from the ECR host name through `--registry-endpoint`.
 */

import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { startEcrApi } from "./support/ecr_api.ts";
import { seedImages } from "./support/images.ts";
import { startRegistry } from "./support/registry.ts";
import { skopeoInspect } from "./support/skopeo.ts";

const ACCOUNT = "123456789012";
const HOST = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;

Deno.test("ecr: GetAuthorizationToken -> Basic AWS:<token> opens the real registry; token cached 0600", async (t) => {
  await using reg = await startRegistry({ auth: "basic", username: "AWS" });
  const catalog = await seedImages(reg);
  const api = startEcrApi(reg.password!);
  const cache = await Deno.makeTempDir({ prefix: "ecr-cache-" });
  const env = {
    AWS_ENDPOINT_URL_ECR: api.url,
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    XDG_CACHE_HOME: cache,
  };
  const ref = `${HOST}/${catalog.original.reference}`;
  const args = ["--registry-endpoint", `${HOST}=${reg.url}`, "--ca-file", reg.caCertFile!];
  try {
    await t.step("first run calls the ECR API once, in the host's region, and matches skopeo", async () => {
      await reg.clearRequests();
      const r = await runCli(["get_digest_metadata", "-u", ref, ...args], { env });
      assert.equal(r.code, 0, r.stderr);
      // Basic goes out up front: no 401 round trip.
      const reqs = await reg.requests();
      assert.deepEqual(reqs.map((q) => q.status), [200, 200]);
      assert.deepEqual(r.stdout, await skopeoInspect(reg, catalog.original.reference, { config: true }));
      assert.deepEqual(api.calls, [{ region: "us-east-1", registryIds: [ACCOUNT] }]);
    });

    await t.step("the token is cached on disk with mode 0600 and reused by the next run", async () => {
      const dir = `${cache}/ecrimagemetadataextractor`;
      const files = [...Deno.readDirSync(dir)].map((e) => e.name);
      assert.equal(files.length, 1);
      assert.match(files[0], new RegExp(`^ecr-${ACCOUNT}-us-east-1-[0-9a-f]{32}\\.json$`));
      assert.equal((await Deno.stat(`${dir}/${files[0]}`)).mode! & 0o777, 0o600);
      const r = await runCli(["get_manifest", "-u", ref, ...args], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout, catalog.original.manifestBytes);
      assert.equal(api.calls.length, 1, "second run must not call the ECR API");
    });

    await t.step("a cached token the registry rejects is replaced once from the API", async () => {
      const dir = `${cache}/ecrimagemetadataextractor`;
      const file = `${dir}/${[...Deno.readDirSync(dir)][0].name}`;
      const expiresAt = Date.now() + 3600_000;
      await Deno.writeTextFile(
        file,
        JSON.stringify({ username: "AWS", password: "revoked", expiresAt, writtenAt: Date.now() }),
      );
      const before = api.calls.length;
      const r = await runCli(["get_manifest", "-u", ref, ...args, "-v"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout, catalog.original.manifestBytes);
      assert.match(
        r.stderr,
        /ecr: using the cached authorization token/,
        "the planted token was tried first",
      );
      assert.equal(api.calls.length, before + 1);
      assert.equal(
        JSON.parse(await Deno.readTextFile(file)).password,
        reg.password,
        "cache holds the fresh token",
      );
    });

    await t.step("--no-ecr-cache calls the API again; --region overrides the host's region", async () => {
      const r = await runCli(["get_manifest", "-u", ref, ...args, "--no-ecr-cache", "-r", "eu-west-1"], {
        env,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(api.calls.length, 3);
      assert.equal(api.calls[2].region, "eu-west-1");
    });

    await t.step("verbose output never shows the token", async () => {
      const r = await runCli(["sbom", "-u", ref, ...args, "--no-ecr-cache", "-v"], { env });
      assert.equal(r.code, 0, r.stderr);
      const b64 = btoa(`AWS:${reg.password}`);
      for (const s of [reg.password!, b64, env.AWS_SECRET_ACCESS_KEY]) {
        assert.ok(!r.stderr.includes(s) && !r.stdoutText.includes(s), "secret leaked");
      }
      assert.match(r.stderr, /authorization: Basic REDACTED/);
    });

    await t.step("a FIPS host with AWS_ENDPOINT_URL_ECR set: the configured endpoint wins", async () => {
      // The SDK refuses FIPS together with a custom endpoint ("FIPS and custom endpoint are not supported").
      const fips = `${ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com`;
      const before = api.calls.length;
      const r = await runCli(
        [
          "get_manifest",
          "-u",
          `${fips}/${catalog.original.reference}`,
          "--registry-endpoint",
          `${fips}=${reg.url}`,
          "--ca-file",
          reg.caCertFile!,
          "--no-ecr-cache",
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout, catalog.original.manifestBytes);
      assert.equal(api.calls.length, before + 1);
    });

    await t.step("a failing ECR API is one clear line, exit 1", async () => {
      const r = await runCli(["get_manifest", "-u", ref, ...args, "--no-ecr-cache"], {
        env: { ...env, AWS_ENDPOINT_URL_ECR: "http://127.0.0.1:9" },
      });
      assert.equal(r.code, 1);
      assert.equal(r.stdout.length, 0);
      assert.match(r.stderr, /ECR GetAuthorizationToken failed in us-east-1/);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    });
  } finally {
    await api.stop();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("ecr: the AWS SDK is not loaded for other registries", async () => {
  // A registry that is not ECR must never touch the SDK: with the ECR endpoint pointing at a dead port,
  // a run against a plain registry still succeeds and the verbose log shows no ECR call.
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  const r = await runCli(
    ["get_manifest", "-u", `${reg.host}/${catalog.oci.reference}`, "--plain-http", "-v"],
    {
      env: { AWS_ENDPOINT_URL_ECR: "http://127.0.0.1:9" },
    },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /ecr:/);
});
