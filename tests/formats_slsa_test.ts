/**
 * SLSA provenance: the in-toto Statement v1 / SLSA v1 shape (and v0.2), the build types of docs/buildtypes/,
 * the CodeBuild facts each lands in, the honest builder (never the tool), the resolution record and
 * namespaced annotations on the build image, byproducts, AWS-managed images, and signed envelopes. Golden files
 * for every shape; the envelope's signature verifies with the test key's public half (node:crypto and openssl,
 * independent of the signing code) and fails on a flipped payload byte.
 */

import assert from "node:assert/strict";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { golden } from "./support/golden.ts";
import {
  ANNOTATION_PREFIX,
  BUILD_TYPES,
  provenance,
  type ProvenanceOptions,
  sourceUri,
  type Subject,
} from "../src/formats/slsa.ts";
import { fixedClock } from "../src/formats/clock.ts";
import { codebuildFrom } from "../src/cli/environment.ts";
import { managedImage } from "../src/cli/context.ts";
import { envelope } from "../src/cli/sign.ts";
import { ConfigError, UsageError } from "../src/errors.ts";
import type { DescribedImage, ResolvedImage } from "../src/image.ts";
import { pae } from "../src/sign/dsse.ts";
import { pemSigner } from "../src/sign/pem.ts";
import { PROJECT_URL } from "../src/version.ts";
import { REPO_ROOT } from "./support/cli.ts";
import {
  CODEBUILD_ENV,
  COMPACT_MANIFEST_DIGEST,
  CONFIG_DIGEST,
  originalImage,
  originalImageViaIndex,
  REGISTRY,
} from "./support/resolved_fixture.ts";
import { run as runTool } from "./support/tools.ts";

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
const BYPRODUCTS = [{
  name: "build-env.cdx.json",
  digest: { sha256: "9b1c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a" },
  mediaType: "application/vnd.cyclonedx+json",
}];
/** CodeBuild as a webhook build of the main branch, build number 42. */
const ENV = { ...CODEBUILD_ENV, CODEBUILD_BUILD_NUMBER: "42", CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/main" };
/** The run's clock: 10 minutes after the build started. */
const CLOCK = fixedClock(1728834338);

/** Provenance options, with the CodeBuild context given as the environment the CLI would read it from. */
type RunOptions = Partial<ProvenanceOptions> & { env?: Record<string, string> };

async function run(
  image: DescribedImage,
  { env = ENV, ...opts }: RunOptions = {},
): Promise<{ bytes: Uint8Array; doc: Json }> {
  const bytes = await provenance(image, {
    format: "slsa-v1",
    subjects: SUBJECTS,
    codebuild: codebuildFrom(env),
    clock: CLOCK,
    ...opts,
  });
  const text = new TextDecoder().decode(bytes);
  assert.ok(text.endsWith("}\n"), "one trailing newline");
  const doc = JSON.parse(text);
  assert.equal(text, `${JSON.stringify(doc, null, 2)}\n`, "2-space indented JSON");
  return { bytes, doc };
}

const ns = (key: string) => `${ANNOTATION_PREFIX}${key}`;

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

Deno.test("slsa-v1 in CodeBuild: the build's inputs, the platform's decisions, the image by digest", async () => {
  const { doc } = await run(originalImage(), { byproducts: BYPRODUCTS });
  assertInTotoV1SlsaV1(doc);
  assert.deepEqual(doc.subject, SUBJECTS);
  const bd = doc.predicate.buildDefinition;
  assert.equal(bd.buildType, `${PROJECT_URL}/blob/main/docs/buildtypes/codebuild/v1.md`);
  assert.deepEqual(bd.externalParameters, {
    source: { uri: "git+https://github.com/Vasu77df/os-image.git", ref: "refs/heads/main" },
    environmentImage: `${REGISTRY}/os_build_env:latest`,
  });
  assert.deepEqual(bd.internalParameters, {
    projectArn: PROJECT_ARN,
    buildId: "os-image-build:6f1c2b3a-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
    buildNumber: "42",
    initiator: "codepipeline/os-image-pipeline",
    region: "us-east-1",
  });
  assert.deepEqual(bd.resolvedDependencies, [
    {
      uri: PURL,
      digest: { sha256: HEX },
      name: `${REGISTRY}/os_build_env:latest`,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      annotations: {
        [ns("config_digest")]: CONFIG_DIGEST,
        [ns("os")]: "linux",
        [ns("architecture")]: "amd64",
        [ns("reference")]: `${REGISTRY}/os_build_env:latest`,
        [ns("resolved_by")]: "tag",
        [ns("resolved_digest")]: COMPACT_MANIFEST_DIGEST,
        [ns("resolved_at")]: "2023-11-14T22:13:20Z",
        [ns("environment_image")]: "true",
      },
    },
    {
      uri: "git+https://github.com/Vasu77df/os-image.git@refs/heads/main",
      digest: { gitCommit: "0123456789abcdef0123456789abcdef01234567" },
    },
  ]);
  assert.deepEqual(doc.predicate.runDetails, {
    builder: { id: PROJECT_ARN },
    metadata: {
      invocationId: CODEBUILD_ENV.CODEBUILD_BUILD_ARN,
      startedOn: "2024-10-13T15:35:38Z",
      finishedOn: "2024-10-13T15:45:38Z",
    },
    byproducts: BYPRODUCTS,
  });
});

Deno.test("the builder is the CodeBuild project or --builder-id, never the tool", async () => {
  const id = async (opts: RunOptions) =>
    (await run(originalImage(), opts)).doc.predicate.runDetails.builder.id;
  assert.equal(await id({ builderId: "https://builder.example/ci@v1" }), "https://builder.example/ci@v1");
  assert.equal(
    await id({ env: { ...ENV, CODEBUILD_PROJECT_ARN: "arn:aws:codebuild:us-east-1:1:project/other" } }),
    "arn:aws:codebuild:us-east-1:1:project/other",
  );
  assert.equal(await id({}), PROJECT_ARN);
  assert.equal(await id({ env: {}, builderId: "https://ci.example/runner" }), "https://ci.example/runner");
  for (const format of ["slsa-v1", "slsa-v0.2"] as const) {
    await assert.rejects(run(originalImage(), { env: {}, format }), (err: unknown) => {
      assert.ok(err instanceof UsageError, `${err}`);
      assert.equal(err.advice, "builder-id");
      return true;
    });
  }
  const all = JSON.stringify([
    await run(originalImage()),
    await run(originalImage(), { env: {}, builderId: "x:y" }),
  ]);
  assert.ok(!all.includes(`"id":"${PROJECT_URL}`), "the tool is never the builder");
});

Deno.test("slsa-v1 outside CodeBuild: the container build type, the environment image, the finish time", async () => {
  const { doc } = await run(originalImage(), { env: {}, builderId: "https://ci.example/runner" });
  assertInTotoV1SlsaV1(doc);
  const bd = doc.predicate.buildDefinition;
  assert.equal(bd.buildType, BUILD_TYPES.container["slsa-v1"]);
  assert.deepEqual(bd.externalParameters, { environmentImage: `${REGISTRY}/os_build_env:latest` });
  assert.equal("internalParameters" in bd, false);
  assert.equal(bd.resolvedDependencies.length, 1);
  assert.equal(ns("environment_image") in bd.resolvedDependencies[0].annotations, false);
  assert.deepEqual(doc.predicate.runDetails, {
    builder: { id: "https://ci.example/runner" },
    metadata: { finishedOn: "2024-10-13T15:45:38Z" },
  });
});

Deno.test("CodeBuild with -u naming another image: both recorded, each for what it is", async () => {
  const env = { ...ENV, CODEBUILD_BUILD_IMAGE: "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1" };
  const { doc } = await run(originalImage(), { env });
  const bd = doc.predicate.buildDefinition;
  assert.equal(bd.externalParameters.environmentImage, env.CODEBUILD_BUILD_IMAGE);
  assert.equal(bd.resolvedDependencies[0].annotations[ns("reference")], `${REGISTRY}/os_build_env:latest`);
  assert.equal(bd.resolvedDependencies[0].annotations[ns("environment_image")], "false");
});

Deno.test("CodeBuild with -u naming the same repository by digest: environment_image unknown", async () => {
  for (
    const [buildImage, relation] of [
      [`${REGISTRY}/os_build_env@sha256:${"1".repeat(64)}`, "unknown"],
      [`${REGISTRY}/os_build_env:other`, "unknown"],
      [`${REGISTRY}/os_build_env:latest`, "true"],
      [`${REGISTRY}/os_build_env`, "true"],
    ]
  ) {
    const { doc } = await run(originalImage(), { env: { ...ENV, CODEBUILD_BUILD_IMAGE: buildImage } });
    const a = doc.predicate.buildDefinition.resolvedDependencies[0].annotations;
    assert.equal(a[ns("environment_image")], relation, buildImage);
  }
});

Deno.test("finishedOn is left out when the clock (SOURCE_DATE_EPOCH) is before the build started", async () => {
  const early = fixedClock(1700000000);
  const { doc } = await run(originalImage(), { clock: early });
  assert.equal(doc.predicate.runDetails.metadata.startedOn, "2024-10-13T15:35:38Z");
  assert.equal("finishedOn" in doc.predicate.runDetails.metadata, false);
  const { doc: old } = await run(originalImage(), { clock: early, format: "slsa-v0.2" });
  assert.equal(old.predicate.metadata.buildStartedOn, "2024-10-13T15:35:38Z");
  assert.equal("buildFinishedOn" in old.predicate.metadata, false);
});

Deno.test("an AWS-managed image: described by name, no invented digest, plainly unresolved", async () => {
  const managed = managedImage("aws/codebuild/standard:7.0")!;
  const env = { ...ENV, CODEBUILD_BUILD_IMAGE: "aws/codebuild/standard:7.0" };
  const { doc } = await run(managed, { env });
  assertInTotoV1SlsaV1(doc);
  const bd = doc.predicate.buildDefinition;
  assert.equal(bd.externalParameters.environmentImage, "aws/codebuild/standard:7.0");
  assert.deepEqual(bd.internalParameters.unresolvedEnvironmentImage, {
    reference: "aws/codebuild/standard:7.0",
    reason: managed.reason,
  });
  assert.equal(bd.resolvedDependencies.length, 1, "only the source");
  assert.match(bd.resolvedDependencies[0].uri, /^git\+https:/);
  assert.doesNotMatch(JSON.stringify(doc.predicate), /sha256":|pkg:oci/, "no digest or purl for the image");
  await assert.rejects(run(managed, { format: "descriptor", subjects: [] }), UsageError);
});

Deno.test("slsa-v1: startedOn keeps non-zero milliseconds; bad CODEBUILD_START_TIME is a ConfigError", async () => {
  const { doc } = await run(originalImage(), { env: { ...ENV, CODEBUILD_START_TIME: "1728833738250" } });
  assert.equal(doc.predicate.runDetails.metadata.startedOn, "2024-10-13T15:35:38.250Z");
  await assert.rejects(run(originalImage(), { env: { ...ENV, CODEBUILD_START_TIME: "soon" } }), ConfigError);
});

Deno.test("slsa-v1: source dependency conventions (git+URL@REF, no secrets, S3 without digest)", async () => {
  const dep = async (env: Record<string, string>) =>
    (await run(originalImage(), { env: { ...ENV, CODEBUILD_WEBHOOK_HEAD_REF: "", ...env } })).doc.predicate
      .buildDefinition.resolvedDependencies[1];
  assert.deepEqual(
    await dep({
      CODEBUILD_SOURCE_REPO_URL: "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/os-image",
      CODEBUILD_SOURCE_VERSION: "refs/heads/release",
    }),
    {
      uri: "git+https://git-codecommit.us-east-1.amazonaws.com/v1/repos/os-image@refs/heads/release",
      digest: { gitCommit: "0123456789abcdef0123456789abcdef01234567" },
    },
  );
  assert.deepEqual(
    await dep({
      CODEBUILD_SOURCE_REPO_URL: "s3://bucket/src.zip",
      CODEBUILD_SOURCE_VERSION: "3HL4kqtJl",
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
  assert.equal(p.buildType, BUILD_TYPES.codebuild["slsa-v0.2"]);
  assert.deepEqual(p.invocation.configSource, {
    uri: "git+https://github.com/Vasu77df/os-image.git@refs/heads/main",
    digest: { gitCommit: "0123456789abcdef0123456789abcdef01234567" },
  });
  assert.deepEqual(p.invocation.parameters, {
    source: { uri: "git+https://github.com/Vasu77df/os-image.git", ref: "refs/heads/main" },
    environmentImage: `${REGISTRY}/os_build_env:latest`,
  });
  assert.equal(p.invocation.environment.region, "us-east-1");
  assert.equal(p.invocation.environment.environmentImageResolution[ns("resolved_by")], "tag");
  assert.equal(p.metadata.buildInvocationId, CODEBUILD_ENV.CODEBUILD_BUILD_ARN);
  assert.equal(p.metadata.buildStartedOn, "2024-10-13T15:35:38Z");
  assert.equal(p.metadata.buildFinishedOn, "2024-10-13T15:45:38Z");
  assert.deepEqual(p.metadata.completeness, { parameters: false, environment: false, materials: false });
  assert.equal(p.metadata.reproducible, false);
  assert.deepEqual(p.materials, [
    { uri: PURL, digest: { sha256: HEX } },
    {
      uri: "git+https://github.com/Vasu77df/os-image.git@refs/heads/main",
      digest: { gitCommit: "0123456789abcdef0123456789abcdef01234567" },
    },
  ]);
});

Deno.test("descriptor: the image ResourceDescriptor alone, namespaced annotations, index digest", async () => {
  const { doc } = await run(originalImageViaIndex(), { format: "descriptor", subjects: [] });
  const image = originalImageViaIndex();
  assert.deepEqual(doc, {
    uri:
      `pkg:oci/os_build_env@sha256:${HEX}?arch=amd64&repository_url=${REGISTRY}%2Fos_build_env&tag=multiarch`,
    digest: { sha256: HEX },
    name: `${REGISTRY}/os_build_env:multiarch`,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    annotations: {
      [ns("config_digest")]: CONFIG_DIGEST,
      [ns("index_digest")]: image.index!.digest,
      [ns("os")]: "linux",
      [ns("architecture")]: "amd64",
      [ns("reference")]: `${REGISTRY}/os_build_env:multiarch`,
      [ns("resolved_by")]: "tag",
      [ns("resolved_digest")]: image.index!.digest,
      [ns("resolved_at")]: "2023-11-14T22:13:20Z",
    },
  });
  const variant: ResolvedImage = {
    ...originalImage(),
    platform: { os: "linux", architecture: "arm", variant: "v7" },
  };
  const v = (await run(variant, { format: "descriptor" })).doc;
  assert.equal(v.annotations[ns("variant")], "v7");
  assert.ok(v.uri.includes("arch=arm&"));
  for (const key of Object.keys(doc.annotations)) assert.ok(key.startsWith(ANNOTATION_PREFIX), key);
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

Deno.test("deterministic: identical bytes for identical input and clock; the finish time is the clock's", async () => {
  for (const format of ["slsa-v1", "slsa-v0.2", "descriptor"] as const) {
    const a = await run(originalImage(), { format });
    const b = await run(originalImage(), { format });
    assert.deepEqual(a.bytes, b.bytes);
  }
  const later = await run(originalImage(), { clock: fixedClock(1728834398) });
  assert.equal(later.doc.predicate.runDetails.metadata.finishedOn, "2024-10-13T15:46:38Z");
});

// Golden files: UPDATE_GOLDEN=1 deno test --allow-all tests/formats_slsa_test.ts rewrites them.

const container = { env: {}, builderId: "https://ci.example/builders/os-image-runner" };

Deno.test("golden: provenance in CodeBuild and outside it, v1 and v0.2, and the descriptor", async () => {
  await golden(
    "provenance.codebuild.slsa-v1.json",
    (await run(originalImage(), { byproducts: BYPRODUCTS })).bytes,
  );
  await golden(
    "provenance.codebuild.slsa-v0.2.json",
    (await run(originalImage(), { format: "slsa-v0.2" })).bytes,
  );
  await golden("provenance.container.slsa-v1.json", (await run(originalImage(), container)).bytes);
  await golden(
    "provenance.container.slsa-v0.2.json",
    (await run(originalImage(), { ...container, format: "slsa-v0.2" })).bytes,
  );
  await golden("descriptor.json", (await run(originalImage(), { format: "descriptor", subjects: [] })).bytes);
});

/** The test key (fixtures/keys/test-p256.key.pem) as a signer, and its public key. */
async function testKey() {
  const dir = `${REPO_ROOT}/fixtures/keys`;
  const signer = await pemSigner(await Deno.readTextFile(`${dir}/test-p256.key.pem`), "test key");
  return {
    signer,
    publicPem: await Deno.readTextFile(`${dir}/test-p256.pub.pem`),
    publicFile: `${dir}/test-p256.pub.pem`,
  };
}

/** Verify a one-line envelope independently of the signing code: node:crypto over DSSE's PAE. */
function verifiesWithNode(envelopeText: string, publicPem: string): boolean {
  const env = JSON.parse(envelopeText);
  const payload = Uint8Array.from(atob(env.payload), (c) => c.charCodeAt(0));
  const sig = Uint8Array.from(atob(env.signatures[0].sig), (c) => c.charCodeAt(0));
  return nodeVerify("sha256", pae(env.payloadType, payload), createPublicKey(publicPem), sig);
}

Deno.test("signed envelope: the golden statement, signed with the test key, verifies; a flipped byte does not", async () => {
  const { signer, publicPem, publicFile } = await testKey();
  const statement = (await run(originalImage(), { byproducts: BYPRODUCTS })).bytes;
  const fresh = new TextDecoder().decode(await envelope(statement, signer));
  assert.ok(fresh.endsWith("}\n") && !fresh.slice(0, -1).includes("\n"), "one JSON line");
  const env = JSON.parse(fresh);
  assert.equal(env.payloadType, "application/vnd.in-toto+json");
  assert.deepEqual(Uint8Array.from(atob(env.payload), (c) => c.charCodeAt(0)), statement);
  assert.ok(verifiesWithNode(fresh, publicPem));
  // ECDSA signatures differ on every run: the golden envelope is checked by verifying it, not by its bytes.
  const goldenPath = `${REPO_ROOT}/fixtures/golden/provenance.codebuild.intoto.jsonl`;
  if (Deno.env.get("UPDATE_GOLDEN") === "1") await Deno.writeTextFile(goldenPath, fresh);
  const stored = await Deno.readTextFile(goldenPath);
  assert.ok(verifiesWithNode(stored, publicPem), "the golden envelope verifies");
  const storedEnv = JSON.parse(stored);
  assert.deepEqual(Uint8Array.from(atob(storedEnv.payload), (c) => c.charCodeAt(0)), statement);
  // openssl, over the same PAE.
  const dir = await Deno.makeTempDir();
  try {
    const payload = Uint8Array.from(atob(storedEnv.payload), (c) => c.charCodeAt(0));
    await Deno.writeFile(`${dir}/pae.bin`, pae(storedEnv.payloadType, payload));
    await Deno.writeFile(
      `${dir}/sig.der`,
      Uint8Array.from(atob(storedEnv.signatures[0].sig), (c) => c.charCodeAt(0)),
    );
    const opensslVerify = () =>
      runTool("openssl", [
        "dgst",
        "-sha256",
        "-verify",
        publicFile,
        "-signature",
        `${dir}/sig.der`,
        `${dir}/pae.bin`,
      ]);
    const ok = await opensslVerify();
    assert.equal(ok.code, 0, ok.stderr);
    // A flipped payload byte fails both checks.
    const flipped = structuredClone(storedEnv);
    const bytes = Uint8Array.from(atob(flipped.payload), (c) => c.charCodeAt(0));
    bytes[10] ^= 1;
    flipped.payload = btoa(String.fromCharCode(...bytes));
    assert.equal(verifiesWithNode(JSON.stringify(flipped), publicPem), false);
    await Deno.writeFile(`${dir}/pae.bin`, pae(flipped.payloadType, bytes));
    const bad = await opensslVerify();
    assert.notEqual(bad.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
