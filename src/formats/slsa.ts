/**
 * in-toto statements with SLSA provenance that name the resolved image, by digest, as the build environment
 * the subjects were built in, and the image alone as a SLSA ResourceDescriptor.
 *
 * Formats:
 * - `slsa-v1`: in-toto Statement v1 (`https://in-toto.io/Statement/v1`), predicate `https://slsa.dev/provenance/v1`.
 * - `slsa-v0.2`: in-toto Statement v0.1, predicate `https://slsa.dev/provenance/v0.2` (same facts, old shape).
 * - `descriptor`: the image's ResourceDescriptor only (no subjects).
 *
 * Build types: every statement names the document that defines its parameters, how each maps to a
 * dependency, and an example: `docs/buildtypes/codebuild/v1.md` (a CodeBuild build),
 * `docs/buildtypes/container/v1.md` (a build outside CodeBuild, in a container image), and their v0.2
 * counterparts. `tests/buildtypes_test.ts` holds the code to those documents: every field written is defined
 * there.
 *
 * The builder is the CodeBuild project (its ARN) or the builder id given; never this tool, which only records.
 * Annotations on the image are namespaced (`ecrimagemetadataextractor_...`), as SLSA's extension rules ask.
 *
 * Output: JSON, 2-space indented, trailing newline, keys in a fixed order.
 *
 * @module
 */

import {
  builderIdFor,
  type CodeBuildContext,
  environmentImageRelation,
  isCodeBuild,
} from "../ci/codebuild.ts";
import { UsageError } from "../errors.ts";
import {
  type DescribedImage,
  imageInput,
  isUnresolved,
  resolvedBy,
  type ResolvedImage,
  type Subject,
} from "../image.ts";
import { rfc3339 } from "../time.ts";
import { repositoryUri, sourceUri } from "../url.ts";

export { sourceUri };
import { PROJECT_URL } from "../version.ts";
import { attachedProvenanceAnnotations, type AttachedProvenanceInfo } from "./attached_sbom.ts";
import type { Clock } from "./clock.ts";
import { digestHex, imagePurl, imageReferenceName } from "./image_ids.ts";

export type { Subject } from "../image.ts";

/** Where the build type documents live: this repository's `docs/buildtypes/`. */
const BUILD_TYPE_BASE = `${PROJECT_URL}/blob/main/docs/buildtypes`;

/** The build types this tool writes, by shape: a CodeBuild build or a build outside it; SLSA v1 or v0.2. */
export const BUILD_TYPES = {
  codebuild: {
    "slsa-v1": `${BUILD_TYPE_BASE}/codebuild/v1.md`,
    "slsa-v0.2": `${BUILD_TYPE_BASE}/codebuild/v0.2.md`,
  },
  container: {
    "slsa-v1": `${BUILD_TYPE_BASE}/container/v1.md`,
    "slsa-v0.2": `${BUILD_TYPE_BASE}/container/v0.2.md`,
  },
} as const;

/** The prefix of this tool's annotation keys. */
export const ANNOTATION_PREFIX = "ecrimagemetadataextractor_";

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
  /** The builder id; overrides what CodeBuild says. Required outside CodeBuild. */
  builderId?: string;
  /** What CodeBuild says about the build (empty outside CodeBuild). */
  codebuild?: CodeBuildContext;
  /** The run's clock: `finishedOn` (SOURCE_DATE_EPOCH when set). Without it, no finish time is written. */
  clock?: Clock;
  /** Files the same run wrote beside the statement (the SBOM), by digest: `runDetails.byproducts`. */
  byproducts?: ResourceDescriptor[];
  /**
   * The image's own attached provenance, when it was looked for: recorded by digest in the image
   * ResourceDescriptor's annotations (`ecrimagemetadataextractor_attached_provenance_<n>_digest`, ...). v0.2
   * materials carry no annotations; there they are in `environmentImageResolution` with the others.
   */
  attachedProvenance?: readonly AttachedProvenanceInfo[];
}

/**
 * The image as a SLSA ResourceDescriptor: uri = purl, digest.sha256 = platform manifest hex, name =
 * `registry/repository:tag`, mediaType = manifest media type, annotations = the config and index digests, the
 * platform the config declares, and how the reference was resolved (as given, by tag or digest, to what, when).
 */
export async function imageResourceDescriptor(
  image: ResolvedImage,
  extra: Record<string, string> = {},
): Promise<ResourceDescriptor> {
  const a: Record<string, string> = {};
  const put = (key: string, value: string | undefined) => {
    if (value !== undefined && value !== "") a[`${ANNOTATION_PREFIX}${key}`] = value;
  };
  put("config_digest", image.config.digest);
  put("index_digest", image.index?.digest);
  put("os", image.platform.os);
  put("architecture", image.platform.architecture);
  put("variant", image.platform.variant);
  put("os_version", image.platform["os.version"]);
  put("reference", image.origin.input);
  put("resolved_by", resolvedBy(image.origin));
  put("resolved_digest", (image.index ?? image.manifest).digest);
  if (image.resolvedAt) put("resolved_at", rfc3339(image.resolvedAt));
  for (const [k, v] of Object.entries(extra)) put(k, v);
  return {
    uri: await imagePurl(image),
    digest: { sha256: digestHex(image.manifest.digest) },
    name: imageReferenceName(image),
    mediaType: image.manifest.mediaType,
    annotations: a,
  };
}

/** The source as a resolved dependency: `git+URL@REF` with its commit (SLSA's git convention), or the URL. */
function sourceDescriptor(ctx: CodeBuildContext): ResourceDescriptor | undefined {
  if (!ctx.sourceRepoUrl) return undefined;
  const { uri, git } = repositoryUri(ctx.sourceRepoUrl);
  const rd: ResourceDescriptor = { uri: git && ctx.sourceRef ? `${uri}@${ctx.sourceRef}` : uri };
  if (git && ctx.resolvedSourceVersion) rd.digest = { gitCommit: ctx.resolvedSourceVersion };
  return rd;
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

/** Drop undefined values (the documents never carry `null` placeholders). */
function defined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

/** The parts of a statement both SLSA shapes are made of. */
interface Facts {
  shape: "codebuild" | "container";
  builderId: string;
  externalParameters: Record<string, unknown>;
  internalParameters?: Record<string, unknown>;
  image?: ResourceDescriptor;
  source?: ResourceDescriptor;
  invocationId?: string;
  startedOn?: string;
  finishedOn?: string;
}

async function facts(image: DescribedImage, opts: ProvenanceOptions): Promise<Facts> {
  const cb = opts.codebuild ?? {};
  const inCodeBuild = isCodeBuild(cb);
  const builderId = builderIdFor(cb, opts.builderId);
  if (!builderId) {
    throw new UsageError("provenance outside CodeBuild needs a builder id: who ran the build", {
      hint: "name the builder (a URI that identifies your CI system or build host)",
      advice: "builder-id",
    });
  }
  const input = imageInput(image);
  const environmentImage = cb.buildImage ?? input;
  const extra: Record<string, string> = inCodeBuild && cb.buildImage
    ? { environment_image: environmentImageRelation(input, cb.buildImage) }
    : {};
  const attached = opts.attachedProvenance ? attachedProvenanceAnnotations(opts.attachedProvenance, "") : {};
  const imageRd = isUnresolved(image)
    ? undefined
    : await imageResourceDescriptor(image, { ...extra, ...attached });
  const unresolved = isUnresolved(image)
    ? { unresolvedEnvironmentImage: { reference: image.input, reason: image.reason } }
    : {};
  const source = inCodeBuild ? sourceDescriptor(cb) : undefined;
  const externalParameters = inCodeBuild
    ? defined({
      source: cb.sourceRepoUrl
        ? defined({ uri: sourceUri(cb.sourceRepoUrl).uri, ref: cb.sourceRef })
        : undefined,
      environmentImage,
    })
    : { environmentImage };
  const internal = inCodeBuild
    ? defined({
      projectArn: cb.projectArn,
      buildId: cb.buildId,
      buildNumber: cb.buildNumber,
      initiator: cb.initiator,
      region: cb.region,
      ...unresolved,
    })
    : { ...unresolved };
  return {
    shape: inCodeBuild ? "codebuild" : "container",
    builderId,
    externalParameters,
    ...(Object.keys(internal).length ? { internalParameters: internal } : {}),
    ...(imageRd ? { image: imageRd } : {}),
    ...(source ? { source } : {}),
    ...(cb.buildArn ? { invocationId: cb.buildArn } : {}),
    ...(cb.startedOn ? { startedOn: cb.startedOn } : {}),
    ...finishedOn(cb.startedOn, opts.clock),
  };
}

/**
 * `finishedOn` from the run's clock; left out when it would be earlier than the build's start (a
 * SOURCE_DATE_EPOCH before a CodeBuild start time): a document must not say a build ended before it began.
 */
function finishedOn(startedOn: string | undefined, clock: Clock | undefined): { finishedOn?: string } {
  if (!clock) return {};
  const end = clock.now();
  if (startedOn && end.getTime() < Date.parse(startedOn)) return {};
  return { finishedOn: rfc3339(end) };
}

/**
 * The provenance (or descriptor) of `image`, serialised. Throws {@link UsageError} for the statement formats
 * without subjects or without a builder id (outside CodeBuild), and for the descriptor of an image that was not
 * resolved.
 *
 * @example
 * ```ts
 * const subjects = await hashSubjects(["dist/os.img"]);
 * const bytes = await provenance(image, { format: "slsa-v1", subjects, builderId: "https://ci.example/builder" });
 * ```
 */
export async function provenance(image: DescribedImage, opts: ProvenanceOptions): Promise<Uint8Array> {
  if (opts.format === "descriptor") {
    if (isUnresolved(image)) {
      throw new UsageError(`${image.input} was not resolved to a digest, so it has no ResourceDescriptor`);
    }
    const attached = opts.attachedProvenance
      ? attachedProvenanceAnnotations(opts.attachedProvenance, "")
      : {};
    return encode(await imageResourceDescriptor(image, attached));
  }
  const subject = checkSubjects(opts.subjects);
  const f = await facts(image, opts);
  const byproducts = opts.byproducts?.length ? opts.byproducts : undefined;
  const dependencies = [f.image, f.source].filter((d): d is ResourceDescriptor => d !== undefined);

  if (opts.format === "slsa-v1") {
    const metadata = defined({
      invocationId: f.invocationId,
      startedOn: f.startedOn,
      finishedOn: f.finishedOn,
    });
    return encode({
      _type: "https://in-toto.io/Statement/v1",
      subject,
      predicateType: "https://slsa.dev/provenance/v1",
      predicate: {
        buildDefinition: defined({
          buildType: BUILD_TYPES[f.shape]["slsa-v1"],
          externalParameters: f.externalParameters,
          internalParameters: f.internalParameters,
          resolvedDependencies: dependencies,
        }),
        runDetails: defined({
          builder: { id: f.builderId },
          metadata: Object.keys(metadata).length ? metadata : undefined,
          byproducts,
        }),
      },
    });
  }

  if (opts.format === "slsa-v0.2") {
    const materials = dependencies.map((d) => defined({ uri: d.uri, digest: d.digest }));
    const resolution = f.image?.annotations;
    return encode({
      _type: "https://in-toto.io/Statement/v0.1",
      subject,
      predicateType: "https://slsa.dev/provenance/v0.2",
      predicate: {
        builder: { id: f.builderId },
        buildType: BUILD_TYPES[f.shape]["slsa-v0.2"],
        invocation: defined({
          configSource: f.source ? defined({ uri: f.source.uri, digest: f.source.digest }) : undefined,
          parameters: f.externalParameters,
          environment: f.internalParameters || resolution
            ? defined({ ...f.internalParameters, environmentImageResolution: resolution })
            : undefined,
        }),
        metadata: defined({
          buildInvocationId: f.invocationId,
          buildStartedOn: f.startedOn,
          buildFinishedOn: f.finishedOn,
          completeness: { parameters: false, environment: false, materials: false },
          reproducible: false,
        }),
        materials,
      },
    });
  }
  throw new UsageError(`unknown provenance format "${String(opts.format).slice(0, 40)}"`, {
    hint: "the formats are slsa-v1, slsa-v0.2 and descriptor",
  });
}
