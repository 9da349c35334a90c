/**
 * The build types the provenance names resolve to documents in this repository (docs/buildtypes/), and every
 * field the tool writes is defined there: statements of every shape (CodeBuild or not, SLSA v1 or v0.2, an
 * AWS-managed image, -u differing from CODEBUILD_BUILD_IMAGE, byproducts) are generated, and each of their
 * parameter, annotation and run-detail fields must appear in the document of their buildType. Each document's
 * example is a statement of its own build type.
 */

import assert from "node:assert/strict";
import { codebuildFrom } from "../src/cli/environment.ts";
import { managedImage } from "../src/cli/context.ts";
import { fixedClock } from "../src/formats/clock.ts";
import { BUILD_TYPES, provenance, type ProvenanceOptions } from "../src/formats/slsa.ts";
import type { DescribedImage } from "../src/image.ts";
import { PROJECT_URL } from "../src/version.ts";
import { REPO_ROOT } from "./support/cli.ts";
import { CODEBUILD_ENV, originalImage, originalImageViaIndex } from "./support/resolved_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const SUBJECTS = [{ name: "os.img", digest: { sha256: "ab".repeat(32) } }];
const BYPRODUCTS = [{
  name: "build-env.cdx.json",
  digest: { sha256: "cd".repeat(32) },
  mediaType: "application/vnd.cyclonedx+json",
}];

/** The document a buildType URI names, read from this checkout. */
async function docFor(buildType: string): Promise<string> {
  const prefix = `${PROJECT_URL}/blob/main/`;
  assert.ok(buildType.startsWith(prefix), buildType);
  return await Deno.readTextFile(`${REPO_ROOT}/${buildType.slice(prefix.length)}`);
}

/** Every key path of an object (`source`, `source.uri`, ...), under `prefix`. */
function paths(value: Json, prefix = ""): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return [p, ...paths(v, p)];
  });
}

/** A numbered field (`..._attached_provenance_0_digest`) as the documents define it (`..._<n>_digest`). */
const numbered = (field: string) => field.replace(/_\d+_/g, "_<n>_");

/** The fields a statement writes that its build type must define. */
function fieldsOf(doc: Json): string[] {
  const p = doc.predicate;
  if (doc.predicateType === "https://slsa.dev/provenance/v1") {
    const bd = p.buildDefinition;
    return [
      ...paths(bd.externalParameters),
      ...paths(bd.internalParameters ?? {}),
      ...bd.resolvedDependencies.flatMap((d: Json) => Object.keys(d.annotations ?? {})),
      ...Object.keys(p.runDetails.metadata ?? {}).map((k) => `metadata.${k}`),
      ...(p.runDetails.byproducts ? ["byproducts"] : []),
    ];
  }
  const inv = p.invocation;
  return [
    ...Object.keys(inv).map((k) => `invocation.${k}`),
    ...paths(inv.parameters),
    ...paths(inv.environment ?? {}).filter((k) => !k.startsWith("environmentImageResolution.")),
    ...Object.keys(inv.environment?.environmentImageResolution ?? {}),
    ...Object.keys(p.metadata).map((k) => `metadata.${k}`),
  ];
}

Deno.test("buildtypes: every field of every shape is defined in its build type's document", async () => {
  const env = {
    ...CODEBUILD_ENV,
    CODEBUILD_BUILD_NUMBER: "7",
    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/main",
  };
  const managed = managedImage("aws/codebuild/standard:7.0")!;
  const attachedProvenance = [{
    digest: `sha256:${"e".repeat(64)}`,
    predicateType: "https://slsa.dev/provenance/v1",
    foundVia: "cosign-tag" as const,
    envelope: "dsse" as const,
    manifestDigest: `sha256:${"f".repeat(64)}`,
  }];
  const cases: [string, DescribedImage, Partial<ProvenanceOptions>][] = [
    ["codebuild", originalImageViaIndex(), { codebuild: codebuildFrom(env), byproducts: BYPRODUCTS }],
    ["codebuild, attached provenance", originalImage(), {
      codebuild: codebuildFrom(env),
      attachedProvenance,
    }],
    ["container, no attached provenance", originalImage(), {
      builderId: "https://ci.example/b",
      attachedProvenance: [],
    }],
    [
      "codebuild, -u differs",
      originalImage(),
      { codebuild: codebuildFrom({ ...env, CODEBUILD_BUILD_IMAGE: "other.example/img:1" }) },
    ],
    ["codebuild, managed image", managed, {
      codebuild: codebuildFrom({ ...env, CODEBUILD_BUILD_IMAGE: managed.input }),
    }],
    ["container", originalImage(), { builderId: "https://ci.example/b", byproducts: BYPRODUCTS }],
    ["container, managed image", managed, { builderId: "https://ci.example/b" }],
  ];
  const seen = new Set<string>();
  for (const [name, image, opts] of cases) {
    for (const format of ["slsa-v1", "slsa-v0.2"] as const) {
      const doc = JSON.parse(
        new TextDecoder().decode(
          await provenance(image, { format, subjects: SUBJECTS, clock: fixedClock(1700000000), ...opts }),
        ),
      );
      const buildType = doc.predicate.buildDefinition?.buildType ?? doc.predicate.buildType;
      seen.add(buildType);
      const text = await docFor(buildType);
      const missing = fieldsOf(doc).map(numbered).filter((f) => !text.includes(`\`${f}\``));
      assert.deepEqual(missing, [], `${name} (${format}): fields not defined in ${buildType}`);
    }
  }
  const all = Object.values(BUILD_TYPES).flatMap((v) => Object.values(v));
  assert.deepEqual([...seen].sort(), [...all].sort(), "every build type is written by some shape");
});

Deno.test("buildtypes: each document's example is a statement of its own build type", async () => {
  for (const buildType of Object.values(BUILD_TYPES).flatMap((v) => Object.values(v))) {
    const text = await docFor(buildType);
    assert.ok(text.includes(`\`${buildType}\``), `${buildType} names itself`);
    const example = /```json\n([\s\S]*?)\n```/.exec(text)?.[1];
    assert.ok(example, `${buildType} has an example`);
    const doc = JSON.parse(example);
    assert.equal(doc.predicate.buildDefinition?.buildType ?? doc.predicate.buildType, buildType);
    const missing = fieldsOf(doc).filter((f) => !text.includes(`\`${f}\``));
    assert.deepEqual(missing, [], `${buildType}: example fields not defined`);
  }
});

Deno.test("buildtypes: the check fails for an undefined field", () => {
  const doc = {
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: {
      buildDefinition: { externalParameters: { novel: 1 }, resolvedDependencies: [] },
      runDetails: { builder: { id: "x" } },
    },
  };
  assert.deepEqual(fieldsOf(doc).filter((f) => !"`environmentImage`".includes(`\`${f}\``)), ["novel"]);
});
