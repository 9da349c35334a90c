/**
 * CycloneDX SBOM (JSON or XML, spec 1.6 or 1.5) of one resolved image, built with the models and serialisers of
 * `@cyclonedx/cyclonedx-library` (loaded lazily: other commands do not pay for it).
 *
 * The image is `metadata.component` (type `container`); everything the manifest and config say about it is
 * recorded as properties in this project's namespace. Indexes `<n>` are 0-based positions in the source array
 * (`layers`, `rootfs.diff_ids`, `history`, `config.Env`); history entries without `created_by` are skipped but
 * still counted, so `<n>` always points at the same entry of the config's `history`.
 *
 * | Property name                                           | Value                                       |
 * | ------------------------------------------------------- | ------------------------------------------- |
 * | `ecrimagemetadataextractor:image:reference`             | the image reference as given                |
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
 * the image's origin and digests, so the same image and options give byte-identical output. Without it, the
 * timestamp is the current time and the serial number is random.
 *
 * @module
 */

import type { ResolvedImage } from "../image.ts";
import { PROJECT_URL, TOOL_NAME, VERSION } from "../version.ts";
import type { AttachedInventory } from "./attached_sbom.ts";
import type { Clock } from "./clock.ts";
import { digestHex, imagePurl, toolNamespace, uuidV5 } from "./image_ids.ts";

/** The property namespace of this project. */
export const PROPERTY_NAMESPACE = TOOL_NAME;

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

/** The properties recorded for an image, in output order (see the module table). */
export function imageProperties(image: ResolvedImage, includeEnv: boolean): [string, string][] {
  const ns = PROPERTY_NAMESPACE;
  const out: [string, string][] = [];
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined && value !== "") out.push([`${ns}:${name}`, String(value)]);
  };
  const { configJson: config, manifestJson: manifest, platform } = image;
  add("image:reference", image.origin.input);
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

/** `urn:uuid:` serial number: content-derived with SOURCE_DATE_EPOCH, else random. */
export async function serialNumber(
  image: ResolvedImage,
  opts: Omit<SbomOptions, "format">,
): Promise<string> {
  const sde = opts.clock.sourceDateEpoch;
  if (sde === undefined) return `urn:uuid:${opts.clock.randomUUID()}`;
  const { origin } = image;
  const name = JSON.stringify([
    "cyclonedx",
    TOOL_NAME,
    VERSION,
    opts.specVersion,
    opts.includeEnv,
    origin.kind,
    origin.input,
    origin.registry,
    origin.repository,
    origin.tag ?? null,
    image.index?.digest ?? null,
    image.manifest.digest,
    image.config.digest,
    sde,
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
export async function cyclonedxSbom(image: ResolvedImage, opts: SbomOptions): Promise<Uint8Array> {
  const { Models, Enums, Spec, Serialize } = await loadCycloneDxLibrary();
  const purl = await imagePurl(image);

  const properties = new Models.PropertyRepository(
    imageProperties(image, opts.includeEnv).map(([name, value]) => new Models.Property(name, value)),
  );
  const component = new Models.Component(Enums.ComponentType.Container, image.origin.repository, {
    bomRef: purl,
    version: image.origin.tag ?? image.manifest.digest,
    purl,
    hashes: new Models.HashDictionary([[Enums.HashAlgorithm["SHA-256"], digestHex(image.manifest.digest)]]),
    properties,
  });
  const tool = new Models.Component(Enums.ComponentType.Application, TOOL_NAME, {
    bomRef: `${TOOL_NAME}@${VERSION}`,
    version: VERSION,
    externalReferences: new Models.ExternalReferenceRepository([
      new Models.ExternalReference(PROJECT_URL, Enums.ExternalReferenceType.VCS),
    ]),
  });
  const bom = new Models.Bom({
    serialNumber: await serialNumber(image, opts),
    metadata: new Models.Metadata({
      timestamp: opts.clock.now(),
      tools: new Models.Tools({ components: new Models.ComponentRepository([tool]) }),
      component,
    }),
  });

  const spec = opts.specVersion === "1.5" ? Spec.Spec1dot5 : Spec.Spec1dot6;
  let text: string | undefined;
  if (opts.attached) {
    // The image's own attached SBOMs: cyclonedx_attached.ts adds them, and writes the JSON itself.
    const { addAttached } = await import("./cyclonedx_attached.ts");
    const target = { bom, component, spec, image, clock: opts.clock, json: opts.format !== "xml" };
    text = await addAttached({ Models, Enums, Spec, Serialize }, target, opts.attached);
  }
  if (text !== undefined) {
    // Written with the attached components.
  } else if (opts.format === "xml") {
    // The library's XML serialiser wants the optional peer `xmlbuilder2` (about 160 modules); its base class
    // with this tool's own small writer needs nothing more, and only XML output loads it.
    const { stringifyXml } = await import("./xml.ts");
    class XmlSerializer extends Serialize.XmlBaseSerializer {
      protected _serialize(root: Parameters<typeof stringifyXml>[0]): string {
        return stringifyXml(root);
      }
    }
    text = new XmlSerializer(new Serialize.XML.Normalize.Factory(spec)).serialize(bom, { sortLists: false });
  } else {
    const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(spec));
    text = serializer.serialize(bom, { sortLists: false, space: 2 });
  }
  return new TextEncoder().encode(text.endsWith("\n") ? text : `${text}\n`);
}
