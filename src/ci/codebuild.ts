/**
 * What AWS CodeBuild says about a build, as plain data. The CLI reads it from CodeBuild's environment
 * variables (`src/cli/environment.ts`; see
 * https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html) and hands it to the
 * formatters.
 *
 * @module
 */

import { compareReferences } from "../reference.ts";

/** What CodeBuild tells a build about itself. Every field is optional: outside CodeBuild all are unset. */
export interface CodeBuildContext {
  /** CODEBUILD_BUILD_IMAGE: the build environment image reference. */
  buildImage?: string;
  /** CODEBUILD_BUILD_ARN: `arn:aws:codebuild:REGION:ACCOUNT:build/PROJECT:BUILD-UUID`. */
  buildArn?: string;
  /** CODEBUILD_BUILD_ID: `PROJECT:BUILD-UUID`. */
  buildId?: string;
  /** CODEBUILD_PROJECT_ARN if set, else derived from the build ARN. */
  projectArn?: string;
  /** CODEBUILD_SOURCE_REPO_URL. */
  sourceRepoUrl?: string;
  /** CODEBUILD_RESOLVED_SOURCE_VERSION (a commit id for git sources). */
  resolvedSourceVersion?: string;
  /**
   * The source ref the build was asked for: CODEBUILD_WEBHOOK_HEAD_REF (`refs/heads/main`, for webhook builds),
   * else CODEBUILD_SOURCE_VERSION (a branch, tag, commit, `pr/123`, or an S3 object version).
   */
  sourceRef?: string;
  /** CODEBUILD_BUILD_NUMBER: the project's build counter. */
  buildNumber?: string;
  /** CODEBUILD_START_TIME (epoch milliseconds) as RFC 3339 UTC, e.g. `2024-10-13T15:35:38Z`. */
  startedOn?: string;
  /** CODEBUILD_INITIATOR (`codepipeline/NAME`, an IAM user or role, ...). */
  initiator?: string;
  /** AWS_REGION, else AWS_DEFAULT_REGION. */
  region?: string;
}

/** `arn:PARTITION:codebuild:REGION:ACCOUNT:build/PROJECT:BUILD-ID`. */
const BUILD_ARN = /^arn:([a-z0-9-]+):codebuild:([a-z0-9-]+):(\d{12}):build\/([^:/]+):(.+)$/;

/**
 * The project ARN a build ARN belongs to:
 * `arn:aws:codebuild:REGION:ACCOUNT:build/PROJECT:ID` -> `arn:aws:codebuild:REGION:ACCOUNT:project/PROJECT`
 * (any partition). `undefined` when `buildArn` is not a CodeBuild build ARN.
 */
export function projectArnFromBuildArn(buildArn: string): string | undefined {
  const m = BUILD_ARN.exec(buildArn);
  if (!m) return undefined;
  const [, partition, region, account, project] = m;
  return `arn:${partition}:codebuild:${region}:${account}:project/${project}`;
}

/**
 * The SLSA builder id: `explicit` if given, else the CodeBuild project ARN (CODEBUILD_PROJECT_ARN, else derived
 * from CODEBUILD_BUILD_ARN); undefined when neither says who the builder is (the tool itself is not).
 */
export function builderIdFor(ctx: CodeBuildContext, explicit?: string): string | undefined {
  const given = explicit?.trim();
  return given || ctx.projectArn || undefined;
}

/** Whether the context is a CodeBuild build (it has a build ARN or id). */
export function isCodeBuild(ctx: CodeBuildContext): boolean {
  return ctx.buildArn !== undefined || ctx.buildId !== undefined;
}

/**
 * Whether the image described (`input`) is the one the CodeBuild build runs in (`buildImage`), as far as the
 * two references tell: `true`, `false`, or `unknown` (one repository, but a tag against a digest, or two tags).
 */
export function environmentImageRelation(input: string, buildImage: string): "true" | "false" | "unknown" {
  const r = compareReferences(input, buildImage);
  return r === "same" ? "true" : r === "different" ? "false" : "unknown";
}
