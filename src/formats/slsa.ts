/**
 * in-toto statements with SLSA provenance that name the resolved image as the build environment the subjects
 * were built in, and the image alone as a SLSA ResourceDescriptor.
 *
 * Formats:
 * - `slsa-v1`: in-toto Statement v1 (`https://in-toto.io/Statement/v1`), predicate `https://slsa.dev/provenance/v1`.
 * - `slsa-v0.2`: in-toto Statement v0.1, predicate `https://slsa.dev/provenance/v0.2` (same facts, old shape).
 * - `descriptor`: the image's ResourceDescriptor only (no subjects).
 *
 * Build type {@link BUILD_TYPE} (`<PROJECT_URL>/buildtypes/container-build-environment/v1`):
 * - externalParameters: `image` (the reference as given), `platform` (`os/arch[/variant]` of the image).
 * - internalParameters (v1) / invocation.environment (v0.2): `codebuild` {buildImage, buildId, initiator,
 *   region} when any is set.
 * - resolvedDependencies (v1) / materials (v0.2): the image (uri = its `pkg:oci` purl, digest.sha256 = platform
 *   manifest), then the CodeBuild source when CODEBUILD_SOURCE_REPO_URL is set (uri `git+<url>` for http(s),
 *   ssh and git URLs, the URL unchanged otherwise (S3); digest.gitCommit = CODEBUILD_RESOLVED_SOURCE_VERSION for
 *   git sources). In v0.2 the source is also `invocation.configSource` (where the buildspec comes from).
 * - builder.id: the explicit builder id, else the CodeBuild project ARN, else the tool's URI (see
 *   src/ci/codebuild.ts).
 * - metadata: invocationId = CODEBUILD_BUILD_ARN, startedOn = CODEBUILD_START_TIME. No finish time: the output
 *   depends only on the image, the subjects and the environment, never on the clock.
 *
 * Image ResourceDescriptor annotations: `configDigest`, `indexDigest` (when an index was read), `os`,
 * `architecture`, `variant` (when any); with the image's own attached provenance looked for,
 * `attachedProvenance.<n>.*` (see {@link ProvenanceOptions.attachedProvenance}).
 *
 * Output: JSON, 2-space indented, trailing newline, keys in a fixed order.
 *
 * @module
 */

import { builderIdFor, type CodeBuildContext } from "../ci/codebuild.ts";
import { UsageError } from "../errors.ts";
import type { ResolvedImage, Subject } from "../image.ts";
import { formatPlatform } from "../platform.ts";
import { PROJECT_URL } from "../version.ts";
import { attachedProvenanceAnnotations, type AttachedProvenanceInfo } from "./attached_sbom.ts";
import type { Clock } from "./clock.ts";
import { digestHex, imagePurl, imageReferenceName } from "./image_ids.ts";

/** The buildType URI of this project's provenance. */
export const BUILD_TYPE = `${PROJECT_URL}/buildtypes/container-build-environment/v1`;

export type { Subject } from "../image.ts";

/** A SLSA v1 ResourceDescriptor (the fields this tool writes). */
export interface ResourceDescriptor {
  uri?: string;
  digest?: Record<string, string>;
  name?: string;
  mediaType?: string;
  annotations?: Record<string, string>;
}

/** What to produce. */
export interface ProvenanceOptions {
  format: "slsa-v1" | "slsa-v0.2" | "descriptor";
  /** The build outputs; at least one for the statement formats, ignored for `descriptor`. */
  subjects: Subject[];
  /** The builder id; overrides what CodeBuild says. */
  builderId?: string;
  /** What CodeBuild says about the build (empty outside CodeBuild). */
  codebuild?: CodeBuildContext;
  /** Accepted for symmetry with the SBOM options; provenance reads no clock (see the module notes). */
  clock?: Clock;
  /**
   * The image's own attached provenance, when it was looked for: recorded by digest in the image
   * ResourceDescriptor's annotations (`attachedProvenance.<n>.digest`, ...; `attached_sbom.ts`). slsa-v0.2
   * materials carry no annotations, so only slsa-v1 and the descriptor show it.
   */
  attachedProvenance?: readonly AttachedProvenanceInfo[];
}

/**
 * The image as a SLSA ResourceDescriptor: uri = purl, digest.sha256 = platform manifest hex, name =
 * `registry/repository:tag`, mediaType = manifest media type, annotations = config/index digests and platform.
 */
export async function imageResourceDescriptor(image: ResolvedImage): Promise<ResourceDescriptor> {
  const annotations: Record<string, string> = { configDigest: image.config.digest };
  if (image.index) annotations.indexDigest = image.index.digest;
  annotations.os = image.platform.os;
  annotations.architecture = image.platform.architecture;
  if (image.platform.variant) annotations.variant = image.platform.variant;
  return {
    uri: await imagePurl(image),
    digest: { sha256: digestHex(image.manifest.digest) },
    name: imageReferenceName(image),
    mediaType: image.manifest.mediaType,
    annotations,
  };
}

/**
 * The URI of a CodeBuild source for provenance: http(s), ssh and git URLs get the SLSA `git+` prefix (user info
 * removed from http(s) URLs, where it could be a token), scp-like `user@host:path` becomes
 * `git+ssh://user@host/path`; anything else (`s3://bucket/key`) is kept and is not a git source.
 */
export function sourceUri(url: string): { uri: string; git: boolean } {
  const text = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1].toLowerCase();
  if (scheme) {
    const clean = /^(git\+)?https?$/.test(scheme) ? text.replace(/^([^:]+:\/\/)[^/@]*@/, "$1") : text;
    if (scheme.startsWith("git+")) return { uri: clean, git: true };
    if (["http", "https", "ssh", "git"].includes(scheme)) return { uri: `git+${clean}`, git: true };
    return { uri: clean, git: false };
  }
  const scp = /^([\w.-]+)@([\w.-]+):\/*(.+)$/.exec(text);
  if (scp) return { uri: `git+ssh://${scp[1]}@${scp[2]}/${scp[3]}`, git: true };
  return { uri: text, git: false };
}

function sourceDescriptor(ctx: CodeBuildContext): ResourceDescriptor | undefined {
  if (!ctx.sourceRepoUrl) return undefined;
  const { uri, git } = sourceUri(ctx.sourceRepoUrl);
  const rd: ResourceDescriptor = { uri };
  if (git && ctx.resolvedSourceVersion) rd.digest = { gitCommit: ctx.resolvedSourceVersion };
  return rd;
}

function codebuildParameters(ctx: CodeBuildContext): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (ctx.buildImage) out.buildImage = ctx.buildImage;
  if (ctx.buildId) out.buildId = ctx.buildId;
  if (ctx.initiator) out.initiator = ctx.initiator;
  if (ctx.region) out.region = ctx.region;
  return Object.keys(out).length ? out : undefined;
}

function checkSubjects(subjects: Subject[]): Subject[] {
  if (subjects.length === 0) {
    throw new UsageError("provenance needs at least one subject (the build output it attests)", {
      hint: "name each artifact, or ask for the image descriptor alone",
      advice: "subject",
    });
  }
  return subjects.map((s) => {
    if (typeof s.name !== "string" || s.name === "" || !/^[0-9a-f]{64}$/.test(s.digest?.sha256 ?? "")) {
      throw new UsageError(`invalid provenance subject ${JSON.stringify(s).slice(0, 120)}`);
    }
    return { name: s.name, digest: { sha256: s.digest.sha256 } };
  });
}

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * The provenance (or descriptor) of `image`, serialised. Throws {@link UsageError} for the statement formats
 * without subjects, ConfigError for a malformed CODEBUILD_START_TIME.
 *
 * @example
 * ```ts
 * const subjects = await hashSubjects(["dist/os.img"]);
 * const bytes = await provenance(image, { format: "slsa-v1", subjects, builderId: "https://ci.example/builder" });
 * ```
 */
export async function provenance(image: ResolvedImage, opts: ProvenanceOptions): Promise<Uint8Array> {
  const imageRd = await imageResourceDescriptor(image);
  if (opts.attachedProvenance) {
    Object.assign(imageRd.annotations!, attachedProvenanceAnnotations(opts.attachedProvenance));
  }
  if (opts.format === "descriptor") return encode(imageRd);
  const subject = checkSubjects(opts.subjects);
  const ctx = opts.codebuild ?? {};
  const builderId = builderIdFor(ctx, opts.builderId);
  const source = sourceDescriptor(ctx);
  const externalParameters = { image: image.origin.input, platform: formatPlatform(image.platform) };
  const codebuild = codebuildParameters(ctx);

  if (opts.format === "slsa-v1") {
    const buildDefinition: Record<string, unknown> = { buildType: BUILD_TYPE, externalParameters };
    if (codebuild) buildDefinition.internalParameters = { codebuild };
    buildDefinition.resolvedDependencies = source ? [imageRd, source] : [imageRd];
    const runDetails: Record<string, unknown> = { builder: { id: builderId } };
    const metadata: Record<string, string> = {};
    if (ctx.buildArn) metadata.invocationId = ctx.buildArn;
    if (ctx.startedOn) metadata.startedOn = ctx.startedOn;
    if (Object.keys(metadata).length) runDetails.metadata = metadata;
    return encode({
      _type: "https://in-toto.io/Statement/v1",
      subject,
      predicateType: "https://slsa.dev/provenance/v1",
      predicate: { buildDefinition, runDetails },
    });
  }

  if (opts.format === "slsa-v0.2") {
    const invocation: Record<string, unknown> = {};
    if (source) {
      invocation.configSource = source.digest
        ? { uri: source.uri, digest: source.digest }
        : { uri: source.uri };
    }
    invocation.parameters = externalParameters;
    if (codebuild) invocation.environment = { codebuild };
    const metadata: Record<string, unknown> = {};
    if (ctx.buildArn) metadata.buildInvocationId = ctx.buildArn;
    if (ctx.startedOn) metadata.buildStartedOn = ctx.startedOn;
    metadata.completeness = { parameters: false, environment: false, materials: false };
    metadata.reproducible = false;
    const materials: ResourceDescriptor[] = [{ uri: imageRd.uri, digest: imageRd.digest }];
    if (source) {
      materials.push(source.digest ? { uri: source.uri, digest: source.digest } : { uri: source.uri });
    }
    return encode({
      _type: "https://in-toto.io/Statement/v0.1",
      subject,
      predicateType: "https://slsa.dev/provenance/v0.2",
      predicate: {
        builder: { id: builderId },
        buildType: BUILD_TYPE,
        invocation,
        metadata,
        materials,
      },
    });
  }
  throw new UsageError(`unknown provenance format "${String(opts.format).slice(0, 40)}"`, {
    hint: "the formats are slsa-v1, slsa-v0.2 and descriptor",
  });
}
