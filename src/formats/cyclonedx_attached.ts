/**
 * The image's attached SBOMs and provenance, merged into its CycloneDX SBOM (`sbom --include-attached`):
 *
 * - every package of the attached SBOMs (see `attached_sbom.ts` for what is kept and how they are
 *   de-duplicated) becomes a component in `components`, with its purl, version, licences and hashes as given,
 *   and one property `ecrimagemetadataextractor:attached:document` per attached document that lists it (the
 *   document's digest); it is not in the dependency graph (`dependencies`): the documents' relationships are
 *   not carried over, so its dependencies are not known, and an entry without `dependsOn` would say it has
 *   none;
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
 * With SOURCE_DATE_EPOCH the serial number also depends on what was found (each document's digest, format,
 * envelope, where it was found, its artifact manifest and package count; or that none was), so the same image
 * with other attachments, or read without looking for them, does not get the same serial number.
 *
 * The packages are prepared once ({@link attachedParts}), with every decision the CycloneDX library's models
 * and normalisers made when earlier releases wrote them through it; `cyclonedx.ts` writes them as JSON (one
 * component per line, {@link writeJson}, each written as text straight from its package) or XML (components,
 * through `cyclonedx_nodes.ts`).
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
   * The same components as JSON text, one per line, in pieces: their {@link textOf} is exactly their
   * `JSON.stringify(componentJson(c))` joined with {@link ENTRY_SEPARATOR}, written straight from the
   * packages (see {@link componentsText}).
   */
  componentsText(): JsonPiece[];
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
    const wanted = p.purl ??
      `${TOOL_NAME}:attached:${p.group ? `${p.group}/` : ""}${p.name}@${p.version ?? ""}`;
    // One look-up for a ref that is free (as most are): adding it to `taken` grows it.
    let ref = wanted;
    for (let i = 2, size = taken.size; taken.add(ref).size === size; i++) ref = `${wanted}#${i}`;
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
function fitHashes(hashes: readonly AttachedHash[]): readonly AttachedHash[] | undefined {
  if (hashes.length === 1) return supportsHash(hashes[0]) ? hashes : undefined;
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
    c.dependenciesUnknown = true;
    return c;
  });
}

/** Between two entries of a list written one entry per line (see {@link writeJson}). */
export const ENTRY_SEPARATOR = ",\n    ";

/**
 * Entries of a JSON list, as one `JSON.stringify` of their array wrote them (`[{"<first>":...},...]`), that
 * stand for their text one per line: the brackets left out, and {@link ENTRY_SEPARATOR} between two entries
 * instead of a comma. Every entry is a JSON object whose first member is `first`, and none of its nested
 * objects starts with that member: an entry then starts exactly where the text has `},{"<first>":`, which
 * inside a JSON string is always `},{\\"<first>\\":`. {@link encodeJson} writes the lines straight from
 * this text; {@link textOf} makes them as text.
 */
export interface EntryRun {
  json: string;
  /** How many entries (one more than the separators the lines have). */
  count: number;
  first: string;
}

/** A piece of JSON text: text as it is, or a run of entries one per line ({@link EntryRun}). */
export type JsonPiece = string | EntryRun;

/** Where one entry of a run ends and the next starts: `},{"<first>":`. */
const entryBoundary = (first: string) => `},{${JSON.stringify(first)}:`;

/** The lines of `run`, as text. */
function runText(run: EntryRun): string {
  const boundary = entryBoundary(run.first);
  return run.json.slice(1, -1).split(boundary).join(`}${ENTRY_SEPARATOR}${boundary.slice(2)}`);
}

/**
 * The text `pieces` stand for (the encoder writes its bytes without making it).
 *
 * @example
 * ```ts
 * textOf(["[\n    ", { json: '[{"type":"a"},{"type":"b"}]', count: 2, first: "type" }, "\n  ]"]);
 * // '[\n    {"type":"a"},\n    {"type":"b"}\n  ]'
 * ```
 */
export function textOf(pieces: readonly JsonPiece[]): string {
  return pieces.map((p) => typeof p === "string" ? p : runText(p)).join("");
}

/** Entries per {@link EntryRun} of {@link jsonLines}: their objects die young, in memory already in use. */
const RUN_ENTRIES = 256;

/**
 * `values` as JSON text, one per line (joined with {@link ENTRY_SEPARATOR}), in pieces: runs
 * ({@link EntryRun}) of up to {@link RUN_ENTRIES} entries, with a separator between two runs. Each value is made
 * by `make` (from the item and its index) and must be a JSON object whose first member is `first` and none of
 * whose nested objects starts with it. Each run is written by one `JSON.stringify`: for 5,000 entries, a third
 * of the time of writing them one by one; and the lines are never made as text, only written as bytes
 * ({@link encodeJson}): 5,000 components are 2 MiB of text, memory the process would first fault in.
 */
export function jsonLines<T>(
  items: readonly T[],
  first: string,
  make: (item: T, index: number) => Record<string, unknown>,
): JsonPiece[] {
  const pieces: JsonPiece[] = [];
  for (let start = 0; start < items.length; start += RUN_ENTRIES) {
    const end = Math.min(items.length, start + RUN_ENTRIES);
    const values = new Array<Record<string, unknown>>(end - start);
    for (let i = start; i < end; i++) values[i - start] = make(items[i], i);
    if (start !== 0) pieces.push(ENTRY_SEPARATOR);
    pieces.push({ json: JSON.stringify(values), count: end - start, first });
  }
  return pieces;
}

const encoder = new TextEncoder();
const SEPARATOR_BYTES = encoder.encode(ENTRY_SEPARATOR);
/** Bytes a run's lines have beyond its text: a separator in place of each comma. */
const EXTRA = SEPARATOR_BYTES.length - 1;

/** The most bytes a piece can take (three per UTF-16 unit). */
function mostBytes(p: JsonPiece): number {
  return typeof p === "string" ? p.length * 3 : (p.json.length + p.count * EXTRA) * 3;
}

/**
 * Write the UTF-8 bytes of `p` into `out` at `at`: where it ends, or -1 when it does not fit (`out` is then
 * partly written past `at`). A run is encoded whole where its lines go, and its entries are moved apart in
 * place to make room for the separators; its lines are never made as text.
 */
function encodePiece(p: JsonPiece, out: Uint8Array, at: number): number {
  if (typeof p === "string") {
    const { read, written } = encoder.encodeInto(p, out.subarray(at));
    return read === p.length ? at + written : -1;
  }
  const { json } = p;
  const { read, written } = encoder.encodeInto(json, out.subarray(at));
  if (read !== json.length) return -1;
  if (written !== json.length) {
    // Not all ASCII: a position in the text is not one in the bytes. Rare: written again, as text.
    return encodePiece(runText(p), out, at);
  }
  // All ASCII: the text's positions are the bytes'. The text is "[" e0 "," e1 "," ... "]", where entry k
  // starts at s(k) and the comma before it is at s(k) - 1; in the lines, entry k starts at s(k) - 1 + k *
  // EXTRA. The first entry moves back over the "[", then the others, from the last, move forward, each
  // followed by its separator (written where the entries before it no longer are).
  const boundary = entryBoundary(p.first);
  const starts: number[] = [];
  for (let cut = json.indexOf(boundary, 1); cut !== -1; cut = json.indexOf(boundary, cut + 2)) {
    starts.push(cut + 2); // where the next entry starts
  }
  const end = at + json.length - 2 + starts.length * EXTRA;
  if (end > out.length) return -1;
  out.copyWithin(at, at + 1, at + (starts.length ? starts[0] - 1 : json.length - 1));
  for (let k = starts.length; k >= 1; k--) {
    const start = starts[k - 1];
    const stop = k < starts.length ? starts[k] - 1 : json.length - 1;
    const to = at + start - 1 + k * EXTRA;
    out.copyWithin(to, at + start, at + stop);
    out.set(SEPARATOR_BYTES, to - SEPARATOR_BYTES.length);
  }
  return end;
}

/**
 * The UTF-8 bytes of {@link textOf}(`pieces`), written into one buffer without making that text (see
 * {@link writeJsonPieces} to write them without holding them all). The buffer is sized for the worst case
 * (three bytes per UTF-16 unit) and the bytes are a view of its start; the rest of it is never written, so
 * the system never gives it memory.
 *
 * @example
 * ```ts
 * encodeJson(["[", { json: '[{"type":"a"}]', count: 1, first: "type" }, "]"]); // the bytes of '[{"type":"a"}]'
 * ```
 */
export function encodeJson(pieces: readonly JsonPiece[]): Uint8Array {
  let most = 0;
  for (let i = 0; i < pieces.length; i++) most += mostBytes(pieces[i]);
  const out = new Uint8Array(most);
  let at = 0;
  for (let i = 0; i < pieces.length; i++) at = encodePiece(pieces[i], out, at);
  return out.subarray(0, at);
}

/** Bytes {@link writeJsonPieces} gathers before it writes them. */
const CHUNK_BYTES = 256 * 1024;

/**
 * The UTF-8 bytes of {@link textOf}(`pieces`) handed to `write` in chunks of up to `chunkBytes` (more for a
 * piece that needs more), each in the same buffer, which `write` must be done with when it resolves: 5,000
 * components are 2 MiB, memory the process would first have to fault in to hold them all at once.
 *
 * @example
 * ```ts
 * await writeJsonPieces(pieces, (chunk) => file.write(chunk).then(() => {}));
 * ```
 */
export async function writeJsonPieces(
  pieces: readonly JsonPiece[],
  write: (chunk: Uint8Array) => Promise<void>,
  chunkBytes = CHUNK_BYTES,
): Promise<void> {
  let size = chunkBytes;
  for (let i = 0; i < pieces.length; i++) size = Math.max(size, mostBytes(pieces[i]));
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < pieces.length; i++) {
    let end = encodePiece(pieces[i], out, at);
    if (end === -1) {
      // It does not fit after what is there: that goes first, and the piece (which fits alone) then.
      await write(out.subarray(0, at));
      end = encodePiece(pieces[i], out, 0);
    }
    at = end;
  }
  if (at > 0) await write(out.subarray(0, at));
}

/**
 * {@link components} as JSON text, one per line, in pieces (see {@link jsonLines}): each as `componentJson`
 * writes it (type, name, group, version, bom-ref, hashes, licenses, purl, properties), without building the
 * components first. The licences of a single id and the properties of a single document are made once and
 * shared; a package's hashes are its own list when all of them are fit.
 */
function componentsText(
  spec: SpecVersion,
  packages: readonly AttachedPackage[],
  refs: readonly string[],
): JsonPiece[] {
  const licenseLists = new Map<string, License[]>();
  const propertyLists = new Map<string, Property[]>();
  return jsonLines(packages, "type", (p, i) => {
    let licenses: License[] | undefined;
    const only = p.licenses.length === 1 && "id" in p.licenses[0] ? p.licenses[0] : undefined;
    if (only) {
      licenses = licenseLists.get(only.id);
      if (!licenses) licenseLists.set(only.id, licenses = [license(only)]);
    } else if (p.licenses.length) {
      licenses = chosenLicenses(p.licenses).map(license);
    }
    let properties = p.documents.length === 1 ? propertyLists.get(p.documents[0]) : undefined;
    if (!properties) {
      properties = p.documents.map((value) => ({ name: PROPERTY_DOCUMENT, value }));
      if (p.documents.length === 1) propertyLists.set(p.documents[0], properties);
    }
    // One shape for every component; JSON.stringify leaves out the members that are undefined.
    return {
      type: componentType(spec, p),
      name: p.name,
      group: p.group || undefined,
      version: p.version || undefined,
      "bom-ref": refs[i],
      hashes: fitHashes(p.hashes),
      licenses,
      purl: p.purl || undefined,
      properties,
    };
  });
}

/**
 * What `inventory` adds to a BOM of `image` (see the module notes) whose serial number is `serialNumber` and
 * whose own components hold the bom-refs `taken` (the image's, the tool's): the packages' refs are none of
 * those. Called once per BOM when attached documents were asked for.
 *
 * @example
 * ```ts
 * const parts = await attachedParts(image, { spec: "1.6", clock, serialNumber, taken: [imageRef] }, inventory);
 * ```
 */
export async function attachedParts(
  image: ResolvedImage,
  bom: { spec: SpecVersion; clock: Clock; serialNumber: string; taken: readonly string[] },
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

  // With SOURCE_DATE_EPOCH, everything recorded here (where each document was found, or that none was) goes
  // into the serial number: two BOMs that say different things never share one.
  let serialNumber = bom.serialNumber;
  if (bom.clock.sourceDateEpoch !== undefined) {
    const name = JSON.stringify(["attached", serialNumber, inventory.sboms, inventory.provenance]);
    serialNumber = `urn:uuid:${await uuidV5(await toolNamespace(PROJECT_URL), name)}`;
  }

  // The refs are made when the packages are written: a BOM that records only the documents (the image's
  // component alone, the artifacts' BOM) does not pay for thousands of them.
  let refs: string[] | undefined;
  const refsOf = () => refs ??= bomRefs(inventory.packages, new Set(bom.taken));
  return {
    properties,
    externalReferences,
    serialNumber,
    components: () => components(bom.spec, inventory.packages, refsOf()),
    componentsText: () => componentsText(bom.spec, inventory.packages, refsOf()),
  };
}

/**
 * The BOM as `JSON.stringify(bom, null, 2)` writes it, in pieces (their {@link textOf} is the text), except
 * for the lists named in `more`: those are written one entry per line, their own entries followed by the
 * entries given there, in pieces as {@link jsonLines} makes them. A package per line reads and diffs
 * well, and V8 writes JSON without indentation about four times as fast, which for 5,000 packages is a tenth
 * of the whole run.
 *
 * @example
 * ```ts
 * writeJson({ bomFormat: "CycloneDX", components: [] }, { components: ['{"type":"library","name":"a"}'] });
 * ```
 */
export function writeJson(
  bom: Record<string, unknown>,
  more: Readonly<Record<string, readonly JsonPiece[]>>,
): JsonPiece[] {
  const pieces: JsonPiece[] = [];
  let text = "{\n";
  let separator = "";
  for (const [key, value] of Object.entries(bom)) {
    if (value === undefined) continue;
    text += `${separator}  ${JSON.stringify(key)}: `;
    separator = ",\n";
    const list = Array.isArray(value) && Object.hasOwn(more, key) ? value : undefined;
    const extra = list ? more[key] : [];
    if (!list || (list.length === 0 && extra.length === 0)) {
      // Nested lines move in one level; a JSON string never holds a raw line break, so this is exact.
      text += JSON.stringify(value, null, 2).replaceAll("\n", "\n  ");
      continue;
    }
    const own = list.map((v) => JSON.stringify(v)).join(ENTRY_SEPARATOR);
    pieces.push(`${text}[\n    ${own}${own && extra.length ? ENTRY_SEPARATOR : ""}`, ...extra);
    text = "\n  ]";
  }
  pieces.push(`${text}\n}`);
  return pieces;
}
