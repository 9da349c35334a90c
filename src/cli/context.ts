/**
 * The run context: the options every image command shares, turned into settings and an open image source
 * (reference text -> Reference or OCI layout -> ImageSource with the transport settings), plus where the
 * run's output and notes go.
 *
 * @module
 */

import type { CodeBuildContext } from "../ci/codebuild.ts";
import { ConfigError, PolicyError, printable, ToolError, UsageError } from "../errors.ts";
import { readLocalFile } from "../files.ts";
import type { UnresolvedImage } from "../image.ts";
import type { Clock } from "../formats/clock.ts";
import { hostPlatform, parsePlatform, type Platform } from "../platform.ts";
import { compareReferences, parseReference } from "../reference.ts";
import type { Sleep } from "../registry/transport/retry.ts";
import { redactText } from "../registry/transport/redact.ts";
import type { ImageSource } from "../source.ts";
import { checkOutputFile, type Content, writeFileAtomic } from "../output.ts";
import { refuseSubjectsAmongOutputs } from "./outputs.ts";
import { clockFrom, codebuildFrom, credentialSettings, type Env, inCodeBuild } from "./environment.ts";
import { DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS } from "./options.ts";
import { TOOL_NAME } from "../version.ts";

/** Process-level inputs and outputs of a run: parameters, so tests run the CLI in-process. */
export interface RunIO {
  /** The environment variables. */
  env: Env;
  /** The directory relative paths are relative to: where the user ran the command. */
  cwd: string;
  /** Write bytes to standard output (all of them), done with them when it resolves (they may be reused). */
  stdout(bytes: Uint8Array): Promise<void>;
  /** Write one line (without newline) to standard error. */
  stderr(line: string): void;
  /** The user id, for the per-user containers auth file (`/run/containers/UID/auth.json`). */
  uid?: number | null;
  /** How retries wait (tests pass one that does not). */
  sleep?: Sleep;
}

/** Options shared by every image command, as the parser hands them over. */
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
  requireDigest?: boolean;
}

/** Settings derived from the options and the environment, shared by every image command. */
export interface RunContext {
  io: RunIO;
  options: CommonOptions;
  /** The reference text (from -u or CODEBUILD_BUILD_IMAGE). */
  input: string;
  platform: Platform;
  /** Whether --platform was given. */
  platformGiven: boolean;
  /**
   * The image, when it cannot be read and is described by name only (an AWS-managed CodeBuild image); the
   * commands that print registry bytes refuse it, the formatters describe it as unresolved.
   */
  unresolved?: UnresolvedImage;
  /** The formatters' clock (SOURCE_DATE_EPOCH); throws a usage error for a malformed SOURCE_DATE_EPOCH. */
  clock(): Clock;
  /** What CodeBuild says about the build; throws for a malformed CODEBUILD_START_TIME. */
  codebuild(): CodeBuildContext;
  /** Debug log (with --verbose). */
  log?: (line: string) => void;
  /** One note to stderr (files written), redacted and escaped. */
  note(line: string): void;
  /** One warning line to stderr (`ecrimagemetadataextractor: warning: ...`), redacted and escaped. */
  warn(line: string): void;
  /** Secrets learnt during the run; everything printed is redacted against them. */
  secrets: string[];
  /** The run's deadline. */
  signal: AbortSignal;
  /** A path as the user gave it, resolved against the directory they ran the command from. */
  resolve(path: string): string;
  /** Open the source the reference names. Dispose of it when done (`await using`). */
  openSource(): Promise<ImageSource>;
  /** Write the command's result to -o FILE (atomically) or stdout. */
  emit(content: Content): Promise<void>;
  /**
   * Throw a usage error, before any request, when one of the `--subject` files is the file -o names: the run
   * would hash it and then write over it.
   */
  refuseOutputAsSubject(subjects: readonly string[] | undefined): Promise<void>;
}

/**
 * Output paths that name the process's own standard output. Deno's permissions do not reach them without
 * --allow-all (the compiled binary has less), and writing stdout through them is what the user means.
 */
const STDOUT_PATHS = new Set(["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]);

/** Largest CA file read: a full system bundle is about 200 KiB. */
const MAX_CA_FILE = 4 * 1024 * 1024;

/** A line as it may reach the terminal: secrets redacted first, then control characters escaped. */
export function safeLine(line: string, secrets: readonly string[]): string {
  return printable(redactText(line, secrets));
}

function nonNegativeInt(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(`invalid ${name} "${value.slice(0, 40)}": expected a whole number from 0 to ${max}`);
  }
  return Number(value);
}

/**
 * Parse `HOST=URL` endpoint mappings (`--registry-endpoint`).
 *
 * @example
 * ```ts
 * parseEndpoints(["123456789012.dkr.ecr.us-east-1.amazonaws.com=https://vpce-1.example:443"]);
 * ```
 */
export function parseEndpoints(values: readonly string[]): Record<string, string> {
  // No prototype: a host named `__proto__` or `constructor` is an entry like any other.
  const out: Record<string, string> = Object.create(null);
  for (const v of values) {
    const eq = v.indexOf("=");
    const host = eq > 0 ? v.slice(0, eq).trim().toLowerCase() : "";
    const url = eq > 0 ? v.slice(eq + 1).trim() : "";
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!host || !parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.search) {
      throw new UsageError(`invalid --registry-endpoint "${v.slice(0, 100)}"`, {
        advice: "registry-endpoint",
      });
    }
    out[host] = parsed.origin + parsed.pathname.replace(/\/+$/, "");
  }
  return out;
}

/** Resolve `path` against `cwd` (POSIX; absolute paths unchanged). */
export function resolveAgainst(cwd: string, path: string): string {
  if (path.startsWith("/") || cwd === "") return path;
  return `${cwd.replace(/\/+$/, "")}/${path}`;
}

/**
 * Build the run context from the parsed options. Throws {@link UsageError} for missing or bad options. The
 * `deadline` ends the run (the caller makes it: `AbortSignal.timeout(--timeout)`).
 *
 * @example
 * ```ts
 * const ctx = makeContext({ imageUri: "alpine" }, io, AbortSignal.timeout(120_000));
 * ```
 */
export function makeContext(options: CommonOptions, io: RunIO, deadline: AbortSignal): RunContext {
  const { env } = io;
  const secrets: string[] = [];
  const note = (line: string) => io.stderr(safeLine(line, secrets));
  const warn = (line: string) => note(`${TOOL_NAME}: warning: ${line}`);
  const log = options.verbose ? (line: string) => note(`debug: ${line}`) : undefined;
  const input = (options.imageUri ?? env.CODEBUILD_BUILD_IMAGE ?? "").trim();
  if (!input) {
    throw new UsageError("no image given", {
      hint:
        "pass -u/--image-uri REF, or run inside CodeBuild where CODEBUILD_BUILD_IMAGE names the build image",
    });
  }
  const unresolved = managedImage(input);
  if (options.requireDigest) requireDigest(input, unresolved);
  if (options.imageUri !== undefined && inCodeBuild(env)) {
    const buildImage = env.CODEBUILD_BUILD_IMAGE?.trim();
    const relation = buildImage ? compareReferences(options.imageUri, buildImage) : "same";
    if (relation === "different") {
      warn(
        `-u names ${options.imageUri}, but this CodeBuild build runs in ${buildImage} ` +
          "(CODEBUILD_BUILD_IMAGE); the documents describe the -u image and record both",
      );
    } else if (relation === "same-repository") {
      warn(
        `-u names ${options.imageUri} and this CodeBuild build runs in ${buildImage} (CODEBUILD_BUILD_IMAGE): ` +
          "the same repository, but whether the same image is not known; the documents record both",
      );
    }
  }
  const platformGiven = options.platform !== undefined;
  const platform = platformGiven ? parsePlatform(options.platform!) : hostPlatform();
  const retries = nonNegativeInt(options.retries, "--retries", DEFAULT_RETRIES, 20);
  const endpoints = parseEndpoints(options.registryEndpoint ?? []);
  const clock = () => clockFrom(env);
  const codebuild = () => codebuildFrom(env);
  const resolve = (path: string) => resolveAgainst(io.cwd, path);
  const onSecret = (s: string) => {
    if (s && !secrets.includes(s)) secrets.push(s);
  };

  const toFile = !!options.output && !STDOUT_PATHS.has(options.output);
  const openSource = async (): Promise<ImageSource> => {
    // An output path that cannot be a file (a directory, or in a missing one) is reported before any request.
    if (toFile) await checkOutputFile(resolve(options.output!));
    if (input.startsWith("oci:")) {
      const { openOciLayout, parseOciReference } = await import("../oci-layout.ts");
      return await openOciLayout(parseOciReference(input), { input, cwd: io.cwd });
    }
    const ref = parseReference(input);
    const caCerts: string[] = [];
    for (const file of options.caFile ?? []) {
      let text: string;
      try {
        const { bytes } = await readLocalFile(resolve(file), { max: MAX_CA_FILE, what: "--ca-file" });
        text = new TextDecoder().decode(bytes);
      } catch (err) {
        if (err instanceof ToolError) throw err;
        throw new ConfigError(`cannot read --ca-file ${file}: ${(err as Error).message.split("\n")[0]}`, {
          hint: "pass a readable PEM file",
        });
      }
      if (!text.includes("-----BEGIN CERTIFICATE-----")) {
        throw new ConfigError(`--ca-file ${file} holds no PEM certificate`, { hint: "pass a PEM file" });
      }
      caCerts.push(text);
    }
    const { openRegistry } = await import("../registry/mod.ts");
    return openRegistry(ref, input, {
      credentials: credentialSettings(env, {
        region: options.region?.trim() || undefined,
        cache: options.ecrCache !== false,
        uid: io.uid ?? null,
      }),
      plainHttp: options.plainHttp,
      caCerts,
      endpoints,
      retries,
      signal: deadline,
      log,
      onSecret,
      sleep: io.sleep,
    });
  };

  const refuseOutputAsSubject = async (subjects: readonly string[] | undefined) => {
    if (!toFile || !subjects?.length) return;
    await refuseSubjectsAmongOutputs(
      subjects,
      subjects.map(resolve),
      [{ path: resolve(options.output!), shown: `-o ${options.output}` }],
      "the output file",
      "write the document beside the artifact, under another name",
    );
  };

  const emit = async (content: Content) => {
    if (toFile) await writeFileAtomic(resolve(options.output!), content);
    else if (content instanceof Uint8Array) await io.stdout(content);
    else await content(io.stdout);
  };

  return {
    io,
    options,
    input,
    platform,
    platformGiven,
    ...(unresolved ? { unresolved } : {}),
    clock,
    codebuild,
    log,
    note,
    warn,
    secrets,
    signal: deadline,
    resolve,
    openSource,
    emit,
    refuseOutputAsSubject,
  };
}

/** The name and tag of an AWS-managed CodeBuild image (`aws/codebuild/NAME:TAG`), which no tool can pull. */
export function managedImage(input: string): UnresolvedImage | undefined {
  const m = /^(aws\/codebuild\/[^:@\s]+)(?::([^@\s]+))?$/.exec(input);
  if (!m && !input.startsWith("aws/codebuild/")) return undefined;
  const image: UnresolvedImage = {
    unresolved: true,
    input,
    name: m?.[1] ?? input,
    reason:
      "an AWS-managed CodeBuild image, which is in no registry this tool can read: not resolved to a digest",
  };
  if (m?.[2]) image.tag = m[2];
  return image;
}

/** Refuse an image that is not pinned by digest (`--require-digest`). */
function requireDigest(input: string, unresolved: UnresolvedImage | undefined): void {
  if (unresolved) {
    throw new PolicyError(
      `--require-digest: ${input} is an AWS-managed CodeBuild image, which cannot be resolved to a digest`,
      { advice: "managed-image" },
    );
  }
  if (input.startsWith("oci:")) {
    if (!/@[a-z0-9]+:[0-9a-f]+$/.test(input)) {
      throw new PolicyError(`--require-digest: ${input} does not name the image by digest`, {
        hint: `pin it: oci:PATH@sha256:<digest of the manifest>`,
      });
    }
    return;
  }
  const ref = parseReference(input);
  if (!ref.digest) {
    throw new PolicyError(
      `--require-digest: ${input} names the tag ${ref.tag}, which can move, not a digest`,
      { hint: `pin it: -u ${ref.registry}/${ref.repository}@sha256:<digest>` },
    );
  }
}

/** The deadline in seconds from `--timeout` (validated). */
export function timeoutSeconds(options: CommonOptions): number {
  const timeout = nonNegativeInt(options.timeout, "--timeout", DEFAULT_TIMEOUT_SECONDS, 86_400);
  if (timeout === 0) throw new UsageError("--timeout must be at least 1 second");
  return timeout;
}
