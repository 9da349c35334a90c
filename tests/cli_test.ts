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
      CODEBUILD_BUILD_ARN: "arn:aws:codebuild:us-east-1:1:build/p:1",
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
      "config.json",
      "image.descriptor.json",
      "index.json",
      "manifest.json",
      "provenance.intoto.json",
      "sbom.cdx.json",
    ]);
    assert.deepEqual(names(b), names(a));
    for (const n of names(a)) {
      assert.deepEqual(await Deno.readFile(`${a}/${n}`), await Deno.readFile(`${b}/${n}`), `${n} differs`);
    }
    const statement = JSON.parse(await Deno.readTextFile(`${a}/provenance.intoto.json`));
    assert.equal(statement.subject[0].name, "os.img");
    const sbom = JSON.parse(await Deno.readTextFile(`${a}/sbom.cdx.json`));
    assert.equal(sbom.metadata.timestamp, "2023-11-14T22:13:20.000Z");
    const manifest = await Deno.readFile(`${a}/manifest.json`);
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

Deno.test("cli: the demo task runs with no network permission at all", async () => {
  const out = await Deno.makeTempDir();
  try {
    const cmd = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        `--allow-read=${REPO_ROOT},${out}`,
        `--allow-write=${out}`,
        "--allow-env",
        "--config",
        `${REPO_ROOT}/deno.json`,
        `${REPO_ROOT}/main.ts`,
        "capture",
        "-u",
        `${LAYOUT}:demo`,
        "--platform",
        "linux/amd64",
        "--subject",
        `${REPO_ROOT}/fixtures/oci-layout/index.json`,
        "--output-dir",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    });
    const r = await cmd.output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    assert.ok((await Deno.stat(`${out}/sbom.cdx.json`)).size > 0);
    assert.ok((await Deno.stat(`${out}/provenance.intoto.json`)).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("cli: capture removes files of an earlier capture that no longer apply", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const subject = `${dir}/os.img`;
    await Deno.writeTextFile(subject, "image\n");
    const first = await cli([
      "capture",
      "-u",
      `${LAYOUT}:demo`,
      "--platform",
      "linux/arm64",
      "--output-dir",
      dir,
      "--subject",
      subject,
    ]);
    assert.equal(first.code, 0, first.stderr);
    await Deno.writeTextFile(`${dir}/unrelated.txt`, "keep me\n");
    // A single-platform image, no subject, XML: index.json, provenance and the JSON SBOM must go.
    const second = await cli([
      "capture",
      "-u",
      `${LAYOUT}:demo-amd64`,
      "--output-dir",
      dir,
      "--format",
      "cyclonedx-xml",
    ]);
    assert.equal(second.code, 0, second.stderr);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, [
      "config.json",
      "image.descriptor.json",
      "manifest.json",
      "os.img",
      "sbom.cdx.xml",
      "unrelated.txt",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
