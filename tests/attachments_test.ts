/**
 * The image's own SBOMs and provenance, found without pulling layers (`attachments`, `--include-attached`),
 * against the real registry (Debian's Distribution 2.8: no referrers API, so the referrers tag schema), a small
 * server implementing the OCI 1.1 referrers API (tests/support/referrers_server.ts), and OCI layouts. Request
 * counts come from the servers' own logs; every merged SBOM is checked against the strict CycloneDX schema.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { assertValidCycloneDx } from "./support/cyclonedx_schema.ts";
import { referrersTag } from "../src/attachments.ts";
import { type AttachedDocument, MAX_ATTACHED_DOCUMENT_BYTES } from "../src/attachments.ts";
import { type AttachedInventory, attachedInventory } from "../src/formats/attached_sbom.ts";
import { fixedClock } from "../src/formats/clock.ts";
import { cyclonedxSbom } from "../src/formats/cyclonedx.ts";
import { concatBytes } from "../src/bytes.ts";
import {
  attachedParts,
  encodeJson,
  ENTRY_SEPARATOR,
  jsonLines,
  textOf,
  writeJson,
  writeJsonPieces,
} from "../src/formats/cyclonedx_attached.ts";
import { type Component, componentJson } from "../src/formats/cyclonedx_nodes.ts";
import { stringifyXml, type XmlElement } from "../src/formats/xml.ts";
import { originalImage } from "./support/resolved_fixture.ts";
import { nextLink } from "../src/registry/client.ts";
import { cli, REPO_ROOT } from "./support/cli.ts";
import {
  AttachmentTypes,
  cyclonedxDocument,
  dsseEnvelope,
  EMPTY_JSON,
  inTotoStatement,
  pushArtifact,
  pushIndex,
  pushIndexOf,
  pushReferrersIndex,
  pushSmallImage,
  pushTestImage,
  type SeededImage,
  spdxDocument,
  subjectOf,
  testPackages,
} from "./support/images.ts";
import { pushBlob, pushManifest, type RegistryConnection, sha256Digest } from "./support/push.ts";
import { startReferrersServer } from "./support/referrers_server.ts";
import { startRegistry } from "./support/registry.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const NS = "ecrimagemetadataextractor";
const SPDX_PREDICATE = "https://spdx.dev/Document";
const CDX_PREDICATE = "https://cyclonedx.org/bom";
const SLSA_V1 = "https://slsa.dev/provenance/v1";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

async function ok(args: string[], env: Record<string, string> = {}) {
  const r = await cli(args, { env });
  assert.equal(r.code, 0, `${args.join(" ")} failed: ${r.stderr}`);
  return r;
}

/** Properties of the image component, as a list (names may repeat). */
function imageProps(doc: Json): Map<string, string> {
  return new Map(
    (doc.metadata.component.properties as { name: string; value: string }[]).map((p) => [p.name, p.value]),
  );
}

function componentByName(doc: Json, name: string): Json {
  const c = (doc.components ?? []).find((c: Json) => c.name === name);
  assert.ok(c, `no component ${name}`);
  return c;
}

function documentsOf(component: Json): string[] {
  return (component.properties ?? []).filter((p: Json) => p.name === `${NS}:attached:document`).map((
    p: Json,
  ) => p.value);
}

/** `METHOD path` of each request the registry served. */
async function requestLines(
  reg: { requests(): Promise<{ method: string; path: string }[]> },
): Promise<string[]> {
  return (await reg.requests()).map((e) => `${e.method} ${e.path}`);
}

/** The layer blobs of an image that must never be read. */
function layerPaths(image: Pick<SeededImage, "repo" | "layers">): string[] {
  return image.layers.map((l) => `GET /v2/${image.repo}/blobs/${l.digest}`);
}

function assertNoLayerRead(lines: string[], images: Pick<SeededImage, "repo" | "layers">[]): void {
  const layers = new Set(images.flatMap(layerPaths));
  assert.deepEqual(lines.filter((l) => layers.has(l)), [], "a layer of the image was read");
}

// ---------------------------------------------------------------------------------------------------------------
// Pure parts

Deno.test("attachments: referrers tag names and Link: rel=next follow the specs", () => {
  assert.equal(referrersTag(`sha256:${"a".repeat(64)}`), `sha256-${"a".repeat(64)}`);
  // sha512: the encoded part is truncated to 64 characters.
  assert.equal(referrersTag(`sha512:${"b".repeat(128)}`), `sha512-${"b".repeat(64)}`);
  const base = "http://r.example/v2/a/referrers/sha256:x";
  assert.equal(
    nextLink('</v2/a/referrers/sha256:x?page=2>; rel="next"', base),
    "http://r.example/v2/a/referrers/sha256:x?page=2",
  );
  assert.equal(
    nextLink('<https://r.example/p3>; rel="prev", <https://r.example/p4>; rel=next', base),
    "https://r.example/p4",
  );
  assert.equal(nextLink('<https://r.example/p3>; rel="prev"', base), undefined);
  assert.equal(nextLink(null, base), undefined);
});

/** A verified attached SBOM document of digest `digest` whose parsed content is `content`. */
function attachedDocument(digest: string, content: unknown): AttachedDocument {
  return {
    kind: "sbom",
    attachment: { foundVia: "referrers-tag", manifest: { digest: `sha256:${"f".repeat(64)}` } } as never,
    descriptor: { mediaType: "x", digest, size: 1 },
    bytes: new Uint8Array(),
    digest,
    envelope: "none",
    content,
  };
}

Deno.test("attachments: two SBOMs merge with packages de-duplicated by purl, each naming its documents", () => {
  const shared = testPackages(3, "shared");
  const a = `sha256:${"1".repeat(64)}`;
  const b = `sha256:${"2".repeat(64)}`;
  const parse = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));
  const inv = attachedInventory([
    attachedDocument(a, parse(spdxDocument("img", [...testPackages(2, "a"), ...shared]))),
    attachedDocument(b, parse(cyclonedxDocument([...shared, ...testPackages(1, "b")]))),
    attachedDocument(`sha256:${"3".repeat(64)}`, { hello: "world" }),
  ]);
  assert.deepEqual(inv.sboms.map((s) => [s.digest, s.format, s.packages]), [[a, "SPDX-2.3", 5], [
    b,
    "CycloneDX-1.5",
    4,
  ]]);
  assert.equal(inv.packages.length, 6, "2 + 3 shared + 1");
  assert.ok(
    !inv.packages.some((p) => p.name === "img"),
    "the SPDX root package (the image itself) is left out",
  );
  for (const p of inv.packages) {
    assert.deepEqual(p.documents, p.name.startsWith("shared") ? [a, b] : [p.name.startsWith("a") ? a : b]);
  }
  const first = inv.packages.find((p) => p.name === "a-0")!;
  assert.deepEqual(first.licenses, [{ id: "Apache-2.0" }]);
  assert.deepEqual(first.hashes, [{ alg: "SHA-256", content: testPackages(1, "a")[0].sha256 }]);
  assert.equal(inv.notes.length, 1);
  assert.match(inv.notes[0], /neither SPDX 2\.x JSON nor CycloneDX JSON/);
});

Deno.test("attachments: an SPDX document's image package is left out only when the document describes it", () => {
  const pkg = (id: string, extra: Record<string, unknown> = {}) => ({
    name: id,
    SPDXID: `SPDXRef-${id}`,
    downloadLocation: "NOASSERTION",
    ...extra,
  });
  const purl = (locator: string) => ({
    externalRefs: [{
      referenceCategory: "PACKAGE-MANAGER",
      referenceType: "purl",
      referenceLocator: locator,
    }],
  });
  const content = {
    spdxVersion: "SPDX-2.3",
    documentDescribes: ["SPDXRef-root", "SPDXRef-oci", "SPDXRef-lib"],
    relationships: [
      {
        spdxElementId: "SPDXRef-DOCUMENT",
        relationshipType: "DESCRIBES",
        relatedSpdxElement: "SPDXRef-docker",
      },
      {
        spdxElementId: "SPDXRef-DOCUMENT",
        relationshipType: "CONTAINS",
        relatedSpdxElement: "SPDXRef-other",
      },
    ],
    packages: [
      pkg("root", { primaryPackagePurpose: "CONTAINER" }), // described container: the image
      pkg("oci", purl("pkg:oci/app@sha256:1")), // described, an OCI purl: the image
      pkg("docker", purl("pkg:docker/app@1")), // described by a relationship, a Docker purl: the image
      pkg("lib", { primaryPackagePurpose: "LIBRARY" }), // described, but no image: kept
      pkg("other", { primaryPackagePurpose: "CONTAINER" }), // a container it holds, not described: kept
      pkg("nested", purl("pkg:oci/base@sha256:2")), // an image it holds, not described: kept
    ],
  };
  const inv = attachedInventory([attachedDocument(`sha256:${"4".repeat(64)}`, content)]);
  assert.deepEqual(inv.packages.map((p) => p.name), ["lib", "other", "nested"]);
});

Deno.test("attachments: the components written for attached packages are what the library writes from its models", async () => {
  // The CycloneDX library is no longer used to write them (src/formats/cyclonedx_nodes.ts); here it is the
  // reference: the same components as its models, through its normalisers, give the same JSON and XML.
  const [Models, Spec, Serialize] = await Promise.all([
    import("@cyclonedx/cyclonedx-library/Models"),
    import("@cyclonedx/cyclonedx-library/Spec"),
    import("@cyclonedx/cyclonedx-library/Serialize"),
  ]);
  const documents = [`sha256:${"1".repeat(64)}`, `sha256:${"2".repeat(64)}`];
  const hex = (n: number, c = "a") => c.repeat(n);
  const inventory: AttachedInventory = {
    sboms: [{
      digest: documents[0],
      manifestDigest: `sha256:${"3".repeat(64)}`,
      foundVia: "referrers-api",
      envelope: "dsse",
      predicateType: CDX_PREDICATE,
      format: "CycloneDX-1.6",
      packages: 7,
    }],
    provenance: [],
    notes: [],
    packages: [
      {
        name: "known-id",
        version: "1",
        purl: "pkg:npm/known-id@1",
        type: "library",
        licenses: [{ id: "mit" }], // fixed up to MIT
        hashes: [{ alg: "SHA-256", content: hex(64) }, { alg: "SHA-256", content: hex(64, "b") }, {
          alg: "SHA-1",
          content: "not hex",
        }],
        documents,
      },
      {
        name: "unknown-id",
        licenses: [{ id: "LicenseRef-Proprietary" }, { name: "Some licence" }],
        hashes: [{ alg: "BLAKE3", content: hex(64) }, { alg: "MD5", content: hex(32) }],
        documents: [documents[1]],
      },
      {
        name: "expression",
        group: "org.example",
        version: "2",
        licenses: [{ id: "MIT" }, { expression: "(MIT OR Apache-2.0)" }],
        hashes: [],
        documents: [documents[0]],
      },
      { name: "crypto", type: "cryptographic-asset", licenses: [], hashes: [], documents: [documents[0]] },
      {
        name: "odd-type",
        type: "not-a-type",
        licenses: [{ id: "constructor" }, { id: "__proto__" }],
        hashes: [],
        documents: [documents[0]],
      },
      { name: "same", version: "1", licenses: [], hashes: [], documents: [documents[0]] },
      { name: "same", version: "1", licenses: [], hashes: [], documents: [documents[1]] },
    ],
  };
  const image = originalImage();
  const clock = fixedClock(1700000000);
  const options = { sortLists: false };
  const model = (c: Component) =>
    new Models.Component(c.type as never, c.name, {
      bomRef: c.bomRef,
      version: c.version,
      group: c.group,
      purl: c.purl,
      hashes: new Models.HashDictionary((c.hashes ?? []).map((h) => [h.alg, h.content]) as never),
      licenses: new Models.LicenseRepository((c.licenses ?? []).map((l) =>
        "expression" in l
          ? new Models.LicenseExpression(l.expression)
          : "id" in l.license
          ? new Models.SpdxLicense(l.license.id)
          : new Models.NamedLicense(l.license.name)
      )),
      properties: new Models.PropertyRepository(
        (c.properties ?? []).map((p) =>
          new Models.Property(p.name, p.value)
        ),
      ),
    });
  for (const specVersion of ["1.6", "1.5"] as const) {
    const spec = specVersion === "1.5" ? Spec.Spec1dot5 : Spec.Spec1dot6;
    const opts = { specVersion, includeEnv: false, clock, attached: inventory };
    const json = new TextDecoder().decode(await cyclonedxSbom(image, { ...opts, format: "json" }));
    const xml = new TextDecoder().decode(await cyclonedxSbom(image, { ...opts, format: "xml" }));
    const written = JSON.parse(json);
    const parts = await attachedParts(image, {
      spec: specVersion,
      clock,
      serialNumber: "urn:uuid:00000000-0000-4000-8000-000000000000",
      taken: [written.metadata.component["bom-ref"]],
    }, inventory);
    const models = parts.components().map(model);

    // JSON: equal value for value and key for key (re-serialised compactly, key order shows).
    const jsonFactory = new Serialize.JSON.Normalize.Factory(spec);
    const library = models.map((m) => jsonFactory.makeForComponent().normalize(m, options));
    assert.equal(JSON.stringify(written.components), JSON.stringify(library), `CycloneDX ${specVersion}`);
    assert.equal(
      JSON.stringify(written.metadata.component.externalReferences),
      JSON.stringify(parts.externalReferences.map((r) =>
        jsonFactory.makeForExternalReference().normalize(
          new Models.ExternalReference(r.url, r.type as never, {
            hashes: new Models.HashDictionary((r.hashes ?? []).map((h) => [h.alg, h.content]) as never),
            comment: r.comment,
          }),
          options,
        )
      )),
    );
    // XML: the same elements in the same order, written by the same writer.
    const xmlFactory = new Serialize.XML.Normalize.Factory(spec);
    const libraryXml = stringifyXml({
      type: "element",
      name: "components",
      children: models.map((m) =>
        xmlFactory.makeForComponent().normalize(m, options, "component") as XmlElement
      ),
    });
    const indent = (text: string) => text.split("\n").slice(1, -1).map((l) => `  ${l}`).join("\n");
    assert.ok(xml.includes(`\n${indent(libraryXml)}\n`), `XML components, CycloneDX ${specVersion}`);
    assert.equal(xml.match(/<component /g)?.length, models.length + 2, "the tool, the image, the packages");

    // Laid out one component per line.
    assert.match(json, /\n {4}\{"type":"library","name":"known-id",.*\},\n/);
    // The dependency graph holds the image alone: what the packages depend on is not known, and an entry
    // without dependsOn would say they depend on nothing.
    const imageRef = written.metadata.component["bom-ref"];
    assert.deepEqual(written.dependencies, [{ ref: imageRef }]);
    assert.deepEqual([...xml.matchAll(/<dependency ref="([^"]*)"/g)].map((m) => m[1]), [
      imageRef.replaceAll("&", "&amp;"),
    ]);
    const doc = written;
    assert.equal(doc.components.length, 7);
    // Every bom-ref is unique in the BOM: the purl, else a name of the tool's; a second of a name gets "#2".
    assert.deepEqual(doc.components.map((c: Json) => c["bom-ref"]), [
      "pkg:npm/known-id@1",
      `${NS}:attached:unknown-id@`,
      `${NS}:attached:org.example/expression@2`,
      `${NS}:attached:crypto@`,
      `${NS}:attached:odd-type@`,
      `${NS}:attached:same@1`,
      `${NS}:attached:same@1#2`,
    ]);
    assert.deepEqual(doc.components[0].licenses, [{ license: { id: "MIT" } }]);
    assert.deepEqual(doc.components[0].hashes, [{ alg: "SHA-256", content: hex(64, "b") }]);
    assert.deepEqual(doc.components[1].licenses, [{ license: { name: "LicenseRef-Proprietary" } }, {
      license: { name: "Some licence" },
    }]);
    assert.deepEqual(doc.components[2].licenses, [{ expression: "(MIT OR Apache-2.0)" }]);
    assert.equal(doc.components[3].type, specVersion === "1.6" ? "cryptographic-asset" : "library");
    assert.equal(doc.components[4].type, "library");
    assert.deepEqual(doc.components[4].licenses, [{ license: { name: "constructor" } }, {
      license: { name: "__proto__" },
    }]);
    assert.notEqual(doc.components[5]["bom-ref"], doc.components[6]["bom-ref"]);
  }
});

Deno.test("attachments: the JSON text written for attached packages is JSON.stringify of their components, for any package", async () => {
  // JSON output writes each attached component as text straight from its package (the fast path); XML and the
  // library comparison above go through the components. The two must agree for every package, odd ones too.
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    fc.constantFrom("", "constructor", "__proto__"),
  );
  const hexOf = (n: number) =>
    fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: n, maxLength: n });
  const hash = fc.record({
    alg: fc.oneof(fc.constantFrom("SHA-256", "SHA-1", "MD5", "SHA-512", "BLAKE3", "SHA3-384"), text),
    content: fc.oneof(hexOf(64), hexOf(40), hexOf(32), hexOf(128), text),
  });
  const license = fc.oneof(
    fc.record({ id: fc.oneof(fc.constantFrom("MIT", "apache-2.0", "GPL-2.0-only", "LicenseRef-x"), text) }),
    fc.record({ name: text }),
    fc.record({ expression: text }),
  );
  const pkg = fc.record({
    name: text,
    version: fc.option(text, { nil: undefined }),
    group: fc.option(text, { nil: undefined }),
    purl: fc.option(fc.oneof(fc.constant("pkg:npm/a@1"), text), { nil: undefined }),
    type: fc.option(
      fc.oneof(fc.constantFrom("library", "application", "cryptographic-asset", "firmware"), text),
      {
        nil: undefined,
      },
    ),
    licenses: fc.array(license, { maxLength: 4 }),
    hashes: fc.array(hash, { maxLength: 4 }),
    documents: fc.array(fc.constantFrom(`sha256:${"a".repeat(64)}`, `sha256:${"b".repeat(64)}`), {
      maxLength: 2,
    }),
  }, { requiredKeys: ["name", "licenses", "hashes", "documents"] });
  const image = originalImage();
  await fc.assert(
    fc.asyncProperty(
      fc.array(pkg, { maxLength: 6 }),
      fc.constantFrom("1.6", "1.5"),
      async (packages, spec) => {
        const inventory: AttachedInventory = { sboms: [], provenance: [], packages, notes: [] };
        const parts = await attachedParts(image, {
          spec: spec as "1.6" | "1.5",
          clock: fixedClock(1700000000),
          serialNumber: "urn:uuid:00000000-0000-4000-8000-000000000000",
          taken: ["pkg:oci/original@sha256:x"],
        }, inventory);
        const components = parts.components();
        assert.equal(
          textOf(parts.componentsText()),
          components.map((c) => JSON.stringify(componentJson(c))).join(ENTRY_SEPARATOR),
        );
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("attachments: jsonLines writes what JSON.stringify writes of each value, one per line, in pieces", async () => {
  // Nested values never start an object with the first member's name (jsonLines' contract).
  const nested = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('{"type":'));
  const text = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constant('},{"type":"x"}'));
  const entry = fc.record({ type: text, name: nested }, { requiredKeys: ["type"] });
  await fc.assert(
    fc.asyncProperty(fc.array(entry, { maxLength: 700, size: "max" }), async (items) => {
      const pieces = jsonLines(items, "type", (item, i) => ({ ...item, index: i }));
      // Runs of 256 entries, a separator between two.
      assert.equal(pieces.length, Math.max(0, 2 * Math.ceil(items.length / 256) - 1));
      const text = items.map((item, i) => JSON.stringify({ ...item, index: i })).join(ENTRY_SEPARATOR);
      assert.equal(textOf(pieces), text);
      // The encoder writes the same text's bytes, ASCII or not.
      const bytes = new TextEncoder().encode(`[${text}]`);
      assert.deepEqual(encodeJson(["[", ...pieces, "]"]), bytes);
      // And in chunks, each written before the next is made in the same buffer.
      for (const chunkBytes of [1, 4096, 1 << 20]) {
        const chunks: Uint8Array[] = [];
        await writeJsonPieces(["[", ...pieces, "]"], (chunk) => {
          chunks.push(chunk.slice());
          return Promise.resolve();
        }, chunkBytes);
        assert.deepEqual(concatBytes(chunks), bytes);
      }
    }),
    { numRuns: 60 },
  );
});

Deno.test("attachments: encodeJson breaks a run only between entries, in ASCII text and in any other", () => {
  const run = (values: unknown[]) => ({ json: JSON.stringify(values), count: values.length, first: "type" });
  const values = [{ type: "a", name: '},{"type":"b"}' }, { type: "c" }, { type: "\u00e9\u{1F600}" }];
  const want =
    `{"type":"a","name":"},{\\"type\\":\\"b\\"}"},\n    {"type":"c"},\n    {"type":"\u00e9\u{1F600}"}`;
  for (const vs of [values, values.slice(0, 2)]) {
    const expected = vs === values ? want : want.slice(0, want.lastIndexOf(",\n"));
    assert.equal(textOf([run(vs)]), expected);
    assert.deepEqual(encodeJson(["<", run(vs), ">"]), new TextEncoder().encode(`<${expected}>`));
  }
  assert.deepEqual(encodeJson([]), new Uint8Array(0));
});

Deno.test("attachments: writeJsonPieces fills its buffer, writes it, and only then makes the next chunk in it", async () => {
  const pieces = Array.from({ length: 10 }, (_, i) => String(i).repeat(10));
  const chunks: string[] = [];
  let writing = false;
  await writeJsonPieces(pieces, async (chunk) => {
    assert.ok(!writing);
    writing = true;
    const text = new TextDecoder().decode(chunk);
    await new Promise((r) => setTimeout(r, 1));
    // The chunk is unchanged while it is being written.
    assert.equal(new TextDecoder().decode(chunk), text);
    chunks.push(text);
    writing = false;
  }, 30);
  assert.deepEqual(chunks.map((c) => c.length), [30, 30, 30, 10]);
  assert.equal(chunks.join(""), pieces.join(""));
});

Deno.test("attachments: writeJson is JSON.stringify(bom, null, 2) with the given entries appended one per line", () => {
  fc.assert(fc.property(fc.jsonValue(), fc.array(fc.jsonValue(), { maxLength: 3 }), (value, extra) => {
    const bom = { bomFormat: "CycloneDX", metadata: { value }, components: [value], dependencies: [] };
    assert.equal(textOf(writeJson(bom, {})), JSON.stringify(bom, null, 2));
    // Pieces as jsonLines gives them: the first without a separator, each of the others after one.
    const pieces = extra.map((v, i) => `${i ? ENTRY_SEPARATOR : ""}${JSON.stringify(v)}`);
    const written = textOf(writeJson(bom, { components: pieces, dependencies: pieces }));
    const json = (v: unknown) => JSON.parse(JSON.stringify(v)); // -0 is written as 0
    assert.deepEqual(
      JSON.parse(written),
      json({ ...bom, components: [value, ...extra], dependencies: extra }),
    );
    // The lists named are one entry per line (their own entries too), the rest as JSON.stringify indents it.
    const perLine = (items: unknown[]) =>
      items.length ? `[\n    ${items.map((v) => JSON.stringify(v)).join(",\n    ")}\n  ]` : "[]";
    const expected = JSON.stringify({ ...bom, components: "\0C", dependencies: "\0D" }, null, 2)
      .replace('"\\u0000C"', () => perLine([value, ...extra]))
      .replace('"\\u0000D"', () => perLine(extra));
    assert.equal(written, expected);
  }));
});

// ---------------------------------------------------------------------------------------------------------------
// Distribution 2.8: BuildKit attestation manifests, the referrers tag schema, cosign tags

Deno.test("attachments: a BuildKit attestation manifest in the index, listed and merged; no layer read", async () => {
  await using reg = await startRegistry({ auth: "none" });
  const multi = await pushIndex(reg, "test/multi", "latest", false);
  const [amd64, arm64, att] = multi.entries;
  const uri = `${reg.host}/test/multi:latest`;
  const common = ["-u", uri, "--platform", "linux/amd64", "--plain-http"];

  // Today's requests: the index, the platform manifest, the config. Unchanged by this feature.
  await reg.clearRequests();
  await ok(["sbom", ...common]);
  const today = [
    "GET /v2/test/multi/manifests/latest",
    `GET /v2/test/multi/manifests/${amd64.manifestDigest}`,
    `GET /v2/test/multi/blobs/${amd64.configDigest}`,
  ];
  assert.deepEqual(await requestLines(reg), today);

  await reg.clearRequests();
  const listing = JSON.parse((await ok(["attachments", ...common])).stdoutText);
  assert.equal(listing.image.manifestDigest, amd64.manifestDigest);
  assert.equal(listing.image.indexDigest, multi.manifestDigest);
  assert.equal(listing.image.platform, "linux/amd64");
  assert.equal(listing.attachments.length, 1);
  const a = listing.attachments[0];
  assert.equal(a.foundVia, "attestation-manifest");
  assert.equal(a.manifestDigest, att.manifestDigest);
  assert.equal(a.subject, amd64.manifestDigest);
  assert.equal(a.size, att.manifestBytes.length);
  assert.equal(a.predicateType, SPDX_PREDICATE);
  assert.equal(a.annotations["vnd.docker.reference.type"], "attestation-manifest");
  assert.deepEqual(a.documents.map((d: Json) => [d.digest, d.mediaType]), [[
    att.layers[0].digest,
    AttachmentTypes.inToto,
  ]]);
  const listed = await requestLines(reg);
  assertNoLayerRead(listed, [amd64, arm64]);
  // Listing reads manifests only (and the config that resolving the platform needs): no blob besides it.
  assert.deepEqual(listed.filter((l) => l.includes("/blobs/")), [
    `GET /v2/test/multi/blobs/${amd64.configDigest}`,
  ]);
  // Referrers API (404), then the referrers tag, and cosign's three tags: for the platform manifest and the index.
  for (const digest of [amd64.manifestDigest, multi.manifestDigest]) {
    assert.ok(listed.includes(`GET /v2/test/multi/referrers/${digest}`));
    for (const suffix of ["", ".sbom", ".att", ".sig"]) {
      assert.ok(listed.includes(`GET /v2/test/multi/manifests/${referrersTag(digest)}${suffix}`));
    }
  }
  assert.equal((await ok(["referrers", ...common])).stdoutText, JSON.stringify(listing, null, 2) + "\n");

  await reg.clearRequests();
  const doc = await assertValidCycloneDx((await ok(["sbom", "--include-attached", ...common])).stdoutText);
  const busybox = componentByName(doc, "busybox");
  assert.equal(busybox.version, "1.36.1");
  assert.deepEqual(documentsOf(busybox), [att.layers[0].digest]);
  const p = imageProps(doc);
  assert.equal(p.get(`${NS}:attached:sbom:0:digest`), att.layers[0].digest);
  assert.equal(p.get(`${NS}:attached:sbom:0:found-via`), "attestation-manifest");
  assert.equal(p.get(`${NS}:attached:sbom:0:envelope`), "in-toto");
  assert.equal(p.get(`${NS}:attached:provenance`), "no attached provenance found");
  const refs = doc.metadata.component.externalReferences;
  assert.equal(refs.length, 1);
  assert.equal(refs[0].type, "bom");
  assert.deepEqual(refs[0].hashes, [{ alg: "SHA-256", content: att.layers[0].digest.slice(7) }]);
  assert.match(refs[0].comment, new RegExp(att.layers[0].digest));
  const merged = await requestLines(reg);
  assertNoLayerRead(merged, [amd64, arm64]);
  assert.deepEqual(
    merged.filter((l) => l.includes("/blobs/")).sort(),
    [
      `GET /v2/test/multi/blobs/${amd64.configDigest}`,
      `GET /v2/test/multi/blobs/${att.layers[0].digest}`,
    ].sort(),
  );

  // The attestation is for amd64: arm64 has none, and says so; the command still succeeds.
  const other = await assertValidCycloneDx(
    (await ok(["sbom", "--include-attached", "-u", uri, "--platform", "linux/arm64", "--plain-http"]))
      .stdoutText,
  );
  assert.equal(imageProps(other).get(`${NS}:attached:sbom`), "no attached SBOM found");
  assert.deepEqual(other.components, []);
});

/** An image with an SPDX and a CycloneDX SBOM attached through the referrers tag schema (no referrers API). */
async function imageWithTwoSboms(reg: RegistryConnection, repo: string) {
  const image = await pushTestImage(reg, repo, "1");
  const spdxBytes = spdxDocument(repo, [...testPackages(4, "a"), ...testPackages(3, "shared")]);
  const cdxBytes = cyclonedxDocument([...testPackages(3, "shared"), ...testPackages(2, "b")]);
  const spdx = await pushArtifact(reg, repo, {
    artifactType: AttachmentTypes.spdxJson,
    subject: subjectOf(image),
    layers: [{ mediaType: AttachmentTypes.spdxJson, bytes: spdxBytes }],
    annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
  });
  const cdx = await pushArtifact(reg, repo, {
    artifactType: AttachmentTypes.cyclonedxJson,
    subject: subjectOf(image),
    layers: [{ mediaType: AttachmentTypes.cyclonedxJson, bytes: cdxBytes }],
  });
  // A referrer of another image, listed under this image's tag: it describes something else.
  const elsewhere = await pushTestImage(reg, repo, "other");
  const stray = await pushArtifact(reg, repo, {
    artifactType: AttachmentTypes.spdxJson,
    subject: subjectOf(elsewhere),
    layers: [{ mediaType: AttachmentTypes.spdxJson, bytes: spdxDocument("stray", testPackages(2, "stray")) }],
  });
  return { image, spdx, cdx, stray, spdxBytes, cdxBytes };
}

Deno.test("attachments: the lookups go out while the config is read; a config that refuses the image still fails the run", async () => {
  await using reg = await startRegistry({ auth: "none" });
  // An index that says linux/amd64 of an image whose config says windows/arm64: the config refuses it.
  const windowsArm = await pushSmallImage(reg, "early/img", { os: "windows", architecture: "arm64" });
  await pushIndexOf(reg, "early/img", "liar", [
    { manifest: windowsArm, platform: { os: "linux", architecture: "amd64" } },
  ]);
  const tag = `GET /v2/early/img/manifests/${referrersTag(windowsArm.digest)}`;
  const commands = [
    ["sbom", "--include-attached"],
    ["provenance", "--include-attached", "--format", "descriptor"],
    ["attachments"],
  ];
  for (const args of commands) {
    await reg.clearRequests();
    const r = await cli([
      ...args,
      "-u",
      `${reg.host}/early/img:liar`,
      "--plain-http",
      "--platform",
      "linux/amd64",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /claims platform linux\/amd64, but its config says windows\/arm64/);
    assert.equal(r.stdout.length, 0);
    // The lookups for the platform manifest's attachments went out before the config refused it.
    const lines = await requestLines(reg);
    assert.ok(lines.includes(tag), `${args.join(" ")}: ${lines.join(", ")}`);
    assert.ok(lines.includes(`GET /v2/early/img/blobs/${windowsArm.configDigest}`));
  }
});

Deno.test("attachments: a failing run returns only once every lookup has ended, the slow ones too", async () => {
  // A registry whose config answers 404 (the image fails), whose referrers API refuses at once (403: one
  // lookup fails first) and whose cosign tags answer 404 only after 400 ms. No request may still be open when
  // the run returns: it must not leave work behind it (an in-process caller goes on after it).
  const enc = new TextEncoder();
  const config = enc.encode(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers" } }),
  );
  const configDigest = sha256Digest(config);
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: config.length,
    },
    layers: [],
  }));
  let open = 0;
  const seen: string[] = [];
  const errors = (code: string) => JSON.stringify({ errors: [{ code, message: code }] });
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    seen.push(path);
    open++;
    try {
      if (path === "/v2/slow/img/manifests/1") {
        return new Response(manifest, {
          headers: {
            "content-type": "application/vnd.oci.image.manifest.v1+json",
            "docker-content-digest": sha256Digest(manifest),
          },
        });
      }
      if (path.includes("/blobs/")) return new Response(errors("BLOB_UNKNOWN"), { status: 404 });
      if (path.includes("/referrers/")) return new Response(errors("DENIED"), { status: 403 });
      await new Promise((r) => setTimeout(r, 400));
      return new Response(errors("MANIFEST_UNKNOWN"), { status: 404 });
    } finally {
      open--;
    }
  });
  const host = `127.0.0.1:${server.addr.port}`;
  for (const args of [["sbom", "--include-attached"], ["attachments"]]) {
    seen.length = 0;
    const r = await cli([...args, "-u", `${host}/slow/img:1`, "--plain-http", "--retries", "0"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /not found/);
    assert.ok(seen.some((p) => p.endsWith(".sbom")), `${args[0]}: the cosign lookups went out (${seen})`);
    assert.equal(open, 0, `${args[0]}: requests still open when the run returned`);
  }
});

Deno.test("attachments: on a registry without the referrers API, the referrers tag is asked for beside it, not after its 404", async () => {
  const enc = new TextEncoder();
  const config = enc.encode(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
  );
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: sha256Digest(config),
      size: config.length,
    },
    layers: [],
  }));
  const digest = sha256Digest(manifest);
  const tagPath = `/v2/app/img/manifests/${referrersTag(digest)}`;
  let tagAsked = -1;
  let apiAnswered = -1;
  const notFound = () =>
    new Response(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "unknown" }] }), {
      status: 404,
    });
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/v2/app/img/manifests/1") {
      return new Response(manifest, {
        headers: {
          "content-type": "application/vnd.oci.image.manifest.v1+json",
          "docker-content-digest": digest,
        },
      });
    }
    if (path.endsWith(`/blobs/${sha256Digest(config)}`)) return new Response(config);
    if (path.includes("/referrers/")) {
      // No API: a 404, slow to come.
      await new Promise((r) => setTimeout(r, 300));
      apiAnswered = performance.now();
      return notFound();
    }
    if (path === tagPath) tagAsked = performance.now();
    return notFound();
  });
  const r = await cli([
    "sbom",
    "--include-attached",
    "-u",
    `127.0.0.1:${server.addr.port}/app/img:1`,
    "--plain-http",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(imageProps(JSON.parse(r.stdoutText)).get(`${NS}:attached:sbom`), "no attached SBOM found");
  assert.ok(tagAsked > 0 && apiAnswered > 0, "both were asked");
  assert.ok(tagAsked < apiAnswered, "the referrers tag went out before the API's 404 came back");
});

Deno.test("attachments: SPDX and CycloneDX through the referrers tag: merged, de-duplicated, captured", async () => {
  await using reg = await startRegistry({ auth: "none" });
  const { image, spdx, cdx, stray, spdxBytes, cdxBytes } = await imageWithTwoSboms(reg, "test/app");
  await pushReferrersIndex(reg, "test/app", image.manifestDigest, [spdx, cdx, stray]);
  const common = ["-u", `${reg.host}/test/app:1`, "--plain-http"];

  await reg.clearRequests();
  await ok(["sbom", ...common]);
  assert.deepEqual(await requestLines(reg), [
    "GET /v2/test/app/manifests/1",
    `GET /v2/test/app/blobs/${image.configDigest}`,
  ], "without --include-attached, exactly today's requests");

  const listing = JSON.parse((await ok(["attachments", ...common])).stdoutText);
  assert.deepEqual(
    listing.attachments.map((a: Json) => [a.foundVia, a.manifestDigest, a.artifactType, a.tag]),
    [
      ["referrers-tag", spdx.descriptor.digest, AttachmentTypes.spdxJson, referrersTag(image.manifestDigest)],
      [
        "referrers-tag",
        cdx.descriptor.digest,
        AttachmentTypes.cyclonedxJson,
        referrersTag(image.manifestDigest),
      ],
    ],
  );
  assert.equal(
    listing.attachments[0].annotations["org.opencontainers.image.created"],
    "2024-01-01T00:00:00Z",
  );

  await reg.clearRequests();
  const r = await ok(["sbom", "--include-attached", "-v", ...common]);
  assertNoLayerRead(await requestLines(reg), [image]);
  assert.match(r.stderr, new RegExp(`referrer ${stray.descriptor.digest} names subject \\S+, not the image`));
  const doc = await assertValidCycloneDx(r.stdoutText);
  const names = doc.components.map((c: Json) => c.name).sort();
  assert.deepEqual(
    names,
    [
      ...testPackages(4, "a").map((p) => p.name),
      ...testPackages(2, "b").map((p) => p.name),
      ...testPackages(3, "shared").map((p) => p.name),
    ].sort(),
    "4 + 2 + 3 shared once; nothing of the stray referrer",
  );
  const spdxDigest = spdx.layers[0].digest;
  const cdxDigest = cdx.layers[0].digest;
  const shared = componentByName(doc, "shared-1");
  assert.deepEqual(documentsOf(shared), [spdxDigest, cdxDigest]);
  const expected = testPackages(3, "shared")[1];
  assert.equal(shared.purl, expected.purl);
  assert.equal(shared["bom-ref"], expected.purl);
  assert.equal(shared.version, expected.version);
  assert.deepEqual(shared.licenses, [{ license: { id: expected.license } }]);
  assert.deepEqual(shared.hashes, [{ alg: "SHA-256", content: expected.sha256 }]);
  assert.deepEqual(documentsOf(componentByName(doc, "b-0")), [cdxDigest]);
  const p = imageProps(doc);
  assert.equal(p.get(`${NS}:attached:sbom:0:format`), "SPDX-2.3");
  assert.equal(p.get(`${NS}:attached:sbom:1:format`), "CycloneDX-1.5");
  assert.equal(p.get(`${NS}:attached:sbom:1:found-via`), "referrers-tag");
  assert.equal(p.get(`${NS}:attached:sbom:1:manifest-digest`), cdx.descriptor.digest);
  assert.deepEqual(
    doc.metadata.component.externalReferences.map((e: Json) => [e.type, e.hashes[0].content]),
    [["bom", spdxDigest.slice(7)], ["bom", cdxDigest.slice(7)]],
  );
  assert.match(
    doc.metadata.component.externalReferences[0].url,
    new RegExp(`^pkg:oci/app@${spdx.descriptor.digest}`),
  );

  // The same merge in CycloneDX 1.5, and in XML.
  await assertValidCycloneDx(
    (await ok(["sbom", "--include-attached", "--spec-version", "1.5", ...common])).stdoutText,
    "1.5",
  );
  const xml = await ok(["sbom", "--include-attached", "--format", "cyclonedx-xml", ...common]);
  assert.match(xml.stdoutText, /<externalReferences>\s*<reference type="bom">/);
  assert.match(xml.stdoutText, /<name>shared-1<\/name>/);

  // Wherever the image's component is written, it records the attached documents: the component alone is the
  // SBOM's metadata.component, and the artifacts' BOM (--subject) has it as the build container of its
  // formulation (the packages are the image's SBOM's). Without the flag, neither does.
  const env = { SOURCE_DATE_EPOCH: "1700000000" };
  const json = async (...args: string[]) => JSON.parse((await ok([...args, ...common], env)).stdoutText);
  const full = await json("sbom", "--include-attached");
  assert.deepEqual(
    await json("sbom", "--include-attached", "--format", "cyclonedx-component"),
    full.metadata.component,
  );
  assert.ok(!("externalReferences" in await json("sbom", "--format", "cyclonedx-component")));
  const built = await Deno.makeTempFile({ prefix: "attached-subject-" });
  try {
    await Deno.writeTextFile(built, "firmware\n");
    const artifacts = await json("sbom", "--include-attached", "--subject", built);
    await assertValidCycloneDx(JSON.stringify(artifacts));
    const container = artifacts.formulation[0].components[0];
    assert.deepEqual(container, full.metadata.component);
    const without = await json("sbom", "--subject", built);
    assert.ok(
      ![...imageProps({ metadata: { component: without.formulation[0].components[0] } }).keys()].some((k) =>
        k.includes(":attached:")
      ),
    );
    assert.notEqual(
      artifacts.serialNumber,
      without.serialNumber,
      "the serial number names the documents too",
    );
  } finally {
    await Deno.remove(built);
  }

  // Reproducible with SOURCE_DATE_EPOCH; and the serial number depends on the attached documents.
  const once = await ok(["sbom", "--include-attached", ...common], env);
  const twice = await ok(["sbom", "--include-attached", ...common], env);
  assert.equal(once.stdoutText, twice.stdoutText);
  // Written as it is made, in chunks, to -o FILE too: the same bytes.
  const file = await Deno.makeTempFile({ prefix: "sbom-attached-", suffix: ".json" });
  try {
    await ok(["sbom", "--include-attached", ...common, "-o", file], env);
    assert.equal(await Deno.readTextFile(file), once.stdoutText);
  } finally {
    await Deno.remove(file);
  }
  const plain = JSON.parse((await ok(["sbom", ...common], env)).stdoutText);
  assert.notEqual(JSON.parse(once.stdoutText).serialNumber, plain.serialNumber);

  // capture writes the documents byte for byte, with the rest, and drops them when a later run has none.
  const out = await Deno.makeTempDir({ prefix: "capture-attached-" });
  try {
    const subject = `${out}/os.img`;
    await Deno.writeTextFile(subject, "os image\n");
    const c = await ok([
      "capture",
      "--include-attached",
      "--output-dir",
      out,
      "--subject",
      subject,
      "--builder-id",
      "https://ci.example/b",
      ...common,
    ]);
    assert.match(c.stderr, /wrote .*build-env\.attached\//);
    const dir = `${out}/build-env.attached`;
    assert.deepEqual(await Deno.readFile(`${dir}/${spdxDigest.slice(7)}.json`), spdxBytes);
    assert.deepEqual(await Deno.readFile(`${dir}/${cdxDigest.slice(7)}.json`), cdxBytes);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.equal(names.length, 2);
    const sbom = await assertValidCycloneDx(await Deno.readTextFile(`${out}/build-env.cdx.json`));
    assert.equal(sbom.components.length, 9);
    const statement = JSON.parse(await Deno.readTextFile(`${out}/build-env.intoto.json`));
    assert.equal(
      statement.predicate.buildDefinition.resolvedDependencies[0].annotations
        .ecrimagemetadataextractor_attached_provenance,
      "none found",
    );
    await ok(["capture", "--output-dir", out, "--builder-id", "https://ci.example/b", ...common]);
    await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("attachments: cosign .sbom, .att (DSSE) and .sig tags; provenance names the image's own provenance", async () => {
  await using reg = await startRegistry({ auth: "none" });
  const repo = "test/signed";
  const image = await pushTestImage(reg, repo, "1");
  const tag = referrersTag(image.manifestDigest);
  const cosignConfig = { mediaType: "application/vnd.oci.image.config.v1+json", bytes: EMPTY_JSON };
  const sbomBytes = spdxDocument(repo, testPackages(3, "plain"));
  const sbom = await pushArtifact(reg, repo, {
    config: cosignConfig,
    layers: [{ mediaType: AttachmentTypes.cosignSpdxJson, bytes: sbomBytes }],
    tag: `${tag}.sbom`,
  });
  const cdxStatement = dsseEnvelope(
    inTotoStatement(
      image.manifestDigest,
      CDX_PREDICATE,
      JSON.parse(new TextDecoder().decode(cyclonedxDocument(testPackages(2, "dsse")))),
    ),
  );
  const provenance = dsseEnvelope(inTotoStatement(image.manifestDigest, SLSA_V1, {
    buildDefinition: { buildType: "https://example.invalid/build", externalParameters: {} },
    runDetails: { builder: { id: "https://example.invalid/builder" } },
  }));
  const elsewhere = dsseEnvelope(
    inTotoStatement(
      `sha256:${"e".repeat(64)}`,
      CDX_PREDICATE,
      JSON.parse(new TextDecoder().decode(cyclonedxDocument(testPackages(2, "wrong")))),
    ),
  );
  const att = await pushArtifact(reg, repo, {
    config: cosignConfig,
    layers: [
      { mediaType: AttachmentTypes.dsse, bytes: cdxStatement, annotations: { predicateType: CDX_PREDICATE } },
      { mediaType: AttachmentTypes.dsse, bytes: provenance, annotations: { predicateType: SLSA_V1 } },
      { mediaType: AttachmentTypes.dsse, bytes: elsewhere }, // no annotation: read to know what it is
    ],
    tag: `${tag}.att`,
  });
  const sig = await pushArtifact(reg, repo, {
    config: cosignConfig,
    layers: [{
      mediaType: AttachmentTypes.cosignSignature,
      bytes: new TextEncoder().encode('{"critical":{}}'),
    }],
    tag: `${tag}.sig`,
  });
  const common = ["-u", `${reg.host}/${repo}:1`, "--plain-http"];

  const listing = JSON.parse((await ok(["attachments", ...common])).stdoutText);
  assert.deepEqual(listing.attachments.map((a: Json) => [a.foundVia, a.tag, a.manifestDigest]), [
    ["cosign-tag", `${tag}.sbom`, sbom.descriptor.digest],
    ["cosign-tag", `${tag}.att`, att.descriptor.digest],
    ["cosign-tag", `${tag}.sig`, sig.descriptor.digest],
  ]);
  assert.deepEqual(listing.attachments[1].documents.map((d: Json) => d.predicateType), [
    CDX_PREDICATE,
    SLSA_V1,
    undefined,
  ]);

  // The listing asks for cosign's three tags; the documents' commands only for those that can hold what they
  // read: sbom .sbom and .att (not .sig: signatures), provenance .att alone.
  const cosignAsked = async () =>
    (await requestLines(reg)).filter((l) => l.startsWith(`GET /v2/${repo}/manifests/${tag}.`)).map((l) =>
      l.slice(l.lastIndexOf(".") + 1)
    ).sort();
  await reg.clearRequests();
  await ok(["attachments", ...common]);
  assert.deepEqual(await cosignAsked(), ["att", "sbom", "sig"]);
  await reg.clearRequests();
  const r = await ok(["sbom", "--include-attached", "-v", ...common]);
  assert.deepEqual(await cosignAsked(), ["att", "sbom"]);
  assert.match(
    r.stderr,
    /an in-toto statement whose subject is not the image: it describes something else; left out/,
  );
  const doc = await assertValidCycloneDx(r.stdoutText);
  assert.deepEqual(doc.components.map((c: Json) => c.name), [
    "plain-0",
    "plain-1",
    "plain-2",
    "dsse-0",
    "dsse-1",
  ]);
  const p = imageProps(doc);
  assert.equal(p.get(`${NS}:attached:sbom:0:envelope`), "none");
  assert.equal(p.get(`${NS}:attached:sbom:0:found-via`), "cosign-tag");
  assert.equal(p.get(`${NS}:attached:sbom:1:envelope`), "dsse");
  assert.equal(p.get(`${NS}:attached:sbom:1:digest`), att.layers[0].digest);
  assert.equal(p.get(`${NS}:attached:provenance:0:digest`), att.layers[1].digest);
  assert.equal(p.get(`${NS}:attached:provenance:0:predicate-type`), SLSA_V1);

  // provenance reads only what its descriptors say is provenance (and the unannotated statement).
  const subject = await Deno.makeTempFile();
  try {
    await reg.clearRequests();
    const prov = JSON.parse(
      (await ok([
        "provenance",
        "--include-attached",
        "--subject",
        subject,
        "--builder-id",
        "https://ci.example/b",
        ...common,
      ])).stdoutText,
    );
    const rd = prov.predicate.buildDefinition.resolvedDependencies[0];
    assert.equal(
      rd.annotations["ecrimagemetadataextractor_attached_provenance_0_digest"],
      att.layers[1].digest,
    );
    assert.equal(rd.annotations["ecrimagemetadataextractor_attached_provenance_0_predicate_type"], SLSA_V1);
    assert.equal(rd.annotations["ecrimagemetadataextractor_attached_provenance_0_found_via"], "cosign-tag");
    assert.equal(
      rd.annotations["ecrimagemetadataextractor_attached_provenance_0_manifest_digest"],
      att.descriptor.digest,
    );
    assert.deepEqual(await cosignAsked(), ["att"]);
    const blobs = (await requestLines(reg)).filter((l) => l.includes("/blobs/")).sort();
    assert.deepEqual(
      blobs,
      [
        `GET /v2/${repo}/blobs/${image.configDigest}`,
        `GET /v2/${repo}/blobs/${att.layers[1].digest}`,
        `GET /v2/${repo}/blobs/${att.layers[2].digest}`,
      ].sort(),
    );
    assertNoLayerRead(await requestLines(reg), [image]);

    await reg.clearRequests();
    await ok(["provenance", "--subject", subject, "--builder-id", "https://ci.example/b", ...common]);
    assert.deepEqual(await requestLines(reg), [
      `GET /v2/${repo}/manifests/1`,
      `GET /v2/${repo}/blobs/${image.configDigest}`,
    ], "without --include-attached, exactly today's requests");
  } finally {
    await Deno.remove(subject);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The OCI 1.1 referrers API (a server implementing it), integrity and size caps

Deno.test("attachments: the referrers API with artifactType filtering and paging; the referrers tag not used", async (t) => {
  await using server = startReferrersServer();
  const { image, spdx, cdx, stray } = await imageWithTwoSboms(server, "test/api");
  const signature = await pushArtifact(server, "test/api", {
    artifactType: "application/vnd.example.signature.v1",
    subject: subjectOf(image),
    layers: [{ mediaType: "application/vnd.example.signature.v1", bytes: new TextEncoder().encode("sig") }],
  });
  const common = ["-u", `${server.host}/test/api:1`, "--plain-http"];
  const referrersPath = `/v2/test/api/referrers/${image.manifestDigest}`;
  const all = [spdx, cdx, signature].map((a) => a.descriptor.digest);
  const listed = async (...args: string[]) =>
    JSON.parse((await ok(["attachments", ...args, ...common])).stdoutText).attachments;

  // A referrers tag as well (left from before the registry had the API, say), listing another subject's
  // referrer: asked for beside the API, never used while the API answers.
  await pushReferrersIndex(server, "test/api", image.manifestDigest, [spdx, stray]);
  await t.step(
    "everything, from one referrers request; the referrers tag beside it is not used",
    async () => {
      server.clearRequests();
      const found = await listed();
      assert.deepEqual(found.map((a: Json) => a.manifestDigest), all);
      assert.ok(found.every((a: Json) => a.foundVia === "referrers-api"));
      const paths = server.requests().map((r) => r.path);
      assert.equal(paths.filter((p) => p === referrersPath).length, 1);
      const tagPath = `/v2/test/api/manifests/${referrersTag(image.manifestDigest)}`;
      assert.ok(paths.filter((p) => p === tagPath).length <= 1, "the tag is asked for once at most");
      assert.ok(
        !paths.includes(`/v2/test/api/manifests/${stray.descriptor.digest}`),
        "another subject's referrer, listed by the tag only",
      );
    },
  );

  await t.step("artifactType filtered by the server (OCI-Filters-Applied)", async () => {
    server.clearRequests();
    const found = await listed("--artifact-type", AttachmentTypes.spdxJson);
    assert.deepEqual(found.map((a: Json) => a.manifestDigest), [spdx.descriptor.digest]);
    const query = server.requests().find((r) => r.path === referrersPath)!.search;
    assert.equal(new URLSearchParams(query).get("artifactType"), AttachmentTypes.spdxJson);
  });

  await t.step("artifactType filtered by the client when the server does not say it filtered", async () => {
    server.applyFilter = false;
    try {
      const found = await listed("--artifact-type", AttachmentTypes.cyclonedxJson);
      assert.deepEqual(found.map((a: Json) => a.manifestDigest), [cdx.descriptor.digest]);
    } finally {
      server.applyFilter = true;
    }
  });

  await t.step("a list in pages (Link: rel=next) is read to the end", async () => {
    server.pageSize = 1;
    server.clearRequests();
    try {
      assert.deepEqual((await listed()).map((a: Json) => a.manifestDigest), all);
      assert.equal(server.requests().filter((r) => r.path === referrersPath).length, 3);
    } finally {
      server.pageSize = undefined;
    }
  });

  await t.step("sbom --include-attached merges what the API lists", async () => {
    const doc = await assertValidCycloneDx((await ok(["sbom", "--include-attached", ...common])).stdoutText);
    assert.equal(doc.components.length, 9);
    assert.equal(imageProps(doc).get(`${NS}:attached:sbom:0:found-via`), "referrers-api");
    const blobs = server.requests().filter((r) => r.path.includes("/blobs/")).map((r) => r.path);
    assert.ok(
      !blobs.includes(`/v2/test/api/blobs/${signature.layers[0].digest}`),
      "the signature is not read",
    );
  });

  await t.step(
    "a tampered attached document fails the run with one integrity line, nothing printed",
    async () => {
      const digest = spdx.layers[0].digest;
      const tampered = new TextEncoder().encode(
        new TextDecoder().decode(spdx.layers[0].bytes).replace("shared-1", "shared-X"),
      );
      server.tamper.set(digest, tampered);
      try {
        const r = await cli(["sbom", "--include-attached", ...common]);
        assert.equal(r.code, 1);
        assert.equal(r.stdoutText, "");
        const lines = r.stderr.trimEnd().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(
          lines[0],
          new RegExp(
            `blob ${digest} of test/api: content digest sha256:\\S+ does not match expected ${digest}`,
          ),
        );
        // Without the flag, the tampered document is never read and the SBOM is as always.
        assert.equal((await cli(["sbom", ...common])).code, 0);
      } finally {
        server.tamper.clear();
      }
    },
  );

  await t.step("a document longer than its descriptor says is cut off while reading", async () => {
    const digest = spdx.layers[0].digest;
    const longer = new Uint8Array(spdx.layers[0].bytes.length + 1024 * 1024);
    longer.set(spdx.layers[0].bytes);
    server.tamper.set(digest, longer);
    try {
      const r = await cli(["sbom", "--include-attached", ...common]);
      assert.equal(r.code, 1);
      assert.equal(r.stdoutText, "");
      assert.match(r.stderr, /attached document blob is longer than the descriptor's size/);
    } finally {
      server.tamper.clear();
    }
  });
});

Deno.test("attachments: a document declared over 64 MiB is refused before a byte of it is read", async () => {
  await using server = startReferrersServer();
  const repo = "test/huge";
  const image = await pushTestImage(server, repo, "1");
  const small = new TextEncoder().encode("{}");
  const digest = await pushBlob(server, repo, small);
  await pushBlob(server, repo, EMPTY_JSON);
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: AttachmentTypes.spdxJson,
    config: { mediaType: AttachmentTypes.empty, digest: sha256Digest(EMPTY_JSON), size: 2 },
    layers: [{ mediaType: AttachmentTypes.spdxJson, digest, size: MAX_ATTACHED_DOCUMENT_BYTES + 1 }],
    subject: subjectOf(image),
  }));
  await pushManifest(
    server,
    repo,
    sha256Digest(manifest),
    manifest,
    "application/vnd.oci.image.manifest.v1+json",
  );
  server.clearRequests();
  const r = await cli(["sbom", "--include-attached", "-u", `${server.host}/${repo}:1`, "--plain-http"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdoutText, "");
  assert.match(
    r.stderr,
    new RegExp(
      `attached document ${digest} .* is ${
        MAX_ATTACHED_DOCUMENT_BYTES + 1
      } bytes, over the ${MAX_ATTACHED_DOCUMENT_BYTES}-byte \\(64 MiB\\) limit`,
    ),
  );
  assert.ok(
    !server.requests().some((q) => q.path.endsWith(`/blobs/${digest}`)),
    "the oversized blob was requested",
  );
  // Listing needs no document: it still works.
  await ok(["attachments", "-u", `${server.host}/${repo}:1`, "--plain-http"]);
});

// ---------------------------------------------------------------------------------------------------------------
// OCI layouts

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("attachments: an OCI layout: the attestation manifest in its index, a referrer in index.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "layout-attached-" });
  try {
    await copyDir(`${REPO_ROOT}/fixtures/oci-layout`, dir);
    const put = async (bytes: Uint8Array) => {
      const digest = sha256Digest(bytes);
      await Deno.writeFile(`${dir}/blobs/sha256/${digest.slice(7)}`, bytes);
      return { digest, size: bytes.length };
    };
    const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    const amd64 = index.manifests.find((d: Json) =>
      d.annotations["org.opencontainers.image.ref.name"] === "demo-amd64"
    );
    const spdxBytes = spdxDocument("demo", testPackages(3, "layout"));
    const layer = await put(spdxBytes);
    const config = await put(EMPTY_JSON);
    const referrer = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: AttachmentTypes.spdxJson,
      config: { mediaType: AttachmentTypes.empty, ...config },
      layers: [{ mediaType: AttachmentTypes.spdxJson, ...layer }],
      subject: { mediaType: amd64.mediaType, digest: amd64.digest, size: amd64.size },
    }));
    const ref = await put(referrer);
    index.manifests.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...ref,
      artifactType: AttachmentTypes.spdxJson,
    });
    await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify(index));

    for (const uri of [`oci:${dir}:demo`, `oci:${dir}:demo-amd64`]) {
      const args = ["-u", uri, "--platform", "linux/amd64"];
      const listing = JSON.parse((await ok(["attachments", ...args])).stdoutText);
      assert.deepEqual(
        listing.attachments.map((a: Json) => [a.foundVia, a.predicateType ?? a.artifactType]),
        [
          ["attestation-manifest", "https://slsa.dev/provenance/v0.2"],
          ["referrers-api", AttachmentTypes.spdxJson],
        ],
        uri,
      );
      const doc = await assertValidCycloneDx((await ok(["sbom", "--include-attached", ...args])).stdoutText);
      assert.deepEqual(doc.components.map((c: Json) => c.name), ["layout-0", "layout-1", "layout-2"]);
      const p = imageProps(doc);
      assert.equal(p.get(`${NS}:attached:sbom:0:digest`), layer.digest);
      assert.equal(p.get(`${NS}:attached:provenance:0:predicate-type`), "https://slsa.dev/provenance/v0.2");
      assert.equal(p.get(`${NS}:attached:provenance:0:found-via`), "attestation-manifest");
      // No repository URL for a layout: the reference names the artifact by digest only.
      assert.equal(
        doc.metadata.component.externalReferences[0].url,
        `pkg:oci/${uri.endsWith("amd64") ? "demo-amd64" : "demo"}@${ref.digest}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("attachments: behind token auth, the referrers and tag lookups use the repository's pull token", async () => {
  await using reg = await startRegistry({ auth: "token" });
  const repo = "test/private";
  const image = await pushTestImage(reg, repo, "1");
  const spdx = await pushArtifact(reg, repo, {
    artifactType: AttachmentTypes.spdxJson,
    subject: subjectOf(image),
    layers: [{ mediaType: AttachmentTypes.spdxJson, bytes: spdxDocument(repo, testPackages(2, "private")) }],
  });
  await pushReferrersIndex(reg, repo, image.manifestDigest, [spdx]);
  const config = await Deno.makeTempDir({ prefix: "docker-config-" });
  try {
    await Deno.writeTextFile(
      `${config}/config.json`,
      JSON.stringify({ auths: { [reg.host]: { auth: btoa(`${reg.username}:${reg.password}`) } } }),
    );
    const tokensBefore = reg.tokenRequests().length;
    const r = await ok(
      ["sbom", "--include-attached", "-u", `${reg.host}/${repo}:1`, "--ca-file", reg.caCertFile!],
      { DOCKER_CONFIG: config },
    );
    const doc = await assertValidCycloneDx(r.stdoutText);
    assert.deepEqual(doc.components.map((c: Json) => c.name), ["private-0", "private-1"]);
    assert.equal(reg.tokenRequests().length - tokensBefore, 1, "one token for the whole run");
  } finally {
    await Deno.remove(config, { recursive: true });
  }
});
