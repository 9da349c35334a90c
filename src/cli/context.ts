/**
 * The run context: the options every command shares turned into settings and an open image source
 * (reference text -> Reference or OCI layout -> ImageSource with the transport settings). No commander here:
 * the early start (`early.ts`) builds the same context before commander is loaded.
 *
 * @module
 */

import { ConfigError, UsageError } from "../errors.ts";
import { hostPlatform, parsePlatform, type Platform } from "../platform.ts";
import { parseReference } from "../reference.ts";
import type { ImageSource } from "../source.ts";
import { redactText } from "../registry/transport/redact.ts";
import { checkDirectory } from "../output.ts";
import { DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS } from "./options.ts";

/** Options shared by every command (as commander hands them over). */
export interface CommonOptions {
  imageUri?: string;
  region?: string;
  verbose?: boolean;
  platform?: string;
  output?: string;
  pretty?: boolean;
  plainHttp?: boolean;
  caFile?: string[];
  registryEndpoint?: string[];
  retries?: string;
  timeout?: string;
  ecrCache?: boolean;
}

/** Settings derived from the options and the environment, shared by every command. */
export interface RunContext {
  env: Record<string, string | undefined>;
  options: CommonOptions;
  /** The reference text (from -u or CODEBUILD_BUILD_IMAGE). */
  input: string;
  platform: Platform;
  /** Whether --platform was given. */
  platformGiven: boolean;
  log?: (line: string) => void;
  /** One line to stderr (progress notes such as the files written). */
  stderr: (line: string) => void;
  /** Secrets learnt during the run; everything printed is redacted against them. */
  secrets: string[];
  signal: AbortSignal;
  /** Open the source the reference names. */
  openSource(): Promise<ImageSource & { close?(): void }>;
}

function nonNegativeInt(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(`invalid ${name} "${value.slice(0, 40)}": expected a whole number from 0 to ${max}`);
  }
  return Number(value);
}

/**
 * Build the run context. Throws {@link UsageError} for missing or bad options.
 *
 * @example
 * ```ts
 * const ctx = makeContext({ imageUri: "alpine" }, Deno.env.toObject(), (l) => console.error(l));
 * ```
 */
export function makeContext(
  options: CommonOptions,
  env: Record<string, string | undefined>,
  stderr: (line: string) => void,
  abort?: AbortSignal,
): RunContext {
  const secrets: string[] = [];
  const log = options.verbose ? (line: string) => stderr(`debug: ${redactText(line, secrets)}`) : undefined;
  const input = (options.imageUri ?? env.CODEBUILD_BUILD_IMAGE ?? "").trim();
  if (!input) {
    throw new UsageError("no image given", {
      hint:
        "pass -u/--image-uri REF, or run inside CodeBuild where CODEBUILD_BUILD_IMAGE names the build image",
    });
  }
  if (/^aws\/codebuild\//.test(input)) {
    throw new UsageError(
      `"${input}" is a curated AWS CodeBuild image, which is not in a registry this tool can read`,
      { hint: "run the build in your own image from ECR (or another registry), or pass -u with that image" },
    );
  }
  const platformGiven = options.platform !== undefined;
  const platform = platformGiven ? parsePlatform(options.platform!) : hostPlatform();
  const retries = nonNegativeInt(options.retries, "--retries", DEFAULT_RETRIES, 20);
  const timeout = nonNegativeInt(options.timeout, "--timeout", DEFAULT_TIMEOUT_SECONDS, 86_400);
  if (timeout === 0) throw new UsageError("--timeout must be at least 1 second");
  const deadline = AbortSignal.timeout(timeout * 1000);
  // `abort` ends an early start that commander's parse did not confirm (early.ts).
  const signal = abort ? AbortSignal.any([deadline, abort]) : deadline;
  const onSecret = (s: string) => {
    if (s && !secrets.includes(s)) secrets.push(s);
  };

  const openSource = async (): Promise<ImageSource & { close?(): void }> => {
    // A missing output directory is reported before any request is made.
    if (options.output && options.output !== "-") await checkDirectory(options.output);
    if (input.startsWith("oci:")) {
      const { openOciLayout, parseOciReference } = await import("../oci-layout.ts");
      return await openOciLayout(parseOciReference(input), { input });
    }
    const ref = parseReference(input);
    const caCerts: string[] = [];
    for (const file of options.caFile ?? []) {
      try {
        caCerts.push(await Deno.readTextFile(file));
      } catch (err) {
        throw new ConfigError(`cannot read --ca-file ${file}: ${(err as Error).message.split("\n")[0]}`, {
          hint: "pass a readable PEM file",
        });
      }
      if (!caCerts.at(-1)!.includes("-----BEGIN CERTIFICATE-----")) {
        throw new ConfigError(`--ca-file ${file} holds no PEM certificate`, { hint: "pass a PEM file" });
      }
    }
    const { openRegistry, parseEndpoints } = await import("../registry/mod.ts");
    const { defaultCacheDir } = await import("../registry/credentials/ecr.ts");
    return openRegistry(ref, input, {
      env,
      plainHttp: options.plainHttp,
      caCerts,
      endpoints: parseEndpoints(options.registryEndpoint ?? []),
      retries,
      signal,
      region: options.region?.trim() || undefined,
      ecrCacheDir: options.ecrCache === false || env.ECRIMAGEMETADATAEXTRACTOR_NO_CACHE
        ? undefined
        : defaultCacheDir(env),
      log,
      onSecret,
    });
  };

  return { env, options, input, platform, platformGiven, log, stderr, secrets, signal, openSource };
}
