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
 * - on the image, properties record what was found:
 *
 * | Property name                                                 | Value                                     |
 * | ------------------------------------------------------------- | ----------------------------------------- |
 * | `ecrimagemetadataextractor:attached:sbom`                     | `no attached SBOM found` (when none)      |
 * | `ecrimagemetadataextractor:attached:sbom:<n>:digest`          | the document's digest                     |
 * | `ecrimagemetadataextractor:attached:sbom:<n>:format`          | `SPDX-2.3`, `CycloneDX-1.5`, ...          |
 * | `ecrimagemetadataextractor:attached:sbom:<n>:envelope`        | `none`, `in-toto` or `dsse`               |
 * | `ecrimagemetadataextractor:attached:sbom:<n>:found-via`       | `attestation-manifest`, `referrers-api`, ... |
 * | `ecrimagemetadataextractor:attached:sbom:<n>:manifest-digest` | the artifact manifest holding it          |
 * | `ecrimagemetadataextractor:attached:sbom:<n>:packages`        | packages it lists (decimal)               |
 * | `ecrimagemetadataextractor:attached:provenance`               | `no attached provenance found` (when none) |
 * | `ecrimagemetadataextractor:attached:provenance:<n>:digest`    | the statement's digest                    |
 * | `ecrimagemetadataextractor:attached:provenance:<n>:predicate-type` | its predicate type                   |
 * | `ecrimagemetadataextractor:attached:provenance:<n>:found-via` | where it was found                        |
 * | `ecrimagemetadataextractor:attached:provenance:<n>:manifest-digest` | the artifact manifest holding it    |
 *
 * With SOURCE_DATE_EPOCH the serial number also depends on the attached documents' digests, so the same image
 * with other attachments does not get the same serial number.
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
  /** The CycloneDX version written (what it supports decides the component types used). */
  spec: CycloneDxLibrary["Spec"]["Spec1dot6"];
  image: ResolvedImage;
  clock: Clock;
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

/**
 * Add `inventory` to the BOM (see the module notes). Called once by `cyclonedxSbom` when attached documents
 * were asked for; loads the library's SPDX licence list, which only this path needs.
 *
 * @example
 * ```ts
 * await addAttached(lib, { bom, component, spec, image, clock }, attachedInventory(documents));
 * ```
 */
export async function addAttached(
  lib: CycloneDxLibrary,
  target: AttachedTarget,
  inventory: AttachedInventory,
): Promise<void> {
  const { Models, Enums } = lib;
  const { fixupSpdxId } = await import("@cyclonedx/cyclonedx-library/SPDX");
  const { bom, component, spec, image } = target;
  const ns = `${TOOL_NAME}:attached`;
  const prop = (name: string, value: string) => new Models.Property(`${ns}:${name}`, value);

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

  const types = new Set<string>(Object.values(Enums.ComponentType));
  const algorithms = new Set<string>(Object.values(Enums.HashAlgorithm));
  const refs = new Set<string>([component.bomRef.value ?? ""]);
  const uniqueRef = (wanted: string) => {
    let ref = wanted;
    for (let i = 2; refs.has(ref); i++) ref = `${wanted}#${i}`;
    refs.add(ref);
    return ref;
  };
  const license = (l: AttachedLicense) => {
    if ("expression" in l) return new Models.LicenseExpression(l.expression);
    if ("name" in l) return new Models.NamedLicense(l.name);
    const id = fixupSpdxId(l.id);
    // An id CycloneDX's SPDX list does not know (LicenseRef-..., a typo) is kept as a name: the schema allows
    // only listed ids in `license.id`.
    return id ? new Models.SpdxLicense(id) : new Models.NamedLicense(l.id);
  };
  const toComponent = (p: AttachedPackage) => {
    const type = p.type && types.has(p.type) && spec.supportsComponentType(p.type as never)
      ? p.type as InstanceType<Models["Component"]>["type"]
      : Enums.ComponentType.Library;
    const hashes = new Models.HashDictionary();
    for (const h of p.hashes) {
      if (algorithms.has(h.alg)) hashes.set(h.alg as never, h.content);
    }
    // An SPDX expression stands alone in CycloneDX; with one, other licence entries are not written.
    const licenses = p.licenses.map(license);
    return new Models.Component(type, p.name, {
      bomRef: uniqueRef(p.purl ?? `${ns}:${p.group ? `${p.group}/` : ""}${p.name}@${p.version ?? ""}`),
      version: p.version,
      group: p.group,
      purl: p.purl,
      hashes,
      licenses: new Models.LicenseRepository(licenses),
      properties: new Models.PropertyRepository(p.documents.map((d) => prop("document", d))),
    });
  };
  for (const p of inventory.packages) bom.components.add(toComponent(p));

  const sde = target.clock.sourceDateEpoch;
  if (sde !== undefined && (inventory.sboms.length || inventory.provenance.length)) {
    const digests = [...inventory.sboms, ...inventory.provenance].map((d) => d.digest);
    const name = JSON.stringify(["attached", bom.serialNumber ?? "", ...digests]);
    bom.serialNumber = `urn:uuid:${await uuidV5(await toolNamespace(PROJECT_URL), name)}`;
  }
}
