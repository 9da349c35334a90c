/**
 * Everything the tool takes from its environment variables, read in this one place and handed to the core as
 * plain settings: the core never reads the environment.
 *
 * @module
 */

import type { CodeBuildContext } from "../ci/codebuild.ts";
import { projectArnFromBuildArn } from "../ci/codebuild.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { type Clock, fixedClock, systemClock } from "../formats/clock.ts";
import type { ContainerCredentialSettings } from "../registry/credentials/aws.ts";
import type { CredentialSettings } from "../registry/mod.ts";
import { rfc3339 } from "../time.ts";
import { TOOL_NAME } from "../version.ts";

/** The environment variables, as the process has them. */
export type Env = Record<string, string | undefined>;

function get(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: Env): string | undefined {
  const dir = get(env, "DOCKER_CONFIG");
  if (dir) return `${dir.replace(/\/+$/, "")}/config.json`;
  const home = get(env, "HOME") ?? get(env, "USERPROFILE");
  return home ? `${home.replace(/\/+$/, "")}/.docker/config.json` : undefined;
}

/**
 * The containers auth files podman, skopeo and buildah use (containers-auth.json(5)), in their order:
 * `$REGISTRY_AUTH_FILE` alone when set; else `$XDG_RUNTIME_DIR/containers/auth.json` (or
 * `/run/containers/$UID/auth.json` when XDG_RUNTIME_DIR is unset), then `$XDG_CONFIG_HOME/containers/auth.json`
 * (`~/.config/containers/auth.json`).
 */
export function containersAuthPaths(env: Env, uid: number | null): string[] {
  const explicit = get(env, "REGISTRY_AUTH_FILE");
  if (explicit) return [explicit];
  const out: string[] = [];
  const runtime = get(env, "XDG_RUNTIME_DIR");
  if (runtime) out.push(`${runtime.replace(/\/+$/, "")}/containers/auth.json`);
  else if (uid !== null) out.push(`/run/containers/${uid}/auth.json`);
  const config = get(env, "XDG_CONFIG_HOME") ??
    (get(env, "HOME") ? `${get(env, "HOME")}/.config` : undefined);
  if (config) out.push(`${config.replace(/\/+$/, "")}/containers/auth.json`);
  return out;
}

/** The ECR token cache directory: `$XDG_CACHE_HOME` or `~/.cache`, then the tool's name. */
export function ecrCacheDir(env: Env): string | undefined {
  const base = get(env, "XDG_CACHE_HOME") ?? (get(env, "HOME") ? `${get(env, "HOME")}/.cache` : undefined);
  return base ? `${base}/${TOOL_NAME}` : undefined;
}

/**
 * Environment variables that decide which AWS identity the SDK's default chain resolves to. Their values key
 * the ECR token cache, so a run as another identity never reuses this one's token. Secrets stay out (the
 * secret key, session tokens, the container authorization token itself): an access key id names its session,
 * and a container token is named by its file or by the endpoint it is sent to.
 */
const IDENTITY_VARS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
  "AWS_ENDPOINT_URL_ECR",
  "AWS_ENDPOINT_URL",
  "CODEBUILD_BUILD_ARN",
];

/** The identity text of the ECR token cache key (see {@link IDENTITY_VARS}). */
export function awsIdentity(env: Env): string {
  return IDENTITY_VARS.map((v) => `${v}=${env[v] ?? ""}`).join("\n");
}

/** Where credentials come from, for the registry layer. */
export function credentialSettings(
  env: Env,
  opts: { region?: string; cache: boolean; uid: number | null },
): CredentialSettings {
  const cacheOff = !opts.cache || get(env, "ECRIMAGEMETADATAEXTRACTOR_NO_CACHE") !== undefined;
  return {
    dockerConfig: dockerConfigPath(env),
    authFiles: containersAuthPaths(env, opts.uid),
    ecr: {
      region: opts.region,
      cacheDir: cacheOff ? undefined : ecrCacheDir(env),
      identity: awsIdentity(env),
      endpointConfigured: get(env, "AWS_ENDPOINT_URL_ECR") !== undefined ||
        get(env, "AWS_ENDPOINT_URL") !== undefined,
      container: containerCredentialsFrom(env),
      profile: get(env, "AWS_PROFILE"),
      uid: opts.uid,
    },
  };
}

/**
 * The container credentials endpoint the AWS SDK would use, from its standard variables: the relative URI
 * (CodeBuild, ECS) on 169.254.170.2, else the full URI (EKS Pod Identity, local stand-ins), with the
 * authorization token or its file. Undefined when neither URI is set.
 */
export function containerCredentialsFrom(env: Env): ContainerCredentialSettings | undefined {
  const relative = get(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const full = get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  const url = relative ? `http://169.254.170.2${relative.startsWith("/") ? "" : "/"}${relative}` : full;
  if (!url) return undefined;
  const out: ContainerCredentialSettings = { url };
  const token = env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  const file = get(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  if (token) out.authorizationToken = token;
  if (file) out.authorizationTokenFile = file;
  return out;
}

/**
 * The formatters' clock: stopped at `SOURCE_DATE_EPOCH` when it is set, the real one otherwise. A
 * SOURCE_DATE_EPOCH that is not whole seconds is a usage error, as the reproducible-builds spec asks.
 */
export function clockFrom(env: Env): Clock {
  const raw = env.SOURCE_DATE_EPOCH?.trim();
  if (raw === undefined || raw === "") return systemClock();
  if (!/^\d{1,15}$/.test(raw) || Number(raw) * 1000 > 8.64e15) {
    throw new UsageError(`SOURCE_DATE_EPOCH "${raw.slice(0, 40)}" is not a valid Unix time`, {
      hint: "set it to whole seconds since 1970-01-01T00:00:00Z, e.g. $(git log -1 --format=%ct)",
    });
  }
  return fixedClock(Number(raw));
}

function epochMillisToRfc3339(text: string): string {
  const ms = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms) || ms > 8.64e15) {
    throw new ConfigError(`CODEBUILD_START_TIME "${text.slice(0, 40)}" is not a time in epoch milliseconds`);
  }
  return rfc3339(new Date(ms));
}

/**
 * What CodeBuild's variables say about the build (empty outside CodeBuild; blank variables count as unset).
 * Throws {@link ConfigError} if CODEBUILD_START_TIME is set but is not epoch milliseconds.
 *
 * @example
 * ```ts
 * codebuildFrom({ CODEBUILD_BUILD_ARN: "arn:aws:codebuild:us-east-1:123456789012:build/p:1" }).projectArn;
 * // "arn:aws:codebuild:us-east-1:123456789012:project/p"
 * ```
 */
export function codebuildFrom(env: Env): CodeBuildContext {
  const ctx: CodeBuildContext = {};
  const buildArn = get(env, "CODEBUILD_BUILD_ARN");
  const projectArn = get(env, "CODEBUILD_PROJECT_ARN") ?? (buildArn && projectArnFromBuildArn(buildArn));
  const startTime = get(env, "CODEBUILD_START_TIME");
  const fields: [keyof CodeBuildContext, string | undefined][] = [
    ["buildImage", get(env, "CODEBUILD_BUILD_IMAGE")],
    ["buildArn", buildArn],
    ["buildId", get(env, "CODEBUILD_BUILD_ID")],
    ["projectArn", projectArn || undefined],
    ["sourceRepoUrl", get(env, "CODEBUILD_SOURCE_REPO_URL")],
    ["resolvedSourceVersion", get(env, "CODEBUILD_RESOLVED_SOURCE_VERSION")],
    ["sourceRef", get(env, "CODEBUILD_WEBHOOK_HEAD_REF") ?? get(env, "CODEBUILD_SOURCE_VERSION")],
    ["buildNumber", get(env, "CODEBUILD_BUILD_NUMBER")],
    ["startedOn", startTime ? epochMillisToRfc3339(startTime) : undefined],
    ["initiator", get(env, "CODEBUILD_INITIATOR")],
    ["region", get(env, "AWS_REGION") ?? get(env, "AWS_DEFAULT_REGION")],
  ];
  for (const [key, value] of fields) if (value !== undefined) ctx[key] = value;
  return ctx;
}

/** Whether the environment is a CodeBuild build (CODEBUILD_BUILD_ARN or CODEBUILD_BUILD_ID set). */
export function inCodeBuild(env: Env): boolean {
  return get(env, "CODEBUILD_BUILD_ARN") !== undefined || get(env, "CODEBUILD_BUILD_ID") !== undefined;
}
