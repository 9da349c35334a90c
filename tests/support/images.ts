/**
 * Seeds a test registry with known images (exact bytes kept in a {@linkcode Catalog}): OCI and Docker schema2
 * images, a nested repository, an OCI index and a Docker manifest list (linux/amd64, linux/arm64/v8 and a BuildKit
 * style attestation manifest, always OCI), an image whose config is the real `fixtures/original-build-image/config.json`,
 * and a `public/` image for anonymous token access. Layers are real but tiny `tar+gzip` blobs.
 *
 * @module
 */

import { pushBlob, pushManifest, type RegistryConnection, sha256Digest } from "./push.ts";
import type { TestRegistry } from "./registry.ts";

/** Media types used by the seeded content. */
export const MediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  inToto: "application/vnd.in-toto+json",
} as const;

/** Digest and size of `fixtures/original-build-image/config.json`. */
export const ORIGINAL_CONFIG = {
  digest: "sha256:8a4a4313bd7cff420330aaf52e49da247b4c6107f44211d92db576e49b3f9659",
  size: 4552,
} as const;

/** An OCI/Docker platform. */
export interface SeededPlatform {
  /** e.g. `linux`, `unknown`. */
  os: string;
  /** e.g. `amd64`, `arm64`, `unknown`. */
  architecture: string;
  /** e.g. `v8`. */
  variant?: string;
}

/** A pushed layer. */
export interface SeededLayer {
  /** Layer media type. */
  mediaType: string;
  /** Digest of the (compressed) blob. */
  digest: string;
  /** Blob size. */
  size: number;
  /** Blob bytes. */
  bytes: Uint8Array;
  /** Digest of the uncompressed content (as in the config's `rootfs.diff_ids`). */
  diffId: string;
  /** Descriptor annotations, if any. */
  annotations?: Record<string, string>;
}

/** A pushed single-platform manifest with its config and layers. */
export interface SeededManifest {
  /** Repository. */
  repo: string;
  /** `repo@digest`. */
  digestReference: string;
  /** Digest of `manifestBytes`. */
  manifestDigest: string;
  /** Exact manifest bytes as pushed. */
  manifestBytes: Uint8Array;
  /** Manifest media type. */
  mediaType: string;
  /** Config digest. */
  configDigest: string;
  /** Exact config bytes as pushed. */
  configBytes: Uint8Array;
  /** Config media type. */
  configMediaType: string;
  /** Platform of the config (`architecture`/`os`/`variant`). */
  platform: SeededPlatform;
  /** Layers in manifest order. */
  layers: SeededLayer[];
}

/** A tagged single-platform image. */
export interface SeededImage extends SeededManifest {
  /** Discriminator. */
  kind: "image";
  /** Tag. */
  tag: string;
  /** `repo:tag`. */
  reference: string;
}

/** An entry of a seeded index / manifest list. */
export interface SeededIndexEntry extends SeededManifest {
  /** Descriptor annotations (attestation entries). */
  annotations?: Record<string, string>;
  /** Whether this is the `unknown/unknown` attestation manifest. */
  attestation: boolean;
}

/** A tagged OCI index or Docker manifest list. */
export interface SeededIndex {
  /** Discriminator. */
  kind: "index";
  /** Repository. */
  repo: string;
  /** Tag. */
  tag: string;
  /** `repo:tag`. */
  reference: string;
  /** `repo@digest`. */
  digestReference: string;
  /** Digest of `manifestBytes`. */
  manifestDigest: string;
  /** Exact index bytes as pushed. */
  manifestBytes: Uint8Array;
  /** Index media type. */
  mediaType: string;
  /** Entries in index order: linux/amd64, linux/arm64/v8, unknown/unknown attestation (for linux/amd64). */
  entries: SeededIndexEntry[];
}

/** Everything {@linkcode seedImages} pushed. */
export interface Catalog {
  /** `test/oci:v1`: OCI manifest, OCI config, 2 layers, linux/amd64. */
  oci: SeededImage;
  /** `test/docker:v1`: Docker schema2, 2 layers, linux/amd64. */
  docker: SeededImage;
  /** `team/sub/project/app:1.0`: OCI, nested repository name. */
  nested: SeededImage;
  /** `test/multi:latest`: OCI index. */
  multi: SeededIndex;
  /** `test/dockerlist:latest`: Docker manifest list. */
  dockerlist: SeededIndex;
  /** `test/original:latest`: Docker schema2 with the real `fixtures/original-build-image/config.json`. */
  original: SeededImage;
  /** `public/hello:latest`: small OCI image, pullable anonymously in token mode. */
  public: SeededImage;
}

const enc = new TextEncoder();

/** A one-file ustar archive. */
export function tarFile(name: string, content: Uint8Array, mtime = 1704067200): Uint8Array {
  const header = new Uint8Array(512);
  const put = (off: number, len: number, s: string) => header.set(enc.encode(s).subarray(0, len), off);
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
  put(0, 100, name);
  put(100, 8, octal(0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(content.length, 12));
  put(136, 12, octal(mtime, 12));
  put(148, 8, "        ");
  put(156, 1, "0");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(265, 32, "root");
  put(297, 32, "root");
  let sum = 0;
  for (const b of header) sum += b;
  put(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  const padded = Math.ceil(content.length / 512) * 512;
  const out = new Uint8Array(512 + padded + 1024);
  out.set(header, 0);
  out.set(content, 512);
  return out;
}

/** gzip `bytes`. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function randomHex(n: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** A tiny random tar+gzip layer holding `name`. */
async function makeLayer(name: string, mediaType: string): Promise<SeededLayer> {
  const tar = tarFile(name, enc.encode(`${name} ${randomHex(16)}\n`));
  const bytes = await gzip(tar);
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes, diffId: sha256Digest(tar) };
}

interface ImageSpec {
  repo: string;
  docker: boolean;
  platform: SeededPlatform;
  layerCount: number;
  /** Exact config bytes; generated when absent. */
  configBytes?: Uint8Array;
  /** Replaces the generated layers (attestations). */
  layers?: SeededLayer[];
  label: string;
}

function configJson(spec: ImageSpec, layers: SeededLayer[]): Uint8Array {
  const config = {
    architecture: spec.platform.architecture,
    ...(spec.platform.variant ? { variant: spec.platform.variant } : {}),
    os: spec.platform.os,
    created: "2024-01-01T00:00:00Z",
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/sh"],
      Labels: { "org.opencontainers.image.title": spec.label },
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l, i) => ({
      created: "2024-01-01T00:00:00Z",
      created_by: `COPY layer${i} / # ${l.diffId}`,
    })),
  };
  // Docker tooling writes compact configs; OCI ones get a different layout so byte-exactness is exercised.
  return enc.encode(spec.docker ? JSON.stringify(config) : JSON.stringify(config, null, 2));
}

function descriptor(
  mediaType: string,
  digest: string,
  size: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { mediaType, digest, size, ...extra };
}

async function pushImageManifest(
  reg: RegistryConnection,
  spec: ImageSpec,
  ref?: string,
): Promise<SeededManifest> {
  const layerType = spec.docker ? MediaTypes.dockerLayer : MediaTypes.ociLayer;
  const layers = spec.layers ??
    await Promise.all(
      Array.from({ length: spec.layerCount }, (_, i) => makeLayer(`${spec.label}-layer${i}.txt`, layerType)),
    );
  const configBytes = spec.configBytes ?? configJson(spec, layers);
  const configMediaType = spec.docker ? MediaTypes.dockerConfig : MediaTypes.ociConfig;
  const mediaType = spec.docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest;
  const [configDigest] = await Promise.all([
    pushBlob(reg, spec.repo, configBytes),
    ...layers.map((l) => pushBlob(reg, spec.repo, l.bytes)),
  ]);
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: descriptor(configMediaType, configDigest, configBytes.length),
    layers: layers.map((l) =>
      descriptor(l.mediaType, l.digest, l.size, l.annotations ? { annotations: l.annotations } : {})
    ),
  };
  // Docker writes 3-space indented manifests; OCI ones are compact here.
  const manifestBytes = enc.encode(
    spec.docker ? JSON.stringify(manifest, null, 3) : JSON.stringify(manifest),
  );
  const manifestDigest = sha256Digest(manifestBytes);
  await pushManifest(reg, spec.repo, ref ?? manifestDigest, manifestBytes, mediaType);
  return {
    repo: spec.repo,
    digestReference: `${spec.repo}@${manifestDigest}`,
    manifestDigest,
    manifestBytes,
    mediaType,
    configDigest,
    configBytes,
    configMediaType,
    platform: spec.platform,
    layers,
  };
}

async function pushImage(reg: RegistryConnection, spec: ImageSpec, tag: string): Promise<SeededImage> {
  const m = await pushImageManifest(reg, spec, tag);
  return { kind: "image", tag, reference: `${spec.repo}:${tag}`, ...m };
}

/** A BuildKit-style SPDX in-toto attestation layer for `subject`. */
function attestationLayer(subject: string): SeededLayer {
  const statement = {
    _type: "https://in-toto.io/Statement/v0.1",
    predicateType: "https://spdx.dev/Document",
    subject: [{
      name: "pkg:docker/test/multi@latest?platform=linux%2Famd64",
      digest: { sha256: subject.slice(7) },
    }],
    predicate: {
      spdxVersion: "SPDX-2.3",
      dataLicense: "CC0-1.0",
      SPDXID: "SPDXRef-DOCUMENT",
      name: "test/multi",
      documentNamespace: `https://example.invalid/spdx/${randomHex(8)}`,
      creationInfo: { created: "2024-01-01T00:00:00Z", creators: ["Tool: test-seed"] },
      packages: [{ name: "busybox", SPDXID: "SPDXRef-Package-busybox", versionInfo: "1.36.1" }],
    },
  };
  const bytes = enc.encode(JSON.stringify(statement));
  const digest = sha256Digest(bytes);
  return {
    mediaType: MediaTypes.inToto,
    digest,
    size: bytes.length,
    bytes,
    diffId: digest,
    annotations: { "in-toto.io/predicate-type": "https://spdx.dev/Document" },
  };
}

/**
 * Push an index (OCI, or a Docker manifest list with `docker`) `repo:tag` of linux/amd64, linux/arm64/v8
 * and a BuildKit-style attestation manifest (an SPDX in-toto statement) for the amd64 image.
 */
export async function pushIndex(
  reg: RegistryConnection,
  repo: string,
  tag: string,
  docker: boolean,
): Promise<SeededIndex> {
  const amd64 = await pushImageManifest(reg, {
    repo,
    docker,
    platform: { os: "linux", architecture: "amd64" },
    layerCount: 2,
    label: `${repo}-amd64`,
  });
  const arm64 = await pushImageManifest(reg, {
    repo,
    docker,
    platform: { os: "linux", architecture: "arm64", variant: "v8" },
    layerCount: 2,
    label: `${repo}-arm64`,
  });
  const attestationAnnotations = {
    "vnd.docker.reference.digest": amd64.manifestDigest,
    "vnd.docker.reference.type": "attestation-manifest",
  };
  // Attestation manifests are OCI even in a Docker manifest list (BuildKit never writes schema2 attestations, and
  // a schema2 manifest with an in-toto layer is rejected by clients such as skopeo).
  const att = await pushImageManifest(reg, {
    repo,
    docker: false,
    platform: { os: "unknown", architecture: "unknown" },
    layerCount: 0,
    layers: [attestationLayer(amd64.manifestDigest)],
    label: `${repo}-attestation`,
  });
  const entries: SeededIndexEntry[] = [
    { ...amd64, attestation: false },
    { ...arm64, attestation: false },
    { ...att, attestation: true, annotations: attestationAnnotations },
  ];
  const mediaType = docker ? MediaTypes.dockerList : MediaTypes.ociIndex;
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: entries.map((e) =>
      descriptor(e.mediaType, e.manifestDigest, e.manifestBytes.length, {
        ...(e.annotations ? { annotations: e.annotations } : {}),
        platform: e.platform,
      })
    ),
  };
  const manifestBytes = enc.encode(docker ? JSON.stringify(index, null, 3) : JSON.stringify(index));
  const manifestDigest = await pushManifest(reg, repo, tag, manifestBytes, mediaType);
  return {
    kind: "index",
    repo,
    tag,
    reference: `${repo}:${tag}`,
    digestReference: `${repo}@${manifestDigest}`,
    manifestDigest,
    manifestBytes,
    mediaType,
    entries,
  };
}

/** Bytes of `fixtures/original-build-image/config.json` (digest-checked). */
export async function originalConfigBytes(): Promise<Uint8Array> {
  const bytes = await Deno.readFile(
    new URL("../../fixtures/original-build-image/config.json", import.meta.url),
  );
  if (sha256Digest(bytes) !== ORIGINAL_CONFIG.digest || bytes.length !== ORIGINAL_CONFIG.size) {
    throw new Error(`fixtures/original-build-image/config.json changed: expected ${ORIGINAL_CONFIG.digest}`);
  }
  return bytes;
}

/** Push the test images (see {@linkcode Catalog}) to `reg` and return what was pushed, byte for byte. */
export async function seedImages(reg: TestRegistry): Promise<Catalog> {
  const amd64 = { os: "linux", architecture: "amd64" };
  const [oci, docker, nested, multi, dockerlist, original, pub] = await Promise.all([
    pushImage(reg, { repo: "test/oci", docker: false, platform: amd64, layerCount: 2, label: "oci" }, "v1"),
    pushImage(
      reg,
      { repo: "test/docker", docker: true, platform: amd64, layerCount: 2, label: "docker" },
      "v1",
    ),
    pushImage(reg, {
      repo: "team/sub/project/app",
      docker: false,
      platform: amd64,
      layerCount: 2,
      label: "nested",
    }, "1.0"),
    pushIndex(reg, "test/multi", "latest", false),
    pushIndex(reg, "test/dockerlist", "latest", true),
    (async () =>
      pushImage(reg, {
        repo: "test/original",
        docker: true,
        platform: amd64,
        layerCount: 7,
        configBytes: await originalConfigBytes(),
        label: "original",
      }, "latest"))(),
    pushImage(
      reg,
      { repo: "public/hello", docker: false, platform: amd64, layerCount: 1, label: "hello" },
      "latest",
    ),
  ]);
  return { oci, docker, nested, multi, dockerlist, original, public: pub };
}

/** All tagged entries of `catalog`. */
export function catalogEntries(catalog: Catalog): (SeededImage | SeededIndex)[] {
  return Object.values(catalog);
}

/** An OCI image manifest pushed by {@linkcode pushSmallImage}. */
export interface PushedManifest {
  digest: string;
  bytes: Uint8Array;
  mediaType: string;
  configDigest: string;
}

/**
 * Push a small OCI image whose config is `config` (one tiny layer), tagged `tag` when given. For tests that need
 * an image of a particular platform, or one whose config says what its index entry does not.
 */
export async function pushSmallImage(
  reg: RegistryConnection,
  repo: string,
  config: Record<string, unknown>,
  tag?: string,
): Promise<PushedManifest> {
  const configBytes = enc.encode(JSON.stringify({ rootfs: { type: "layers", diff_ids: [] }, ...config }));
  const layer = await gzip(tarFile("hello.txt", enc.encode(`${JSON.stringify(config)}\n`)));
  const [configDigest, layerDigest] = await Promise.all([
    pushBlob(reg, repo, configBytes),
    pushBlob(reg, repo, layer),
  ]);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: configDigest, size: configBytes.byteLength },
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: layerDigest,
      size: layer.byteLength,
    }],
  };
  const bytes = enc.encode(JSON.stringify(manifest));
  const digest = await pushManifest(reg, repo, tag ?? sha256Digest(bytes), bytes, MediaTypes.ociManifest);
  return { digest, bytes, mediaType: MediaTypes.ociManifest, configDigest };
}

/** Push an OCI index of `entries` (each a pushed manifest and the platform the index claims for it). */
export async function pushIndexOf(
  reg: RegistryConnection,
  repo: string,
  tag: string,
  entries: { manifest: PushedManifest; platform: Record<string, string> }[],
): Promise<{ digest: string; bytes: Uint8Array }> {
  const index = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: entries.map((e) => ({
      mediaType: e.manifest.mediaType,
      digest: e.manifest.digest,
      size: e.manifest.bytes.byteLength,
      platform: e.platform,
    })),
  };
  const bytes = enc.encode(JSON.stringify(index));
  const digest = await pushManifest(reg, repo, tag, bytes, MediaTypes.ociIndex);
  return { digest, bytes };
}

// ---------------------------------------------------------------------------------------------------------------
// Attachments: SBOMs and provenance attached to an image the ways tools attach them, through the registry
// API.

/** Media types of attached content. */
export const AttachmentTypes = {
  empty: "application/vnd.oci.empty.v1+json",
  spdxJson: "application/spdx+json",
  cosignSpdxJson: "text/spdx+json",
  cyclonedxJson: "application/vnd.cyclonedx+json",
  inToto: "application/vnd.in-toto+json",
  dsse: "application/vnd.dsse.envelope.v1+json",
  cosignSignature: "application/vnd.dev.cosign.simplesigning.v1+json",
} as const;

/** The OCI empty descriptor's content (`{}`). */
export const EMPTY_JSON: Uint8Array = enc.encode("{}");

/** A package to list in a test SBOM. */
export interface TestPackage {
  name: string;
  version: string;
  purl?: string;
  license?: string;
  /** Hex SHA-256 of the package. */
  sha256?: string;
}

/** `n` distinct packages `<prefix>-<i>` (npm purls, MIT, a SHA-256 each). */
export function testPackages(n: number, prefix = "pkg"): TestPackage[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix}-${i}`,
    version: `1.${i % 100}.${i % 7}`,
    purl: `pkg:npm/${prefix}-${i}@1.${i % 100}.${i % 7}`,
    license: i % 3 === 0 ? "Apache-2.0" : "MIT",
    sha256: sha256Digest(enc.encode(`${prefix}-${i}`)).slice(7),
  }));
}

/** An SPDX 2.3 JSON document describing an image (a CONTAINER root package) that holds `packages`. */
export function spdxDocument(name: string, packages: TestPackage[]): Uint8Array {
  const doc = {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name,
    documentNamespace: `https://example.invalid/spdx/${name}/${randomHex(8)}`,
    creationInfo: { created: "2024-01-01T00:00:00Z", creators: ["Tool: test-seed"] },
    documentDescribes: ["SPDXRef-Image"],
    packages: [
      {
        name,
        SPDXID: "SPDXRef-Image",
        primaryPackagePurpose: "CONTAINER",
        downloadLocation: "NOASSERTION",
      },
      ...packages.map((p, i) => ({
        name: p.name,
        SPDXID: `SPDXRef-Package-${i}`,
        versionInfo: p.version,
        downloadLocation: "NOASSERTION",
        licenseConcluded: "NOASSERTION",
        licenseDeclared: p.license ?? "NOASSERTION",
        ...(p.sha256 ? { checksums: [{ algorithm: "SHA256", checksumValue: p.sha256 }] } : {}),
        ...(p.purl
          ? {
            externalRefs: [{
              referenceCategory: "PACKAGE-MANAGER",
              referenceType: "purl",
              referenceLocator: p.purl,
            }],
          }
          : {}),
      })),
    ],
  };
  return enc.encode(JSON.stringify(doc));
}

/** A CycloneDX 1.5 JSON document listing `packages`. */
export function cyclonedxDocument(packages: TestPackage[]): Uint8Array {
  const bom = {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    version: 1,
    metadata: { component: { type: "container", name: "the-image" } },
    components: packages.map((p) => ({
      type: "library",
      name: p.name,
      version: p.version,
      ...(p.purl ? { purl: p.purl } : {}),
      ...(p.license ? { licenses: [{ license: { id: p.license } }] } : {}),
      ...(p.sha256 ? { hashes: [{ alg: "SHA-256", content: p.sha256 }] } : {}),
    })),
  };
  return enc.encode(JSON.stringify(bom, null, 2));
}

/** An in-toto Statement v1 about `subjectDigest`. */
export function inTotoStatement(
  subjectDigest: string,
  predicateType: string,
  predicate: unknown,
): Uint8Array {
  const [alg, hex] = subjectDigest.split(":");
  return enc.encode(JSON.stringify({
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "image", digest: { [alg]: hex } }],
    predicateType,
    predicate,
  }));
}

/** A DSSE envelope of an in-toto payload, with a made-up signature (cosign's `.att` layers). */
export function dsseEnvelope(payload: Uint8Array): Uint8Array {
  return enc.encode(JSON.stringify({
    payloadType: AttachmentTypes.inToto,
    payload: payload.toBase64(),
    signatures: [{ keyid: "", sig: "MEUCIQDtest" }],
  }));
}

/** A layer of an artifact to push. */
export interface ArtifactLayer {
  mediaType: string;
  bytes: Uint8Array;
  annotations?: Record<string, string>;
}

/** A pushed artifact manifest. */
export interface PushedArtifact {
  /** Its manifest descriptor (with artifactType and annotations, as a referrers list has it). */
  descriptor: {
    mediaType: string;
    digest: string;
    size: number;
    artifactType: string;
    annotations?: Record<string, string>;
  };
  manifestBytes: Uint8Array;
  /** Its layers' descriptors, in order. */
  layers: { mediaType: string; digest: string; size: number; bytes: Uint8Array }[];
}

/** What {@linkcode pushArtifact} pushes. */
export interface ArtifactSpec {
  /** `artifactType`; when absent, the config's media type stands for it (an old-style artifact). */
  artifactType?: string;
  /** Config media type and bytes (default: the OCI empty descriptor). */
  config?: { mediaType: string; bytes: Uint8Array };
  /** The manifest it refers to. */
  subject?: { mediaType: string; digest: string; size: number };
  layers: ArtifactLayer[];
  annotations?: Record<string, string>;
  /** Tag to push it under (cosign); by digest otherwise. */
  tag?: string;
}

/** Push an OCI artifact manifest (blobs first) with plain registry API calls. */
export async function pushArtifact(
  reg: RegistryConnection,
  repo: string,
  spec: ArtifactSpec,
): Promise<PushedArtifact> {
  const config = spec.config ?? { mediaType: AttachmentTypes.empty, bytes: EMPTY_JSON };
  await pushBlob(reg, repo, config.bytes);
  const layers = [];
  for (const l of spec.layers) {
    const digest = await pushBlob(reg, repo, l.bytes);
    layers.push({
      mediaType: l.mediaType,
      digest,
      size: l.bytes.length,
      bytes: l.bytes,
      annotations: l.annotations,
    });
  }
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    ...(spec.artifactType ? { artifactType: spec.artifactType } : {}),
    config: descriptor(config.mediaType, sha256Digest(config.bytes), config.bytes.length),
    layers: layers.map((l) =>
      descriptor(l.mediaType, l.digest, l.size, l.annotations ? { annotations: l.annotations } : {})
    ),
    ...(spec.subject ? { subject: spec.subject } : {}),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
  const manifestBytes = enc.encode(JSON.stringify(manifest));
  const digest = sha256Digest(manifestBytes);
  await pushManifest(reg, repo, spec.tag ?? digest, manifestBytes, MediaTypes.ociManifest);
  return {
    descriptor: {
      mediaType: MediaTypes.ociManifest,
      digest,
      size: manifestBytes.length,
      artifactType: spec.artifactType ?? config.mediaType,
      ...(spec.annotations ? { annotations: spec.annotations } : {}),
    },
    manifestBytes,
    layers: layers.map(({ mediaType, digest, size, bytes }) => ({ mediaType, digest, size, bytes })),
  };
}

/** The referrers tag of a digest (`sha256-<hex>`), as the distribution spec names it. */
export function referrersTagOf(digest: string): string {
  return digest.replace(":", "-");
}

/**
 * Push the referrers tag schema's index for `subjectDigest` listing `artifacts` (what a client does on a
 * registry without the referrers API). Returns the index digest.
 */
export async function pushReferrersIndex(
  reg: RegistryConnection,
  repo: string,
  subjectDigest: string,
  artifacts: PushedArtifact[],
): Promise<string> {
  const index = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: artifacts.map((a) => a.descriptor),
  };
  return await pushManifest(
    reg,
    repo,
    referrersTagOf(subjectDigest),
    enc.encode(JSON.stringify(index)),
    MediaTypes.ociIndex,
  );
}

/** The subject descriptor of a seeded manifest. */
export function subjectOf(m: Pick<SeededManifest, "mediaType" | "manifestDigest" | "manifestBytes">) {
  return { mediaType: m.mediaType, digest: m.manifestDigest, size: m.manifestBytes.length };
}

/** Push a single-platform OCI image `repo:tag` (2 tiny layers) for attachment tests. */
export function pushTestImage(reg: RegistryConnection, repo: string, tag: string): Promise<SeededImage> {
  return pushImage(reg, {
    repo,
    docker: false,
    platform: { os: "linux", architecture: "amd64" },
    layerCount: 2,
    label: repo,
  }, tag);
}
