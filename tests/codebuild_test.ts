import assert from "node:assert/strict";
import {
  builderIdFor,
  isCodeBuild as contextIsCodeBuild,
  projectArnFromBuildArn,
} from "../src/ci/codebuild.ts";
import { codebuildFrom as codebuildContext, inCodeBuild as isCodeBuild } from "../src/cli/environment.ts";
import { ConfigError } from "../src/errors.ts";
import { CODEBUILD_ENV } from "./support/resolved_fixture.ts";

Deno.test("codebuildContext maps every CodeBuild variable", () => {
  assert.deepEqual(codebuildContext(CODEBUILD_ENV), {
    buildImage: "772738948692.dkr.ecr.us-east-1.amazonaws.com/os_build_env:latest",
    buildArn:
      "arn:aws:codebuild:us-east-1:772738948692:build/os-image-build:6f1c2b3a-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
    buildId: "os-image-build:6f1c2b3a-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
    projectArn: "arn:aws:codebuild:us-east-1:772738948692:project/os-image-build",
    sourceRepoUrl: "https://github.com/Vasu77df/os-image.git",
    resolvedSourceVersion: "0123456789abcdef0123456789abcdef01234567",
    startedOn: "2024-10-13T15:35:38Z",
    initiator: "codepipeline/os-image-pipeline",
    region: "us-east-1",
  });
});

Deno.test("codebuildContext outside CodeBuild is empty; blank values count as unset", () => {
  assert.deepEqual(codebuildContext({}), {});
  assert.deepEqual(
    codebuildContext({ CODEBUILD_BUILD_ARN: "", CODEBUILD_START_TIME: " ", AWS_REGION: "" }),
    {},
  );
  assert.equal(isCodeBuild({}), false);
  assert.equal(isCodeBuild({ CODEBUILD_BUILD_ID: "p:1" }), true);
  assert.equal(isCodeBuild(CODEBUILD_ENV), true);
});

Deno.test("CODEBUILD_PROJECT_ARN wins over the project derived from the build ARN", () => {
  const ctx = codebuildContext({
    ...CODEBUILD_ENV,
    CODEBUILD_PROJECT_ARN: "arn:aws:codebuild:eu-west-1:1:project/x",
  });
  assert.equal(ctx.projectArn, "arn:aws:codebuild:eu-west-1:1:project/x");
});

Deno.test("AWS_DEFAULT_REGION is the fallback region", () => {
  assert.equal(codebuildContext({ AWS_DEFAULT_REGION: "eu-central-1" }).region, "eu-central-1");
  assert.equal(
    codebuildContext({ AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "eu-central-1" }).region,
    "us-west-2",
  );
});

Deno.test("CODEBUILD_START_TIME: epoch ms to RFC 3339 UTC, fraction only when non-zero", () => {
  assert.equal(codebuildContext({ CODEBUILD_START_TIME: "1728833738000" }).startedOn, "2024-10-13T15:35:38Z");
  assert.equal(
    codebuildContext({ CODEBUILD_START_TIME: "1728833738007" }).startedOn,
    "2024-10-13T15:35:38.007Z",
  );
  for (const bad of ["yesterday", "1728833738.5", "-5", "99999999999999999"]) {
    assert.throws(() => codebuildContext({ CODEBUILD_START_TIME: bad }), ConfigError, bad);
  }
});

Deno.test("projectArnFromBuildArn", () => {
  assert.equal(
    projectArnFromBuildArn(
      "arn:aws:codebuild:us-east-1:123456789012:build/my-project:0b9b0f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    ),
    "arn:aws:codebuild:us-east-1:123456789012:project/my-project",
  );
  assert.equal(
    projectArnFromBuildArn("arn:aws-cn:codebuild:cn-north-1:123456789012:build/p_1:abc"),
    "arn:aws-cn:codebuild:cn-north-1:123456789012:project/p_1",
  );
  assert.equal(
    projectArnFromBuildArn("arn:aws:codebuild:us-east-1:123456789012:project/my-project"),
    undefined,
  );
  assert.equal(projectArnFromBuildArn("arn:aws:s3:::bucket"), undefined);
  assert.equal(projectArnFromBuildArn("not an arn"), undefined);
  assert.deepEqual(codebuildContext({ CODEBUILD_BUILD_ARN: "garbage" }), { buildArn: "garbage" });
});

Deno.test("builderIdFor: --builder-id, else project ARN, else nothing (the tool is not the builder)", () => {
  const ctx = codebuildContext(CODEBUILD_ENV);
  assert.equal(builderIdFor(ctx, "https://example.com/builder"), "https://example.com/builder");
  assert.equal(builderIdFor(ctx, "  "), "arn:aws:codebuild:us-east-1:772738948692:project/os-image-build");
  assert.equal(builderIdFor(ctx), "arn:aws:codebuild:us-east-1:772738948692:project/os-image-build");
  assert.equal(builderIdFor({}), undefined);
  assert.equal(builderIdFor({}, " "), undefined);
  assert.ok(contextIsCodeBuild(ctx));
  assert.ok(!contextIsCodeBuild({ region: "us-east-1" }));
});
