/**
 * The parts of a CycloneDX 1.6 or 1.5 document this project writes, built directly: as JSON values (objects
 * whose key order is the order written) and as XML elements for this project's writer (`xml.ts`), in the
 * order bom-1.6.xsd and bom-1.5.xsd require. No CycloneDX library is loaded (`@cyclonedx/cyclonedx-library`
 * is CommonJS: loading it cost `sbom` about 100 ms, some 40% of its run time on loopback).
 *
 * Earlier releases wrote the same documents through that library's models and normalisers (10.3), and the
 * output has not changed by a byte: every choice those normalisers made for the documents this project writes
 * is made here the same way, and the golden files in fixtures/golden/ hold the result. Those choices:
 *
 * - JSON keys in the order the normalisers wrote them; a list left out when it has no entry, except the BOM's
 *   `components`, always written, and `hashes`, written when given even when none of its entries is fit to
 *   write.
 * - A hash only with an algorithm the version knows and a value of 32, 40, 64, 96 or 128 hex digits.
 * - A URL with ` "'[]<>{}` percent-encoded; in XML, an external reference only when its URL passes the
 *   normalisers' `anyURI` check.
 * - In XML, the values the schema types as `normalizedString` (names, versions, groups, property values,
 *   licence names and expressions) with tab, CR and LF as spaces; hash values as `token`s.
 * - The serial number only when it is a `urn:uuid:` in lower-case hex.
 *
 * @module
 */

import type { XmlElement } from "./xml.ts";

/** The CycloneDX versions written. */
export type SpecVersion = "1.6" | "1.5";

const COMPONENT_TYPES_1_5 = [
  "application",
  "framework",
  "library",
  "container",
  "platform",
  "operating-system",
  "device",
  "device-driver",
  "firmware",
  "file",
  "machine-learning-model",
  "data",
];

/** Component types each version knows. */
const COMPONENT_TYPES: Record<SpecVersion, ReadonlySet<string>> = {
  "1.5": new Set(COMPONENT_TYPES_1_5),
  "1.6": new Set([...COMPONENT_TYPES_1_5, "cryptographic-asset"]),
};

/** Hash algorithms both versions know. */
const HASH_ALGORITHMS: ReadonlySet<string> = new Set([
  "MD5",
  "SHA-1",
  "SHA-256",
  "SHA-384",
  "SHA-512",
  "SHA3-256",
  "SHA3-384",
  "SHA3-512",
  "BLAKE2b-256",
  "BLAKE2b-384",
  "BLAKE2b-512",
  "BLAKE3",
]);

/** The lengths of a hash value CycloneDX takes (32, 40, 64, 96 or 128 hex digits), checked before the digits. */
const HASH_LENGTHS: ReadonlySet<number> = new Set([32, 40, 64, 96, 128]);
const HEX = /^[a-fA-F0-9]+$/;

/** Whether CycloneDX `spec` knows the component type `type`. */
export function supportsComponentType(spec: SpecVersion, type: string): boolean {
  return COMPONENT_TYPES[spec].has(type);
}

/** Whether a hash can be written: an algorithm CycloneDX knows, a value of a known length in hex. */
export function supportsHash(h: Hash): boolean {
  return HASH_ALGORITHMS.has(h.alg) && HASH_LENGTHS.has(h.content.length) && HEX.test(h.content);
}

/** A hash, as in JSON. */
export interface Hash {
  alg: string;
  content: string;
}

/** A licence, as in JSON. */
export type License = { license: { id: string } | { name: string } } | { expression: string };

/** A property, as in JSON. */
export interface Property {
  name: string;
  value: string;
}

/** An external reference. */
export interface ExternalReference {
  url: string;
  /** A type both versions know (`vcs`, `bom`, ...). */
  type: string;
  /** Written when not empty (only the hashes fit to write). */
  hashes?: Hash[];
  comment?: string;
}

/** A component, with the fields this project writes. */
export interface Component {
  type: string;
  name: string;
  group?: string;
  version?: string;
  bomRef?: string;
  /** The supplier's name. */
  supplier?: string;
  /** CycloneDX 1.5's free-text `author`. */
  author?: string;
  /**
   * CycloneDX 1.6's `authors`, as one author's name: written last in JSON and after the supplier in XML,
   * where earlier releases added it to what the library wrote (it did not model it on components).
   */
  authors?: string;
  /** Written when given and not empty (only the hashes fit to write). */
  hashes?: Hash[];
  /** Written when not empty; more than one only without an expression (the caller's choice). */
  licenses?: License[];
  purl?: string;
  externalReferences?: ExternalReference[];
  /** In JSON written when given, even empty; in XML when not empty. */
  properties?: Property[];
  /**
   * Its dependencies are not known (a package of an attached SBOM, whose relationships are not carried over):
   * it is left out of the dependency graph, where an entry without `dependsOn` says it has none. CycloneDX:
   * what the graph does not list may have unknown dependencies.
   */
  dependenciesUnknown?: boolean;
}

/** What the BOM's `metadata` holds. */
export interface Metadata {
  timestamp: Date;
  /** `tools.components`. */
  tools: Component[];
  component?: Component;
}

/** A whole BOM, without the parts added after it (`formulation`). */
export interface Bom {
  specVersion: SpecVersion;
  serialNumber: string;
  metadata: Metadata;
  components: Component[];
}

// ---------------------------------------------------------------------------------------------------------------
// Values

const URI_ESCAPES: [RegExp, string][] = [
  [/ /g, "%20"],
  [/"/g, "%22"],
  [/'/g, "%27"],
  [/\[/g, "%5B"],
  [/]/g, "%5D"],
  [/</g, "%3C"],
  [/>/g, "%3E"],
  [/\{/g, "%7B"],
  [/}/g, "%7D"],
];

/** `url` with the characters a URI cannot hold unescaped (` "'[]<>{}`) percent-encoded. */
export function escapeUri(url: string): string {
  return URI_ESCAPES.reduce((s, [pattern, replacement]) => s.replace(pattern, replacement), url);
}

/** The XML Schema `anyURI` check the normalisers made: not empty, one `#` at most, a well-formed scheme. */
function isAnyUri(value: string): boolean {
  if (value === "") return false;
  const hash = value.indexOf("#");
  if (hash >= 0 && value.includes("#", hash + 1)) return false;
  const beforeFragment = hash >= 0 ? value.slice(0, hash) : value;
  const colon = beforeFragment.indexOf(":");
  return colon < 0 || /^[a-z][a-z0-9+\-.]*$/i.test(beforeFragment.slice(0, colon));
}

/** XML Schema `normalizedString`: tab, CR and LF (and CR LF) as one space each. */
function normalizedString(s: string): string {
  return s.replace(/\r\n|\t|\n|\r/g, " ");
}

/** XML Schema `token`: a normalizedString without leading, trailing or repeated spaces. */
function token(s: string): string {
  return normalizedString(s).trim().replace(/ {2,}/g, " ");
}

const SERIAL_NUMBER = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---------------------------------------------------------------------------------------------------------------
// JSON

type Json = Record<string, unknown>;

function referenceJson(r: ExternalReference): Json {
  const out: Json = { url: escapeUri(r.url), type: r.type };
  if (r.hashes?.length) out.hashes = r.hashes.filter(supportsHash);
  if (r.comment) out.comment = r.comment;
  return out;
}

/**
 * A component as JSON.
 *
 * @example
 * ```ts
 * componentJson({ type: "file", name: "os.img", bomRef: "artifact:os.img" });
 * // { type: "file", name: "os.img", "bom-ref": "artifact:os.img" }
 * ```
 */
export function componentJson(c: Component): Json {
  const out: Json = { type: c.type, name: c.name };
  if (c.group) out.group = c.group;
  if (c.version) out.version = c.version;
  if (c.bomRef !== undefined) out["bom-ref"] = c.bomRef;
  if (c.supplier !== undefined) out.supplier = c.supplier ? { name: c.supplier } : {};
  if (c.author) out.author = c.author;
  if (c.hashes?.length) out.hashes = c.hashes.filter(supportsHash);
  if (c.licenses?.length) out.licenses = c.licenses;
  if (c.purl !== undefined) out.purl = c.purl;
  if (c.externalReferences?.length) out.externalReferences = c.externalReferences.map(referenceJson);
  if (c.properties) out.properties = c.properties;
  if (c.authors) out.authors = [{ name: c.authors }];
  return out;
}

/**
 * The dependency graph: every component with a bom-ref, depending on nothing (as far as this BOM says), but
 * those whose dependencies are not known.
 */
function dependencyRefs(bom: Bom): string[] {
  const all = bom.metadata.component ? [bom.metadata.component, ...bom.components] : bom.components;
  return all.filter((c) => !c.dependenciesUnknown).map((c) => c.bomRef ?? "").filter((ref) => ref !== "");
}

/**
 * The BOM as JSON.
 *
 * @example
 * ```ts
 * JSON.stringify(bomJson(bom), null, 2);
 * ```
 */
export function bomJson(bom: Bom): Json {
  const out: Json = {
    $schema: `http://cyclonedx.org/schema/bom-${bom.specVersion}.schema.json`,
    bomFormat: "CycloneDX",
    specVersion: bom.specVersion,
    version: 1,
  };
  if (SERIAL_NUMBER.test(bom.serialNumber)) out.serialNumber = bom.serialNumber;
  const metadata: Json = { timestamp: bom.metadata.timestamp.toISOString() };
  if (bom.metadata.tools.length) metadata.tools = { components: bom.metadata.tools.map(componentJson) };
  if (bom.metadata.component) metadata.component = componentJson(bom.metadata.component);
  out.metadata = metadata;
  out.components = bom.components.map(componentJson);
  out.dependencies = dependencyRefs(bom).map((ref) => ({ ref }));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// XML

/**
 * An XML element.
 *
 * @example
 * ```ts
 * el("property", "value", { name: "key" }); // <property name="key">value</property>
 * ```
 */
export function el(
  name: string,
  children?: XmlElement["children"],
  attributes?: XmlElement["attributes"],
): XmlElement {
  const e: XmlElement = { type: "element", name };
  if (attributes) e.attributes = attributes;
  if (children !== undefined) e.children = children;
  return e;
}

/** An element with text, or nothing for empty text. */
function optionalText(name: string, text: string | undefined): XmlElement | undefined {
  return text ? el(name, text) : undefined;
}

function hashesXml(hashes: Hash[]): XmlElement {
  return el("hashes", hashes.filter(supportsHash).map((h) => el("hash", token(h.content), { alg: h.alg })));
}

function licenseXml(l: License): XmlElement {
  if ("expression" in l) return el("expression", normalizedString(l.expression), {});
  return el("license", [
    "id" in l.license ? el("id", l.license.id) : el("name", normalizedString(l.license.name)),
  ], {});
}

function referenceXml(r: ExternalReference): XmlElement | undefined {
  const url = escapeUri(r.url);
  if (!isAnyUri(url)) return undefined;
  const children = [
    el("url", url),
    optionalText("comment", r.comment),
    r.hashes?.length ? hashesXml(r.hashes) : undefined,
  ];
  return el("reference", children.filter((e) => e !== undefined), { type: r.type });
}

/**
 * A component as an XML `<component>` element (or `elementName`), its children in the schema's order.
 *
 * @example
 * ```ts
 * componentXml({ type: "file", name: "os.img", bomRef: "artifact:os.img" });
 * // <component type="file" bom-ref="artifact:os.img"><name>os.img</name></component>
 * ```
 */
export function componentXml(c: Component): XmlElement {
  const children: (XmlElement | undefined)[] = [
    c.supplier === undefined
      ? undefined
      : el("supplier", c.supplier ? [el("name", normalizedString(c.supplier))] : []),
    c.authors ? el("authors", [el("author", [el("name", c.authors)])]) : undefined,
    optionalText("author", c.author && normalizedString(c.author)),
    optionalText("group", c.group && normalizedString(c.group)),
    el("name", normalizedString(c.name)),
    optionalText("version", c.version && normalizedString(c.version)),
    c.hashes?.length ? hashesXml(c.hashes) : undefined,
    c.licenses?.length ? el("licenses", c.licenses.map(licenseXml)) : undefined,
    optionalText("purl", c.purl),
    c.externalReferences?.length
      ? el("externalReferences", c.externalReferences.map(referenceXml).filter((e) => e !== undefined))
      : undefined,
    c.properties?.length
      ? el("properties", c.properties.map((p) => el("property", normalizedString(p.value), { name: p.name })))
      : undefined,
  ];
  return el("component", children.filter((e) => e !== undefined), { type: c.type, "bom-ref": c.bomRef });
}

/**
 * The BOM as the XML document's root element.
 *
 * @example
 * ```ts
 * stringifyXml(bomXml(bom));
 * ```
 */
export function bomXml(bom: Bom): XmlElement {
  const { metadata } = bom;
  const metadataChildren = [el("timestamp", metadata.timestamp.toISOString())];
  if (metadata.tools.length) {
    metadataChildren.push(el("tools", [el("components", metadata.tools.map(componentXml))]));
  }
  if (metadata.component) metadataChildren.push(componentXml(metadata.component));
  const root = el("bom", [
    el("metadata", metadataChildren),
    el("components", bom.components.length ? bom.components.map(componentXml) : undefined),
    el("dependencies", dependencyRefs(bom).map((ref) => el("dependency", [], { ref }))),
  ], {
    version: 1,
    serialNumber: SERIAL_NUMBER.test(bom.serialNumber) ? bom.serialNumber : undefined,
  });
  root.namespace = `http://cyclonedx.org/schema/bom/${bom.specVersion}`;
  return root;
}
