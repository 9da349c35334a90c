/**
 * What AWS CodeBuild says about a build, as plain data. The CLI reads it from CodeBuild's environment
 * variables (`src/cli/environment.ts`; see
 * https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html) and hands it to the
 * formatters.
 *
 * @module
 */

import { PROJECT_URL } from "../version.ts";

/** The builder id used when neither `--builder-id` nor CodeBuild variables name one: the tool's URI. */
export const DEFAULT_BUILDER_ID = PROJECT_URL;

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
 * The SLSA builder id: `explicit` (`--builder-id`) if given, else the CodeBuild project ARN
 * (CODEBUILD_PROJECT_ARN, else derived from CODEBUILD_BUILD_ARN), else {@link DEFAULT_BUILDER_ID}.
 */
export function builderIdFor(ctx: CodeBuildContext, explicit?: string): string {
  const given = explicit?.trim();
  return given || ctx.projectArn || DEFAULT_BUILDER_ID;
}
