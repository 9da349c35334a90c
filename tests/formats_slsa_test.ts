import assert from "node:assert/strict";
import { golden } from "./support/golden.ts";
import {
  BUILD_TYPE,
  provenance,
  type ProvenanceOptions,
  sourceUri,
  type Subject,
} from "../src/formats/slsa.ts";
import { fixedClock, systemClock } from "../src/formats/clock.ts";
import { codebuildFrom } from "../src/cli/environment.ts";
import { ConfigError, UsageError } from "../src/errors.ts";
import type { ResolvedImage } from "../src/image.ts";
import { PROJECT_URL } from "../src/version.ts";
import {
  CODEBUILD_ENV,
  COMPACT_MANIFEST_DIGEST,
  CONFIG_DIGEST,
  originalImage,
  originalImageViaIndex,
  REGISTRY,
} from "./support/resolved_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const HEX = COMPACT_MANIFEST_DIGEST.slice("sha256:".length);
const PURL =
  `pkg:oci/os_build_env@sha256:${HEX}?arch=amd64&repository_url=${REGISTRY}%2Fos_build_env&tag=latest`;
const PROJECT_ARN = "arn:aws:codebuild:us-east-1:772738948692:project/os-image-build";
const SUBJECTS: Subject[] = [
  { name: "os.img", digest: { sha256: "5f3c2b0d9a1e8f7c6b5a4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a" } },
  {
    name: "os.img.sig",
    digest: { sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
  },
];

/** Provenance options, with the CodeBuild context given as the environment the CLI would read it from. */
type RunOptions = Partial<ProvenanceOptions> & { env?: Record<string, string> };

async function run(
  image: ResolvedImage,
  { env = CODEBUILD_ENV, ...opts }: RunOptions = {},
): Promise<{ bytes: Uint8Array; doc: Json }> {
  const bytes = await provenance(image, {
    format: "slsa-v1",
    subjects: SUBJECTS,
    codebuild: codebuildFrom(env),
    clock: fixedClock(1700000000),
    ...opts,
  });
  const text = new TextDecoder().decode(bytes);
  assert.ok(text.endsWith("}\n"), "one trailing newline");
  const doc = JSON.parse(text);
  assert.equal(text, `${JSON.stringify(doc, null, 2)}\n`, "2-space indented JSON");
  return { bytes, doc };
}

/** The fields in-toto Statement v1 and SLSA Provenance v1 require, with their types. */
function assertInTotoV1SlsaV1(doc: Json): void {
  assert.equal(doc._type, "https://in-toto.io/Statement/v1");
  assert.ok(Array.isArray(doc.subject) && doc.subject.length > 0, "subject: non-empty list");
  for (const s of doc.subject) {
    assert.equal(typeof s.name, "string");
    assert.ok(s.name.length > 0);
    assert.equal(typeof s.digest, "object");
    assert.match(s.digest.sha256, /^[0-9a-f]{64}$/);
  }
  assert.equal(doc.predicateType, "https://slsa.dev/provenance/v1");
  const { buildDefinition, runDetails } = doc.predicate;
  assert.equal(typeof buildDefinition.buildType, "string");
  assert.ok(URL.canParse(buildDefinition.buildType), "buildType is a URI");
  assert.equal(typeof buildDefinition.externalParameters, "object");
  assert.ok(
    buildDefinition.externalParameters !== null && !Array.isArray(buildDefinition.externalParameters),
  );
  assert.equal(typeof runDetails.builder.id, "string");
  assert.ok(URL.canParse(runDetails.builder.id), "builder.id is a URI (a URN-like ARN parses as one)");
  for (const rd of buildDefinition.resolvedDependencies ?? []) {
    assert.ok(
      rd.uri !== undefined || rd.digest !== undefined || rd.content !== undefined,
      "ResourceDescriptor",
    );
  }
  assert.deepEqual(Object.keys(doc), ["_type", "subject", "predicateType", "predicate"]);
}

Deno.test("slsa-v1: required fields and every mapped fact", async () => {
  const { doc } = await run(originalImage());
  assertInTotoV1SlsaV1(doc);
  assert.deepEqual(doc.subject, SUBJECTS);
  const bd = doc.predicate.buildDefinition;
  assert.equal(bd.buildType, `${PROJECT_URL}/buildtypes/container-build-environment/v1`);
  assert.equal(bd.buildType, BUILD_TYPE);
  assert.deepEqual(bd.externalParameters, {
    image: `${REGISTRY}/os_build_env:latest`,
    platform: "linux/amd64",
  });
  assert.deepEqual(bd.internalParameters, {
    codebuild: {
      buildImage: `${REGISTRY}/os_build_env:latest`,
      buildId: "os-image-build:6f1c2b3a-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
      initiator: "codepipeline/os-image-pipeline",
      region: "us-east-1",
    },
  });
  assert.deepEqual(bd.resolvedDependencies, [
    {
      uri: PURL,
      digest: { sha256: HEX },
      name: `${REGISTRY}/os_build_env:latest`,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      annotations: { configDigest: CONFIG_DIGEST, os: "linux", architecture: "amd64" },
    },
    {
      uri: "git+https://github.com/Vasu77df/os-image.git",
      digest: { gitCommit: "0123456789abcdef0123456789abcdef01234567" },
    },
  ]);
  assert.deepEqual(doc.predicate.runDetails, {
    builder: { id: PROJECT_ARN },
    metadata: {
      invocationId: CODEBUILD_ENV.CODEBUILD_BUILD_ARN,
      startedOn: "2024-10-13T15:35:38Z",
    },
  });
});

Deno.test("slsa-v1: builder id from --builder-id, CODEBUILD_PROJECT_ARN, build ARN, else the tool URI", async () => {
  const id = async (opts: RunOptions) =>
    (await run(originalImage(), opts)).doc.predicate.runDetails.builder.id;
  assert.equal(await id({ builderId: "https://builder.example/ci@v1" }), "https://builder.example/ci@v1");
  assert.equal(
    await id({
      env: { ...CODEBUILD_ENV, CODEBUILD_PROJECT_ARN: "arn:aws:codebuild:us-east-1:1:project/other" },
    }),
    "arn:aws:codebuild:us-east-1:1:project/other",
  );
  assert.equal(await id({}), PROJECT_ARN);
  assert.equal(await id({ env: {} }), PROJECT_URL);
});

Deno.test("slsa-v1 outside CodeBuild: no source, no metadata, no internal parameters", async () => {
  const { doc } = await run(originalImage(), { env: {} });
  assertInTotoV1SlsaV1(doc);
  assert.equal(doc.predicate.buildDefinition.resolvedDependencies.length, 1);
  assert.equal("internalParameters" in doc.predicate.buildDefinition, false);
  assert.deepEqual(doc.predicate.runDetails, { builder: { id: PROJECT_URL } });
});

Deno.test("slsa-v1: startedOn keeps non-zero milliseconds; bad CODEBUILD_START_TIME is a ConfigError", async () => {
  const { doc } = await run(originalImage(), {
    env: { ...CODEBUILD_ENV, CODEBUILD_START_TIME: "1728833738250" },
  });
  assert.equal(doc.predicate.runDetails.metadata.startedOn, "2024-10-13T15:35:38.250Z");
  await assert.rejects(run(originalImage(), { env: { CODEBUILD_START_TIME: "soon" } }), ConfigError);
});

Deno.test("slsa-v1: source dependency conventions (git+, no secrets, S3 without digest)", async () => {
  const dep = async (env: Record<string, string>) =>
    (await run(originalImage(), { env })).doc.predicate.buildDefinition.resolvedDependencies[1];
  assert.deepEqual(
    await dep({
      CODEBUILD_SOURCE_REPO_URL: "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/os-image",
    }),
    { uri: "git+https://git-codecommit.us-east-1.amazonaws.com/v1/repos/os-image" },
  );
  assert.deepEqual(
    await dep({
      CODEBUILD_SOURCE_REPO_URL: "s3://bucket/src.zip",
      CODEBUILD_RESOLVED_SOURCE_VERSION: "3HL4kqtJl",
    }),
    { uri: "s3://bucket/src.zip" },
  );
  assert.equal(sourceUri("https://x-token:secret@github.com/o/r.git").uri, "git+https://github.com/o/r.git");
  assert.equal(sourceUri("git@github.com:o/r.git").uri, "git+ssh://git@github.com/o/r.git");
  assert.equal(sourceUri("ssh://git@host/o/r").uri, "git+ssh://git@host/o/r");
  assert.equal(sourceUri("git+https://github.com/o/r").uri, "git+https://github.com/o/r");
  assert.deepEqual(sourceUri("s3://b/k"), { uri: "s3://b/k", git: false });
});

Deno.test("slsa-v0.2: the same facts in the old shape", async () => {
  const { doc } = await run(originalImage(), { format: "slsa-v0.2" });
  assert.deepEqual(Object.keys(doc), ["_type", "subject", "predicateType", "predicate"]);
  assert.equal(doc._type, "https://in-toto.io/Statement/v0.1");
  assert.equal(doc.predicateType, "https://slsa.dev/provenance/v0.2");
  assert.deepEqual(doc.subject, SUBJECTS);
  const p = doc.predicate;
  assert.deepEqual(p.builder, { id: PROJECT_ARN });
  assert.equal(p.buildType, BUILD_TYPE);
  assert.deepEqual(p.invocation.configSource, {
    uri: "git+https://github.com/Vasu77df/os-image.git",
    digest: { gitCommit: "0123456789abcdef0123456789abcdef01234567" },
  });
  assert.deepEqual(p.invocation.parameters, {
    image: `${REGISTRY}/os_build_env:latest`,
    platform: "linux/amd64",
  });
  assert.equal(p.invocation.environment.codebuild.region, "us-east-1");
  assert.equal(p.metadata.buildInvocationId, CODEBUILD_ENV.CODEBUILD_BUILD_ARN);
  assert.equal(p.metadata.buildStartedOn, "2024-10-13T15:35:38Z");
  assert.deepEqual(p.metadata.completeness, { parameters: false, environment: false, materials: false });
  assert.equal(p.metadata.reproducible, false);
  assert.deepEqual(p.materials, [
    { uri: PURL, digest: { sha256: HEX } },
    {
      uri: "git+https://github.com/Vasu77df/os-image.git",
      digest: { gitCommit: "0123456789abcdef0123456789abcdef01234567" },
    },
  ]);
});

Deno.test("descriptor: the image ResourceDescriptor alone, index digest when an index was read", async () => {
  const { doc } = await run(originalImageViaIndex(), { format: "descriptor", subjects: [] });
  const image = originalImageViaIndex();
  assert.deepEqual(doc, {
    uri:
      `pkg:oci/os_build_env@sha256:${HEX}?arch=amd64&repository_url=${REGISTRY}%2Fos_build_env&tag=multiarch`,
    digest: { sha256: HEX },
    name: `${REGISTRY}/os_build_env:multiarch`,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    annotations: {
      configDigest: CONFIG_DIGEST,
      indexDigest: image.index!.digest,
      os: "linux",
      architecture: "amd64",
    },
  });
  const variant: ResolvedImage = {
    ...originalImage(),
    platform: { os: "linux", architecture: "arm", variant: "v7" },
  };
  const v = (await run(variant, { format: "descriptor" })).doc;
  assert.equal(v.annotations.variant, "v7");
  assert.ok(v.uri.includes("arch=arm&"));
});

Deno.test("statements without subjects are a usage error advising subjects", async () => {
  for (const format of ["slsa-v1", "slsa-v0.2"] as const) {
    await assert.rejects(run(originalImage(), { format, subjects: [] }), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, /^provenance needs at least one subject/);
      assert.equal(err.advice, "subject");
      return true;
    });
  }
  const bad = [{ name: "x", digest: { sha256: "XYZ" } }];
  await assert.rejects(run(originalImage(), { subjects: bad }), UsageError);
});

Deno.test("deterministic: identical bytes for identical input, whatever the clock", async () => {
  for (const format of ["slsa-v1", "slsa-v0.2", "descriptor"] as const) {
    const a = await run(originalImage(), { format });
    const b = await run(originalImage(), { format, clock: systemClock() });
    assert.deepEqual(a.bytes, b.bytes);
  }
});

// Golden files: UPDATE_GOLDEN=1 deno test --allow-all tests/formats_slsa_test.ts rewrites them.

Deno.test("golden: provenance.slsa-v1.json", async () => {
  await golden("provenance.slsa-v1.json", (await run(originalImage(), { format: "slsa-v1" })).bytes);
});

Deno.test("golden: provenance.slsa-v0.2.json", async () => {
  await golden("provenance.slsa-v0.2.json", (await run(originalImage(), { format: "slsa-v0.2" })).bytes);
});

Deno.test("golden: descriptor.json", async () => {
  await golden("descriptor.json", (await run(originalImage(), { format: "descriptor", subjects: [] })).bytes);
});
