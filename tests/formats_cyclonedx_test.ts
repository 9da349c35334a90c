import assert from "node:assert/strict";
import fc from "fast-check";
import { supportsHash } from "../src/formats/cyclonedx_nodes.ts";
import { golden } from "./support/golden.ts";
import { assertValidCycloneDx, strictValidator } from "./support/cyclonedx_schema.ts";
import { SaxesParser } from "saxes";
import {
  artifactsBom,
  type ArtifactsBomOptions,
  cyclonedxComponent,
  cyclonedxSbom,
  PROPERTY_NAMESPACE,
  type SbomOptions,
} from "../src/formats/cyclonedx.ts";
import { codebuildFrom } from "../src/cli/environment.ts";
import { managedImage } from "../src/cli/context.ts";
import { run } from "./support/tools.ts";
import { type Clock, fixedClock as stoppedClock, systemClock } from "../src/formats/clock.ts";
import type { DescribedImage, ResolvedImage } from "../src/image.ts";
import { TOOL_NAME, VERSION } from "../src/version.ts";
import type { AttachedInventory } from "../src/formats/attached_sbom.ts";
import {
  CODEBUILD_ENV,
  COMPACT_MANIFEST_DIGEST,
  CONFIG_DIGEST,
  originalImage,
  originalImageViaIndex,
  REGISTRY,
} from "./support/resolved_fixture.ts";

const SDE = "1700000000";
const fixedClock = (): Clock => stoppedClock(Number(SDE));
const NS = PROPERTY_NAMESPACE;
const HEX = COMPACT_MANIFEST_DIGEST.slice("sha256:".length);
const PURL =
  `pkg:oci/os_build_env@sha256:${HEX}?arch=amd64&repository_url=${REGISTRY}%2Fos_build_env&tag=latest`;
const V5_URN = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const V4_URN = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// deno-lint-ignore no-explicit-any
type Json = any;
type SpecVersion = SbomOptions["specVersion"];

// ---------------------------------------------------------------------------------------------------------------
// Validation: the library's strict JSON schema validator (ajv), and a strict XML parser (saxes) for XML output.

async function assertValidJson(text: string, spec: SpecVersion): Promise<Json> {
  return await assertValidCycloneDx(text, spec);
}

interface XmlElement {
  name: string;
  uri: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** Parse XML with a strict (well-formedness checking) parser; throws on the first error. */
function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let error: Error | undefined;
  parser.on("error", (e) => {
    error ??= e;
  });
  parser.on("opentag", (tag) => {
    const attrs: Record<string, string> = {};
    for (const [k, a] of Object.entries(tag.attributes)) attrs[k] = typeof a === "string" ? a : a.value;
    const el: XmlElement = { name: tag.local ?? tag.name, uri: tag.uri ?? "", attrs, children: [], text: "" };
    if (stack.length) stack[stack.length - 1].children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on("text", (t) => {
    if (stack.length) stack[stack.length - 1].text += t;
  });
  parser.on("closetag", () => void stack.pop());
  parser.write(text).close();
  if (error) throw error;
  if (!root) throw new Error("no root element");
  return root;
}

function child(el: XmlElement, name: string): XmlElement {
  const c = el.children.find((x) => x.name === name);
  if (!c) throw new Error(`<${el.name}> has no <${name}>`);
  return c;
}

/** Produce an SBOM and check it: JSON against the strict schema, XML with the strict parser. */
async function sbom(
  image: DescribedImage,
  opts: Partial<SbomOptions> = {},
): Promise<{ bytes: Uint8Array; text: string }> {
  const full: SbomOptions = {
    format: "json",
    specVersion: "1.6",
    includeEnv: false,
    clock: fixedClock(),
    ...opts,
  };
  const bytes = await cyclonedxSbom(image, full);
  const text = new TextDecoder().decode(bytes);
  assert.ok(text.endsWith("\n") && !text.endsWith("\n\n"), "output ends with exactly one newline");
  if (full.format === "json") await assertValidJson(text, full.specVersion);
  else parseXml(text);
  return { bytes, text };
}

async function sbomJson(image: DescribedImage, opts: Partial<SbomOptions> = {}): Promise<Json> {
  return JSON.parse((await sbom(image, { ...opts, format: "json" })).text);
}

function props(doc: Json): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of doc.metadata.component.properties as { name: string; value: string }[]) {
    assert.ok(!m.has(p.name), `duplicate property ${p.name}`);
    m.set(p.name, p.value);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------------------

Deno.test("every SBOM variant validates against the strict CycloneDX schema, 1.6 and 1.5", async () => {
  for (const spec of ["1.6", "1.5"] as const) {
    for (const image of [originalImage(), originalImageViaIndex()]) {
      for (const includeEnv of [false, true]) {
        const doc = await sbomJson(image, { specVersion: spec, includeEnv });
        assert.equal(doc.bomFormat, "CycloneDX");
        assert.equal(doc.specVersion, spec);
        assert.equal(doc.$schema, `http://cyclonedx.org/schema/bom-${spec}.schema.json`);
      }
    }
  }
});

Deno.test("the strict validator really runs: broken SBOMs fail it", async () => {
  for (const spec of ["1.6", "1.5"] as const) {
    const good = await sbomJson(originalImage(), { specVersion: spec });
    const validator = await strictValidator(spec);
    assert.equal(await validator.validate(JSON.stringify(good)), null);

    const badType = structuredClone(good);
    badType.metadata.component.type = "not-a-component-type";
    assert.notEqual(
      await validator.validate(JSON.stringify(badType)),
      null,
      "unknown component type accepted",
    );

    const extra = structuredClone(good);
    extra.metadata.component.unexpectedField = true; // strict schema: no additional properties
    assert.notEqual(await validator.validate(JSON.stringify(extra)), null, "additional property accepted");

    const badSerial = structuredClone(good);
    badSerial.serialNumber = "not-a-urn";
    assert.notEqual(await validator.validate(JSON.stringify(badSerial)), null, "bad serialNumber accepted");
  }
});

Deno.test("metadata.component describes the original build image", async () => {
  const doc = await sbomJson(originalImage());
  const c = doc.metadata.component;
  assert.equal(c.type, "container");
  assert.equal(c.name, "os_build_env");
  assert.equal(c.version, COMPACT_MANIFEST_DIGEST, "the version is what the image is: its manifest digest");
  assert.equal(c.purl, PURL);
  assert.equal(c["bom-ref"], PURL);
  assert.deepEqual(c.hashes, [{ alg: "SHA-256", content: HEX }]);
  assert.equal(doc.metadata.timestamp, "2023-11-14T22:13:20.000Z");
  assert.match(doc.serialNumber, V5_URN);
  const tools = doc.metadata.tools.components;
  assert.equal(tools.length, 1);
  assert.equal(tools[0].type, "application");
  assert.equal(tools[0].name, TOOL_NAME);
  assert.equal(tools[0].version, VERSION);
});

Deno.test("properties: labels, platform, 7 layers, 7 diff_ids, 14 history entries, digests", async () => {
  const image = originalImage();
  const p = props(await sbomJson(image));
  assert.equal(p.get(`${NS}:label:maintainer`), "@vasuper");
  assert.equal(p.get(`${NS}:label:org.opencontainers.image.ref.name`), "ubuntu");
  assert.equal(p.get(`${NS}:label:org.opencontainers.image.version`), "24.04");
  assert.equal(p.get(`${NS}:image:architecture`), "amd64");
  assert.equal(p.get(`${NS}:image:os`), "linux");
  assert.equal(p.has(`${NS}:image:variant`), false);
  assert.equal(p.get(`${NS}:image:created`), "2024-10-13T10:35:38.524849246-05:00");
  assert.equal(p.has(`${NS}:image:author`), false);
  assert.equal(p.get(`${NS}:image:reference`), `${REGISTRY}/os_build_env:latest`);
  assert.equal(p.get(`${NS}:image:manifest-digest`), COMPACT_MANIFEST_DIGEST);
  assert.equal(
    p.get(`${NS}:image:manifest-media-type`),
    "application/vnd.docker.distribution.manifest.v2+json",
  );
  assert.equal(p.get(`${NS}:image:config-digest`), CONFIG_DIGEST);
  assert.equal(p.get(`${NS}:image:config-media-type`), "application/vnd.docker.container.image.v1+json");
  assert.equal(p.has(`${NS}:image:index-digest`), false);
  assert.equal(p.has(`${NS}:image:index-media-type`), false);

  const names = [...p.keys()];
  const diffIds = names.filter((n) => n.startsWith(`${NS}:diff-id:`));
  assert.equal(diffIds.length, 7);
  assert.deepEqual(diffIds.map((n) => p.get(n)), image.configJson.rootfs!.diff_ids);
  const history = names.filter((n) => /:history:\d+:created-by$/.test(n));
  assert.equal(history.length, 14);
  assert.equal(p.get(`${NS}:history:0:created-by`), "/bin/sh -c #(nop)  ARG RELEASE");
  assert.equal(p.get(`${NS}:history:6:created-by`), "LABEL maintainer=@vasuper");
  assert.equal(names.filter((n) => /:layer:\d+:digest$/.test(n)).length, 7);
  image.manifestJson.layers.forEach((l, n) => {
    assert.equal(p.get(`${NS}:layer:${n}:digest`), l.digest);
    assert.equal(p.get(`${NS}:layer:${n}:size`), String(l.size));
    assert.equal(p.get(`${NS}:layer:${n}:mediaType`), "application/vnd.docker.image.rootfs.diff.tar.gzip");
  });
  assert.equal(p.get(`${NS}:layer:1:size`), "238910491");
  assert.ok(names.every((n) => n.startsWith(`${NS}:`)), "all properties in the project namespace");
  assert.equal(names.some((n) => n.includes(":env:")), false, "Env only with includeEnv");
});

Deno.test("Env values only with includeEnv", async () => {
  const p = props(await sbomJson(originalImage(), { includeEnv: true }));
  assert.equal(p.get(`${NS}:env:0`), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  assert.equal([...p.keys()].filter((n) => n.includes(":env:")).length, 1);
});

Deno.test("an index adds index digest and media type; the version is the digest, the tag a qualifier", async () => {
  const image = originalImageViaIndex();
  const doc = await sbomJson(image);
  const p = props(doc);
  assert.equal(p.get(`${NS}:image:index-digest`), image.index!.digest);
  assert.equal(
    p.get(`${NS}:image:index-media-type`),
    "application/vnd.docker.distribution.manifest.list.v2+json",
  );
  assert.equal(p.get(`${NS}:image:manifest-digest`), COMPACT_MANIFEST_DIGEST);
  assert.equal(doc.metadata.component.version, COMPACT_MANIFEST_DIGEST);
  assert.ok(doc.metadata.component.purl.endsWith("&tag=multiarch"));
  assert.equal(p.get(`${NS}:image:tag`), "multiarch");
  assert.equal(p.get(`${NS}:image:resolved-by`), "tag");
  assert.equal(p.get(`${NS}:image:resolved-digest`), image.index!.digest, "the tag named the index");
  assert.equal(p.get(`${NS}:image:resolved-at`), "2023-11-14T22:13:20Z");
  assert.equal(
    doc.metadata.component.hashes[0].content,
    HEX,
    "hash is of the platform manifest, not the index",
  );
});

Deno.test("no tag: version is the manifest digest and the purl has no tag; nested repository; layout", async () => {
  const base = originalImage();
  const byDigest: ResolvedImage = {
    ...base,
    origin: {
      kind: "registry",
      input: `docker.io/library/alpine@${COMPACT_MANIFEST_DIGEST}`,
      registry: "docker.io",
      repository: "library/alpine",
      digest: COMPACT_MANIFEST_DIGEST,
    },
    platform: { os: "linux", architecture: "arm", variant: "v7" },
  };
  const doc = await sbomJson(byDigest);
  const c = doc.metadata.component;
  assert.equal(c.name, "library/alpine");
  assert.equal(c.version, COMPACT_MANIFEST_DIGEST);
  assert.equal(props(doc).get(`${NS}:image:resolved-by`), "digest");
  assert.equal(props(doc).has(`${NS}:image:tag`), false);
  assert.equal(c.purl, `pkg:oci/alpine@sha256:${HEX}?arch=arm&repository_url=docker.io%2Flibrary%2Falpine`);
  assert.equal(props(doc).get(`${NS}:image:variant`), "v7");

  const layout: ResolvedImage = {
    ...base,
    origin: {
      kind: "oci-layout",
      input: "oci:fixtures/layout:demo",
      registry: "fixtures/layout",
      repository: "demo",
      tag: "demo",
    },
  };
  const l = (await sbomJson(layout)).metadata.component;
  assert.equal(l.purl, `pkg:oci/demo@sha256:${HEX}?arch=amd64&tag=demo`);
});

Deno.test("XML output is well-formed and carries the same facts as JSON, 1.6 and 1.5", async () => {
  for (const spec of ["1.6", "1.5"] as const) {
    for (const image of [originalImage(), originalImageViaIndex()]) {
      const json = await sbomJson(image, { specVersion: spec, includeEnv: true });
      const { text } = await sbom(image, { format: "xml", specVersion: spec, includeEnv: true });
      assert.ok(text.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n`));
      const bom = parseXml(text);
      assert.equal(bom.name, "bom");
      assert.equal(bom.uri, `http://cyclonedx.org/schema/bom/${spec}`);
      assert.equal(bom.attrs.serialNumber, json.serialNumber);
      const metadata = child(bom, "metadata");
      assert.equal(child(metadata, "timestamp").text, json.metadata.timestamp);
      const c = child(metadata, "component");
      assert.equal(c.attrs.type, "container");
      assert.equal(c.attrs["bom-ref"], json.metadata.component["bom-ref"]);
      assert.equal(child(c, "name").text, json.metadata.component.name);
      assert.equal(child(c, "version").text, json.metadata.component.version);
      assert.equal(child(c, "purl").text, json.metadata.component.purl);
      const hash = child(child(c, "hashes"), "hash");
      assert.equal(hash.attrs.alg, "SHA-256");
      assert.equal(hash.text, HEX);
      const xmlProps = child(c, "properties").children.map((p) => ({ name: p.attrs.name, value: p.text }));
      assert.deepEqual(xmlProps, json.metadata.component.properties);
      const tool = child(child(child(metadata, "tools"), "components"), "component");
      assert.equal(child(tool, "name").text, TOOL_NAME);
      assert.equal(child(tool, "version").text, VERSION);
    }
  }
});

Deno.test("the XML check really checks: malformed XML is rejected", () => {
  assert.throws(() => parseXml("<bom><metadata></bom>"));
  assert.throws(() => parseXml("<bom>a && b</bom>"));
  assert.throws(() => parseXml(`<bom a="1" a="2"/>`));
});

Deno.test("with SOURCE_DATE_EPOCH two runs give identical bytes (JSON 1.6, 1.5, XML)", async () => {
  for (
    const opts of [{}, { specVersion: "1.5" as const }, { format: "xml" as const }, { includeEnv: true }]
  ) {
    const a = await sbom(originalImage(), opts);
    const b = await sbom(originalImage(), opts);
    assert.deepEqual(a.bytes, b.bytes);
  }
});

Deno.test("content-derived serial numbers differ with the content and options", async () => {
  const serial = async (image: ResolvedImage, opts: Partial<SbomOptions>) =>
    (await sbomJson(image, opts)).serialNumber;
  const base = await serial(originalImage(), {});
  assert.match(base, V5_URN);
  assert.notEqual(await serial(originalImage(), { specVersion: "1.5" }), base);
  assert.notEqual(await serial(originalImage(), { includeEnv: true }), base);
  assert.notEqual(await serial(originalImageViaIndex(), {}), base);
  assert.notEqual(
    await serial(originalImage(), { clock: stoppedClock(1700000001) }),
    base,
  );
  // The same BOM in XML has the same serial number.
  const xml = parseXml((await sbom(originalImage(), { format: "xml" })).text);
  assert.equal(xml.attrs.serialNumber, base);
});

Deno.test("without SOURCE_DATE_EPOCH: current time and random serial numbers", async () => {
  const before = Date.now();
  const a = await sbomJson(originalImage(), { clock: systemClock() });
  const b = await sbomJson(originalImage(), { clock: systemClock() });
  const after = Date.now();
  assert.match(a.serialNumber, V4_URN);
  assert.match(b.serialNumber, V4_URN);
  assert.notEqual(a.serialNumber, b.serialNumber);
  const t = Date.parse(a.metadata.timestamp);
  assert.ok(t >= before - 1000 && t <= after + 1000, `timestamp ${a.metadata.timestamp} is now`);
});

Deno.test("the SBOM command path loads neither validators nor prints anything on stderr", async () => {
  const config = new URL("../deno.json", import.meta.url).pathname;
  const code = `
    import { cyclonedxSbom } from ${
    JSON.stringify(new URL("../src/formats/cyclonedx.ts", import.meta.url).href)
  };
    import { systemClock } from ${JSON.stringify(new URL("../src/formats/clock.ts", import.meta.url).href)};
    import { originalImage } from ${
    JSON.stringify(new URL("./support/resolved_fixture.ts", import.meta.url).href)
  };
    const clock = systemClock({ SOURCE_DATE_EPOCH: "${SDE}" });
    const json = await cyclonedxSbom(originalImage(), { format: "json", specVersion: "1.6", includeEnv: false, clock });
    const xml = await cyclonedxSbom(originalImage(), { format: "xml", specVersion: "1.6", includeEnv: false, clock });
    console.log(JSON.stringify([json.length, xml.length]));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", "--config", config, code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(stderr, "", "nothing on stderr (the library's root entry would load ajv, which warns)");
  const [jsonLen, xmlLen] = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.ok(jsonLen > 1000 && xmlLen > 1000);
});

// ---------------------------------------------------------------------------------------------------------------
// Golden files: UPDATE_GOLDEN=1 deno test --allow-all tests/formats_cyclonedx_test.ts rewrites them.

Deno.test("golden: sbom.cdx.json (1.6)", async () => {
  await golden("sbom.cdx.json", (await sbom(originalImage(), { specVersion: "1.6" })).bytes);
});

Deno.test("golden: sbom-1.5.cdx.json", async () => {
  await golden("sbom-1.5.cdx.json", (await sbom(originalImage(), { specVersion: "1.5" })).bytes);
});

Deno.test("golden: sbom.cdx.xml (1.6)", async () => {
  await golden("sbom.cdx.xml", (await sbom(originalImage(), { format: "xml", specVersion: "1.6" })).bytes);
});

Deno.test("cyclonedx: XML stays well-formed when the image carries characters XML forbids", async () => {
  const base = originalImage();
  const configJson = structuredClone(base.configJson);
  configJson.config!.Labels = {
    ...configJson.config!.Labels,
    "hostile": "bell\u0007 and lone \ud800 surrogate",
  };
  const image: ResolvedImage = { ...base, configJson };
  // sbom() parses XML strictly (saxes); a raw U+0007 would make it throw.
  const xml = await sbom(image, { format: "xml" });
  assert.match(xml.text, /bell\uFFFD and lone \uFFFD surrogate/);
  const json = await sbomJson(image);
  assert.equal(
    props(json).get(`${PROPERTY_NAMESPACE}:label:hostile`),
    "bell\u0007 and lone \ud800 surrogate",
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Supplier and authors, the component alone, the artifacts' BOM, AWS-managed images.

/** The original image with the vendor and authors labels. */
function labelled(): ResolvedImage {
  const base = originalImage();
  const configJson = structuredClone(base.configJson);
  configJson.config!.Labels = {
    ...configJson.config!.Labels,
    "org.opencontainers.image.vendor": "Example Builds Inc.",
    "org.opencontainers.image.authors": "OS team <os@example.com>",
  };
  return { ...base, configJson };
}

Deno.test("supplier from the vendor label, authors from the authors label (author in 1.5)", async () => {
  const c16 =
    (await assertValidJson((await sbom(labelled(), { specVersion: "1.6" })).text, "1.6")).metadata.component;
  assert.deepEqual(c16.supplier, { name: "Example Builds Inc." });
  assert.deepEqual(c16.authors, [{ name: "OS team <os@example.com>" }]);
  assert.equal("author" in c16, false);
  const c15 =
    (await assertValidJson((await sbom(labelled(), { specVersion: "1.5" })).text, "1.5")).metadata.component;
  assert.deepEqual(c15.supplier, { name: "Example Builds Inc." });
  assert.equal(c15.author, "OS team <os@example.com>");
  assert.equal("authors" in c15, false);
  const plain = (await sbomJson(originalImage())).metadata.component;
  assert.equal("supplier" in plain || "authors" in plain, false, "nothing invented without the labels");
  const xml = await sbom(labelled(), { format: "xml", specVersion: "1.6" });
  assert.match(
    xml.text,
    /<supplier>\s*<name>Example Builds Inc\.<\/name>\s*<\/supplier>\s*<authors>\s*<author>\s*<name>OS team &lt;os@example\.com&gt;<\/name>/,
  );
  await assertValidXsd(xml.text, "1.6");
});

/** Validate an XML BOM against the official XSD with libxml2's xmllint (bom-1.6/1.5 and spdx.xsd). */
async function assertValidXsd(text: string, spec: SpecVersion): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "xsd-" });
  try {
    const lib = cyclonedxSchemaDir();
    // The bom XSD imports spdx.SNAPSHOT.xsd by a relative name: give it the library copy beside it.
    await Deno.copyFile(`${lib}/bom-${spec}.SNAPSHOT.xsd`, `${dir}/bom.xsd`);
    await Deno.copyFile(`${lib}/spdx.SNAPSHOT.xsd`, `${dir}/spdx.SNAPSHOT.xsd`);
    await Deno.writeTextFile(`${dir}/bom.xml`, text);
    const out = await run("xmllint", ["--noout", "--nonet", "--schema", `${dir}/bom.xsd`, `${dir}/bom.xml`]);
    assert.equal(out.code, 0, `XML fails bom-${spec}.xsd: ${out.stderr}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The CycloneDX library's res/schema directory in Deno's npm cache. */
function cyclonedxSchemaDir(): string {
  const resolved = import.meta.resolve("@cyclonedx/cyclonedx-library/Spec");
  const path = new URL(resolved).pathname;
  return `${path.slice(0, path.indexOf("/dist."))}/res/schema`;
}

Deno.test("the XSD check really checks: an element out of place fails it", async () => {
  const { text } = await sbom(originalImage(), { format: "xml" });
  await assertValidXsd(text, "1.6");
  const broken = text.replace("<name>os_build_env</name>", "<bogus/><name>os_build_env</name>");
  await assert.rejects(assertValidXsd(broken, "1.6"), /fails bom-1\.6\.xsd/);
});

Deno.test("every image SBOM validates against the official XSD, 1.6 and 1.5", async () => {
  for (const spec of ["1.6", "1.5"] as const) {
    for (const image of [originalImage(), originalImageViaIndex(), labelled()]) {
      await assertValidXsd(
        (await sbom(image, { format: "xml", specVersion: spec, includeEnv: true })).text,
        spec,
      );
    }
  }
});

Deno.test("component format: the image's component alone, valid as a 1.6 component", async () => {
  const bytes = await cyclonedxComponent(labelled(), {
    specVersion: "1.6",
    includeEnv: false,
    clock: fixedClock(),
  });
  const component = JSON.parse(new TextDecoder().decode(bytes));
  const full = (await sbomJson(labelled())).metadata.component;
  assert.deepEqual(component, full, "the same object metadata.component holds");
  for (const key of ["bom-ref", "purl", "hashes", "properties"]) assert.ok(key in component, key);
  // Spliced into another BOM's formulation (as the README shows), the result validates.
  const host = await sbomJson(originalImage());
  host.formulation = [{ "bom-ref": "formula:os", components: [component] }];
  await assertValidJson(JSON.stringify(host), "1.6");
  const bad = structuredClone(host);
  bad.formulation[0].components[0].version = 12;
  await assert.rejects(assertValidJson(JSON.stringify(bad), "1.6"), /strict schema/);
});

const ARTIFACTS = [
  { name: "os.img", digest: { sha256: "5f3c2b0d9a1e8f7c6b5a4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a" } },
  {
    name: "os.img.sig",
    digest: { sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
  },
];

async function artifacts(
  image: DescribedImage,
  opts: Partial<ArtifactsBomOptions> = {},
): Promise<{ text: string; bytes: Uint8Array }> {
  const bytes = await artifactsBom(image, {
    format: "json",
    specVersion: "1.6",
    includeEnv: false,
    clock: fixedClock(),
    artifacts: ARTIFACTS.slice(0, 1),
    artifactType: "firmware",
    codebuild: codebuildFrom(CODEBUILD_ENV),
    ...opts,
  });
  return { text: new TextDecoder().decode(bytes), bytes };
}

Deno.test("artifacts BOM: the artifact is metadata.component; the build container is in the formulation", async () => {
  const doc = await assertValidJson((await artifacts(labelled())).text, "1.6");
  assert.deepEqual(doc.metadata.component, {
    type: "firmware",
    name: "os.img",
    "bom-ref": "artifact:os.img",
    hashes: [{ alg: "SHA-256", content: ARTIFACTS[0].digest.sha256 }],
  });
  const [formula] = doc.formulation;
  const container = formula.components[0];
  assert.equal(container.type, "container");
  assert.equal(container.version, COMPACT_MANIFEST_DIGEST);
  assert.equal(container.purl, PURL);
  assert.deepEqual(container.authors, [{ name: "OS team <os@example.com>" }]);
  const [workflow] = formula.workflows;
  assert.equal(workflow.uid, CODEBUILD_ENV.CODEBUILD_BUILD_ARN, "the build ARN");
  assert.equal(workflow.timeStart, "2024-10-13T15:35:38Z");
  assert.deepEqual(workflow.taskTypes, ["build"]);
  assert.deepEqual(workflow.runtimeTopology, [{ ref: PURL }]);
  const [task] = workflow.tasks;
  assert.deepEqual(task.runtimeTopology, [{ ref: PURL }], "the container is the task's runtime");
  assert.deepEqual(task.outputs, [{ type: "artifact", resource: { ref: "artifact:os.img" } }]);
  assert.deepEqual(task.inputs, [{
    resource: { externalReference: { type: "vcs", url: "https://github.com/Vasu77df/os-image.git" } },
  }]);
});

Deno.test("artifacts BOM in CodeBuild for an image other than the build's: a resource, not the runtime", async () => {
  for (
    const [buildImage, relation] of [
      ["123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1", "false"],
      [`${REGISTRY}/os_build_env@sha256:${"1".repeat(64)}`, "unknown"],
    ]
  ) {
    const codebuild = codebuildFrom({ ...CODEBUILD_ENV, CODEBUILD_BUILD_IMAGE: buildImage });
    for (const format of ["json", "xml"] as const) {
      const { text } = await artifacts(labelled(), { codebuild, format });
      if (format === "xml") {
        await assertValidXsd(text, "1.6");
        assert.doesNotMatch(text, /runtimeTopology/);
        continue;
      }
      const doc = await assertValidJson(text, "1.6");
      const [workflow] = doc.formulation[0].workflows;
      assert.equal("runtimeTopology" in workflow, false, buildImage);
      assert.equal("runtimeTopology" in workflow.tasks[0], false, buildImage);
      assert.deepEqual(workflow.resourceReferences, [{ ref: PURL }], "still a resource of the build");
      const props = new Map(workflow.properties.map((p: Json) => [p.name, p.value]));
      assert.equal(props.get(`${NS}:codebuild:buildImage`), buildImage);
      assert.equal(props.get(`${NS}:codebuild:environmentImage`), relation);
    }
  }
});

Deno.test("artifacts BOM: the source URL carries no secret in any of its forms", async () => {
  for (
    const [given, want] of [
      [
        "https://x-token:s3cr3t-t0ken@github.com/o/r.git?access_token=s3cr3t-t0ken#x",
        "https://github.com/o/r.git",
      ],
      ["s3cr3t-t0ken@github.com/o/r.git", "github.com/o/r.git"],
      ["x:s3cr3t-t0ken@github.com/o/r.git", "github.com/o/r.git"],
      ["git@github.com:o/r.git", "ssh://git@github.com/o/r.git"],
      ["https://github.com/o/r.git", "https://github.com/o/r.git"],
    ]
  ) {
    const codebuild = codebuildFrom({ ...CODEBUILD_ENV, CODEBUILD_SOURCE_REPO_URL: given });
    const { text } = await artifacts(labelled(), { codebuild });
    assert.doesNotMatch(text, /s3cr3t/, given);
    const task = JSON.parse(text).formulation[0].workflows[0].tasks[0];
    assert.equal(task.inputs[0].resource.externalReference.url, want, given);
  }
});

Deno.test("artifacts BOM: two CodeBuild builds of the same artifacts never share a serial number", async () => {
  const a = JSON.parse((await artifacts(labelled())).text);
  const other = codebuildFrom({
    ...CODEBUILD_ENV,
    CODEBUILD_BUILD_ARN: CODEBUILD_ENV.CODEBUILD_BUILD_ARN.replace(
      /:[^:]+$/,
      ":00000000-0000-0000-0000-000000000000",
    ),
  });
  const b = JSON.parse((await artifacts(labelled(), { codebuild: other })).text);
  assert.notEqual(a.serialNumber, b.serialNumber);
  const later = codebuildFrom({ ...CODEBUILD_ENV, CODEBUILD_START_TIME: "1728833799000" });
  const c = JSON.parse((await artifacts(labelled(), { codebuild: later })).text);
  assert.notEqual(a.serialNumber, c.serialNumber);
});

Deno.test("artifacts BOM: several artifacts are components; outside CodeBuild a content-derived uid", async () => {
  const doc = await assertValidJson(
    (await artifacts(originalImage(), { artifacts: ARTIFACTS, artifactType: "file", codebuild: {} })).text,
    "1.6",
  );
  assert.equal("component" in doc.metadata, false);
  assert.deepEqual(doc.components.map((c: Json) => [c.type, c.name]), [["file", "os.img"], [
    "file",
    "os.img.sig",
  ]]);
  const [workflow] = doc.formulation[0].workflows;
  assert.match(workflow.uid, V5_URN);
  assert.equal(workflow.uid, doc.serialNumber);
  assert.equal("timeStart" in workflow, false);
  assert.deepEqual(
    doc.formulation[0].workflows[0].tasks[0].outputs.map((o: Json) => o.resource.ref),
    ["artifact:os.img", "artifact:os.img.sig"],
  );
});

Deno.test("artifacts BOM in XML validates against bom-1.6.xsd, with the same facts", async () => {
  for (const opts of [{}, { artifacts: ARTIFACTS, codebuild: {} }]) {
    const xml = (await artifacts(labelled(), { ...opts, format: "xml" })).text;
    await assertValidXsd(xml, "1.6");
    const bom = parseXml(xml);
    const formula = child(child(bom, "formulation"), "formula");
    assert.equal(child(child(formula, "components"), "component").attrs["bom-ref"], PURL);
    const workflow = child(child(formula, "workflows"), "workflow");
    assert.equal(child(child(workflow, "taskTypes"), "taskType").text, "build");
  }
});

Deno.test("an AWS-managed image: name and tag only, no purl, hash or digest version; marked unresolved", async () => {
  const managed = managedImage("aws/codebuild/standard:7.0")!;
  for (const spec of ["1.6", "1.5"] as const) {
    const doc = await assertValidJson((await sbom(managed, { specVersion: spec })).text, spec);
    const c = doc.metadata.component;
    assert.equal(c.name, "aws/codebuild/standard");
    assert.equal(c.version, "7.0");
    assert.equal("purl" in c || "hashes" in c, false);
    assert.equal(props(doc).get(`${NS}:image:resolved-by`), "unresolved");
    assert.match(props(doc).get(`${NS}:image:unresolved-reason`)!, /AWS-managed CodeBuild image/);
    await assertValidXsd((await sbom(managed, { format: "xml", specVersion: spec })).text, spec);
  }
  const art = await assertValidJson((await artifacts(managed)).text, "1.6");
  assert.equal(art.formulation[0].components[0].name, "aws/codebuild/standard");
});

Deno.test("golden: the component, the artifacts BOM (JSON and XML)", async () => {
  await golden(
    "component.cdx.json",
    await cyclonedxComponent(labelled(), { specVersion: "1.6", includeEnv: false, clock: fixedClock() }),
  );
  await golden("artifacts.cdx.json", (await artifacts(labelled())).bytes);
  await golden("artifacts.cdx.xml", (await artifacts(labelled(), { format: "xml" })).bytes);
});

Deno.test("cyclonedx: a hash value is written when it is 32, 40, 64, 96 or 128 hex digits, and only then", () => {
  // The rule as the CycloneDX library's normaliser states it (one pattern), held against the check the writer
  // makes (a length, then the digits): any string, and hex strings of every length around the allowed ones.
  const rule = /^(?:[a-fA-F0-9]{32}|[a-fA-F0-9]{40}|[a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})$/;
  const hexOf = (n: number) =>
    fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: n, maxLength: n });
  const content = fc.oneof(
    fc.string(),
    fc.integer({ min: 0, max: 130 }).chain(hexOf),
    fc.constantFrom(31, 32, 33, 40, 64, 96, 128, 129).chain((n) => hexOf(n).map((h) => `${h}\n`)),
    fc.constantFrom(32, 64).chain(hexOf).map((h) => `${h.slice(1)}g`),
  );
  fc.assert(
    fc.property(content, (c) => {
      assert.equal(supportsHash({ alg: "SHA-256", content: c }), rule.test(c), JSON.stringify(c));
    }),
    { numRuns: 2000 },
  );
  assert.equal(supportsHash({ alg: "SHA-255", content: "a".repeat(64) }), false);
});

// ---------------------------------------------------------------------------------------------------------------
// The image's attached documents in its BOMs

/** An inventory of one attached SBOM listing `packages` (found as `where` says). */
function inventoryOf(
  packages: AttachedInventory["packages"],
  where: Partial<AttachedInventory["sboms"][number]> = {},
): AttachedInventory {
  const digest = `sha256:${"1".repeat(64)}`;
  return {
    sboms: [{
      digest,
      manifestDigest: `sha256:${"2".repeat(64)}`,
      foundVia: "referrers-tag",
      envelope: "none",
      format: "SPDX-2.3",
      packages: packages.length,
      ...where,
    }],
    provenance: [],
    packages,
    notes: [],
  };
}

Deno.test("attached packages never take a bom-ref the BOM already holds (the image's, the tool's): XML validates", async () => {
  const taken = [PURL, `${TOOL_NAME}@${VERSION}`];
  const attached = inventoryOf(
    taken.map((purl) => ({
      name: "clash",
      purl,
      licenses: [],
      hashes: [],
      documents: [`sha256:${"1".repeat(64)}`],
    })),
  );
  for (const spec of ["1.6", "1.5"] as const) {
    const doc = await assertValidJson(
      (await sbom(originalImage(), { attached, specVersion: spec })).text,
      spec,
    );
    const refs = [
      ...doc.metadata.tools.components.map((c: Json) => c["bom-ref"]),
      doc.metadata.component["bom-ref"],
      ...doc.components.map((c: Json) => c["bom-ref"]),
    ];
    assert.deepEqual(refs, [...taken.toReversed(), ...taken.map((r) => `${r}#2`)]);
    await assertValidXsd(
      (await sbom(originalImage(), { attached, specVersion: spec, format: "xml" })).text,
      spec,
    );
  }
});

Deno.test("with SOURCE_DATE_EPOCH, a BOM's serial number names what was found attached, or that nothing was", async () => {
  const serial = async (
    make: (opts: Partial<ArtifactsBomOptions>) => Promise<{ text: string }>,
    a?: AttachedInventory,
  ) => JSON.parse((await make(a ? { attached: a } : {})).text).serialNumber;
  const none: AttachedInventory = { sboms: [], provenance: [], packages: [], notes: [] };
  const found = inventoryOf([]);
  for (
    const make of [
      (o: Partial<ArtifactsBomOptions>) => sbom(originalImage(), o),
      (o: Partial<ArtifactsBomOptions>) => artifacts(originalImage(), o),
    ]
  ) {
    const serials = [
      await serial(make),
      await serial(make, none),
      await serial(make, found),
      await serial(make, inventoryOf([], { manifestDigest: `sha256:${"3".repeat(64)}` })),
      await serial(make, inventoryOf([], { foundVia: "cosign-tag" })),
    ];
    assert.equal(new Set(serials).size, serials.length, `${serials}`);
    assert.equal(await serial(make, found), serials[2], "and stays the same for the same finds");
  }
});
