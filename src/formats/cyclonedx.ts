/**
 * CycloneDX documents about an image, spec 1.6 or 1.5, JSON or XML, written by this project's own code
 * (`cyclonedx_nodes.ts`, `formulation.ts`, and `xml.ts` for XML only): no npm package is loaded. Earlier
 * releases built them with `@cyclonedx/cyclonedx-library`, a CommonJS package whose loading (Deno's Node
 * compatibility layer, then the library) made `sbom` take about 100 ms more than `get_digest_metadata`, which
 * makes the same requests; the bytes written are the same (fixtures/golden/):
 *
 * - {@link cyclonedxSbom}: the image's SBOM; the image is `metadata.component` (type `container`);
 * - {@link cyclonedxComponent}: that component alone (JSON), to splice into another BOM;
 * - {@link artifactsBom}: the BOM of the artifacts a build produced (`metadata.component`), with the build
 *   container and the build workflow in its `formulation`.
 *
 * The image component: `version` is the platform manifest digest (what the image is, whatever the tag says
 * now); `supplier` is the `org.opencontainers.image.vendor` label and `authors` (1.6; `author` in 1.5) the
 * `org.opencontainers.image.authors` label, when the image has them; everything the manifest and config say
 * about it, and how its reference was resolved, is recorded as properties in this project's namespace.
 * Indexes `<n>` are 0-based positions in the source array (`layers`, `rootfs.diff_ids`, `history`,
 * `config.Env`); history entries without `created_by` are skipped but still counted, so `<n>` always points at
 * the same entry of the config's `history`.
 *
 * | Property name                                           | Value                                       |
 * | ------------------------------------------------------- | ------------------------------------------- |
 * | `ecrimagemetadataextractor:image:reference`             | the image reference as given                |
 * | `ecrimagemetadataextractor:image:tag`                   | the tag the reference named (when any)      |
 * | `ecrimagemetadataextractor:image:resolved-by`           | `digest`, `tag` (may have moved since) or `only-image` (a layout's one image); `unresolved` |
 * | `ecrimagemetadataextractor:image:resolved-digest`       | what the reference resolved to: the index digest, or the manifest's |
 * | `ecrimagemetadataextractor:image:resolved-at`           | when a tag was resolved (RFC 3339, the real time; absent for a digest and under SOURCE_DATE_EPOCH) |
 * | `ecrimagemetadataextractor:image:unresolved-reason`     | why an image was not resolved (AWS-managed CodeBuild images) |
 * | `ecrimagemetadataextractor:image:manifest-digest`       | platform manifest digest (`sha256:<hex>`)   |
 * | `ecrimagemetadataextractor:image:manifest-media-type`   | platform manifest media type                |
 * | `ecrimagemetadataextractor:image:config-digest`         | config digest                               |
 * | `ecrimagemetadataextractor:image:config-media-type`     | config media type                           |
 * | `ecrimagemetadataextractor:image:index-digest`          | index digest (only when an index was read)  |
 * | `ecrimagemetadataextractor:image:index-media-type`      | index media type (only with an index)       |
 * | `ecrimagemetadataextractor:image:os`                    | platform os                                 |
 * | `ecrimagemetadataextractor:image:architecture`          | platform architecture                       |
 * | `ecrimagemetadataextractor:image:variant`               | platform variant (when any)                 |
 * | `ecrimagemetadataextractor:image:os-version`            | platform os.version (when any)              |
 * | `ecrimagemetadataextractor:image:created`               | config `created` (when any)                 |
 * | `ecrimagemetadataextractor:image:author`                | config `author` (when any)                  |
 * | `ecrimagemetadataextractor:label:<key>`                 | config label `<key>` (keys sorted)          |
 * | `ecrimagemetadataextractor:layer:<n>:digest`            | manifest layer n digest                     |
 * | `ecrimagemetadataextractor:layer:<n>:size`              | manifest layer n size in bytes (decimal)    |
 * | `ecrimagemetadataextractor:layer:<n>:mediaType`         | manifest layer n media type                 |
 * | `ecrimagemetadataextractor:diff-id:<n>`                 | config `rootfs.diff_ids[n]`                 |
 * | `ecrimagemetadataextractor:history:<n>:created-by`      | config `history[n].created_by`              |
 * | `ecrimagemetadataextractor:env:<n>`                     | config `Env[n]` (`KEY=value`), only with includeEnv |
 *
 * Reproducibility: with `clock.sourceDateEpoch` set, `metadata.timestamp` is SOURCE_DATE_EPOCH and the serial
 * number is a UUIDv5 (in the namespace uuidV5(URL, PROJECT_URL)) of the tool version, spec version, options and
 * the image's origin and digests, so the same image and options give byte-identical output. CycloneDX asks
 * for a serial number unique to each BOM; a content-derived one is unique to each distinct BOM, and a build
 * that is reproducible must be able to produce the same bytes twice, which a random serial would forbid (the
 * README says more). Without it, the timestamp is the current time and the serial number is random.
 *
 * @module
 */

import type { ArtifactType } from "./artifact_types.ts";
import { type CodeBuildContext, environmentImageRelation } from "../ci/codebuild.ts";
import { type DescribedImage, imageInput, isUnresolved, resolvedBy, type Subject } from "../image.ts";
import type { Content } from "../output.ts";
import { rfc3339 } from "../time.ts";
import { PROJECT_URL, TOOL_NAME, VERSION } from "../version.ts";
import type { AttachedInventory } from "./attached_sbom.ts";
import type { AttachedParts, JsonPiece } from "./cyclonedx_attached.ts";
import type { Clock } from "./clock.ts";
import {
  type Bom,
  bomJson,
  bomXml,
  type Component,
  componentJson,
  componentXml,
  type SpecVersion,
  supportsComponentType,
} from "./cyclonedx_nodes.ts";
import { type BuildWorkflow, formulationJson, formulationXml } from "./formulation.ts";
import { digestHex, imagePurl, toolNamespace, uuidV5 } from "./image_ids.ts";
import { repositoryUri } from "../url.ts";
import type { XmlElement } from "./xml.ts";

/** The property namespace of this project. */
export const PROPERTY_NAMESPACE = TOOL_NAME;

/** The image labels the component's supplier and authors come from (OCI image-spec annotations.md). */
export const VENDOR_LABEL = "org.opencontainers.image.vendor";
export const AUTHORS_LABEL = "org.opencontainers.image.authors";

/** What to produce. */
export interface SbomOptions {
  /** Serialisation. */
  format: "json" | "xml";
  /** CycloneDX specification version. */
  specVersion: "1.6" | "1.5";
  /** Record the config's `Env` entries (they may hold secrets; off by default in the CLI). */
  includeEnv: boolean;
  /** Time and randomness. */
  clock: Clock;
  /** The image's own attached SBOMs and provenance, merged in by `cyclonedx_attached.ts` when given. */
  attached?: AttachedInventory;
}

export { ARTIFACT_TYPES } from "./artifact_types.ts";

/** What the artifacts BOM describes besides the image it was built in. */
export interface ArtifactsBomOptions extends SbomOptions {
  /** The build's outputs (at least one). */
  artifacts: Subject[];
  /** Their CycloneDX component type. */
  artifactType: ArtifactType;
  /** What CodeBuild says about the build (empty outside CodeBuild). */
  codebuild?: CodeBuildContext;
}

/** The properties recorded for an image, in output order (see the module table). */
export function imageProperties(image: DescribedImage, includeEnv: boolean): [string, string][] {
  const ns = PROPERTY_NAMESPACE;
  const out: [string, string][] = [];
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined && value !== "") out.push([`${ns}:${name}`, String(value)]);
  };
  if (isUnresolved(image)) {
    add("image:reference", image.input);
    add("image:tag", image.tag);
    add("image:resolved-by", "unresolved");
    add("image:unresolved-reason", image.reason);
    return out;
  }
  const { configJson: config, manifestJson: manifest, platform } = image;
  add("image:reference", image.origin.input);
  add("image:tag", image.origin.tag);
  add("image:resolved-by", resolvedBy(image.origin));
  add("image:resolved-digest", (image.index ?? image.manifest).digest);
  if (image.resolvedAt) add("image:resolved-at", rfc3339(image.resolvedAt));
  add("image:manifest-digest", image.manifest.digest);
  add("image:manifest-media-type", image.manifest.mediaType);
  add("image:config-digest", image.config.digest);
  add("image:config-media-type", image.config.mediaType);
  if (image.index) {
    add("image:index-digest", image.index.digest);
    add("image:index-media-type", image.index.mediaType);
  }
  add("image:os", platform.os);
  add("image:architecture", platform.architecture);
  add("image:variant", platform.variant);
  add("image:os-version", platform["os.version"]);
  add("image:created", config.created);
  add("image:author", config.author);
  const labels = config.config?.Labels ?? {};
  for (const key of Object.keys(labels).sort()) add(`label:${key}`, labels[key]);
  manifest.layers.forEach((layer, n) => {
    add(`layer:${n}:digest`, layer.digest);
    add(`layer:${n}:size`, layer.size);
    add(`layer:${n}:mediaType`, layer.mediaType);
  });
  (config.rootfs?.diff_ids ?? []).forEach((id, n) => add(`diff-id:${n}`, id));
  (config.history ?? []).forEach((h, n) => add(`history:${n}:created-by`, h.created_by));
  if (includeEnv) (config.config?.Env ?? []).forEach((e, n) => add(`env:${n}`, e));
  return out;
}

/** What a content-derived serial number (and workflow id) is derived from: the image's identity. */
function imageIdentity(image: DescribedImage): unknown[] {
  if (isUnresolved(image)) return ["unresolved", image.input];
  const { origin } = image;
  return [
    origin.kind,
    origin.input,
    origin.registry,
    origin.repository,
    origin.tag ?? null,
    image.index?.digest ?? null,
    image.manifest.digest,
    image.config.digest,
  ];
}

/** `urn:uuid:` serial number: content-derived with SOURCE_DATE_EPOCH, else random. */
export async function serialNumber(
  image: DescribedImage,
  opts: Omit<SbomOptions, "format">,
  extra: unknown[] = [],
): Promise<string> {
  const sde = opts.clock.sourceDateEpoch;
  if (sde === undefined) return `urn:uuid:${opts.clock.randomUUID()}`;
  const name = JSON.stringify([
    "cyclonedx",
    TOOL_NAME,
    VERSION,
    opts.specVersion,
    opts.includeEnv,
    ...imageIdentity(image),
    sde,
    ...extra,
  ]);
  return `urn:uuid:${await uuidV5(await toolNamespace(PROJECT_URL), name)}`;
}

/** A label of a resolved image, if it has it and it says something. */
function label(image: DescribedImage, key: string): string | undefined {
  if (isUnresolved(image)) return undefined;
  const labels = image.configJson.config?.Labels;
  const value = labels && Object.hasOwn(labels, key) ? labels[key]?.trim() : undefined;
  return value ? value : undefined;
}

/**
 * The image as a component: for a resolved image, its purl (also the bom-ref), manifest digest and hash; else
 * the name only. `author` (CycloneDX 1.5) when `opts.specVersion` is 1.5, `authors` when `written` (the
 * version of the document it goes into) is not.
 */
async function imageComponent(
  image: DescribedImage,
  opts: Omit<SbomOptions, "format">,
  written: SpecVersion,
): Promise<Component> {
  let c: Component;
  if (isUnresolved(image)) {
    c = { type: "container", name: image.name, bomRef: `unresolved:${image.input}` };
    if (image.tag) c.version = image.tag;
  } else {
    const purl = await imagePurl(image);
    c = {
      type: "container",
      name: image.origin.repository,
      version: image.manifest.digest,
      bomRef: purl,
      purl,
      hashes: [{ alg: "SHA-256", content: digestHex(image.manifest.digest) }],
    };
  }
  const vendor = label(image, VENDOR_LABEL);
  if (vendor) c.supplier = vendor;
  // CycloneDX 1.5 has the free-text `author`; 1.6 deprecates it for `authors`.
  const authors = label(image, AUTHORS_LABEL);
  if (authors && opts.specVersion === "1.5") c.author = authors;
  if (authors && written !== "1.5") c.authors = authors;
  const properties = imageProperties(image, opts.includeEnv).map(([name, value]) => ({ name, value }));
  if (properties.length) c.properties = properties;
  return c;
}

/** The bom-ref of the tool's own component, in every BOM it writes. */
const TOOL_REF = `${TOOL_NAME}@${VERSION}`;

function toolComponent(): Component {
  return {
    type: "application",
    name: TOOL_NAME,
    bomRef: TOOL_REF,
    version: VERSION,
    externalReferences: [{ url: PROJECT_URL, type: "vcs" }],
  };
}

/**
 * `bom` as JSON or XML text with a trailing newline, with the build's `formulation` (artifacts BOM) after the
 * rest. The attached packages (`attached`: their components as JSON text, in pieces) go after `bom`'s own
 * components, one per line (JSON only: XML has them among `bom.components`); neither puts them in the
 * dependency graph, as their dependencies are not known.
 */
async function serialise(
  bom: Bom,
  opts: Pick<SbomOptions, "format">,
  extras: {
    formulation?: { workflow: BuildWorkflow; container: Component };
    attached?: { components: readonly JsonPiece[] };
  } = {},
): Promise<Uint8Array> {
  const { formulation, attached } = extras;
  if (opts.format === "xml") {
    // Only XML output loads the writer.
    const { stringifyXml } = await import("./xml.ts");
    const root = bomXml(bom);
    if (formulation) {
      const children = root.children as XmlElement[];
      children.push(formulationXml(formulation.workflow, componentXml(formulation.container)));
    }
    return new TextEncoder().encode(stringifyXml(root));
  }
  const root = bomJson(bom);
  if (formulation) {
    root.formulation = [formulationJson(formulation.workflow, componentJson(formulation.container))];
  }
  if (!attached) return new TextEncoder().encode(`${JSON.stringify(root, null, 2)}\n`);
  const { encodeJson } = await import("./cyclonedx_attached.ts");
  return encodeJson(await jsonPieces(root, attached.components));
}

/**
 * The JSON document `root` with the attached packages' `components` after its own, in pieces. Attached
 * packages can be thousands: one per line, written in pieces (see cyclonedx_attached.ts). Their dependencies
 * are not known: they are not in the dependency graph.
 */
async function jsonPieces(
  root: Record<string, unknown>,
  components: readonly JsonPiece[],
): Promise<JsonPiece[]> {
  const { writeJson } = await import("./cyclonedx_attached.ts");
  const pieces = writeJson(root, { components });
  pieces.push("\n");
  return pieces;
}

/**
 * The CycloneDX SBOM of `image`, serialised, with a trailing newline.
 *
 * @example
 * ```ts
 * const bytes = await cyclonedxSbom(image, {
 *   format: "json", specVersion: "1.6", includeEnv: false, clock: systemClock(),
 * });
 * ```
 */
export async function cyclonedxSbom(image: DescribedImage, opts: SbomOptions): Promise<Uint8Array> {
  const { bom, attached } = await sbomDocument(image, opts);
  return await serialise(bom, opts, { attached });
}

/**
 * What {@link cyclonedxSbom} gives, as the content to write: for a JSON SBOM with attached packages, made as
 * it is written, in chunks (a `ChunkWriter`, see output.ts), never all of it in memory at once (5,000 packages
 * are 2 MiB); else the bytes.
 *
 * @example
 * ```ts
 * await writeFileAtomic("sbom.cdx.json", await cyclonedxSbomContent(image, opts));
 * ```
 */
export async function cyclonedxSbomContent(image: DescribedImage, opts: SbomOptions): Promise<Content> {
  const { bom, attached } = await sbomDocument(image, opts);
  if (opts.format === "xml" || !attached) return await serialise(bom, opts, { attached });
  const [{ writeJsonPieces }, pieces] = await Promise.all([
    import("./cyclonedx_attached.ts"),
    jsonPieces(bomJson(bom), attached.components),
  ]);
  return (write) => writeJsonPieces(pieces, write);
}

/** The SBOM of `image` and, for JSON, its attached packages' components as text (see {@link serialise}). */
async function sbomDocument(
  image: DescribedImage,
  opts: SbomOptions,
): Promise<{ bom: Bom; attached?: { components: readonly JsonPiece[] } }> {
  const component = await imageComponent(image, opts, opts.specVersion);
  const bom: Bom = {
    specVersion: opts.specVersion,
    serialNumber: await serialNumber(image, opts),
    metadata: { timestamp: opts.clock.now(), tools: [toolComponent()], component },
    components: [],
  };
  let attached: { components: readonly JsonPiece[] } | undefined;
  const parts = await attachTo(component, image, opts, opts.specVersion, bom.serialNumber);
  if (parts) {
    // The packages as components. XML writes components; JSON writes their text, straight from the packages
    // (the same, and much faster).
    bom.serialNumber = parts.serialNumber;
    if (opts.format === "xml") bom.components = parts.components();
    else attached = { components: parts.componentsText() };
  }
  return attached ? { bom, attached } : { bom };
}

/**
 * With `opts.attached`, the image's own attached SBOMs and provenance (cyclonedx_attached.ts) recorded on the
 * image's `component` (properties, and a `bom` reference to each attached SBOM, by digest): wherever the image's
 * component is written. Gives what else they add to a BOM whose serial number is `serialNumber` (the packages,
 * the serial number), or nothing without attached documents or for an image that was not resolved.
 */
async function attachTo(
  component: Component,
  image: DescribedImage,
  opts: Omit<SbomOptions, "format">,
  spec: SpecVersion,
  serialNumber: string,
): Promise<AttachedParts | undefined> {
  if (!opts.attached || isUnresolved(image)) return undefined;
  const { attachedParts } = await import("./cyclonedx_attached.ts");
  const parts = await attachedParts(image, {
    spec,
    clock: opts.clock,
    serialNumber,
    taken: [component.bomRef!, TOOL_REF],
  }, opts.attached);
  component.properties = [...component.properties ?? [], ...parts.properties];
  if (parts.externalReferences.length) component.externalReferences = parts.externalReferences;
  return parts;
}

/**
 * The image's component alone, as JSON (CycloneDX 1.6 `component`, or 1.5): the object `metadata.component` of
 * {@link cyclonedxSbom} holds, for `jq` or `cyclonedx merge` into the SBOM of what was built in the image.
 *
 * @example
 * ```ts
 * const component = JSON.parse(new TextDecoder().decode(await cyclonedxComponent(image, opts)));
 * ```
 */
export async function cyclonedxComponent(
  image: DescribedImage,
  opts: Omit<SbomOptions, "format">,
): Promise<Uint8Array> {
  const component = await imageComponent(image, opts, opts.specVersion);
  // The attached documents as metadata.component of the SBOM records them (the packages are the SBOM's).
  await attachTo(component, image, opts, opts.specVersion, "");
  return new TextEncoder().encode(`${JSON.stringify(componentJson(component), null, 2)}\n`);
}

/**
 * The BOM of a build's artifacts: `metadata.component` is the artifact (with several, each is one of
 * `components`), with its SHA-256 and the given type; `formulation` holds the build container (the image, by
 * digest) and a workflow for the build (uid: the CodeBuild build ARN, or a content-derived URN outside
 * CodeBuild; its start time; the container as its task's runtime; the artifacts as its outputs). Spec 1.6 only
 * (1.5 has formulation too, but this tool writes it for 1.6).
 *
 * @example
 * ```ts
 * const bytes = await artifactsBom(image, { ...opts, artifacts: subjects, artifactType: "firmware" });
 * ```
 */
export async function artifactsBom(image: DescribedImage, opts: ArtifactsBomOptions): Promise<Uint8Array> {
  const cb = opts.codebuild ?? {};
  const type = supportsComponentType("1.6", opts.artifactType) ? opts.artifactType : "file";
  const artifacts = opts.artifacts.map((a): Component => ({
    type,
    name: a.name,
    bomRef: `artifact:${a.name}`,
    hashes: [{ alg: "SHA-256", content: a.digest.sha256 }],
  }));
  const container = await imageComponent(image, opts, "1.6");
  const containerRef = container.bomRef!;
  // In CodeBuild, the build runs in CODEBUILD_BUILD_IMAGE: the image is its runtime only when it is that one.
  const environment = cb.buildImage ? environmentImageRelation(imageInput(image), cb.buildImage) : undefined;
  // Everything the BOM says goes into its reproducible serial number: two builds never share one.
  const extra = [
    "artifacts",
    opts.artifactType,
    ...opts.artifacts.map((a) => [a.name, a.digest.sha256]),
    Object.entries(cb).sort(([a], [b]) => a.localeCompare(b)),
  ];
  let serial = await serialNumber(image, opts, extra);
  // The build container records its attached SBOMs and provenance, by digest (their packages are the image's
  // SBOM's); with SOURCE_DATE_EPOCH they go into the serial number too.
  serial = (await attachTo(container, image, opts, "1.6", serial))?.serialNumber ?? serial;
  const workflow: BuildWorkflow = {
    formulaRef: "formula:build",
    workflowRef: "workflow:build",
    taskRef: "task:build",
    uid: cb.buildArn ?? serial,
    name: cb.buildId ? `CodeBuild build ${cb.buildId}` : "build",
    ...(cb.startedOn ? { timeStart: cb.startedOn } : {}),
    containerRef,
    ranIn: environment === undefined || environment === "true",
    outputs: artifacts.map((a) => a.bomRef!),
    ...(cb.sourceRepoUrl ? { source: { url: plainUrl(cb.sourceRepoUrl) } } : {}),
    properties: [
      ["projectArn", cb.projectArn],
      ["initiator", cb.initiator],
      ["region", cb.region],
      ["resolvedSourceVersion", cb.resolvedSourceVersion],
      ["buildImage", cb.buildImage],
      ["environmentImage", environment],
    ].filter(([, v]) => v !== undefined).map(([k, v]) => [`${PROPERTY_NAMESPACE}:codebuild:${k}`, v!]),
  };
  const bom: Bom = {
    specVersion: "1.6",
    serialNumber: serial,
    metadata: {
      timestamp: opts.clock.now(),
      tools: [toolComponent()],
      ...(artifacts.length === 1 ? { component: artifacts[0] } : {}),
    },
    components: artifacts.length > 1 ? artifacts : [],
  };
  return await serialise(bom, opts, { formulation: { workflow, container } });
}

/**
 * The source repository's URL fit for a document: no password, no token as a user name, no secret-bearing
 * query; a git repository's without query or fragment (`git@host:path` as `ssh://git@host/path`).
 */
function plainUrl(text: string): string {
  const { uri, git } = repositoryUri(text);
  return git ? uri.replace(/^git\+/, "") : uri;
}
