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
 * The packages are prepared once ({@link attachedParts}), with every decision the CycloneDX library's models
 * and normalisers made when earlier releases wrote them through it; `cyclonedx.ts` writes them as JSON (one
 * component and one dependency entry per line, {@link writeJson}) or XML (`cyclonedx_nodes.ts`).
 * `tests/attachments_test.ts` holds both equal, value for value and key for key, to what the library writes
 * from the same components.
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
import {
  type Component,
  type ExternalReference,
  type License,
  type Property,
  type SpecVersion,
  supportsComponentType,
  supportsHash,
} from "./cyclonedx_nodes.ts";
import { digestHex, purlName, toolNamespace, uuidV5 } from "./image_ids.ts";
import { ociPurl } from "./purl.ts";
import { spdxLicenseId } from "./spdx_ids.ts";

/** What the attached documents add to the SBOM. */
export interface AttachedParts {
  /** Properties of the image's component, after its own (see the module table). */
  properties: Property[];
  /** `bom` references of the image's component, one per attached SBOM. */
  externalReferences: ExternalReference[];
  /** The BOM's serial number: with SOURCE_DATE_EPOCH, derived from the documents too. */
  serialNumber: string;
  /** The attached packages as components, each with a bom-ref unique in the BOM. */
  components: Component[];
}

/** `pkg:oci` purl of an artifact manifest of the image's repository (no repository_url for a layout). */
function artifactPurl(image: ResolvedImage, manifestDigest: string): string {
  const { origin } = image;
  const qualifiers: Record<string, string> = {};
  if (origin.kind === "registry") qualifiers.repository_url = `${origin.registry}/${origin.repository}`;
  return ociPurl({ name: purlName(image), version: manifestDigest, qualifiers });
}

function describe(s: AttachedSbomInfo): string {
  const wrapped = s.envelope === "none" ? "" : s.envelope === "dsse" ? ", in-toto in DSSE" : ", in-toto";
  return `attached ${s.format} SBOM ${s.digest} (${s.foundVia}${wrapped})`;
}

const PROPERTY_DOCUMENT = `${TOOL_NAME}:attached:document`;

function license(l: AttachedLicense): License {
  if ("expression" in l) return { expression: l.expression };
  if ("name" in l) return { license: { name: l.name } };
  const id = spdxLicenseId(l.id);
  return { license: id === undefined ? { name: l.id } : { id } };
}

/**
 * The attached packages as components: a component type the spec knows (else `library`), hashes CycloneDX
 * has an algorithm for and a well-formed value (a later hash of the same algorithm replacing an earlier one),
 * licence ids CycloneDX's SPDX list knows in their listed spelling (others kept as names: the schema allows
 * only listed ids in `license.id`), an expression alone when there is one (a licence choice is one expression
 * or a list of licences), and a bom-ref unique in the BOM (the purl when there is one).
 */
function components(
  spec: SpecVersion,
  packages: readonly AttachedPackage[],
  taken: Set<string>,
): Component[] {
  return packages.map((p) => {
    const type = p.type && supportsComponentType(spec, p.type) ? p.type : "library";
    let ref = p.purl ?? `${TOOL_NAME}:attached:${p.group ? `${p.group}/` : ""}${p.name}@${p.version ?? ""}`;
    for (let i = 2, wanted = ref; taken.has(ref); i++) ref = `${wanted}#${i}`;
    taken.add(ref);
    const c: Component = { type, name: p.name, bomRef: ref };
    if (p.group) c.group = p.group;
    if (p.version) c.version = p.version;
    if (p.hashes.length) {
      const hashes = new Map<string, string>();
      for (const h of p.hashes) if (supportsHash(h)) hashes.set(h.alg, h.content);
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

/**
 * What `inventory` adds to the SBOM of `image` (see the module notes), whose component has the bom-ref
 * `imageRef` and whose serial number is `serialNumber`. Called once by `cyclonedxSbom` when attached
 * documents were asked for.
 *
 * @example
 * ```ts
 * const parts = await attachedParts(image, { spec: "1.6", clock, serialNumber, imageRef }, inventory);
 * ```
 */
export async function attachedParts(
  image: ResolvedImage,
  bom: { spec: SpecVersion; clock: Clock; serialNumber: string; imageRef: string },
  inventory: AttachedInventory,
): Promise<AttachedParts> {
  const properties: Property[] = [];
  const prop = (name: string, value: string) =>
    properties.push({ name: `${TOOL_NAME}:attached:${name}`, value });
  const externalReferences: ExternalReference[] = [];

  if (inventory.sboms.length === 0) prop("sbom", "no attached SBOM found");
  for (const [n, s] of inventory.sboms.entries()) {
    prop(`sbom:${n}:digest`, s.digest);
    prop(`sbom:${n}:format`, s.format);
    prop(`sbom:${n}:envelope`, s.envelope);
    prop(`sbom:${n}:found-via`, s.foundVia);
    prop(`sbom:${n}:manifest-digest`, s.manifestDigest);
    prop(`sbom:${n}:packages`, String(s.packages));
    const reference: ExternalReference = { url: artifactPurl(image, s.manifestDigest), type: "bom" };
    if (s.digest.startsWith("sha256:")) reference.hashes = [{ alg: "SHA-256", content: digestHex(s.digest) }];
    reference.comment = describe(s);
    externalReferences.push(reference);
  }
  if (inventory.provenance.length === 0) prop("provenance", "no attached provenance found");
  for (const [n, p] of inventory.provenance.entries()) {
    prop(`provenance:${n}:digest`, p.digest);
    prop(`provenance:${n}:predicate-type`, p.predicateType);
    prop(`provenance:${n}:found-via`, p.foundVia);
    prop(`provenance:${n}:manifest-digest`, p.manifestDigest);
  }

  let serialNumber = bom.serialNumber;
  const sde = bom.clock.sourceDateEpoch;
  if (sde !== undefined && (inventory.sboms.length || inventory.provenance.length)) {
    const digests = [...inventory.sboms, ...inventory.provenance].map((d) => d.digest);
    const name = JSON.stringify(["attached", serialNumber, ...digests]);
    serialNumber = `urn:uuid:${await uuidV5(await toolNamespace(PROJECT_URL), name)}`;
  }

  const taken = new Set<string>([bom.imageRef]);
  return {
    properties,
    externalReferences,
    serialNumber,
    components: components(bom.spec, inventory.packages, taken),
  };
}

/** The BOM's lists that grow with the attached packages: written one entry per line. */
export const LONG_LISTS: ReadonlySet<string> = new Set(["components", "dependencies"]);

/**
 * The BOM as `JSON.stringify(bom, null, 2)` writes it, except that the lists in `long` have one entry per
 * line: a package per line reads and diffs well, and V8 writes JSON without indentation about four times as
 * fast, which for 5,000 packages is a tenth of the whole run.
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
