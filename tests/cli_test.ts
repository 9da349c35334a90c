/**
 * The command line as users meet it: usage errors and exit codes, CODEBUILD_BUILD_IMAGE, help and version,
 * and the commands end to end on the bundled OCI layout (no network).
 */

import assert from "node:assert/strict";
import { cli, REPO_ROOT } from "./support/cli.ts";
import { VERSION } from "../src/version.ts";

const LAYOUT = `oci:${REPO_ROOT}/fixtures/oci-layout`;

Deno.test("cli: usage errors exit 2 with one line and nothing on stdout", async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["no image and no CODEBUILD_BUILD_IMAGE", ["get_manifest"], {}, /no image given.*CODEBUILD_BUILD_IMAGE/],
    [
      "curated CodeBuild image",
      ["get_manifest"],
      { CODEBUILD_BUILD_IMAGE: "aws/codebuild/standard:7.0" },
      /curated AWS CodeBuild image/,
    ],
    [
      "invalid reference",
      ["get_manifest", "-u", "Registry.example/UPPER:tag"],
      {},
      /invalid image reference/,
    ],
    ["invalid platform", ["get_manifest", "-u", "alpine", "--platform", "linux/"], {}, /invalid platform/],
    ["bad --retries", ["get_manifest", "-u", "alpine", "--retries", "many"], {}, /invalid --retries/],
    [
      "bad --registry-endpoint",
      ["get_manifest", "-u", "x.io/a", "--registry-endpoint", "nope"],
      {},
      /HOST=URL/,
    ],
    [
      "bad SOURCE_DATE_EPOCH",
      ["sbom", "-u", `${LAYOUT}:demo`],
      { SOURCE_DATE_EPOCH: "yesterday" },
      /SOURCE_DATE_EPOCH/,
    ],
    ["provenance without --subject", ["provenance", "-u", "alpine"], {}, /needs at least one --subject/],
    ["unknown command", ["get_everything"], {}, /unknown command|too many arguments/],
    ["unknown option", ["get_manifest", "--frobnicate"], {}, /unknown option/],
    ["bad --format", ["sbom", "-u", "alpine", "--format", "spdx"], {}, /invalid/],
  ];
  for (const [name, args, env, pattern] of cases) {
    await t.step(name, async () => {
      const r = await cli(args, { env });
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.equal(r.stdout.length, 0);
      assert.match(r.stderr, pattern);
    });
  }
});

Deno.test("cli: --help and --version", async () => {
  const help = await cli(["--help"]);
  assert.equal(help.code, 0);
  for (const word of ["get_manifest", "get_digest_metadata", "sbom", "provenance", "capture", "--version"]) {
    assert.ok(help.stdoutText.includes(word), word);
  }
  const manifestHelp = await cli(["help", "get_manifest"]);
  assert.equal(manifestHelp.code, 0);
  assert.match(manifestHelp.stdoutText, /-u \[--image-uri\]/);
  const sub = await cli(["sbom", "--help"]);
  assert.equal(sub.code, 0);
  assert.match(sub.stdoutText, /--spec-version/);
  const version = await cli(["--version"]);
  assert.equal(version.code, 0);
  assert.equal(version.stdoutText.trim(), VERSION);
  const denoJson = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  assert.equal(denoJson.version, VERSION, "deno.json version and src/version.ts must agree");
});

Deno.test("cli: CODEBUILD_BUILD_IMAGE names the image when -u is absent", async () => {
  const r = await cli(["get_digest_metadata", "--platform", "linux/arm64"], {
    env: { CODEBUILD_BUILD_IMAGE: `${LAYOUT}:demo` },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdoutText).architecture, "arm64");
});

Deno.test("cli: capture writes every file, reproducibly with SOURCE_DATE_EPOCH", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  try {
    const subject = `${a}/os.img`;
    await Deno.writeFile(subject, new TextEncoder().encode("an OS image\n"));
    const env = {
      SOURCE_DATE_EPOCH: "1700000000",
      CODEBUILD_BUILD_ARN: "arn:aws:codebuild:us-east-1:123456789012:build/p:1",
    };
    for (const dir of [a, b]) {
      const r = await cli(
        [
          "capture",
          "-u",
          `${LAYOUT}:demo`,
          "--platform",
          "linux/amd64",
          "--output-dir",
          dir,
          "--subject",
          subject,
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
    }
    const names = (dir: string) =>
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n !== "os.img").sort();
    assert.deepEqual(names(a), [
      "build-env.artifacts.cdx.json",
      "build-env.capture.json",
      "build-env.cdx.json",
      "build-env.config.json",
      "build-env.descriptor.json",
      "build-env.index.json",
      "build-env.intoto.json",
      "build-env.manifest.json",
    ]);
    assert.deepEqual(names(b), names(a));
    for (const n of names(a)) {
      assert.deepEqual(await Deno.readFile(`${a}/${n}`), await Deno.readFile(`${b}/${n}`), `${n} differs`);
    }
    const statement = JSON.parse(await Deno.readTextFile(`${a}/build-env.intoto.json`));
    assert.equal(statement.subject[0].name, "os.img");
    const sbom = JSON.parse(await Deno.readTextFile(`${a}/build-env.cdx.json`));
    assert.equal(sbom.metadata.timestamp, "2023-11-14T22:13:20.000Z");
    const manifest = await Deno.readFile(`${a}/build-env.manifest.json`);
    const getManifest = await cli(["get_manifest", "-u", `${LAYOUT}:demo`, "--platform", "linux/amd64"]);
    assert.deepEqual(manifest, getManifest.stdout);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("cli: sbom XML and provenance descriptor from the layout", async () => {
  const xml = await cli([
    "sbom",
    "-u",
    `${LAYOUT}:demo-arm64`,
    "--format",
    "cyclonedx-xml",
    "--spec-version",
    "1.5",
  ]);
  assert.equal(xml.code, 0, xml.stderr);
  assert.match(xml.stdoutText, /^<\?xml/);
  assert.match(xml.stdoutText, /xmlns="http:\/\/cyclonedx\.org\/schema\/bom\/1\.5"/);
  assert.match(xml.stdoutText, /<component type="container"/);
  const d = await cli([
    "provenance",
    "-u",
    `${LAYOUT}:demo`,
    "--platform",
    "linux/amd64",
    "--format",
    "descriptor",
  ]);
  assert.equal(d.code, 0, d.stderr);
  const descriptor = JSON.parse(d.stdoutText);
  assert.match(descriptor.uri, /^pkg:oci\//);
  assert.match(descriptor.digest.sha256, /^[0-9a-f]{64}$/);
});

Deno.test("cli: `deno task demo` runs as documented, with no network permission, from any directory", async () => {
  const elsewhere = await Deno.makeTempDir();
  const out = `${REPO_ROOT}/demo-out`;
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "--config", `${REPO_ROOT}/deno.json`, "demo"],
      cwd: elsewhere,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const task = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks.demo as string;
    assert.doesNotMatch(task, /--allow-net|--allow-all|-A\b/, "the demo needs no network");
    const sbom = JSON.parse(await Deno.readTextFile(`${out}/build-env.cdx.json`));
    assert.equal(sbom.metadata.component.name, "demo");
    assert.equal(
      JSON.parse(await Deno.readTextFile(`${out}/build-env.intoto.json`)).subject[0].name,
      "index.json",
    );
    // A second run replaces its own files (the record says they are its own).
    const again = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "--config", `${REPO_ROOT}/deno.json`, "demo"],
      cwd: elsewhere,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(again.code, 0, new TextDecoder().decode(again.stderr));
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});
