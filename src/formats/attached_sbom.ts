/**
 * The image's own attached SBOMs and provenance (found and verified by `src/attachments.ts`), read into one
 * normalised inventory the formatters merge: SPDX 2.x JSON and CycloneDX JSON, plain or as the predicate of
 * an in-toto statement (itself plain or in a DSSE envelope, already unwrapped by the loader).
 *
 * What is kept of a package is what the document gives, unchanged: name, version, group (CycloneDX), purl,
 * licences (SPDX `licenseDeclared`, else `licenseConcluded`; CycloneDX `licenses`), hashes (SPDX `checksums`,
 * CycloneDX `hashes`) and its type (SPDX `primaryPackagePurpose`, CycloneDX `type`). Left out: the package an
 * SPDX document describes when it is the container image itself (purpose `CONTAINER`, or a `pkg:oci` /
 * `pkg:docker` purl: the SBOM's own `metadata.component` is that image), CycloneDX `metadata.component` for
 * the same reason, and packages without a name.
 *
 * Merge rules: packages are de-duplicated by purl, else by group, name and version; the first occurrence (in
 * discovery order, then document order) gives the fields, later ones only fill fields it lacks; every package
 * records the digests of all the documents that list it.
 *
 * @module
 */

import type { AttachedDocument, Envelope, FoundVia } from "../attachments.ts";
import { isObject } from "../manifest.ts";

/** A licence as the document states it. */
export type AttachedLicense = { id: string } | { name: string } | { expression: string };

/** A hash as the document states it; `alg` in CycloneDX's spelling (`SHA-256`). */
export interface AttachedHash {
  alg: string;
  content: string;
}

/** One package of the attached SBOMs, after de-duplication. */
export interface AttachedPackage {
  name: string;
  version?: string;
  group?: string;
  purl?: string;
  /** CycloneDX component type (`library`, `application`, ...), when the document says. */
  type?: string;
  /** Shared by the packages that state the same licences: never changed in place. */
  licenses: readonly AttachedLicense[];
  hashes: AttachedHash[];
  /**
   * Digests of the attached documents that list it, in discovery order. Shared by the packages of the same
   * documents: never changed in place.
   */
  documents: readonly string[];
}

/** Where an attached document came from, for the record. */
export interface AttachedOrigin {
  /** The document's digest (`sha256:<hex>`). */
  digest: string;
  /** The artifact manifest it is a layer of. */
  manifestDigest: string;
  foundVia: FoundVia;
  envelope: Envelope;
  /** The in-toto predicate type, for statements. */
  predicateType?: string;
}

/** An attached SBOM that was read. */
export interface AttachedSbomInfo extends AttachedOrigin {
  /** `SPDX-2.3`, `CycloneDX-1.5`, ...: the document's own version field. */
  format: string;
  /** Packages it lists (before de-duplication across documents). */
  packages: number;
}

/** An attached provenance statement. */
export interface AttachedProvenanceInfo extends AttachedOrigin {
  predicateType: string;
}

/** Everything the formatters merge. */
export interface AttachedInventory {
  sboms: AttachedSbomInfo[];
  provenance: AttachedProvenanceInfo[];
  packages: AttachedPackage[];
  /** Documents that could not be read as an SBOM, and why (for debug notes). */
  notes: string[];
}

type Json = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** SPDX 2.x checksum algorithm -> CycloneDX hash algorithm (those CycloneDX has). */
const SPDX_HASH = new Map<string, string>(Object.entries({
  MD5: "MD5",
  SHA1: "SHA-1",
  SHA256: "SHA-256",
  SHA384: "SHA-384",
  SHA512: "SHA-512",
  "SHA3-256": "SHA3-256",
  "SHA3-384": "SHA3-384",
  "SHA3-512": "SHA3-512",
  "BLAKE2b-256": "BLAKE2b-256",
  "BLAKE2b-384": "BLAKE2b-384",
  "BLAKE2b-512": "BLAKE2b-512",
  BLAKE3: "BLAKE3",
}));

/** SPDX 2.3 primaryPackagePurpose -> CycloneDX component type. */
const SPDX_PURPOSE = new Map<string, string>(Object.entries({
  APPLICATION: "application",
  FRAMEWORK: "framework",
  LIBRARY: "library",
  CONTAINER: "container",
  "OPERATING-SYSTEM": "operating-system",
  DEVICE: "device",
  FIRMWARE: "firmware",
  FILE: "file",
}));

/**
 * What `make` gives for each entry of `v` (when it is a list), leaving out what it gives nothing for. The
 * list is made at its final length: an attached SBOM may list thousands of packages, and lists grown entry by
 * entry reserve room for 16 more each, memory the process must first fault in (a tenth of the run's time).
 */
function listOf<T>(v: unknown, make: (entry: unknown) => T | undefined): T[] {
  if (!Array.isArray(v) || v.length === 0) return [];
  if (v.length === 1) {
    const only = make(v[0]);
    return only === undefined ? [] : [only];
  }
  const out: T[] = [];
  for (let i = 0; i < v.length; i++) {
    const made = make(v[i]);
    if (made !== undefined) out.push(made);
  }
  return out;
}

/** An SPDX licence field as a licence: nothing for NOASSERTION/NONE, an id, or an expression. */
function spdxLicense(text: string | undefined): AttachedLicense | undefined {
  if (!text || text === "NOASSERTION" || text === "NONE") return undefined;
  return /[\s()]/.test(text.trim()) ? { expression: text.trim() } : { id: text.trim() };
}

const NO_LICENSES: readonly AttachedLicense[] = Object.freeze([]);

/**
 * The licence list of an SPDX licence field, made once per distinct field text in `made` and shared (frozen)
 * by the packages that have it: a document states few licences, each for many packages.
 */
function spdxLicenses(
  text: string | undefined,
  made: Map<string, readonly AttachedLicense[]>,
): readonly AttachedLicense[] {
  if (text === undefined) return NO_LICENSES;
  let list = made.get(text);
  if (list === undefined) {
    const license = spdxLicense(text);
    list = license ? Object.freeze([Object.freeze(license)]) : NO_LICENSES;
    made.set(text, list);
  }
  return list;
}

/** The first purl of an SPDX package's `externalRefs`. */
function spdxPurl(refs: unknown): string | undefined {
  if (!Array.isArray(refs)) return undefined;
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i];
    if (isObject(ref) && ref.referenceType === "purl" && str(ref.referenceLocator)) {
      return ref.referenceLocator as string;
    }
  }
  return undefined;
}

/** An SPDX checksum as a hash, when CycloneDX has its algorithm and it has a value. */
function spdxHash(c: unknown): AttachedHash | undefined {
  const alg = isObject(c) && typeof c.algorithm === "string" ? SPDX_HASH.get(c.algorithm) : undefined;
  const content = alg && str((c as Json).checksumValue);
  return content ? { alg: alg!, content } : undefined;
}

const NO_DOCUMENTS: readonly string[] = Object.freeze([]);

/**
 * A package with only the fields it has: built in one step for each combination (an object given its fields
 * one by one grows a second store for them), the usual one first.
 */
function spdxPackage(
  name: string,
  version: string | undefined,
  purl: string | undefined,
  type: string | undefined,
  licenses: readonly AttachedLicense[],
  hashes: AttachedHash[],
): AttachedPackage {
  if (version && purl && !type) return { name, version, purl, licenses, hashes, documents: NO_DOCUMENTS };
  const pkg: AttachedPackage = { name, licenses, hashes, documents: NO_DOCUMENTS };
  if (version) pkg.version = version;
  if (purl) pkg.purl = purl;
  if (type) pkg.type = type;
  return pkg;
}

function spdxPackages(doc: Json): AttachedPackage[] {
  const list = Array.isArray(doc.packages) ? doc.packages : [];
  const describes = new Set<string>(
    Array.isArray(doc.documentDescribes) ? doc.documentDescribes.filter((d) => typeof d === "string") : [],
  );
  const relationships = Array.isArray(doc.relationships) ? doc.relationships : [];
  for (let i = 0; i < relationships.length; i++) {
    const r = relationships[i];
    if (isObject(r) && r.relationshipType === "DESCRIBES" && typeof r.relatedSpdxElement === "string") {
      describes.add(r.relatedSpdxElement);
    }
  }
  const packages: AttachedPackage[] = [];
  const licenseLists = new Map<string, readonly AttachedLicense[]>();
  // Indexed loops and module-level helpers: for thousands of packages, in code that runs once, an iterator
  // or a closure per package is garbage the collector must copy out of the way.
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    if (!isObject(p)) continue;
    const name = str(p.name);
    if (!name) continue;
    const purl = spdxPurl(p.externalRefs);
    const purpose = str(p.primaryPackagePurpose);
    // The image itself (a container, or an OCI/Docker purl) that the document describes: asked in that order,
    // so that most packages cost no lookup of their SPDXID.
    const image = purpose === "CONTAINER" ||
      (purl !== undefined && (purl.startsWith("pkg:oci/") || purl.startsWith("pkg:docker/")));
    if (image && typeof p.SPDXID === "string" && describes.has(p.SPDXID)) continue;
    const declared = spdxLicenses(str(p.licenseDeclared), licenseLists);
    const licenses = declared.length ? declared : spdxLicenses(str(p.licenseConcluded), licenseLists);
    packages.push(
      spdxPackage(
        name,
        str(p.versionInfo),
        purl,
        purpose && SPDX_PURPOSE.get(purpose),
        licenses,
        listOf(p.checksums, spdxHash),
      ),
    );
  }
  return packages;
}

function cyclonedxLicenses(v: unknown): AttachedLicense[] {
  return listOf(v, (l): AttachedLicense | undefined => {
    if (!isObject(l)) return undefined;
    const expression = str(l.expression);
    if (expression) return { expression };
    if (!isObject(l.license)) return undefined;
    const id = str(l.license.id);
    if (id) return { id };
    const name = str(l.license.name);
    return name ? { name } : undefined;
  });
}

function cyclonedxPackages(doc: Json): AttachedPackage[] {
  const packages: AttachedPackage[] = [];
  // Nested components are flattened: the merged SBOM lists what the image holds, one level deep.
  const stack: unknown[] = Array.isArray(doc.components) ? [...doc.components].reverse() : [];
  while (stack.length) {
    const c = stack.pop();
    if (!isObject(c)) continue;
    if (Array.isArray(c.components)) stack.push(...[...c.components].reverse());
    const name = str(c.name);
    if (!name) continue;
    const pkg: AttachedPackage = {
      name,
      licenses: cyclonedxLicenses(c.licenses),
      hashes: listOf(c.hashes, (h) => {
        const alg = isObject(h) ? str(h.alg) : undefined;
        const content = alg && str((h as Json).content);
        return content ? { alg: alg!, content } : undefined;
      }),
      documents: NO_DOCUMENTS,
    };
    for (const key of ["version", "group", "purl", "type"] as const) {
      const value = str(c[key]);
      if (value) pkg[key] = value;
    }
    packages.push(pkg);
  }
  return packages;
}

/** What an SBOM document is: its format and packages, or why it is not one this tool reads. */
function readSbom(
  content: unknown,
): { format: string; packages: AttachedPackage[] } | string {
  if (!isObject(content)) return "not a JSON object";
  if (typeof content.spdxVersion === "string") {
    if (!content.spdxVersion.startsWith("SPDX-2.")) {
      return `${content.spdxVersion.slice(0, 40)} is not SPDX 2.x`;
    }
    return { format: content.spdxVersion, packages: spdxPackages(content) };
  }
  if (content.bomFormat === "CycloneDX") {
    const version = typeof content.specVersion === "string" ? content.specVersion : "?";
    return { format: `CycloneDX-${version.slice(0, 10)}`, packages: cyclonedxPackages(content) };
  }
  return "neither SPDX 2.x JSON nor CycloneDX JSON";
}

function origin(doc: AttachedDocument): AttachedOrigin {
  const o: AttachedOrigin = {
    digest: doc.digest,
    manifestDigest: doc.attachment.manifest.digest,
    foundVia: doc.attachment.foundVia,
    envelope: doc.envelope,
  };
  if (doc.predicateType !== undefined) o.predicateType = doc.predicateType;
  return o;
}

/**
 * Read verified attached documents into one inventory (see the module notes for what is kept and how
 * packages are merged). Pure: the same documents give the same inventory.
 *
 * @example
 * ```ts
 * const docs = await loadAttachedDocuments(source, image, await findAttachments(source, image), { want });
 * const inventory = attachedInventory(docs);
 * console.log(inventory.packages.length, inventory.sboms.map((s) => s.digest));
 * ```
 */
export function attachedInventory(docs: readonly AttachedDocument[]): AttachedInventory {
  const inventory: AttachedInventory = { sboms: [], provenance: [], packages: [], notes: [] };
  // The same package: the same purl, else (without a purl) the same group, name and version.
  const byPurl = new Map<string, AttachedPackage>();
  const byName = new Map<string, AttachedPackage>();
  for (const doc of docs) {
    if (doc.kind === "provenance") {
      inventory.provenance.push({ ...origin(doc), predicateType: doc.predicateType ?? "" });
      continue;
    }
    const sbom = readSbom(doc.content);
    if (typeof sbom === "string") {
      inventory.notes.push(`attached document ${doc.digest} is ${sbom}; its packages are not merged`);
      continue;
    }
    inventory.sboms.push({ ...origin(doc), format: sbom.format, packages: sbom.packages.length });
    const packages = sbom.packages;
    const listed = Object.freeze([doc.digest]); // the documents of a package first listed here
    for (let i = 0; i < packages.length; i++) {
      const p = packages[i];
      const byKey = p.purl === undefined ? byName : byPurl;
      const key = p.purl ?? `${p.group ?? ""}/${p.name}@${p.version ?? ""}`;
      const known = byKey.get(key);
      if (!known) {
        p.documents = listed;
        byKey.set(key, p);
        inventory.packages.push(p);
        continue;
      }
      if (!known.documents.includes(doc.digest)) known.documents = [...known.documents, doc.digest];
      for (const field of ["version", "group", "purl", "type"] as const) {
        if (known[field] === undefined && p[field] !== undefined) known[field] = p[field];
      }
      // Licences differing between documents: the first document's stand; the record names both documents.
      if (known.licenses.length === 0) known.licenses = p.licenses;
      const algs = new Set(known.hashes.map((h) => h.alg));
      for (const h of p.hashes) if (!algs.has(h.alg)) known.hashes.push(h);
    }
  }
  return inventory;
}

/**
 * The image's own attached provenance as annotations of its ResourceDescriptor, each key prefixed with
 * `prefix` (SLSA asks annotation keys to be namespaced): `<prefix>attached_provenance_<n>_digest`,
 * `..._predicate_type`, `..._found_via`, `..._manifest_digest`; `<prefix>attached_provenance: "none found"`
 * when there is none.
 *
 * @example
 * ```ts
 * attachedProvenanceAnnotations([], "ecrimagemetadataextractor_");
 * // { ecrimagemetadataextractor_attached_provenance: "none found" }
 * ```
 */
export function attachedProvenanceAnnotations(
  provenance: readonly AttachedProvenanceInfo[],
  prefix: string,
): Record<string, string> {
  if (provenance.length === 0) return { [`${prefix}attached_provenance`]: "none found" };
  const out: Record<string, string> = {};
  provenance.forEach((p, n) => {
    out[`${prefix}attached_provenance_${n}_digest`] = p.digest;
    out[`${prefix}attached_provenance_${n}_predicate_type`] = p.predicateType;
    out[`${prefix}attached_provenance_${n}_found_via`] = p.foundVia;
    out[`${prefix}attached_provenance_${n}_manifest_digest`] = p.manifestDigest;
  });
  return out;
}
