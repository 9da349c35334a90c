/**
 * The documented route for machines without the binary, `deno task start`, works as documented (issue 10,
 * part 3): it grants exactly what the compiled binary is granted, reaches ECR (the AWS SDK needs its system
 * information), never stops at a permission prompt even in a terminal, contacts nothing but the registries and
 * AWS endpoints once its dependencies are cached (HTTP(S)_PROXY points at a proxy that records and refuses
 * every connection), and resolves relative paths against the directory the user ran it from.
 */

import assert from "node:assert/strict";
import { COMPILE_FLAGS, permissionFlags, REPO_ROOT, runtimeFlags, sharedDenoDir } from "./support/cli.ts";
import { startEcrApi } from "./support/ecr_api.ts";
import { seedImages } from "./support/images.ts";
import { startRegistry } from "./support/registry.ts";
import { requireBinary } from "./support/tools.ts";

const TASKS = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/deno.json`)).tasks as Record<string, string>;

/** A proxy that counts the connections made to it and refuses them all. */
function refusingProxy(): { url: string; attempts: string[]; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const attempts: string[] = [];
  (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf).catch(() => null);
      attempts.push(new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0]);
      await conn.write(new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")).catch(
        () => {},
      );
      conn.close();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    attempts,
    close: () => listener.close(),
  };
}

Deno.test("deno task start grants exactly what the compiled binary is granted, and never prompts", () => {
  assert.match(TASKS.start, /^deno run --quiet --no-prompt /);
  assert.deepEqual(permissionFlags(TASKS.start), permissionFlags(TASKS.compile));
  // The same V8 flags too: `deno task start` runs as the binary runs.
  assert.deepEqual(runtimeFlags(TASKS.start), COMPILE_FLAGS);
  assert.ok(TASKS.start.endsWith(" main.ts"));
});

Deno.test("deno task start: ECR end to end, offline but for the registry and AWS, paths from the user's directory", async (t) => {
  await using reg = await startRegistry({ auth: "basic", username: "AWS" });
  const catalog = await seedImages(reg);
  const api = startEcrApi(reg.password!);
  const proxy = refusingProxy();
  const host = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
  const user = await Deno.makeTempDir({ prefix: "start-user-" });
  const denoDir = await sharedDenoDir();
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: user,
    NO_COLOR: "1",
    // Deno itself (not the tool) may look for a newer release of Deno (a CONNECT to dl.deno.land through the
    // refusing proxy): the proxy is there to catch the tool's requests, not the runtime's upgrade check.
    DENO_NO_UPDATE_CHECK: "1",
    ...(denoDir ? { DENO_DIR: denoDir } : {}),
    HTTP_PROXY: proxy.url,
    HTTPS_PROXY: proxy.url,
    http_proxy: proxy.url,
    https_proxy: proxy.url,
    NO_PROXY: "127.0.0.1,localhost",
    no_proxy: "127.0.0.1,localhost",
    AWS_ENDPOINT_URL_ECR: api.url,
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    AWS_EC2_METADATA_DISABLED: "true",
    SOURCE_DATE_EPOCH: "1700000000",
  };
  await Deno.copyFile(reg.caCertFile!, `${user}/ca.pem`);
  await Deno.writeTextFile(`${user}/os.img`, "image\n");
  await Deno.mkdir(`${user}/out`);
  const ref = `${host}/${catalog.original.reference}`;
  const common = ["-u", ref, "--registry-endpoint", `${host}=${reg.url}`, "--ca-file", "ca.pem"];
  const start = async (args: string[], opts: { tty?: boolean } = {}) => {
    const argv = [Deno.execPath(), "task", "--quiet", "--config", `${REPO_ROOT}/deno.json`, "start", ...args];
    const [program, programArgs] = opts.tty
      ? [requireBinary("script"), [
        "-qec",
        argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" "),
        "/dev/null",
      ]]
      : [argv[0], argv.slice(1)];
    const out = await new Deno.Command(program, {
      args: programArgs,
      cwd: user,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
  };

  try {
    await t.step("every command, through the real task, relative paths in the user's directory", async () => {
      const runs: [string, string[], string][] = [
        ["get_manifest", [...common, "-o", "manifest.json"], "manifest.json"],
        ["get_digest_metadata", [...common, "-o", "out/config.json"], "out/config.json"],
        ["sbom", [...common, "-o", "out/sbom.json"], "out/sbom.json"],
        ["provenance", [
          ...common,
          "--subject",
          "os.img",
          "--builder-id",
          "https://ci.example/b",
          "-o",
          "prov.json",
        ], "prov.json"],
        ["capture", [
          ...common,
          "--output-dir",
          "out",
          "--subject",
          "os.img",
          "--builder-id",
          "https://ci.example/b",
        ], "out/build-env.capture.json"],
      ];
      for (const [command, args, file] of runs) {
        const r = await start([command, ...args]);
        assert.equal(r.code, 0, `${command}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /Download|npm|registry\.npmjs\.org/, `${command} fetched packages`);
        assert.ok(
          (await Deno.stat(`${user}/${file}`)).isFile,
          `${command} wrote ${file} in the user's directory`,
        );
      }
      assert.deepEqual(await Deno.readFile(`${user}/manifest.json`), catalog.original.manifestBytes);
      assert.deepEqual(await Deno.readFile(`${user}/out/config.json`), catalog.original.configBytes);
      await assert.rejects(Deno.stat(`${REPO_ROOT}/manifest.json`), Deno.errors.NotFound);
      assert.equal(api.calls.length, 1, "one GetAuthorizationToken, the token cached after");
      assert.deepEqual(proxy.attempts, [], "nothing but the registry and the ECR API was contacted");
    });

    await t.step("a permission the binary lacks fails at once with one line, in a terminal too", async () => {
      await Deno.mkdir(`${user}/.docker`, { recursive: true });
      await Deno.writeTextFile(`${user}/.docker/config.json`, JSON.stringify({ credsStore: "notallowed" }));
      // On PATH, but not among the helpers the binary may run.
      await Deno.mkdir(`${user}/bin`);
      await Deno.writeTextFile(`${user}/bin/docker-credential-notallowed`, "#!/bin/sh\necho '{}'\n", {
        mode: 0o755,
      });
      env.PATH = `${user}/bin:${env.PATH}`;
      for (const tty of [false, true]) {
        const r = await start([
          "get_manifest",
          "-u",
          `${reg.host}/${catalog.original.reference}`,
          "--ca-file",
          "ca.pem",
        ], {
          tty,
        });
        assert.equal(r.code, 1, `tty=${tty}: ${r.stderr}`);
        const text = tty ? new TextDecoder().decode(r.stdout) + r.stderr : r.stderr;
        assert.match(text, /not allowed to run credential helper docker-credential-notallowed/, text);
        assert.doesNotMatch(text, /Allow\?|\[y\/n|Info Failed to resolve/i, "no permission prompt, no noise");
      }
      await Deno.remove(`${user}/.docker`, { recursive: true });
    });
  } finally {
    proxy.close();
    await api.stop();
    await Deno.remove(user, { recursive: true });
  }
});
