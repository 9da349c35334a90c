/**
 * The AWS CodeBuild build environment, read from environment variables into plain data (no I/O: the caller
 * passes the env record). See https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html.
 *
 * Empty or blank variables count as unset.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { rfc3339 } from "../formats/clock.ts";
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

function get(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

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
 * Read the CodeBuild variables of `env`. Throws {@link ConfigError} if CODEBUILD_START_TIME is set but is not
 * epoch milliseconds.
 *
 * @example
 * ```ts
 * const ctx = codebuildContext(Deno.env.toObject());
 * ctx.projectArn; // "arn:aws:codebuild:us-east-1:123456789012:project/my-project"
 * ```
 */
export function codebuildContext(env: Record<string, string | undefined>): CodeBuildContext {
  const ctx: CodeBuildContext = {};
  const buildImage = get(env, "CODEBUILD_BUILD_IMAGE");
  const buildArn = get(env, "CODEBUILD_BUILD_ARN");
  const buildId = get(env, "CODEBUILD_BUILD_ID");
  const projectArn = get(env, "CODEBUILD_PROJECT_ARN") ?? (buildArn && projectArnFromBuildArn(buildArn));
  const sourceRepoUrl = get(env, "CODEBUILD_SOURCE_REPO_URL");
  const resolvedSourceVersion = get(env, "CODEBUILD_RESOLVED_SOURCE_VERSION");
  const startTime = get(env, "CODEBUILD_START_TIME");
  const initiator = get(env, "CODEBUILD_INITIATOR");
  const region = get(env, "AWS_REGION") ?? get(env, "AWS_DEFAULT_REGION");
  if (buildImage) ctx.buildImage = buildImage;
  if (buildArn) ctx.buildArn = buildArn;
  if (buildId) ctx.buildId = buildId;
  if (projectArn) ctx.projectArn = projectArn;
  if (sourceRepoUrl) ctx.sourceRepoUrl = sourceRepoUrl;
  if (resolvedSourceVersion) ctx.resolvedSourceVersion = resolvedSourceVersion;
  if (startTime) ctx.startedOn = epochMillisToRfc3339(startTime);
  if (initiator) ctx.initiator = initiator;
  if (region) ctx.region = region;
  return ctx;
}

function epochMillisToRfc3339(text: string): string {
  const ms = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms) || ms > 8.64e15) {
    throw new ConfigError(`CODEBUILD_START_TIME "${text.slice(0, 40)}" is not a time in epoch milliseconds`);
  }
  return rfc3339(new Date(ms));
}

/**
 * The SLSA builder id: `explicit` (`--builder-id`) if given, else the CodeBuild project ARN
 * (CODEBUILD_PROJECT_ARN, else derived from CODEBUILD_BUILD_ARN), else {@link DEFAULT_BUILDER_ID}.
 */
export function builderIdFor(ctx: CodeBuildContext, explicit?: string): string {
  const given = explicit?.trim();
  return given || ctx.projectArn || DEFAULT_BUILDER_ID;
}

/** Whether `env` looks like a CodeBuild build (CODEBUILD_BUILD_ARN or CODEBUILD_BUILD_ID set). */
export function isCodeBuild(env: Record<string, string | undefined>): boolean {
  return get(env, "CODEBUILD_BUILD_ARN") !== undefined || get(env, "CODEBUILD_BUILD_ID") !== undefined;
}
