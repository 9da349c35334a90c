/**
 * The image's attached SBOMs and provenance, merged into its CycloneDX SBOM (`sbom --include-attached`):
 *
 * - every package of the attached SBOMs (see `attached_sbom.ts` for what is kept and how they are
 *   de-duplicated) becomes a component in `components`, with its purl, version, licences and hashes as given,
 *   and one property `ecrimagemetadataextractor:attached:document` per attached document that lists it (the
 *   document's digest);
 * - each attached SBOM is an `externalReferences` entry of type `bom` on the image (`metadata.component`):
 *   url = the `pkg:oci` purl of the artifact manifest that holds it, hash = the document's SHA-256, comment =
 *   its digest, format and where it was found;
 * - on the image, properties record what was found (`<ns>` is `ecrimagemetadataextractor:attached`):
 *
 * | Property name                           | Value                                                   |
 * | --------------------------------------- | ------------------------------------------------------- |
 * | `<ns>:sbom`                             | `no attached SBOM found` (when none)                    |
 * | `<ns>:sbom:<n>:digest`                  | the document's digest                                   |
 * | `<ns>:sbom:<n>:format`                  | `SPDX-2.3`, `CycloneDX-1.5`, ...                        |
 * | `<ns>:sbom:<n>:envelope`                | `none`, `in-toto` or `dsse`                             |
 * | `<ns>:sbom:<n>:found-via`               | `attestation-manifest`, `referrers-api`, ...            |
 * | `<ns>:sbom:<n>:manifest-digest`         | the artifact manifest holding it                        |
 * | `<ns>:sbom:<n>:packages`                | packages it lists (decimal)                             |
 * | `<ns>:provenance`                       | `no attached provenance found` (when none)              |
 * | `<ns>:provenance:<n>:digest`            | the statement's digest                                  |
 * | `<ns>:provenance:<n>:predicate-type`    | its predicate type                                      |
 * | `<ns>:provenance:<n>:found-via`         | where it was found                                      |
 * | `<ns>:provenance:<n>:manifest-digest`   | the artifact manifest holding it                        |
 *
 * With SOURCE_DATE_EPOCH the serial number also depends on the attached documents' digests, so the same image
 * with other attachments does not get the same serial number.
 *
 * JSON is written here: the image and its metadata are normalised by the library as always, and the attached
 * components are appended in the library's normalised form, built directly from the inventory, one component
 * (and one dependency entry) per line. Through the
 * library's models and normaliser, 5,000 components cost about five times what the JSON itself costs (seven
 * collections per component, then a second tree), which alone would double the run time of `sbom`. The two
 * paths share every decision (`prepare()`), XML takes them as models, and `tests/attachments_test.ts` holds
 * the JSON written here equal, value for value and key for key, to what the library's serialiser writes from
 * those models.
 *
 * @module
 */

import type { ResolvedImage } from "../image.ts";
import { PROJECT_URL, TOOL_NAME } from "../version.ts";
import type {
  AttachedInventory,
  AttachedLicense,
  AttachedPackage,
  AttachedSbomInfo,
} from "./attached_sbom.ts";
import type { Clock } from "./clock.ts";
import type { CycloneDxLibrary } from "./cyclonedx.ts";
import { digestHex, toolNamespace, uuidV5 } from "./image_ids.ts";

type Models = CycloneDxLibrary["Models"];

/** What {@link addAttached} works on: the BOM being built and its image component. */
export interface AttachedTarget {
  bom: InstanceType<Models["Bom"]>;
  component: InstanceType<Models["Component"]>;
  /** The CycloneDX version written (what it supports decides the component types and hashes used). */
  spec: CycloneDxLibrary["Spec"]["Spec1dot6"];
  image: ResolvedImage;
  clock: Clock;
  /**
   * JSON: return the components (and their dependency entries) in the library's normalised JSON form, for
   * the serialiser to append; otherwise add them to `bom` as models, for the XML path.
   */
  json: boolean;
}

/** The attached components in normalised JSON, and their dependency-graph entries. */
export interface AttachedJson {
  components: unknown[];
  dependencies: unknown[];
}

/** `pkg:oci` purl of an artifact manifest of the image's repository (no repository_url for a layout). */
async function artifactPurl(image: ResolvedImage, manifestDigest: string): Promise<string> {
  const { PackageURL } = await import("packageurl-js");
  const { origin } = image;
  const name = origin.repository.split("/").filter((s) => s !== "").at(-1) ?? "image";
  const qualifiers: Record<string, string> = {};
  if (origin.kind === "registry") qualifiers.repository_url = `${origin.registry}/${origin.repository}`;
  return new PackageURL("oci", undefined, name, manifestDigest, qualifiers, undefined).toString();
}

function describe(s: AttachedSbomInfo): string {
  const wrapped = s.envelope === "none" ? "" : s.envelope === "dsse" ? ", in-toto in DSSE" : ", in-toto";
  return `attached ${s.format} SBOM ${s.digest} (${s.foundVia}${wrapped})`;
}

/** A licence in CycloneDX's JSON form. */
type LicenseJson = { license: { id: string } | { name: string } } | { expression: string };

/** One attached package as a component in the library's normalised JSON form (its key order too). */
interface ComponentJson {
  type: string;
  name: string;
  group?: string;
  version?: string;
  "bom-ref": string;
  hashes?: { alg: string; content: string }[];
  licenses?: LicenseJson[];
  purl?: string;
  properties: { name: string; value: string }[];
}

const PROPERTY_DOCUMENT = `${TOOL_NAME}:attached:document`;

/**
 * The attached packages as components, with every decision the library's normaliser would make already made:
 * a component type the spec knows (else `library`), hashes CycloneDX has an algorithm for and a well-formed
 * value (a later hash of the same algorithm replacing an earlier one, as in a HashDictionary), licence ids
 * CycloneDX's SPDX list knows (others kept as names: the schema allows only listed ids in `license.id`), an
 * expression alone when there is one (a licence choice is one expression or a list of licences), and a
 * bom-ref unique in the BOM (the purl when there is one). Both paths start from this: JSON writes it as it
 * is, XML turns it into models ({@link toModel}).
 */
function prepare(
  lib: CycloneDxLibrary,
  spec: AttachedTarget["spec"],
  fixupSpdxId: (id: string) => string | undefined,
  packages: readonly AttachedPackage[],
  taken: Set<string>,
): ComponentJson[] {
  const types = new Set<string>(Object.values(lib.Enums.ComponentType));
  const license = (l: AttachedLicense): LicenseJson => {
    if ("expression" in l) return { expression: l.expression };
    if ("name" in l) return { license: { name: l.name } };
    // The library's lookup is a plain object: `constructor` would find a function there, not an id.
    const id: unknown = fixupSpdxId(l.id);
    return { license: typeof id === "string" ? { id } : { name: l.id } };
  };
  return packages.map((p) => {
    const type = p.type && types.has(p.type) && spec.supportsComponentType(p.type as never)
      ? p.type
      : "library";
    let ref = p.purl ?? `${TOOL_NAME}:attached:${p.group ? `${p.group}/` : ""}${p.name}@${p.version ?? ""}`;
    for (let i = 2, wanted = ref; taken.has(ref); i++) ref = `${wanted}#${i}`;
    taken.add(ref);
    // Keys in the order the library's normaliser writes them.
    const c = { type, name: p.name } as ComponentJson;
    if (p.group) c.group = p.group;
    if (p.version || spec.requiresComponentVersion) c.version = p.version ?? "";
    c["bom-ref"] = ref;
    if (p.hashes.length) {
      const hashes = new Map<string, string>();
      for (const h of p.hashes) {
        if (spec.supportsHashAlgorithm(h.alg as never) && spec.supportsHashValue(h.content)) {
          hashes.set(h.alg, h.content);
        }
      }
      if (hashes.size) c.hashes = Array.from(hashes, ([alg, content]) => ({ alg, content }));
    }
    if (p.licenses.length) {
      const expression = p.licenses.length > 1 ? p.licenses.find((l) => "expression" in l) : undefined;
      c.licenses = expression ? [license(expression)] : p.licenses.map(license);
    }
    if (p.purl) c.purl = p.purl;
    c.properties = p.documents.map((value) => ({ name: PROPERTY_DOCUMENT, value }));
    return c;
  });
}

/** A prepared component as a library model (the XML path). */
function toModel(lib: CycloneDxLibrary, c: ComponentJson): InstanceType<Models["Component"]> {
  const { Models } = lib;
  const licenses = (c.licenses ?? []).map((l) =>
    "expression" in l
      ? new Models.LicenseExpression(l.expression)
      : "id" in l.license
      ? new Models.SpdxLicense(l.license.id)
      : new Models.NamedLicense(l.license.name)
  );
  return new Models.Component(c.type as never, c.name, {
    bomRef: c["bom-ref"],
    version: c.version,
    group: c.group,
    purl: c.purl,
    hashes: new Models.HashDictionary((c.hashes ?? []).map((h) => [h.alg, h.content]) as never),
    licenses: new Models.LicenseRepository(licenses),
    properties: new Models.PropertyRepository(c.properties.map((p) => new Models.Property(p.name, p.value))),
  });
}

/**
 * Add `inventory` to the BOM (see the module notes). Called once by `cyclonedxSbom` when attached documents
 * were asked for. For JSON, returns the serialised BOM (2-space indented like the library's, components and
 * dependencies one per line); for XML, adds the components to `bom` and returns `undefined`.
 *
 * @example
 * ```ts
 * const text = await addAttached(lib, { bom, component, spec, image, clock, json: true }, inventory);
 * ```
 */
export async function addAttached(
  lib: CycloneDxLibrary,
  target: AttachedTarget,
  inventory: AttachedInventory,
): Promise<AttachedJson | undefined> {
  const { Models, Enums } = lib;
  const { fixupSpdxId } = await import("@cyclonedx/cyclonedx-library/SPDX");
  const { bom, component, spec, image } = target;
  const prop = (name: string, value: string) => new Models.Property(`${TOOL_NAME}:attached:${name}`, value);

  if (inventory.sboms.length === 0) component.properties.add(prop("sbom", "no attached SBOM found"));
  for (const [n, s] of inventory.sboms.entries()) {
    component.properties.add(prop(`sbom:${n}:digest`, s.digest));
    component.properties.add(prop(`sbom:${n}:format`, s.format));
    component.properties.add(prop(`sbom:${n}:envelope`, s.envelope));
    component.properties.add(prop(`sbom:${n}:found-via`, s.foundVia));
    component.properties.add(prop(`sbom:${n}:manifest-digest`, s.manifestDigest));
    component.properties.add(prop(`sbom:${n}:packages`, String(s.packages)));
    const hashes = s.digest.startsWith("sha256:")
      ? new Models.HashDictionary([[Enums.HashAlgorithm["SHA-256"], digestHex(s.digest)]])
      : undefined;
    component.externalReferences.add(
      new Models.ExternalReference(
        await artifactPurl(image, s.manifestDigest),
        Enums.ExternalReferenceType.BOM,
        {
          hashes,
          comment: describe(s),
        },
      ),
    );
  }
  if (inventory.provenance.length === 0) {
    component.properties.add(prop("provenance", "no attached provenance found"));
  }
  for (const [n, p] of inventory.provenance.entries()) {
    component.properties.add(prop(`provenance:${n}:digest`, p.digest));
    component.properties.add(prop(`provenance:${n}:predicate-type`, p.predicateType));
    component.properties.add(prop(`provenance:${n}:found-via`, p.foundVia));
    component.properties.add(prop(`provenance:${n}:manifest-digest`, p.manifestDigest));
  }

  const sde = target.clock.sourceDateEpoch;
  if (sde !== undefined && (inventory.sboms.length || inventory.provenance.length)) {
    const digests = [...inventory.sboms, ...inventory.provenance].map((d) => d.digest);
    const name = JSON.stringify(["attached", bom.serialNumber ?? "", ...digests]);
    bom.serialNumber = `urn:uuid:${await uuidV5(await toolNamespace(PROJECT_URL), name)}`;
  }

  const taken = new Set<string>([component.bomRef.value ?? ""]);
  const prepared = prepare(lib, spec, fixupSpdxId, inventory.packages, taken);
  if (!target.json) {
    for (const c of prepared) bom.components.add(toModel(lib, c));
    return undefined;
  }
  // As the library's dependency graph lists every component with a bom-ref: each, depending on nothing.
  return { components: prepared, dependencies: prepared.map((c) => ({ ref: c["bom-ref"] })) };
}

/** The BOM's lists that grow with the attached packages: written one entry per line. */
export const LONG_LISTS: ReadonlySet<string> = new Set(["components", "dependencies"]);

/**
 * The BOM as the library writes it (2-space indentation, same keys in the same order), except that the lists
 * in `long` have one entry per line: a package per line reads and diffs well, and V8 writes JSON without
 * indentation about four times as fast, which for 5,000 packages is a tenth of the whole run.
 */
export function writeJson(bom: Record<string, unknown>, long: ReadonlySet<string>): string {
  const members: string[] = [];
  for (const [key, value] of Object.entries(bom)) {
    if (value === undefined) continue;
    let text: string;
    if (long.has(key) && Array.isArray(value) && value.length > 0) {
      text = `[\n${value.map((v) => `    ${JSON.stringify(v)}`).join(",\n")}\n  ]`;
    } else {
      // Nested lines move in one level; a JSON string never holds a raw line break, so this is exact.
      text = JSON.stringify(value, null, 2).replaceAll("\n", "\n  ");
    }
    members.push(`  ${JSON.stringify(key)}: ${text}`);
  }
  return `{\n${members.join(",\n")}\n}`;
}
