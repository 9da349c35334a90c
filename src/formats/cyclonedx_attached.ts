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
 * component and one dependency entry per line, {@link writeJson}, each component written as text straight from
 * its package) or XML (components, through `cyclonedx_nodes.ts`).
 * `tests/attachments_test.ts` holds both equal, value for value and key for key, to what the library writes
 * from the same components.
 *
 * @module
 */

import type { ResolvedImage } from "../image.ts";
import { PROJECT_URL, TOOL_NAME } from "../version.ts";
import type {
  AttachedHash,
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
  /** The attached packages as components, each with a bom-ref unique in the BOM (built when called). */
  components(): Component[];
  /**
   * The same components as JSON text, one per line: exactly their `JSON.stringify(componentJson(c))` joined
   * with {@link ENTRY_SEPARATOR}, written straight from the packages (see {@link componentsText}).
   */
  componentsText(): string;
  /** Their bom-refs, in order. */
  refs: string[];
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

/** A bom-ref for each package, unique in the BOM (the purl when there is one), none of those in `taken`. */
function bomRefs(packages: readonly AttachedPackage[], taken: Set<string>): string[] {
  return packages.map((p) => {
    let ref = p.purl ?? `${TOOL_NAME}:attached:${p.group ? `${p.group}/` : ""}${p.name}@${p.version ?? ""}`;
    for (let i = 2, wanted = ref; taken.has(ref); i++) ref = `${wanted}#${i}`;
    taken.add(ref);
    return ref;
  });
}

/** A component type the spec knows, else `library`. */
function componentType(spec: SpecVersion, p: AttachedPackage): string {
  return p.type && supportsComponentType(spec, p.type) ? p.type : "library";
}

/**
 * The hashes fit to write (an algorithm CycloneDX has, a well-formed value), a later hash of an algorithm
 * replacing an earlier one in its place; undefined when none is.
 */
function fitHashes(hashes: readonly AttachedHash[]): AttachedHash[] | undefined {
  if (hashes.length === 1) return supportsHash(hashes[0]) ? [hashes[0]] : undefined;
  const fit = new Map<string, string>();
  for (const h of hashes) if (supportsHash(h)) fit.set(h.alg, h.content);
  return fit.size ? Array.from(fit, ([alg, content]) => ({ alg, content })) : undefined;
}

/** The licences written: an expression alone when there is one among several (a licence choice is one). */
function chosenLicenses(licenses: readonly AttachedLicense[]): readonly AttachedLicense[] {
  const expression = licenses.length > 1 ? licenses.find((l) => "expression" in l) : undefined;
  return expression ? [expression] : licenses;
}

/**
 * The attached packages as components: a component type the spec knows (else `library`), hashes CycloneDX
 * has an algorithm for and a well-formed value (a later hash of the same algorithm replacing an earlier one),
 * licence ids CycloneDX's SPDX list knows in their listed spelling (others kept as names: the schema allows
 * only listed ids in `license.id`), an expression alone when there is one (a licence choice is one expression
 * or a list of licences), and the bom-refs `refs`.
 */
function components(
  spec: SpecVersion,
  packages: readonly AttachedPackage[],
  refs: readonly string[],
): Component[] {
  return packages.map((p, i) => {
    const c: Component = { type: componentType(spec, p), name: p.name, bomRef: refs[i] };
    if (p.group) c.group = p.group;
    if (p.version) c.version = p.version;
    const hashes = fitHashes(p.hashes);
    if (hashes) c.hashes = hashes.map(({ alg, content }) => ({ alg, content }));
    if (p.licenses.length) c.licenses = chosenLicenses(p.licenses).map(license);
    if (p.purl) c.purl = p.purl;
    c.properties = p.documents.map((value) => ({ name: PROPERTY_DOCUMENT, value }));
    return c;
  });
}

/** Between two entries of a list written one entry per line (see {@link writeJson}). */
export const ENTRY_SEPARATOR = ",\n    ";

/**
 * {@link components} as JSON text, one per line: each as `componentJson` writes it (type, name, group,
 * version, bom-ref, hashes, licenses, purl, properties), without building the components first. The list is
 * written by one `JSON.stringify`, then broken at each `},{"type":`: every component starts with its type,
 * none of the objects inside one (hashes, licences, properties) does, and inside a JSON string that sequence
 * is always `},{\"type\":`. For 5,000 packages this is a third of the time of writing them one by one, and a
 * fifth of building components and their JSON objects first.
 */
function componentsText(
  spec: SpecVersion,
  packages: readonly AttachedPackage[],
  refs: readonly string[],
): string {
  const objects = packages.map((p, i) => {
    const out: Record<string, unknown> = { type: componentType(spec, p), name: p.name };
    if (p.group) out.group = p.group;
    if (p.version) out.version = p.version;
    out["bom-ref"] = refs[i];
    const hashes = fitHashes(p.hashes);
    if (hashes) out.hashes = hashes.map(({ alg, content }) => ({ alg, content }));
    if (p.licenses.length) out.licenses = chosenLicenses(p.licenses).map(license);
    if (p.purl) out.purl = p.purl;
    out.properties = p.documents.map((value) => ({ name: PROPERTY_DOCUMENT, value }));
    return out;
  });
  return JSON.stringify(objects).slice(1, -1).replaceAll('},{"type":', `}${ENTRY_SEPARATOR}{"type":`);
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

  const refs = bomRefs(inventory.packages, new Set([bom.imageRef]));
  return {
    properties,
    externalReferences,
    serialNumber,
    components: () => components(bom.spec, inventory.packages, refs),
    componentsText: () => componentsText(bom.spec, inventory.packages, refs),
    refs,
  };
}

/**
 * The BOM as `JSON.stringify(bom, null, 2)` writes it, except for the lists named in `more`: those are written
 * one entry per line, their own entries followed by the text given there (entries written as JSON, joined
 * with {@link ENTRY_SEPARATOR}). A package per line reads and diffs well, and V8 writes JSON without
 * indentation about four times as fast, which for 5,000 packages is a tenth of the whole run.
 *
 * @example
 * ```ts
 * writeJson({ bomFormat: "CycloneDX", components: [] }, { components: '{"type":"library","name":"a"}' });
 * ```
 */
export function writeJson(bom: Record<string, unknown>, more: Readonly<Record<string, string>>): string {
  const members: string[] = [];
  for (const [key, value] of Object.entries(bom)) {
    if (value === undefined) continue;
    const extra = Object.hasOwn(more, key) && Array.isArray(value) ? more[key] : undefined;
    const entries = extra === undefined ? [] : (value as unknown[]).map((v) => JSON.stringify(v));
    if (extra) entries.push(extra);
    // Nested lines move in one level; a JSON string never holds a raw line break, so this is exact.
    const text = entries.length
      ? `[\n    ${entries.join(ENTRY_SEPARATOR)}\n  ]`
      : JSON.stringify(value, null, 2).replaceAll("\n", "\n  ");
    members.push(`  ${JSON.stringify(key)}: ${text}`);
  }
  return `{\n${members.join(",\n")}\n}`;
}
