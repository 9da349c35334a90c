/**
 * `deno compile` cannot run on this machine (it downloads its runtime), so this test checks what the compiled
 * binary would be allowed to do: it runs main.ts under exactly the permission flags of the `compile` task and
 * exercises every path that needs one (registry over the network, docker config and CA file reads, a
 * credential helper from the allowed list, output files, SBOM formatting).
 */

import assert from "node:assert/strict";
import { cliCommand, REPO_ROOT, sharedDenoDir } from "./support/cli.ts";
import { startEcrApi } from "./support/ecr_api.ts";
import { seedImages } from "./support/images.ts";
import { startRegistry } from "./support/registry.ts";

function compileFlags(task: string): string[] {
  return task.split(/\s+/).filter((a) =>
    a.startsWith("--allow-") || a === "--deny-net" || a.startsWith("--deny-")
  );
}

Deno.test("compile task: narrow permissions are enough for every command", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  const task: string = denoJson.tasks.compile;
  assert.match(task, /^deno compile /);
  assert.match(task, /--output dist\/ecrimagemetadataextractor main\.ts$/);
  const flags = compileFlags(task);
  assert.ok(!flags.includes("--allow-all") && !flags.includes("-A"), "compile must not use --allow-all");
  const run = flags.find((f) => f.startsWith("--allow-run"));
  assert.ok(
    run?.startsWith("--allow-run="),
    "--allow-run must list the credential helpers, not allow everything",
  );
  for (const name of run!.slice("--allow-run=".length).split(",")) {
    assert.match(name, /^docker-credential-[a-z0-9-]+$/);
  }

  await using reg = await startRegistry({ auth: "basic", username: "AWS" });
  const ecrApi = startEcrApi(reg.password!);
  const ecrHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
  const catalog = await seedImages(reg);
  const tmp = await Deno.makeTempDir({ prefix: "compile-perms-" });
  try {
    await Deno.mkdir(`${tmp}/bin`);
    await Deno.writeTextFile(
      `${tmp}/bin/docker-credential-pass`,
      `#!/bin/sh\nread host\nprintf '{"ServerURL":"%s","Username":"${reg.username}","Secret":"${reg.password}"}' "$host"\n`,
      { mode: 0o755 },
    );
    await Deno.mkdir(`${tmp}/docker`);
    await Deno.writeTextFile(`${tmp}/docker/config.json`, JSON.stringify({ credsStore: "pass" }));
    const denoDir = await sharedDenoDir();
    const runs: [string, string[], Record<string, string>][] = [
      ["get_manifest", ["-u", `${reg.host}/${catalog.nested.reference}`], {}],
      ["sbom", ["-u", `${reg.host}/${catalog.nested.reference}`], {}],
      // ECR: the AWS SDK needs sys access (osRelease) besides net/env/read.
      ["get_digest_metadata", [
        "-u",
        `${ecrHost}/${catalog.nested.reference}`,
        "--registry-endpoint",
        `${ecrHost}=${reg.url}`,
      ], {
        AWS_ENDPOINT_URL_ECR: ecrApi.url,
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "secret",
        DOCKER_CONFIG: `${tmp}/no-docker-config`,
      }],
    ];
    for (const [command, refArgs, extraEnv] of runs) {
      const { program, args: prefix } = cliCommand();
      const out = await new Deno.Command(program, {
        args: [
          ...prefix,
          command,
          ...refArgs,
          "--ca-file",
          reg.caCertFile!,
          "-o",
          `${tmp}/${command}.out`,
        ],
        clearEnv: true,
        env: {
          PATH: `${tmp}/bin:${Deno.env.get("PATH")}`,
          HOME: tmp,
          DOCKER_CONFIG: `${tmp}/docker`,
          NO_COLOR: "1",
          ...(denoDir ? { DENO_DIR: denoDir } : {}),
          ...extraEnv,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, `${command}: ${new TextDecoder().decode(out.stderr)}`);
    }
    assert.deepEqual(await Deno.readFile(`${tmp}/get_manifest.out`), catalog.nested.manifestBytes);
    assert.equal(JSON.parse(await Deno.readTextFile(`${tmp}/sbom.out`)).bomFormat, "CycloneDX");
    assert.deepEqual(await Deno.readFile(`${tmp}/get_digest_metadata.out`), catalog.nested.configBytes);
    assert.equal(ecrApi.calls.length, 1);
  } finally {
    await ecrApi.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});
