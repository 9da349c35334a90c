/**
 * Manifest, index and config decoding: media type from Content-Type or the body, type checks of every field
 * the tool reads, schema1 and unknown types refused, and readable errors for malformed documents.
 */

import assert from "node:assert/strict";
import { ManifestError, ToolError, UnsupportedError } from "../src/errors.ts";
import { MediaTypes } from "../src/image.ts";
import { decodeConfig, decodeDescriptor, decodeManifest, MANIFEST_ACCEPT } from "../src/manifest.ts";

const enc = new TextEncoder();
const bytes = (v: unknown) => enc.encode(typeof v === "string" ? v : JSON.stringify(v));
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const D3 = `sha256:${"3".repeat(64)}`;

const ociManifest = () => ({
  schemaVersion: 2,
  mediaType: MediaTypes.ociManifest,
  config: { mediaType: MediaTypes.ociConfig, digest: D1, size: 1234 },
  layers: [
    { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D2, size: 5678 },
    {
      mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
      digest: D3,
      size: 0,
      annotations: { "org.opencontainers.image.title": "x" },
    },
  ],
  annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
});

const ociIndex = () => ({
  schemaVersion: 2,
  mediaType: MediaTypes.ociIndex,
  manifests: [
    {
      mediaType: MediaTypes.ociManifest,
      digest: D1,
      size: 100,
      platform: { os: "linux", architecture: "amd64" },
    },
    {
      mediaType: MediaTypes.ociManifest,
      digest: D2,
      size: 200,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    },
    {
      mediaType: MediaTypes.ociManifest,
      digest: D3,
      size: 300,
      platform: { os: "unknown", architecture: "unknown" },
      annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": D1 },
    },
  ],
});

const dockerManifest = () => ({
  schemaVersion: 2,
  mediaType: MediaTypes.dockerManifest,
  config: { mediaType: MediaTypes.dockerConfig, digest: D1, size: 1500 },
  layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: D2, size: 3000 }],
});

const dockerList = () => ({
  schemaVersion: 2,
  mediaType: MediaTypes.dockerManifestList,
  manifests: [
    {
      mediaType: MediaTypes.dockerManifest,
      digest: D1,
      size: 528,
      platform: { os: "linux", architecture: "amd64" },
    },
  ],
});

Deno.test("MANIFEST_ACCEPT lists the four supported types, indexes first", () => {
  assert.deepStrictEqual(MANIFEST_ACCEPT, [
    MediaTypes.ociIndex,
    MediaTypes.ociManifest,
    MediaTypes.dockerManifestList,
    MediaTypes.dockerManifest,
  ]);
});

Deno.test("OCI manifest by Content-Type", () => {
  const d = decodeManifest(bytes(ociManifest()), MediaTypes.ociManifest);
  assert.equal(d.kind, "manifest");
  if (d.kind !== "manifest") return;
  assert.equal(d.mediaType, MediaTypes.ociManifest);
  assert.deepStrictEqual(d.manifest.config, { mediaType: MediaTypes.ociConfig, digest: D1, size: 1234 });
  assert.equal(d.manifest.layers.length, 2);
  assert.equal(d.manifest.layers[1].size, 0);
  assert.deepStrictEqual(d.manifest.layers[1].annotations, { "org.opencontainers.image.title": "x" });
  assert.deepStrictEqual(d.manifest.annotations, {
    "org.opencontainers.image.created": "2024-01-01T00:00:00Z",
  });
});

Deno.test("OCI index by Content-Type with parameters and odd case", () => {
  const d = decodeManifest(bytes(ociIndex()), "Application/VND.oci.image.index.v1+json; charset=utf-8");
  assert.equal(d.kind, "index");
  if (d.kind !== "index") return;
  assert.equal(d.mediaType, MediaTypes.ociIndex);
  assert.equal(d.index.manifests.length, 3);
  assert.deepStrictEqual(d.index.manifests[1].platform, {
    os: "linux",
    architecture: "arm64",
    variant: "v8",
  });
  assert.equal(d.index.manifests[2].annotations?.["vnd.docker.reference.type"], "attestation-manifest");
});

Deno.test("Docker schema2 manifest and manifest list by Content-Type", () => {
  const m = decodeManifest(bytes(dockerManifest()), MediaTypes.dockerManifest);
  assert.equal(m.kind, "manifest");
  assert.equal(m.mediaType, MediaTypes.dockerManifest);
  const l = decodeManifest(bytes(dockerList()), MediaTypes.dockerManifestList);
  assert.equal(l.kind, "index");
  assert.equal(l.mediaType, MediaTypes.dockerManifestList);
});

Deno.test("generic or missing Content-Type: the body's mediaType decides", () => {
  for (const ct of ["application/json", "text/plain", "application/octet-stream", "", null, undefined]) {
    assert.equal(decodeManifest(bytes(ociManifest()), ct).mediaType, MediaTypes.ociManifest, String(ct));
    assert.equal(decodeManifest(bytes(ociIndex()), ct).kind, "index", String(ct));
    assert.equal(
      decodeManifest(bytes(dockerManifest()), ct).mediaType,
      MediaTypes.dockerManifest,
      String(ct),
    );
    assert.equal(
      decodeManifest(bytes(dockerList()), ct).mediaType,
      MediaTypes.dockerManifestList,
      String(ct),
    );
  }
});

Deno.test("no mediaType anywhere: an OCI manifest or index by shape", () => {
  const { mediaType: _m, ...m } = ociManifest();
  const dm = decodeManifest(bytes(m), "application/json");
  assert.equal(dm.kind, "manifest");
  assert.equal(dm.mediaType, MediaTypes.ociManifest);
  const { mediaType: _i, ...i } = ociIndex();
  const di = decodeManifest(bytes(i), null);
  assert.equal(di.kind, "index");
  assert.equal(di.mediaType, MediaTypes.ociIndex);
  // A served type and no body mediaType is fine (the body field is optional in OCI).
  assert.equal(decodeManifest(bytes(i), MediaTypes.ociIndex).kind, "index");
});

Deno.test("Content-Type and body mediaType disagree: ManifestError naming both", () => {
  const cases: [unknown, string][] = [
    [ociManifest(), MediaTypes.ociIndex],
    [ociIndex(), MediaTypes.ociManifest],
    [dockerManifest(), MediaTypes.ociManifest],
    [ociManifest(), MediaTypes.dockerManifest],
  ];
  for (const [body, ct] of cases) {
    assert.throws(() => decodeManifest(bytes(body), ct), (err: unknown) => {
      assert.ok(err instanceof ManifestError, `${err}`);
      assert.match(err.message, /served as .* but its mediaType field says/);
      assert.ok(err.message.includes(ct));
      return true;
    });
  }
});

Deno.test("schema1 is UnsupportedError, by Content-Type (even unparsable) or by body", () => {
  for (
    const ct of [
      MediaTypes.dockerSchema1,
      MediaTypes.dockerSchema1Signed,
      `${MediaTypes.dockerSchema1Signed}; x=y`,
    ]
  ) {
    assert.throws(() => decodeManifest(bytes("this is not even json"), ct), UnsupportedError);
  }
  const s1 = { schemaVersion: 1, name: "library/alpine", tag: "latest", fsLayers: [], history: [] };
  assert.throws(() => decodeManifest(bytes(s1), "application/json"), (err: unknown) => {
    assert.ok(err instanceof UnsupportedError);
    assert.match(err.message, /schema1/);
    assert.ok(err.hint);
    return true;
  });
  assert.throws(() => decodeManifest(bytes(s1), MediaTypes.ociManifest), UnsupportedError);
});

Deno.test("unknown media types are UnsupportedError", () => {
  const artifact = { ...ociManifest(), mediaType: "application/vnd.oci.artifact.manifest.v1+json" };
  assert.throws(() => decodeManifest(bytes(artifact), "application/json"), (err: unknown) => {
    assert.ok(err instanceof UnsupportedError, `${err}`);
    assert.match(
      err.message,
      /unsupported manifest media type "application\/vnd\.oci\.artifact\.manifest\.v1\+json"/,
    );
    return true;
  });
  const long = { ...ociManifest(), mediaType: "x".repeat(10_000) };
  assert.throws(() => decodeManifest(bytes(long), null), (err: unknown) => {
    assert.ok(err instanceof UnsupportedError);
    assert.ok(err.message.length < 300);
    return true;
  });
});

Deno.test("not JSON, not UTF-8, not an object: ManifestError", () => {
  const bad: [Uint8Array, RegExp][] = [
    [bytes("{"), /not valid JSON/],
    [bytes(""), /not valid JSON/],
    [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /not valid JSON/],
    [bytes("[]"), /not a JSON object/],
    [bytes("null"), /not a JSON object/],
    [bytes('"manifest"'), /not a JSON object/],
    [bytes("42"), /not a JSON object/],
  ];
  for (const [b, why] of bad) {
    assert.throws(() => decodeManifest(b, MediaTypes.ociManifest), (err: unknown) => {
      assert.ok(err instanceof ManifestError, `${err}`);
      assert.match(err.message, why);
      return true;
    });
  }
});

Deno.test("schemaVersion other than 2 is a ManifestError", () => {
  for (const v of [undefined, 3, "2", 0, null, 2.5]) {
    const m = { ...ociManifest(), schemaVersion: v };
    assert.throws(() => decodeManifest(bytes(m), MediaTypes.ociManifest), (err: unknown) => {
      assert.ok(err instanceof ManifestError && !(err instanceof UnsupportedError), `${v}: ${err}`);
      assert.match(err.message, /schemaVersion/);
      return true;
    });
  }
});

/** Apply `edit` to a fresh OCI manifest and expect a ManifestError matching `why`. */
function rejectsManifest(edit: (m: Record<string, unknown>) => void, why: RegExp) {
  const m = ociManifest() as unknown as Record<string, unknown>;
  edit(m);
  assert.throws(() => decodeManifest(bytes(m), MediaTypes.ociManifest), (err: unknown) => {
    assert.ok(err instanceof ManifestError, `${err}`);
    assert.match(err.message, why);
    return true;
  });
}

Deno.test("manifest: missing or malformed config and layers", () => {
  rejectsManifest((m) => delete m.config, /manifest config is not an object/);
  rejectsManifest((m) => (m.config = "sha256:abc"), /manifest config is not an object/);
  rejectsManifest((m) => (m.config = [1]), /manifest config is not an object/);
  rejectsManifest((m) => delete m.layers, /no layers array/);
  rejectsManifest((m) => (m.layers = {}), /no layers array/);
  rejectsManifest((m) => (m.layers = [null]), /manifest layer 0 is not an object/);
  rejectsManifest((m) => ((m.layers as unknown[])[1] = 5), /manifest layer 1 is not an object/);
});

Deno.test("descriptor fields of the wrong type", () => {
  const cfg = (c: Record<string, unknown>) => (m: Record<string, unknown>) => (m.config = c);
  const base = { mediaType: MediaTypes.ociConfig, digest: D1, size: 1 };
  rejectsManifest(cfg({ ...base, mediaType: undefined }), /manifest config has no mediaType/);
  rejectsManifest(cfg({ ...base, mediaType: "" }), /manifest config has no mediaType/);
  rejectsManifest(cfg({ ...base, mediaType: 7 }), /manifest config has no mediaType/);
  rejectsManifest(cfg({ ...base, digest: undefined }), /manifest config has no digest/);
  rejectsManifest(cfg({ ...base, digest: 12 }), /manifest config has no digest/);
  rejectsManifest(cfg({ ...base, digest: "sha256:XYZ" }), /manifest config: invalid digest/);
  rejectsManifest(cfg({ ...base, digest: `sha256:${"A".repeat(64)}` }), /manifest config: invalid digest/);
  rejectsManifest(cfg({ ...base, size: "1" }), /manifest config has no valid size/);
  rejectsManifest(cfg({ ...base, size: -1 }), /manifest config has no valid size/);
  rejectsManifest(cfg({ ...base, size: 1.5 }), /manifest config has no valid size/);
  rejectsManifest(cfg({ ...base, size: 2 ** 53 }), /manifest config has no valid size/);
  rejectsManifest(cfg({ ...base, size: null }), /manifest config has no valid size/);
  rejectsManifest(
    cfg({ ...base, annotations: { a: 1 } }),
    /manifest config annotations must be an object of strings/,
  );
  rejectsManifest(
    cfg({ ...base, annotations: ["a"] }),
    /manifest config annotations must be an object of strings/,
  );
  rejectsManifest((m) => (m.annotations = "x"), /manifest annotations must be an object of strings/);
  rejectsManifest(
    (m) => (m.subject = { mediaType: MediaTypes.ociManifest, digest: "nope", size: 1 }),
    /manifest subject: invalid digest/,
  );
});

Deno.test("descriptor extras: subject, artifactType, urls; urls of the wrong type are dropped", () => {
  const m = {
    ...ociManifest(),
    artifactType: "application/vnd.example+type",
    subject: { mediaType: MediaTypes.ociManifest, digest: D3, size: 9 },
  };
  (m.layers[0] as Record<string, unknown>).urls = ["https://mirror.example/blob"];
  (m.layers[1] as Record<string, unknown>).urls = [1, 2];
  const d = decodeManifest(bytes(m), MediaTypes.ociManifest);
  assert.ok(d.kind === "manifest");
  assert.equal(d.manifest.artifactType, "application/vnd.example+type");
  assert.deepStrictEqual(d.manifest.subject, { mediaType: MediaTypes.ociManifest, digest: D3, size: 9 });
  assert.deepStrictEqual(d.manifest.layers[0].urls, ["https://mirror.example/blob"]);
  assert.equal(d.manifest.layers[1].urls, undefined);
});

/** Apply `edit` to a fresh OCI index and expect a ManifestError matching `why`. */
function rejectsIndex(edit: (m: Record<string, unknown>) => void, why: RegExp) {
  const m = ociIndex() as unknown as Record<string, unknown>;
  edit(m);
  assert.throws(() => decodeManifest(bytes(m), MediaTypes.ociIndex), (err: unknown) => {
    assert.ok(err instanceof ManifestError, `${err}`);
    assert.match(err.message, why);
    return true;
  });
}

Deno.test("index: missing manifests, bad entries, bad platforms", () => {
  const entry = (i: number) => (m: Record<string, unknown>) => (m.manifests as Record<string, unknown>[])[i];
  rejectsIndex((m) => delete m.manifests, /index has no manifests array/);
  rejectsIndex((m) => (m.manifests = { a: 1 }), /index has no manifests array/);
  rejectsIndex((m) => (m.manifests = ["x"]), /index entry 0 is not an object/);
  rejectsIndex((m) => (entry(1)(m).digest = "sha256:short"), /index entry 1: invalid digest/);
  rejectsIndex((m) => (entry(0)(m).platform = "linux/amd64"), /index entry 0 has an invalid platform/);
  rejectsIndex((m) => (entry(0)(m).platform = null), /index entry 0 has an invalid platform/);
  rejectsIndex((m) => (entry(0)(m).platform = { os: "linux" }), /index entry 0 has an invalid platform/);
  rejectsIndex(
    (m) => (entry(0)(m).platform = { os: 1, architecture: "amd64" }),
    /index entry 0 has an invalid platform/,
  );
  rejectsIndex(
    (m) => (entry(1)(m).platform = { os: "linux", architecture: "arm", variant: 7 }),
    /index entry 1 has an invalid platform variant/,
  );
  rejectsIndex((m) => (m.annotations = { a: null }), /index annotations must be an object of strings/);
});

Deno.test("index: an empty manifests array is a valid index", () => {
  const d = decodeManifest(bytes({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] }), null);
  assert.ok(d.kind === "index");
  assert.deepStrictEqual(d.index.manifests, []);
});

Deno.test("decodeDescriptor keeps only the known fields", () => {
  const d = decodeDescriptor(
    { mediaType: "x/y", digest: D1, size: 3, extra: "dropped", data: "AAAA" },
    "thing",
  );
  assert.deepStrictEqual(d, { mediaType: "x/y", digest: D1, size: 3 });
});

Deno.test("decodeConfig: a typical config", () => {
  const cfg = {
    architecture: "amd64",
    os: "linux",
    created: "2024-05-01T12:00:00Z",
    config: {
      Env: ["PATH=/usr/bin"],
      Cmd: ["/bin/sh"],
      Labels: { "org.opencontainers.image.source": "https://github.com/x/y" },
    },
    rootfs: { type: "layers", diff_ids: [D1, D2] },
    history: [{ created_by: "ADD file" }, { created_by: "CMD", empty_layer: true }],
    unknownField: { kept: true },
  };
  const out = decodeConfig(bytes(cfg));
  assert.deepStrictEqual(out, cfg);
});

Deno.test("decodeConfig: null sections are tolerated", () => {
  const out = decodeConfig(
    bytes({ os: "linux", config: { Labels: null, Env: null }, history: null, rootfs: null }),
  );
  assert.equal(out.os, "linux");
  assert.deepStrictEqual(decodeConfig(bytes({})), {});
  assert.deepStrictEqual(decodeConfig(bytes({ config: null })), { config: null });
});

Deno.test("decodeConfig: fields of the wrong type are ManifestErrors", () => {
  const bad: [unknown, RegExp][] = [
    ["[]", /image config is not a JSON object/],
    ["{", /image config is not valid JSON/],
    [{ architecture: 1 }, /field architecture must be a string/],
    [{ os: ["linux"] }, /field os must be a string/],
    [{ variant: {} }, /field variant must be a string/],
    [{ created: 1700000000 }, /field created must be a string/],
    [{ author: false }, /field author must be a string/],
    [{ config: "x" }, /field config must be an object/],
    [{ config: [] }, /field config must be an object/],
    [{ config: { Labels: ["a=b"] } }, /Labels must be an object of strings/],
    [{ config: { Labels: "a=b" } }, /Labels must be an object of strings/],
    [{ config: { Labels: { a: 1 } } }, /Labels must be an object of strings/],
    [{ config: { Labels: { a: null } } }, /Labels must be an object of strings/],
    [{ config: { Env: "PATH=/bin" } }, /Env must be an array of strings/],
    [{ config: { Env: [1] } }, /Env must be an array of strings/],
    [{ history: {} }, /history must be an array/],
    [{ history: ["x"] }, /history entries must be objects/],
    [{ history: [null] }, /history entries must be objects/],
    [{ rootfs: "layers" }, /rootfs must be an object/],
    [{ rootfs: { diff_ids: D1 } }, /diff_ids must be an array of strings/],
    [{ rootfs: { diff_ids: [1] } }, /diff_ids must be an array of strings/],
  ];
  for (const [body, why] of bad) {
    assert.throws(() => decodeConfig(bytes(body)), (err: unknown) => {
      assert.ok(err instanceof ManifestError, `${JSON.stringify(body)}: ${err}`);
      assert.ok(err instanceof ToolError);
      assert.match(err.message, why);
      return true;
    }, JSON.stringify(body));
  }
});

Deno.test("decodeManifest and decodeConfig survive deeply nested JSON", () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  for (const f of [() => decodeManifest(bytes(deep), null), () => decodeConfig(bytes(deep))]) {
    assert.throws(f, (err: unknown) => err instanceof ToolError, "a typed error, not a RangeError");
  }
  const deepObj = '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000);
  assert.throws(() => decodeManifest(bytes(deepObj), null), ManifestError);
  const cfg = decodeConfig(bytes(`{"os":"linux","x":${deepObj}}`));
  assert.equal(cfg.os, "linux");
});
