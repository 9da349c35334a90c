/**
 * OCI image layout source: `oci:` reference parsing, resolution over the umoci-built fixture (multi-arch index,
 * single-platform tags, an attestation entry), byte-for-byte agreement with skopeo, and damaged layouts.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  ConfigError,
  DigestMismatchError,
  ManifestError,
  NotFoundError,
  PlatformNotFoundError,
  ReferenceError,
  TooLargeError,
  UnsupportedError,
} from "../src/errors.ts";
import { digestOf } from "../src/digest.ts";
import type { Descriptor } from "../src/image.ts";
import { MediaTypes } from "../src/image.ts";
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from "../src/manifest.ts";
import {
  formatOciReference,
  isOciReference,
  type OciReference,
  openOciLayout,
  openOciLayoutSource,
  parseOciReference,
} from "../src/oci-layout.ts";
import { parsePlatform } from "../src/platform.ts";
import { resolveImage } from "../src/source.ts";
import { run } from "./support/tools.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/oci-layout", import.meta.url));

// The fixture's digests (fixtures/build-oci-layout.sh prints them).
const INDEX = "sha256:274b71ea5872a717ffa851f013e0b24382259b2c07dd71192b74ad7809d2dab7";
const AMD64 = "sha256:216a17c4334393524456af4709a867f85706b2e916828b8f7ad6f24b015162dd";
const ARM64 = "sha256:74112dfe9456657112bb7edd4fbe67089e52146278293ca75163103f323abb1a";
const ATTESTATION = "sha256:178339522c1ea144d3a1f918c352a2c2c8690f13cdfe02a657eef083fee63117";
const AMD64_CONFIG = "sha256:0c2d59090cae52242b3b68d324dfe5283c31964ac234208dff61b8d920fb071c";
const ARM64_CONFIG = "sha256:38f19467725a3e62d81b94d8922a0c990a22736f4fecadb954c17177bb19bd9d";

const HEX = "a".repeat(64);
const enc = new TextEncoder();

function open(text: string) {
  return openOciLayout(parseOciReference(text), { input: text });
}

async function resolve(text: string, platform: string) {
  return await resolveImage(await open(text), { platform: parsePlatform(platform) });
}

async function skopeo(...args: string[]): Promise<Uint8Array> {
  return (await run("skopeo", ["inspect", ...args], { check: true })).stdout;
}

function blobPath(dir: string, digest: string): string {
  return `${dir}/blobs/sha256/${digest.slice("sha256:".length)}`;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** A scratch copy of the fixture, removed after `fn`. */
async function withCopy(fn: (dir: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "oci-layout-test-" });
  try {
    const dir = `${tmp}/layout`;
    await copyDir(FIXTURE, dir);
    await fn(dir);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function editIndexJson(dir: string, edit: (index: { manifests: Descriptor[] }) => void): Promise<void> {
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  edit(index);
  await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify(index));
}

async function rejectsWith(p: Promise<unknown>, cls: new (...a: never[]) => Error, ...parts: string[]) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(
      err instanceof cls,
      `expected ${cls.name}, got ${(err as Error)?.name}: ${(err as Error)?.message}`,
    );
    for (const part of parts) assert.ok(err.message.includes(part), `"${err.message}" lacks "${part}"`);
    return true;
  });
}

// --- reference parsing -------------------------------------------------------------------------------------------

Deno.test("parseOciReference: valid forms", () => {
  const cases: [string, OciReference][] = [
    ["oci:fixtures/oci-layout", { path: "fixtures/oci-layout" }],
    ["oci:./dir", { path: "./dir" }],
    ["oci:/tmp/x:latest", { path: "/tmp/x", tag: "latest" }],
    ["oci:fixtures/oci-layout:demo", { path: "fixtures/oci-layout", tag: "demo" }],
    ["oci:rel:1.0.0", { path: "rel", tag: "1.0.0" }],
    ["oci:/tmp/x:v1_2-rc.3+build", { path: "/tmp/x", tag: "v1_2-rc.3+build" }],
    ["oci:/tmp/x:a--b", { path: "/tmp/x", tag: "a--b" }],
    ["oci:/tmp/x:foo@bar", { path: "/tmp/x", tag: "foo@bar" }],
    [`oci:/tmp/x@sha256:${HEX}`, { path: "/tmp/x", digest: `sha256:${HEX}` }],
    [`oci:/tmp/x:v1@sha256:${HEX}`, { path: "/tmp/x", tag: "v1", digest: `sha256:${HEX}` }],
    ["oci:/tmp/a:b/c", { path: "/tmp/a:b/c" }],
    ["oci:/tmp/a@b/c", { path: "/tmp/a@b/c" }],
    ["oci:/tmp/a@b/c:t", { path: "/tmp/a@b/c", tag: "t" }],
    ["oci:C:\\images\\app", { path: "C:\\images\\app" }],
    ["oci:C:\\images\\app:1.0", { path: "C:\\images\\app", tag: "1.0" }],
    ["oci:/", { path: "/" }],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(parseOciReference(text), want, text);
    assert.deepEqual(parseOciReference(formatOciReference(want)), want, `round trip ${text}`);
  }
  assert.equal(isOciReference("oci:x"), true);
  assert.equal(isOciReference("docker.io/library/alpine"), false);
});

Deno.test("parseOciReference: invalid forms are ReferenceError (exit 2)", () => {
  const bad = [
    "fixtures/oci-layout",
    "docker://alpine",
    "oci:",
    "oci::demo",
    "oci:/tmp/x:",
    "oci:/tmp/x:bad tag",
    "oci:/tmp/x:-lead",
    "oci:/tmp/x:trail.",
    "oci:/tmp/x:a..b",
    "oci:/tmp/x:a---b",
    "oci:/tmp/x:é",
    `oci:/tmp/x:${"a".repeat(129)}`,
    "oci:/tmp/x@sha256:abc",
    `oci:/tmp/x@sha256:${"A".repeat(64)}`,
    `oci:/tmp/x@md5:${HEX}`,
    `oci:@sha256:${HEX}`,
    "oci:/tmp/x\n:tag",
  ];
  for (const text of bad) {
    assert.throws(() => parseOciReference(text), (err: unknown) => {
      assert.ok(err instanceof ReferenceError, `${JSON.stringify(text)}: ${(err as Error).name}`);
      assert.equal(err.exitCode, 2);
      assert.ok(!err.oneLine().includes("\n"));
      return true;
    }, JSON.stringify(text));
  }
});

// --- resolution over the fixture ---------------------------------------------------------------------------------

Deno.test("oci layout: demo index resolves each platform, attestation skipped", async () => {
  const cases: [string, string, string, string][] = [
    ["linux/amd64", AMD64, AMD64_CONFIG, "linux/amd64"],
    ["amd64", AMD64, AMD64_CONFIG, "linux/amd64"],
    ["linux/x86_64", AMD64, AMD64_CONFIG, "linux/amd64"],
    ["linux/arm64", ARM64, ARM64_CONFIG, "linux/arm64/v8"],
    ["linux/arm64/v8", ARM64, ARM64_CONFIG, "linux/arm64/v8"],
    ["aarch64", ARM64, ARM64_CONFIG, "linux/arm64/v8"],
    ["linux/aarch64", ARM64, ARM64_CONFIG, "linux/arm64/v8"],
  ];
  for (const [platform, manifest, config, shown] of cases) {
    const image = await resolve(`oci:${FIXTURE}:demo`, platform);
    assert.equal(image.index?.digest, INDEX, platform);
    assert.equal(image.index?.mediaType, MediaTypes.ociIndex);
    assert.equal(image.manifest.digest, manifest, platform);
    assert.equal(image.manifest.mediaType, MediaTypes.ociManifest);
    assert.equal(image.config.digest, config, platform);
    assert.equal(image.config.mediaType, MediaTypes.ociConfig);
    assert.equal(await digestOf(image.config.bytes), config);
    assert.equal(
      [image.platform.os, image.platform.architecture, image.platform.variant].filter(Boolean).join("/"),
      shown,
    );
    assert.equal(image.configJson.config?.Labels?.["org.opencontainers.image.title"], "demo");
    assert.equal(image.configJson.config?.Labels?.["org.opencontainers.image.version"], "1.0.0");
    assert.equal(image.configJson.author, "Demo Maintainer <demo@example.com>");
    assert.equal(image.manifestJson.layers.length, 1);
    assert.deepEqual(image.origin, {
      kind: "oci-layout",
      input: `oci:${FIXTURE}:demo`,
      registry: FIXTURE,
      repository: "demo",
      tag: "demo",
    });
  }
});

Deno.test("oci layout: a platform the index lacks lists the real platforms only", async () => {
  // unknown/unknown is the attestation entry's platform: skipped, never chosen, never listed.
  for (const platform of ["linux/s390x", "windows/amd64", "linux/arm/v7", "unknown/unknown"]) {
    const err = await resolve(`oci:${FIXTURE}:demo`, platform).catch((e) => e);
    assert.ok(err instanceof PlatformNotFoundError, `${platform}: ${err}`);
    assert.equal(err.message.split("it has: ")[1], "linux/amd64, linux/arm64/v8");
  }
});

Deno.test("oci layout: single-platform tags have no index", async () => {
  const amd = await resolve(`oci:${FIXTURE}:demo-amd64`, "linux/arm64"); // no index: the platform is not chosen
  assert.equal(amd.index, undefined);
  assert.equal(amd.manifest.digest, AMD64);
  assert.equal(amd.config.digest, AMD64_CONFIG);
  assert.deepEqual(amd.platform, { os: "linux", architecture: "amd64" });
  const arm = await resolve(`oci:${FIXTURE}:demo-arm64`, "linux/amd64");
  assert.equal(arm.manifest.digest, ARM64);
  assert.deepEqual(arm.platform, { os: "linux", architecture: "arm64", variant: "v8" });
  assert.equal(arm.origin.repository, "demo-arm64");
});

Deno.test("oci layout: by digest (index.json entry, index, and a blob index.json does not name)", async () => {
  const arm = await resolve(`oci:${FIXTURE}@${ARM64}`, "linux/amd64");
  assert.equal(arm.index, undefined);
  assert.equal(arm.manifest.digest, ARM64);
  assert.equal(arm.config.digest, ARM64_CONFIG);
  assert.deepEqual(arm.origin, {
    kind: "oci-layout",
    input: `oci:${FIXTURE}@${ARM64}`,
    registry: FIXTURE,
    repository: "oci-layout",
    digest: ARM64,
  });

  const viaIndex = await resolve(`oci:${FIXTURE}@${INDEX}`, "linux/arm64/v8");
  assert.equal(viaIndex.index?.digest, INDEX);
  assert.equal(viaIndex.manifest.digest, ARM64);

  // The attestation manifest is only named by the demo index, not by index.json.
  const att = await resolve(`oci:${FIXTURE}@${ATTESTATION}`, "linux/amd64");
  assert.equal(att.manifest.digest, ATTESTATION);
  assert.equal(att.manifest.mediaType, MediaTypes.ociManifest);
  assert.equal(att.manifestJson.layers[0].mediaType, "application/vnd.in-toto+json");
  assert.deepEqual(att.platform, { os: "unknown", architecture: "unknown" });

  // Digest wins over a tag given with it.
  const both = await resolve(`oci:${FIXTURE}:demo@${AMD64}`, "linux/arm64");
  assert.equal(both.manifest.digest, AMD64);

  await rejectsWith(
    open(`oci:${FIXTURE}@sha256:${HEX}`).then((s) => s.manifest()),
    NotFoundError,
    `sha256:${HEX}`,
    FIXTURE,
  );
});

Deno.test("oci layout: bytes equal skopeo's (manifests, index, configs)", async () => {
  const demo = await open(`oci:${FIXTURE}:demo`);
  const top = await demo.manifest();
  assert.equal(top.digest, INDEX);
  assert.deepEqual(top.bytes, await skopeo("--raw", `oci:${FIXTURE}:demo`));

  for (
    const [arch, variant, tag, manifest, config] of [
      ["amd64", "", "demo-amd64", AMD64, AMD64_CONFIG],
      ["arm64", "v8", "demo-arm64", ARM64, ARM64_CONFIG],
    ]
  ) {
    const image = await resolveImage(demo, { platform: parsePlatform(`linux/${arch}`) }, top);
    const override = [
      "--override-os",
      "linux",
      "--override-arch",
      arch,
      ...(variant ? ["--override-variant", variant] : []),
    ];
    // skopeo --raw never chooses from an index, so the entry's manifest is compared with the same blob by tag.
    const rawManifest = await skopeo("--raw", `oci:${FIXTURE}:${tag}`);
    assert.equal(await digestOf(rawManifest), manifest);
    assert.deepEqual(image.manifest.bytes, rawManifest, `${arch} manifest`);
    assert.deepEqual(
      image.config.bytes,
      await skopeo(...override, "--config", "--raw", `oci:${FIXTURE}:demo`),
      arch,
    );
    assert.equal(image.config.digest, config);

    const single = await resolve(`oci:${FIXTURE}:${tag}`, "linux/amd64");
    assert.deepEqual(single.manifest.bytes, rawManifest);
    assert.deepEqual(single.config.bytes, await skopeo("--config", "--raw", `oci:${FIXTURE}:${tag}`), tag);
  }
});

Deno.test("oci layout: index.json lists exactly demo, demo-amd64, demo-arm64; no tag is ambiguous like skopeo", async () => {
  const source = await openOciLayoutSource(parseOciReference(`oci:${FIXTURE}`));
  assert.deepEqual(source.refNames(), ["demo", "demo-amd64", "demo-arm64"]);
  assert.deepEqual(source.index.manifests.map((d) => d.digest), [INDEX, AMD64, ARM64]);
  assert.equal(source.origin.repository, "oci-layout");
  await rejectsWith(
    source.manifest(),
    ReferenceError,
    `oci:${FIXTURE}:demo, oci:${FIXTURE}:demo-amd64, oci:${FIXTURE}:demo-arm64`,
  );
  // skopeo refuses the same reference.
  const r = await run("skopeo", ["inspect", "--raw", `oci:${FIXTURE}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /more than one image/);
});

Deno.test("oci layout: unknown tag is NotFoundError listing the tags", async () => {
  await rejectsWith(
    open(`oci:${FIXTURE}:nope`).then((s) => s.manifest()),
    NotFoundError,
    '"nope"',
    "demo, demo-amd64, demo-arm64",
  );
});

Deno.test("oci layout: a layout with one image needs no tag; '.' names the directory", async () => {
  await withCopy(async (dir) => {
    await editIndexJson(dir, (index) => {
      index.manifests = index.manifests.filter((d) => d.digest === ARM64);
    });
    const image = await resolve(`oci:${dir}`, "linux/amd64");
    assert.equal(image.manifest.digest, ARM64);
    assert.equal(image.origin.repository, "layout");
    // A path ending in "." is named after the directory it resolves to.
    const dot = await openOciLayout(parseOciReference(`oci:${dir}/.`));
    assert.equal(dot.origin.repository, "layout");
    assert.equal(dot.origin.registry, `${dir}/.`);
    await editIndexJson(dir, (index) => {
      index.manifests = [];
    });
    await rejectsWith(open(`oci:${dir}`).then((s) => s.manifest()), NotFoundError, "lists no images");
  });
});

// --- damaged layouts ---------------------------------------------------------------------------------------------

Deno.test("oci layout: missing or broken oci-layout / index.json are ConfigError", async () => {
  await rejectsWith(open(`oci:${FIXTURE}/nonexistent:demo`), ConfigError, "does not exist");
  await rejectsWith(open(`oci:${FIXTURE}/oci-layout:demo`), ConfigError, "not a directory");
  await withCopy(async (dir) => {
    await Deno.remove(`${dir}/index.json`);
    await rejectsWith(open(`oci:${dir}:demo`), ConfigError, `${dir}/index.json is missing`);
    await Deno.writeTextFile(`${dir}/index.json`, "{not json");
    await rejectsWith(open(`oci:${dir}:demo`), ConfigError, `${dir}/index.json is not valid JSON`);
    await Deno.writeTextFile(`${dir}/index.json`, '{"schemaVersion":2}');
    await rejectsWith(open(`oci:${dir}:demo`), ConfigError, "index.json is not a valid OCI image index");
    // A digest that would be a path outside blobs/ is refused before it becomes a file name.
    await Deno.writeTextFile(
      `${dir}/index.json`,
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: MediaTypes.ociManifest, digest: "sha256:../../../etc/passwd", size: 1 }],
      }),
    );
    await rejectsWith(open(`oci:${dir}:demo`), ConfigError, "invalid digest");
    await Deno.remove(`${dir}/oci-layout`);
    await rejectsWith(open(`oci:${dir}:demo`), ConfigError, `${dir}/oci-layout is missing`);
    await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"2.0.0"}');
    await rejectsWith(open(`oci:${dir}:demo`), ConfigError, "only 1.0.0");
  });
  // Every message is one line.
  const err = await open(`oci:${FIXTURE}/nonexistent`).catch((e) => e);
  assert.ok(err instanceof ConfigError && !err.oneLine().includes("\n"));
});

Deno.test("oci layout: missing blob is NotFoundError naming digest and layout", async () => {
  await withCopy(async (dir) => {
    await Deno.remove(blobPath(dir, ARM64_CONFIG));
    await rejectsWith(resolve(`oci:${dir}:demo`, "linux/arm64"), NotFoundError, ARM64_CONFIG, dir);
    await Deno.remove(blobPath(dir, INDEX));
    await rejectsWith(resolve(`oci:${dir}:demo`, "linux/amd64"), NotFoundError, INDEX, dir);
    // amd64 is untouched.
    assert.equal((await resolve(`oci:${dir}:demo-amd64`, "linux/amd64")).config.digest, AMD64_CONFIG);
  });
});

Deno.test("oci layout: altered bytes or a wrong size are DigestMismatchError", async () => {
  await withCopy(async (dir) => {
    const path = blobPath(dir, AMD64_CONFIG);
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 2] ^= 0x01;
    await Deno.writeFile(path, bytes);
    await rejectsWith(resolve(`oci:${dir}:demo`, "linux/amd64"), DigestMismatchError, AMD64_CONFIG);

    const manifestPath = blobPath(dir, ARM64);
    await Deno.writeFile(
      manifestPath,
      enc.encode((await Deno.readTextFile(manifestPath)).replace("v1", "v2")),
    );
    await rejectsWith(resolve(`oci:${dir}:demo`, "linux/arm64"), DigestMismatchError, ARM64);
    await rejectsWith(resolve(`oci:${dir}:demo-arm64`, "linux/arm64"), DigestMismatchError, ARM64);

    // index.json lies about the size of an intact blob.
    await editIndexJson(dir, (index) => {
      index.manifests[0].size += 1;
    });
    await rejectsWith(open(`oci:${dir}:demo`).then((s) => s.manifest()), DigestMismatchError, "size");
  });
});

Deno.test("oci layout: a 5 MiB manifest is refused before it is read", async () => {
  await withCopy(async (dir) => {
    const head = await Deno.readFile(blobPath(dir, AMD64));
    const big = new Uint8Array(5 * 1024 * 1024).fill(0x20);
    big.set(head);
    const digest = await digestOf(big);
    await Deno.writeFile(blobPath(dir, digest), big);
    await editIndexJson(dir, (index) => {
      index.manifests.push(
        {
          mediaType: MediaTypes.ociManifest,
          digest,
          size: big.length,
          annotations: { "org.opencontainers.image.ref.name": "big" },
        },
        {
          mediaType: MediaTypes.ociManifest,
          digest,
          size: 345,
          annotations: { "org.opencontainers.image.ref.name": "liar" },
        },
      );
    });
    await rejectsWith(
      open(`oci:${dir}:big`).then((s) => s.manifest()),
      TooLargeError,
      digest,
      `${MAX_MANIFEST_BYTES}`,
    );
    await rejectsWith(open(`oci:${dir}:liar`).then((s) => s.manifest()), TooLargeError, digest);
    await rejectsWith(open(`oci:${dir}@${digest}`).then((s) => s.manifest()), TooLargeError, digest);
    // A descriptor over the cap is refused without touching the disk (the blob does not even exist).
    await rejectsWith(
      (await open(`oci:${dir}:demo`)).blob({ mediaType: "x", digest: `sha256:${HEX}`, size: 2048 }, 1024),
      TooLargeError,
    );
    // As a config, under a smaller cap.
    const source = await open(`oci:${dir}:demo`);
    await rejectsWith(
      source.blob({ mediaType: MediaTypes.ociConfig, digest, size: big.length }, 1024),
      TooLargeError,
    );
    assert.equal(
      (await source.blob({ mediaType: "x", digest, size: big.length }, MAX_CONFIG_BYTES)).bytes.length,
      big.length,
    );
  });
});

Deno.test("oci layout: direct manifest()/blob() calls verify and name media types", async () => {
  const source = await open(`oci:${FIXTURE}:demo`);
  const m = await source.manifest({ mediaType: MediaTypes.ociManifest, digest: AMD64, size: 345 });
  assert.equal(m.mediaType, MediaTypes.ociManifest);
  assert.equal(await digestOf(m.bytes), AMD64);
  const b = await source.blob(
    { mediaType: "application/x-custom", digest: AMD64_CONFIG, size: 855 },
    MAX_CONFIG_BYTES,
  );
  assert.equal(b.mediaType, "application/x-custom");
  await rejectsWith(
    source.blob({ mediaType: "x", digest: "sha256:../../x", size: 1 }, 10),
    ManifestError,
    "invalid digest",
  );
  await rejectsWith(source.blob({ mediaType: "x", digest: AMD64_CONFIG, size: 855 }, 100), TooLargeError);
  await withCopy(async (dir) => {
    await Deno.remove(blobPath(dir, AMD64_CONFIG));
    await Deno.mkdir(blobPath(dir, AMD64_CONFIG));
    await rejectsWith(resolve(`oci:${dir}:demo-amd64`, "linux/amd64"), ManifestError, "not a regular file");
    // A FIFO is refused without opening it (opening would block).
    await Deno.remove(blobPath(dir, AMD64_CONFIG));
    await run("mkfifo", [blobPath(dir, AMD64_CONFIG)], { check: true });
    await rejectsWith(resolve(`oci:${dir}:demo-amd64`, "linux/amd64"), ManifestError, "not a regular file");
    // A tag that names something other than a manifest or index.
    await editIndexJson(dir, (index) => {
      index.manifests.push({
        mediaType: "application/vnd.example.thing",
        digest: ARM64,
        size: 344,
        annotations: { "org.opencontainers.image.ref.name": "thing" },
      });
    });
    await rejectsWith(open(`oci:${dir}:thing`).then((s) => s.manifest()), UnsupportedError, "thing");
  });
});
