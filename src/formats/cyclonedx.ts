/**
 * CycloneDX documents about an image, built with the models and serialisers of `@cyclonedx/cyclonedx-library`
 * (loaded lazily: other commands do not pay for it), spec 1.6 or 1.5, JSON or XML:
 *
 * - {@link cyclonedxSbom}: the image's SBOM; the image is `metadata.component` (type `container`);
 * - {@link cyclonedxComponent}: that component alone (JSON), to splice into another BOM;
 * - {@link artifactsBom}: the BOM of the artifacts a build produced (`metadata.component`), with the build
 *   container and the build workflow in its `formulation`.
 *
 * The image component: `version` is the platform manifest digest (what the image is, whatever the tag says
 * now); `supplier` is the `org.opencontainers.image.vendor` label and `authors` (1.6; `author` in 1.5) the
 * `org.opencontainers.image.authors` label, when the image has them; everything the manifest and config say
 * about it, and how its reference was resolved, is recorded as properties in this project's namespace. Indexes `<n>` are 0-based positions in the source array
 * (`layers`, `rootfs.diff_ids`, `history`, `config.Env`); history entries without `created_by` are skipped but
 * still counted, so `<n>` always points at the same entry of the config's `history`.
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

import { type CodeBuildContext, environmentImageRelation } from "../ci/codebuild.ts";
import { type DescribedImage, isUnresolved, resolvedBy, type Subject } from "../image.ts";
import { rfc3339 } from "../time.ts";
import { PROJECT_URL, TOOL_NAME, VERSION } from "../version.ts";
import type { AttachedInventory } from "./attached_sbom.ts";
import type { Clock } from "./clock.ts";
import type { AttachedJson } from "./cyclonedx_attached.ts";
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

/** CycloneDX component types an artifact may have (`--subject-type`). */
export const ARTIFACT_TYPES = [
  "file",
  "firmware",
  "operating-system",
  "application",
  "library",
  "container",
  "device",
  "data",
] as const;

/** What the artifacts BOM describes besides the image it was built in. */
export interface ArtifactsBomOptions extends SbomOptions {
  /** The build's outputs (at least one). */
  artifacts: Subject[];
  /** Their CycloneDX component type. */
  artifactType: (typeof ARTIFACT_TYPES)[number];
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

/** The parts of `@cyclonedx/cyclonedx-library` the SBOM is built with. */
export interface CycloneDxLibrary {
  Models: typeof import("@cyclonedx/cyclonedx-library/Models");
  Enums: typeof import("@cyclonedx/cyclonedx-library/Enums");
  Spec: typeof import("@cyclonedx/cyclonedx-library/Spec");
  Serialize: typeof import("@cyclonedx/cyclonedx-library/Serialize");
}

let library: Promise<CycloneDxLibrary> | undefined;

/**
 * Load the library parts the SBOM needs, once per process. Start it early (once the first registry request is
 * on the wire, see src/cli/sbom.ts) and await it later: loading is ~25-30 ms of compile and evaluation, which
 * then overlaps the network round trips.
 *
 * Subpath entries only: the package root also loads the validators (ajv), which the CLI never needs. XML is
 * written by this tool's own writer (`xml.ts`), not the library's optional `xmlbuilder2` peer (about 160
 * CommonJS modules), which is not a dependency at all.
 *
 * @example
 * ```ts
 * const preload = loadCycloneDxLibrary(); // start now (the first request already sent)
 * const image = await resolveImage(source, ctx); // meanwhile: the requests
 * const bytes = await cyclonedxSbom(image, opts); // awaits the same load
 * ```
 */
export function loadCycloneDxLibrary(): Promise<CycloneDxLibrary> {
  library ??= (async () => {
    const [Models, Enums, Spec, Serialize] = await Promise.all([
      import("@cyclonedx/cyclonedx-library/Models"),
      import("@cyclonedx/cyclonedx-library/Enums"),
      import("@cyclonedx/cyclonedx-library/Spec"),
      import("@cyclonedx/cyclonedx-library/Serialize"),
      // Loaded here too so that imagePurl() later finds it in the module cache.
      import("packageurl-js"),
    ]);
    return { Models, Enums, Spec, Serialize };
  })();
  // A failed load is retried by the next caller rather than cached.
  library.catch(() => library = undefined);
  return library;
}

/** A label of a resolved image, if it has it and it says something. */
function label(image: DescribedImage, key: string): string | undefined {
  if (isUnresolved(image)) return undefined;
  const labels = image.configJson.config?.Labels;
  const value = labels && Object.hasOwn(labels, key) ? labels[key]?.trim() : undefined;
  return value ? value : undefined;
}

/** The image as a library component (for a resolved image: purl, manifest digest, hashes; else the name only). */
async function imageComponent(
  lib: CycloneDxLibrary,
  image: DescribedImage,
  opts: Omit<SbomOptions, "format">,
) {
  const { Models, Enums } = lib;
  const properties = new Models.PropertyRepository(
    imageProperties(image, opts.includeEnv).map(([name, value]) => new Models.Property(name, value)),
  );
  const vendor = label(image, VENDOR_LABEL);
  const authors = label(image, AUTHORS_LABEL);
  const common = {
    properties,
    ...(vendor ? { supplier: new Models.OrganizationalEntity({ name: vendor }) } : {}),
    // CycloneDX 1.5 has the free-text `author`; 1.6 deprecates it for `authors`, which is added after
    // normalisation (the library does not model it on components): see withExtras().
    ...(authors && opts.specVersion === "1.5" ? { author: authors } : {}),
  };
  if (isUnresolved(image)) {
    return new Models.Component(Enums.ComponentType.Container, image.name, {
      bomRef: `unresolved:${image.input}`,
      ...(image.tag ? { version: image.tag } : {}),
      ...common,
    });
  }
  const purl = await imagePurl(image);
  return new Models.Component(Enums.ComponentType.Container, image.origin.repository, {
    bomRef: purl,
    version: image.manifest.digest,
    purl,
    hashes: new Models.HashDictionary([[Enums.HashAlgorithm["SHA-256"], digestHex(image.manifest.digest)]]),
    ...common,
  });
}

function toolComponent(lib: CycloneDxLibrary) {
  const { Models, Enums } = lib;
  return new Models.Component(Enums.ComponentType.Application, TOOL_NAME, {
    bomRef: `${TOOL_NAME}@${VERSION}`,
    version: VERSION,
    externalReferences: new Models.ExternalReferenceRepository([
      new Models.ExternalReference(PROJECT_URL, Enums.ExternalReferenceType.VCS),
    ]),
  });
}

/** What the library cannot model, added to its normalised output: component `authors` (1.6), `formulation`. */
interface Extras {
  /** bom-ref -> the authors text of that component. */
  authors: Map<string, string>;
  /** The build's formulation, with its container component. */
  formulation?: { workflow: BuildWorkflow; container: InstanceType<CycloneDxLibrary["Models"]["Component"]> };
  /** Attached components in normalised JSON, appended to the JSON output one per line. */
  attached?: AttachedJson;
}

type Json = Record<string, unknown>;

/** Add {@link Extras} to a JSON-normalised BOM (or component) in place. */
function extendJson(node: Json, extras: Extras, formulation?: Json): void {
  const visit = (c: unknown) => {
    if (typeof c !== "object" || c === null) return;
    const comp = c as Json;
    const ref = comp["bom-ref"];
    if (typeof ref === "string" && extras.authors.has(ref)) {
      comp.authors = [{ name: extras.authors.get(ref) }];
    }
    if (Array.isArray(comp.components)) comp.components.forEach(visit);
  };
  visit(node);
  const metadata = node.metadata as Json | undefined;
  if (metadata?.component) visit(metadata.component);
  if (Array.isArray(node.components)) node.components.forEach(visit);
  if (formulation) {
    for (const c of formulation.components as unknown[]) visit(c);
    node.formulation = [formulation];
  }
}

/** Add {@link Extras} to an XML-normalised BOM (or component) in place. */
function extendXml(node: XmlElement, extras: Extras, formulation?: XmlElement): void {
  const visit = (e: XmlElement) => {
    if (typeof e.children !== "object") return;
    const children = [...(e.children as Iterable<XmlElement>)];
    const ref = e.attributes?.["bom-ref"];
    if (e.name === "component" && typeof ref === "string" && extras.authors.has(ref)) {
      // bom-1.6.xsd: supplier, manufacturer, authors, author, publisher, group, name, ...
      let at = 0;
      while (at < children.length && ["supplier", "manufacturer"].includes(children[at].name)) at++;
      const author = {
        type: "element",
        name: "author",
        children: [{ type: "element", name: "name", children: extras.authors.get(ref)! }],
      } as XmlElement;
      children.splice(at, 0, { type: "element", name: "authors", children: [author] });
    }
    children.forEach(visit);
    e.children = children;
  };
  visit(node);
  if (formulation) {
    visit(formulation);
    node.children = [...(node.children as Iterable<XmlElement>), formulation];
  }
}

/** Serialise `bom` with the library's normalisers, plus the extras, as JSON or XML text with a newline. */
async function serialise(
  lib: CycloneDxLibrary,
  bom: InstanceType<CycloneDxLibrary["Models"]["Bom"]>,
  opts: Omit<SbomOptions, "clock" | "includeEnv">,
  extras: Extras,
): Promise<Uint8Array> {
  const { Serialize, Spec } = lib;
  const spec = opts.specVersion === "1.5" ? Spec.Spec1dot5 : Spec.Spec1dot6;
  const options = { sortLists: false };
  if (opts.format === "xml") {
    // The library's own XML serialiser wants the optional peer `xmlbuilder2` (about 160 modules); its base
    // class with this tool's small writer needs nothing more, and only XML output loads it.
    const { stringifyXml } = await import("./xml.ts");
    const factory = new Serialize.XML.Normalize.Factory(spec);
    const formulation = extras.formulation
      ? formulationXml(
        extras.formulation.workflow,
        factory.makeForComponent().normalize(
          extras.formulation.container,
          options,
          "component",
        ) as XmlElement,
      )
      : undefined;
    class XmlSerializer extends Serialize.XmlBaseSerializer {
      protected _serialize(root: XmlElement): string {
        extendXml(root, extras, formulation);
        return stringifyXml(root);
      }
    }
    return new TextEncoder().encode(new XmlSerializer(factory).serialize(bom, options));
  }
  const factory = new Serialize.JSON.Normalize.Factory(spec);
  const formulation = extras.formulation
    ? formulationJson(
      extras.formulation.workflow,
      factory.makeForComponent().normalize(extras.formulation.container, options),
    )
    : undefined;
  const writer = extras.attached ? (await import("./cyclonedx_attached.ts")) : undefined;
  class JsonSerializer extends Serialize.JsonSerializer {
    // deno-lint-ignore no-explicit-any
    protected override _serialize(root: any): string {
      extendJson(root as Json, extras, formulation);
      if (!writer || !extras.attached) return `${JSON.stringify(root, null, 2)}\n`;
      // Attached packages can be thousands: one per line (see cyclonedx_attached.ts).
      const out = root as Record<string, unknown[] | undefined>;
      out.components = [...(out.components ?? []), ...extras.attached.components];
      out.dependencies = [...(out.dependencies ?? []), ...extras.attached.dependencies];
      return `${writer.writeJson(out, writer.LONG_LISTS)}\n`;
    }
  }
  return new TextEncoder().encode(new JsonSerializer(factory).serialize(bom, options));
}

function authorsOf(image: DescribedImage, bomRef: string, specVersion: string): Map<string, string> {
  const authors = label(image, AUTHORS_LABEL);
  return authors && specVersion !== "1.5" ? new Map([[bomRef, authors]]) : new Map();
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
  const lib = await loadCycloneDxLibrary();
  const { Models } = lib;
  const component = await imageComponent(lib, image, opts);
  const bom = new Models.Bom({
    serialNumber: await serialNumber(image, opts),
    metadata: new Models.Metadata({
      timestamp: opts.clock.now(),
      tools: new Models.Tools({ components: new Models.ComponentRepository([toolComponent(lib)]) }),
      component,
    }),
  });
  let attached: AttachedJson | undefined;
  if (opts.attached && !isUnresolved(image)) {
    // The image's own attached SBOMs and provenance (cyclonedx_attached.ts): properties and references on the
    // image's component, the packages as components.
    const { addAttached } = await import("./cyclonedx_attached.ts");
    const spec = opts.specVersion === "1.5" ? lib.Spec.Spec1dot5 : lib.Spec.Spec1dot6;
    attached = await addAttached(
      lib,
      { bom, component, spec, image, clock: opts.clock, json: opts.format !== "xml" },
      opts.attached,
    );
  }
  return await serialise(lib, bom, opts, {
    authors: authorsOf(image, component.bomRef.value!, opts.specVersion),
    ...(attached ? { attached } : {}),
  });
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
  const lib = await loadCycloneDxLibrary();
  const component = await imageComponent(lib, image, opts);
  const spec = opts.specVersion === "1.5" ? lib.Spec.Spec1dot5 : lib.Spec.Spec1dot6;
  const json = new lib.Serialize.JSON.Normalize.Factory(spec).makeForComponent().normalize(component, {
    sortLists: false,
  }) as unknown as Json;
  extendJson(json, { authors: authorsOf(image, component.bomRef.value!, opts.specVersion) });
  return new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`);
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
  const lib = await loadCycloneDxLibrary();
  const { Models, Enums } = lib;
  const cb = opts.codebuild ?? {};
  const type = Object.values(Enums.ComponentType).includes(opts.artifactType as never)
    ? opts.artifactType as InstanceType<typeof Models.Component>["type"]
    : Enums.ComponentType.File;
  const artifacts = opts.artifacts.map((a) =>
    new Models.Component(type, a.name, {
      bomRef: `artifact:${a.name}`,
      hashes: new Models.HashDictionary([[Enums.HashAlgorithm["SHA-256"], a.digest.sha256]]),
    })
  );
  const container = await imageComponent(lib, image, opts);
  const containerRef = container.bomRef.value!;
  // In CodeBuild, the build runs in CODEBUILD_BUILD_IMAGE: the image is its runtime only when it is that one.
  const input = isUnresolved(image) ? image.input : image.origin.input;
  const environment = cb.buildImage ? environmentImageRelation(input, cb.buildImage) : undefined;
  // Everything the BOM says goes into its reproducible serial number: two builds never share one.
  const extra = [
    "artifacts",
    opts.artifactType,
    ...opts.artifacts.map((a) => [a.name, a.digest.sha256]),
    Object.entries(cb).sort(([a], [b]) => a.localeCompare(b)),
  ];
  const serial = await serialNumber(image, opts, extra);
  const workflow: BuildWorkflow = {
    formulaRef: "formula:build",
    workflowRef: "workflow:build",
    taskRef: "task:build",
    uid: cb.buildArn ?? serial,
    name: cb.buildId ? `CodeBuild build ${cb.buildId}` : "build",
    ...(cb.startedOn ? { timeStart: cb.startedOn } : {}),
    containerRef,
    ranIn: environment === undefined || environment === "true",
    outputs: artifacts.map((a) => a.bomRef.value!),
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
  const bom = new Models.Bom({
    serialNumber: serial,
    metadata: new Models.Metadata({
      timestamp: opts.clock.now(),
      tools: new Models.Tools({ components: new Models.ComponentRepository([toolComponent(lib)]) }),
      ...(artifacts.length === 1 ? { component: artifacts[0] } : {}),
    }),
    ...(artifacts.length > 1 ? { components: new Models.ComponentRepository(artifacts) } : {}),
  });
  return await serialise(lib, bom, { ...opts, specVersion: "1.6" }, {
    authors: authorsOf(image, containerRef, "1.6"),
    formulation: { workflow, container },
  });
}

/**
 * The source repository's URL fit for a document: no password, no token as a user name, no secret-bearing
 * query; a git repository's without query or fragment (`git@host:path` as `ssh://git@host/path`).
 */
function plainUrl(text: string): string {
  const { uri, git } = repositoryUri(text);
  return git ? uri.replace(/^git\+/, "") : uri;
}
